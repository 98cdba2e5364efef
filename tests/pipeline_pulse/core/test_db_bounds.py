"""Every Postgres connection of ours carries its wait bounds: the server's statement / lock timeouts are set on
connect (ETL: long; API: seconds) and a runaway statement is cancelled by the server."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from pipeline_pulse.core.config import ApiSettings, Settings
from pipeline_pulse.core.db import API_DB_BOUNDS, ETL_DB_BOUNDS, DbBounds, create_async_db_engine, create_sync_engine


def _shown(value_ms: float) -> str:
    seconds = value_ms / 1000
    return f"{int(seconds // 60)}min" if seconds >= 60 and seconds % 60 == 0 else f"{int(seconds)}s"


@pytest.mark.postgres
def test_etl_engine_sets_its_bounds_on_the_server(fresh_postgres_url: str) -> None:
    engine = create_sync_engine(fresh_postgres_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar() == "30min"
            assert connection.execute(text("SHOW lock_timeout")).scalar() == "1min"
    finally:
        engine.dispose()
    assert ETL_DB_BOUNDS.statement_timeout_seconds == 1800


@pytest.mark.postgres
def test_a_runaway_statement_is_cancelled_by_the_server(fresh_postgres_url: str) -> None:
    bounds = DbBounds(
        statement_timeout_seconds=0.5, lock_timeout_seconds=0.5, connect_timeout_seconds=3, pool_timeout_seconds=1
    )
    engine = create_sync_engine(fresh_postgres_url, bounds=bounds)
    try:
        with engine.connect() as connection, pytest.raises(DBAPIError, match="statement timeout"):
            connection.execute(text("SELECT pg_sleep(5)"))
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_api_engine_bounds_from_settings(fresh_postgres_url: str) -> None:
    settings = Settings(
        database_url=fresh_postgres_url, app_env="test", api=ApiSettings(db_statement_timeout_seconds=4)
    )

    async def probe() -> tuple[str, str]:
        engine = create_async_db_engine(fresh_postgres_url, bounds=settings.api_db_bounds())
        try:
            async with engine.connect() as connection:
                statement = (await connection.execute(text("SHOW statement_timeout"))).scalar()
                lock = (await connection.execute(text("SHOW lock_timeout"))).scalar()
                return str(statement), str(lock)
        finally:
            await engine.dispose()

    assert asyncio.run(probe()) == ("4s", _shown(API_DB_BOUNDS.lock_timeout_seconds * 1000))
