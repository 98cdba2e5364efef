"""Fail closed: every entry point, started as a newcomer or an operator would, stops at once with the same line.

Each command runs in a fresh directory (no `.env`) with every settings variable removed from the environment.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.aws import LocalAws
from tests.pipeline_pulse.core.conftest import SETTINGS_VARIABLES

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
PREFIX = "pipeline-pulse: configuration error: "


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def entry_points(tmp_path: Path) -> dict[str, list[str]]:
    return {
        "api": [str(BIN / "uvicorn"), "--app-dir", str(REPO), "api.main:app", "--port", str(_free_port())],
        "alembic": [str(BIN / "alembic"), "-c", str(REPO / "alembic.ini"), "upgrade", "head"],
        "dagster": [str(BIN / "dagster"), "job", "execute", "-m", "orchestration.definitions", "-j", "zoho_sync"],
        "startup check": [sys.executable, "-m", "pipeline_pulse.core.startup"],
    }


def _run(argv: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    child_env = {k: v for k, v in os.environ.items() if k.upper() not in SETTINGS_VARIABLES}
    child_env.update({"PYTHONPATH": str(REPO), "DAGSTER_HOME": str(tmp_path), **env})
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return subprocess.run(argv, cwd=tmp_path, env=child_env, capture_output=True, text=True, timeout=300, check=False)


def _reason(result: subprocess.CompletedProcess[str]) -> str:
    ours = [line for line in result.stderr.splitlines() if line.startswith(PREFIX)]
    assert len(ours) == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return ours[0]


def test_with_nothing_set_every_entry_point_refuses_with_the_same_line(tmp_path: Path) -> None:
    reasons = {}
    for name, argv in entry_points(tmp_path).items():
        result = _run(argv, tmp_path)
        assert result.returncode == 2, (name, result.stdout[-2000:], result.stderr[-2000:])
        reasons[name] = _reason(result)
    assert len(set(reasons.values())) == 1, reasons
    line = next(iter(reasons.values()))
    assert line.startswith(PREFIX + "APP_ENV is not set, so production rules apply: AWS_SECRET_ID"), line
    assert "APP_ENV=development" in line


def test_token_minting_refuses_when_app_env_is_unset(tmp_path: Path) -> None:
    result = _run([sys.executable, "-m", "api.tokens", "mint", "--sub", "x", "--regions", "APAC"], tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "refusing to mint tokens: APP_ENV is not set" in _reason(result)


def test_unreadable_production_secret_stops_every_entry_point_at_once(local_aws: LocalAws, tmp_path: Path) -> None:
    reasons = {}
    for name, argv in entry_points(tmp_path).items():
        result = _run(argv, tmp_path, APP_ENV="production", AWS_SECRET_ID="pp/missing")
        assert result.returncode == 2, (name, result.stderr[-2000:])
        reasons[name] = _reason(result)
        # Stopped while loading, not retried inside a run: no step ever started.
        assert "STEP_" not in result.stdout + result.stderr, name
    assert len(set(reasons.values())) == 1, reasons
    assert "cannot read AWS secret 'pp/missing'" in next(iter(reasons.values()))


@pytest.mark.parametrize("app_env", ["development", "test"])
def test_development_api_without_a_jwt_key_refuses_to_start(tmp_path: Path, app_env: str) -> None:
    result = _run(entry_points(tmp_path)["api"], tmp_path, APP_ENV=app_env)
    assert result.returncode == 2
    assert "requires JWT_SECRET" in _reason(result)
