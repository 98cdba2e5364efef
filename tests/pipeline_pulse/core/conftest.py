"""Per-test isolation for settings: no inherited config variables, no `.env`, no cached settings or secrets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline_pulse.core.config import AREA_SETTINGS, env_name
from pipeline_pulse.core.secrets import SecretsManager
from pipeline_pulse.core.settings import reset_settings_cache

HS_SECRET = "hs256-test-secret-0123456789-abcdefghij"
# Every variable any settings class reads.
SETTINGS_VARIABLES = frozenset(env_name(model, field) for model in AREA_SETTINGS for field in model.model_fields)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """Every Settings variable unset and cwd a fresh directory (so no `.env` is read)."""
    for name in SETTINGS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    reset_settings_cache()
    SecretsManager.clear_instances()
    yield monkeypatch
    reset_settings_cache()
    SecretsManager.clear_instances()
