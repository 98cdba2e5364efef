"""Per-test isolation for settings: no inherited config variables, no `.env`, no cached settings or secrets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline_pulse.core.config import Settings, reset_settings_cache
from pipeline_pulse.core.secrets import SecretsManager

HS_SECRET = "hs256-test-secret-0123456789-abcdefghij"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """Every Settings variable unset and cwd a fresh directory (so no `.env` is read)."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)
    reset_settings_cache()
    SecretsManager.clear_instances()
    yield monkeypatch
    reset_settings_cache()
    SecretsManager.clear_instances()
