"""What the end-to-end benches share: a scratch Postgres database per run and a sandbox in its own process."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

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


DEAL_BASE = 4_876_876_000_100_000_000  # zoho_sandbox.reference.DEAL_BASE: the sandbox's deal ids
USER_BASE = 4_876_876_000_000_200_000  # zoho_sandbox.reference.USER_BASE

# One row per deal: every seeded deal alike (one mart group), or spread over the sandbox's stages, pipelines,
# regions, owners, two years of closing dates and 120 days of modified times, so the marts have the groups
# (tens of thousands of rows at 1M deals) a real warehouse has. Stage -> status and probability as the sandbox's.
_SAME = """'Qualification', 'Standard', 'open', 10, 1000, 'USD', 1, 1000, 100, DATE '2027-01-31', NULL, 'APAC',
    %(clock)s::timestamptz - interval '400 days', %(clock)s::timestamptz - (i %% 86400) * interval '1 second'"""
_VARIED = """s.stage, (ARRAY['Standard (Standard)', 'Enterprise', 'Channel Partner', 'Renewals'])[(1 + (i / 3) %% 4)::int],
    s.status, s.probability, 100 + (i * 37) %% 100000, 'USD', 1, 100 + (i * 37) %% 100000,
    (100 + (i * 37) %% 100000) * s.probability / 100.0,
    DATE '2026-06-01' - 365 + ((i * 7919) %% 730)::int,
    CASE WHEN i %% 13 = 0 THEN NULL ELSE %(users)s + 1 + i %% 10 END,
    (ARRAY['APAC', 'EMEA', 'Americas', 'India', 'Unassigned'])[(1 + i %% 5)::int],
    %(clock)s::timestamptz - ((i * 104729) %% 10368000) * interval '1 second' - interval '100 days',
    %(clock)s::timestamptz - ((i * 104729) %% 10368000) * interval '1 second'"""
_STAGES = """(VALUES (0, 'Qualification', 'open', 10), (1, 'Needs Analysis', 'open', 20),
    (2, 'Value Proposition', 'open', 40), (3, 'Id. Decision Makers', 'open', 60),
    (4, 'Proposal/Price Quote', 'open', 75), (5, 'Negotiation/Review', 'open', 90), (6, 'Closed Won', 'won', 100),
    (7, 'Closed Lost', 'lost', 0), (8, 'Closed-Lost to Competition', 'lost', 0)) AS s (n, stage, status, probability)"""


def seed_warehouse(url: str, deals: int, clock: str, *, varied: bool = False) -> float:
    """A migrated warehouse as a first backfill of the sandbox's `deals` deals leaves it, by SQL in seconds instead
    of a backfill's minutes: one `deals` row and one current `deal_versions` row per sandbox deal id, the deals
    and deletions cursors at the sandbox clock (so an incremental sync reads only what changes after it) and the
    history start there. The values are not the sandbox's (see _SAME / _VARIED); the deals a bench changes in
    the sandbox get their real values from the sync. Returns the seconds it took."""
    started = time.monotonic()
    series = "generate_series(0::bigint, %(n)s - 1) AS i"
    values, source = (_VARIED, f"{series} JOIN {_STAGES} ON s.n = (i / 7) %% 9") if varied else (_SAME, series)
    params: dict[str, Any] = {"base": DEAL_BASE, "clock": clock, "n": deals, "users": USER_BASE}
    conn = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
    with conn, conn.cursor() as cur:
        # Assembled from this module's constants only.
        cur.execute(
            "INSERT INTO deals (id, deal_name, stage, pipeline, deal_status, probability, amount, currency, "  # noqa: S608
            "exchange_rate, amount_home, weighted_amount_home, closing_date, owner_id, region, created_time, "
            f"modified_time, raw, first_seen_at, last_synced_at) SELECT %(base)s + i, 'Seeded ' || i, {values}, "
            f"'{{}}', now(), now() FROM {source}",
            params,
        )
        cur.execute(
            """
            INSERT INTO deal_versions (deal_id, valid_from, valid_to, produced_by, deleted, stage, pipeline,
                deal_status, probability, amount, currency, exchange_rate, amount_home, weighted_amount_home,
                closing_date, owner_id, region, modified_time, recorded_at)
            SELECT id, modified_time, NULL, 'sync', false, stage, pipeline, deal_status, probability, amount,
                currency, exchange_rate, amount_home, weighted_amount_home, closing_date, owner_id, region,
                modified_time, now()
            FROM deals
            """
        )
        for stream, cursor_id in (("deals", DEAL_BASE + deals - 1), ("deals_deleted", 0), ("deal_history", None)):
            cur.execute(
                "INSERT INTO sync_state (stream, cursor_modified_time, cursor_id, records_extracted, "
                "records_inserted, records_updated, records_deleted, records_rejected, api_calls, credits_used, "
                "updated_at) VALUES (%s, %s, %s, 0, 0, 0, 0, 0, 0, 0, now())",
                (stream, clock, cursor_id),
            )
    with conn.cursor() as cur:
        conn.autocommit = True
        cur.execute("ANALYZE deals")
        cur.execute("ANALYZE deal_versions")
    conn.close()
    return time.monotonic() - started
