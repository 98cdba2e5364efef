"""Engines and sessions from the one DATABASE_URL: sync (psycopg2 / sqlite3) for ETL and migrations,
async (asyncpg / aiosqlite) for the API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSessionType
from sqlalchemy.orm import Session, sessionmaker

SYNC_DRIVERS = {"postgresql": "postgresql+psycopg2", "sqlite": "sqlite+pysqlite"}
ASYNC_DRIVERS = {"postgresql": "postgresql+asyncpg", "sqlite": "sqlite+aiosqlite"}
# The TLS query parameter is spelled differently by the two Postgres drivers (libpq `sslmode`, asyncpg `ssl`);
# a production URL like `...?sslmode=require` must work for both engines.
_TLS_PARAM = {"postgresql+psycopg2": ("ssl", "sslmode"), "postgresql+asyncpg": ("sslmode", "ssl")}


def _with_driver(url: str | URL, drivers: dict[str, str]) -> URL:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in drivers:
        raise ValueError(f"unsupported database backend {backend!r}; use PostgreSQL or SQLite")
    target = parsed.set(drivername=drivers[backend])
    if target.drivername in _TLS_PARAM:
        foreign, native = _TLS_PARAM[target.drivername]
        if foreign in target.query and native not in target.query:
            query = dict(target.query)
            query[native] = query.pop(foreign)
            target = target.set(query=query)
    return target


def sync_url(url: str | URL) -> URL:
    return _with_driver(url, SYNC_DRIVERS)


def async_url(url: str | URL) -> URL:
    """The API's async URL derived from the sync DATABASE_URL."""
    return _with_driver(url, ASYNC_DRIVERS)


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while the pipeline writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_sync_engine(url: str | URL, **kwargs: Any) -> Engine:
    target = sync_url(url)
    if target.get_backend_name() == "sqlite":
        engine = create_engine(target, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(target, **kwargs)


def create_async_db_engine(url: str | URL, **kwargs: Any) -> AsyncEngine:
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        engine = create_async_engine(target, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return create_async_engine(target, **kwargs)


def sync_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def async_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSessionType]:
    return async_sessionmaker(bind=engine, expire_on_commit=False)
