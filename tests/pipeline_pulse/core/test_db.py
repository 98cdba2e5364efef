"""Engines and sessions from one DATABASE_URL, on both backends; UTCDateTime round-trips on both."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, StatementError

from pipeline_pulse.core.db import (
    async_session_factory,
    async_url,
    create_async_db_engine,
    create_sync_engine,
    is_sqlite,
    sync_session_factory,
    sync_url,
)
from pipeline_pulse.models.base import UTCDateTime
from pipeline_pulse.models.dimensions import CountryRegion, Region

IST = timezone(timedelta(hours=5, minutes=30))


def test_sync_engine_reads_the_migrated_warehouse(sync_engine: Engine) -> None:
    with sync_session_factory(sync_engine)() as session:
        codes = set(session.scalars(select(Region.code)))
    assert {"APAC", "EMEA", "Americas", "India"} <= codes or {"APAC", "EMEA", "AMERICAS", "INDIA"} <= codes


def test_sync_session_commits_and_foreign_keys_are_enforced(sync_engine: Engine) -> None:
    factory = sync_session_factory(sync_engine)
    with factory() as session, session.begin():
        session.add(Region(code="TEST", name="Test region"))
        session.flush()  # no ORM relationship orders the two inserts
        session.add(CountryRegion(country="Testland", region_code="TEST"))
    with factory() as session:
        assert session.get(CountryRegion, "Testland").region_code == "TEST"  # type: ignore[union-attr]
    with pytest.raises(IntegrityError), factory() as session, session.begin():
        session.add(CountryRegion(country="Nowhere", region_code="NO-SUCH-REGION"))


def test_sqlite_connections_use_wal_and_foreign_keys(fresh_sqlite_url: str) -> None:
    engine = create_sync_engine(fresh_sqlite_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    finally:
        engine.dispose()
    # WAL is recorded in the database file itself: a plain sqlite3 connection (none of our pragmas) sees it.
    raw = sqlite3.connect(make_url(fresh_sqlite_url).database or "")
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("PRAGMA foreign_keys").fetchone() == (0,)  # per connection: why the hook exists
    finally:
        raw.close()


def test_sqlite_raw_foreign_key_violation_raises(fresh_sqlite_url: str) -> None:
    engine = create_sync_engine(fresh_sqlite_url)
    try:
        with pytest.raises(IntegrityError, match="FOREIGN KEY"), engine.begin() as conn:
            conn.execute(text("INSERT INTO country_regions (country, region_code) VALUES ('X', 'NO-SUCH-REGION')"))
    finally:
        engine.dispose()


def test_async_engine_from_the_same_url_runs_queries(db_url: str) -> None:
    async def scenario() -> tuple[str, int, list[str]]:
        engine = create_async_db_engine(db_url)
        try:
            async with async_session_factory(engine)() as session:
                dialect = session.bind.dialect.driver  # type: ignore[union-attr]
                count = (await session.execute(select(Region.code))).all()
            async with async_session_factory(engine)() as session, session.begin():
                session.add(Region(code="ASYNC", name="Async region"))
            async with engine.connect() as conn:
                pragmas = []
                if is_sqlite(db_url):
                    pragmas.append((await conn.execute(text("PRAGMA journal_mode"))).scalar())
                    pragmas.append(str((await conn.execute(text("PRAGMA foreign_keys"))).scalar()))
                codes = (await conn.execute(select(Region.code).where(Region.code == "ASYNC"))).scalars().all()
                assert codes == ["ASYNC"]
            return dialect, len(count), pragmas
        finally:
            await engine.dispose()

    driver, count, pragmas = asyncio.run(scenario())
    assert count >= 4
    if is_sqlite(db_url):
        assert driver == "aiosqlite"
        assert pragmas == ["wal", "1"]
    else:
        assert driver == "asyncpg"


def test_async_engine_enforces_foreign_keys(db_url: str) -> None:
    async def scenario() -> None:
        engine = create_async_db_engine(db_url)
        try:
            async with async_session_factory(engine)() as session, session.begin():
                session.add(CountryRegion(country="Nowhere", region_code="NO-SUCH-REGION"))
        finally:
            await engine.dispose()

    with pytest.raises(IntegrityError):
        asyncio.run(scenario())


@pytest.mark.parametrize(
    ("url", "sync", "async_"),
    [
        (
            "sqlite:///./pipeline_pulse.db",
            "sqlite+pysqlite:///./pipeline_pulse.db",
            "sqlite+aiosqlite:///./pipeline_pulse.db",
        ),
        ("sqlite://", "sqlite+pysqlite://", "sqlite+aiosqlite://"),
        ("postgresql://u:p@h:5433/db", "postgresql+psycopg2://u:p@h:5433/db", "postgresql+asyncpg://u:p@h:5433/db"),
        ("postgresql+psycopg2://h/db", "postgresql+psycopg2://h/db", "postgresql+asyncpg://h/db"),
        ("postgresql+asyncpg://h/db", "postgresql+psycopg2://h/db", "postgresql+asyncpg://h/db"),
        ("sqlite+aiosqlite:////abs/x.db", "sqlite+pysqlite:////abs/x.db", "sqlite+aiosqlite:////abs/x.db"),
        # libpq spells TLS `sslmode`, asyncpg `ssl`: each engine gets its own spelling.
        (
            "postgresql://h/db?sslmode=require",
            "postgresql+psycopg2://h/db?sslmode=require",
            "postgresql+asyncpg://h/db?ssl=require",
        ),
        (
            "postgresql+asyncpg://h/db?ssl=verify-full",
            "postgresql+psycopg2://h/db?sslmode=verify-full",
            "postgresql+asyncpg://h/db?ssl=verify-full",
        ),
    ],
)
def test_driver_mapping(url: str, sync: str, async_: str) -> None:
    assert sync_url(url).render_as_string(hide_password=False) == sync
    assert async_url(url).render_as_string(hide_password=False) == async_
    assert is_sqlite(url) == url.startswith("sqlite")


def test_async_postgres_url_with_sslmode_is_accepted_by_asyncpg(fresh_postgres_url: str) -> None:
    # The local server has no TLS: `disable` must reach asyncpg as `ssl=disable` and connect.
    url = f"{fresh_postgres_url}?sslmode=disable"

    async def scenario() -> int:
        engine = create_async_db_engine(url)
        try:
            async with engine.connect() as conn:
                return int((await conn.execute(text("SELECT 1"))).scalar_one())
        finally:
            await engine.dispose()

    assert asyncio.run(scenario()) == 1
    engine = create_sync_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "mssql+pyodbc://h/db", "oracle://h/db"])
@pytest.mark.parametrize("make", [sync_url, async_url, create_sync_engine, create_async_db_engine])
def test_unsupported_backend_is_a_clear_error(url: str, make: object) -> None:
    with pytest.raises(ValueError, match=r"unsupported database backend '\w+'; use PostgreSQL or SQLite"):
        make(url)  # type: ignore[operator]


# --- UTCDateTime -------------------------------------------------------------------------------------------------

_probe_metadata = MetaData()
_probe = Table("utc_probe", _probe_metadata, Column("id", Integer, primary_key=True), Column("at", UTCDateTime()))

INSTANTS = [
    datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(2024, 3, 1, 5, 29, 0, 123_456, tzinfo=IST),  # = 2024-02-29 23:59:00.123456 UTC
    datetime(1999, 12, 31, 19, 0, tzinfo=timezone(timedelta(hours=-5))),
]


@pytest.mark.changes_schema
def test_utc_datetime_round_trips_aware_values_on_both_backends(sync_engine: Engine) -> None:
    _probe_metadata.create_all(sync_engine)
    with sync_engine.begin() as conn:
        conn.execute(insert(_probe), [{"id": i, "at": at} for i, at in enumerate(INSTANTS)])
    with sync_engine.connect() as conn:
        rows = conn.execute(select(_probe.c.id, _probe.c.at).order_by(_probe.c.id)).all()
        # Comparisons are done in UTC too: an IST bound matches the same instant stored from UTC.
        later = conn.execute(select(_probe.c.id).where(_probe.c.at > INSTANTS[1]).order_by(_probe.c.id)).scalars()
        assert list(later) == [0]
    for (_, got), sent in zip(rows, INSTANTS, strict=True):
        assert got == sent  # the same instant...
        assert got.utcoffset() == timedelta(0)  # ...always handed back in UTC
        assert got.tzinfo is not None
    assert rows[1][1] == datetime(2024, 2, 29, 23, 59, 0, 123_456, tzinfo=UTC)


@pytest.mark.changes_schema
def test_utc_datetime_round_trips_through_the_async_engine(db_url: str) -> None:
    sync = create_sync_engine(db_url)
    try:
        _probe_metadata.create_all(sync)
    finally:
        sync.dispose()

    async def scenario() -> list[datetime]:
        engine = create_async_db_engine(db_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(insert(_probe), [{"id": i, "at": at} for i, at in enumerate(INSTANTS)])
            async with engine.connect() as conn:
                return list((await conn.execute(select(_probe.c.at).order_by(_probe.c.id))).scalars())
        finally:
            await engine.dispose()

    got = asyncio.run(scenario())
    assert got == INSTANTS
    assert all(value.utcoffset() == timedelta(0) for value in got)


@pytest.mark.changes_schema
def test_utc_datetime_rejects_naive_values(sync_engine: Engine) -> None:
    _probe_metadata.create_all(sync_engine)
    with pytest.raises(StatementError, match="naive datetime"), sync_engine.begin() as conn:
        conn.execute(insert(_probe), {"id": 1, "at": datetime(2024, 1, 1, 12, 0)})
    with sync_engine.connect() as conn:
        assert conn.execute(select(_probe.c.id)).all() == []


@pytest.mark.changes_schema
def test_utc_datetime_null_stays_null(sync_engine: Engine) -> None:
    _probe_metadata.create_all(sync_engine)
    with sync_engine.begin() as conn:
        conn.execute(insert(_probe), {"id": 1, "at": None})
    with sync_engine.connect() as conn:
        assert conn.execute(select(_probe.c.at)).scalar() is None
