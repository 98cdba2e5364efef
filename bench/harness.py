"""What the end-to-end benches share: a scratch Postgres database per run and a sandbox in its own process."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg2
from psycopg2 import sql
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
SANDBOX_READY_SECONDS = 900  # 1M deals generate in about a minute; a loaded machine takes far longer


def admin_connection(url: str):  # type: ignore[no-untyped-def]
    parsed = make_url(url)
    conn = psycopg2.connect(host=parsed.host, port=parsed.port or 5432, user=parsed.username, dbname="postgres")
    conn.autocommit = True
    return conn


def recreate_database(base_url: str, name: str, drop_only: bool = False) -> str:
    """Drop database `name` (and create it empty again unless `drop_only`); its URL."""
    conn = admin_connection(base_url)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if not drop_only:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.close()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


def start_sandbox(deals: int, port: int, log: Path, seed: int = 7) -> subprocess.Popen[bytes]:
    """`python -m zoho_sandbox` with `deals` generated deals, once it answers /__sandbox/ready."""
    process = subprocess.Popen(
        [sys.executable, "-m", "zoho_sandbox", "--port", str(port), "--deals", str(deals), "--seed", str(seed)],
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + SANDBOX_READY_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/__sandbox/ready", timeout=5):
                return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"the sandbox exited: {log.read_text()[-2000:]}") from None
            time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"the sandbox did not get ready in {SANDBOX_READY_SECONDS} s")
