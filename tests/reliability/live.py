"""The real API process: `python -m uvicorn api.main:app` on a free port, its log captured to a file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.fixtures.api import TEST_JWT_SECRET
from tests.reliability.cluster import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class LiveApi:
    base_url: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def api_env(database_url: str, **extra: str) -> dict[str, str]:
    """The API's environment: test mode, the test signing key, nothing inherited that could change behaviour."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("API_", "JWT_", "DATABASE_"))}
    env.update(
        APP_ENV="test",
        JWT_SECRET=TEST_JWT_SECRET,
        DATABASE_URL=database_url,
        API_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@contextmanager
def live_api(
    log_dir: Path, env: dict[str, str], *uvicorn_args: str, app: str = "api.main:app", timeout: float = 60
) -> Iterator[LiveApi]:
    """Uvicorn serving `app` (uvicorn's own access log left ON: the app must silence it)."""
    port = free_port()
    log_path = log_dir / f"api-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                app,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *uvicorn_args,
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    api = LiveApi(f"http://127.0.0.1:{port}", log_path, process)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the API exited with {process.returncode}: {api.log()[-2000:]}")
            try:
                if httpx.get(f"{api.base_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the API did not answer /health within {timeout} s: {api.log()[-2000:]}")
            time.sleep(0.1)
        yield api
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
