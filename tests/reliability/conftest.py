"""The reliability suite drives the real API process (uvicorn over TCP) on the reference warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from pipeline_pulse.core.db import create_sync_engine
from tests.fixtures.api import api_settings, make_token, seed_reference_warehouse
from tests.reliability.live import LiveApi, api_env, live_api


@pytest.fixture
def live(db_url: str, sync_engine: Engine, tmp_path: Path) -> Iterator[LiveApi]:
    """`uvicorn api.main:app` on the reference warehouse (both backends through `db_url`)."""
    seed_reference_warehouse(sync_engine)
    with live_api(tmp_path, api_env(db_url)) as api:
        yield api


@pytest.fixture
def live_sqlite(fresh_sqlite_url: str, tmp_path: Path) -> Iterator[LiveApi]:
    """The live API on a SQLite reference warehouse, for checks that do not depend on the backend."""
    engine = create_sync_engine(fresh_sqlite_url)
    seed_reference_warehouse(engine)
    engine.dispose()
    with live_api(tmp_path, api_env(fresh_sqlite_url)) as api:
        yield api


@pytest.fixture
def tokens(db_url: str) -> dict[str, str]:
    """An admin token and a single-region (APAC) token, valid for the length of any test."""
    settings = api_settings(db_url)
    return {
        "admin": make_token(settings, regions=[], role="admin"),
        "regional": make_token(settings, regions=("APAC",)),
    }
