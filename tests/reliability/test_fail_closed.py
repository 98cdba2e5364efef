"""From the outside: with APP_ENV and every key variable unset, the API process refuses to start, with one
line naming the reason, and never serves a token signed with a key published in the source."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability.live import REPO_ROOT

KEY_VARIABLES = ("JWT_SECRET", "JWT_PUBLIC_KEY", "JWT_PRIVATE_KEY", "JWT_JWKS_FILE", "TOKEN_ENCRYPTION_KEY")


def _bare_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("APP_ENV", *KEY_VARIABLES) and not key.startswith(("AWS_", "API_", "ZOHO_", "DATABASE_"))
    }
    env.update(PYTHONPATH=str(REPO_ROOT), DATABASE_URL=f"sqlite:///{tmp_path}/w.db", **extra)
    return env


@pytest.mark.parametrize("app_env", [None, "production", "staging-typo"])
def test_the_api_refuses_to_start_without_keys(tmp_path: Path, app_env: str | None) -> None:
    env = _bare_env(tmp_path, **({"APP_ENV": app_env} if app_env else {}))
    # cwd outside the repository: a developer's .env there must not make this pass.
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "api.main:app", "--port", "0"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,  # a process that starts serving never exits: that is the failure (start-up alone took >30 s at load 12)
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode != 0, output
    assert "Traceback" not in output
    reason = [line for line in output.splitlines() if line.strip() and not line.startswith("INFO")]
    assert len(reason) == 1, output
    assert any(word in reason[0] for word in ("JWT", "APP_ENV", "TOKEN_ENCRYPTION_KEY", "AWS_SECRET_ID")), reason
