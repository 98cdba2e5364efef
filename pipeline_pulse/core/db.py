"""Engines and sessions from the one DATABASE_URL: sync (psycopg2 / sqlite3) for ETL and migrations,
async (asyncpg / aiosqlite) for the API."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class DbBounds:
    """How long one database wait may last, in seconds.

    statement: the server cancels a statement after this long (and the API's driver gives up one second later,
    which also bounds a server that does not answer at all); lock: the server stops waiting for a row or table
    lock; connect: opening a connection; pool: waiting for a free pooled connection."""

    statement_timeout_seconds: float
    lock_timeout_seconds: float
    connect_timeout_seconds: float
    pool_timeout_seconds: float

    def server_settings(self) -> dict[str, str]:
        return {
            "statement_timeout": str(int(self.statement_timeout_seconds * 1000)),
            "lock_timeout": str(int(self.lock_timeout_seconds * 1000)),
            # A client that dies inside a transaction must not hold its locks for ever.
            "idle_in_transaction_session_timeout": str(int(max(self.statement_timeout_seconds, 60) * 1000)),
            # The planner's costs for the health views and the mart's GROUP BY run into the millions, so JIT
            # compiles them with inlining and optimisation: 5-10 s per statement on a busy 2-core box, for
            # queries that execute in well under a second without it (bench/RESULTS.md, deal_health).
            "jit": "off",
        }


# The ETL runs long COPY / upsert statements: its bounds stop a stuck run, not a slow one.
ETL_DB_BOUNDS = DbBounds(
    statement_timeout_seconds=1800, lock_timeout_seconds=60, connect_timeout_seconds=10, pool_timeout_seconds=30
)
# The read API answers in milliseconds; a request that waits longer than this should fail fast with 503.
API_DB_BOUNDS = DbBounds(
    statement_timeout_seconds=5, lock_timeout_seconds=2, connect_timeout_seconds=3, pool_timeout_seconds=3
)
# Seconds the API's driver waits beyond the server's statement_timeout before it gives up on the server itself.
CLIENT_TIMEOUT_GRACE_SECONDS = 1.0


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


def _psycopg2_bounds(bounds: DbBounds) -> dict[str, Any]:
    options = " ".join(f"-c {name}={value}" for name, value in bounds.server_settings().items())
    return {
        "connect_timeout": max(2, round(bounds.connect_timeout_seconds)),  # libpq: whole seconds, 2 at least
        "options": options,
        # A peer that vanished (network loss, host down) is noticed in ~1 minute instead of the kernel's hours.
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }


def _asyncpg_bounds(bounds: DbBounds) -> dict[str, Any]:
    return {
        "timeout": bounds.connect_timeout_seconds,
        # Client side: a frozen or unreachable server never answers, so its statement_timeout cannot fire.
        "command_timeout": bounds.statement_timeout_seconds + CLIENT_TIMEOUT_GRACE_SECONDS,
        "server_settings": bounds.server_settings(),
    }


def _bounded(kwargs: dict[str, Any], bounds: DbBounds, connect_args: dict[str, Any]) -> dict[str, Any]:
    """`kwargs` with the bounds' pool timeout and connect arguments; explicit caller values win."""
    merged = dict(kwargs)
    merged.setdefault("pool_timeout", bounds.pool_timeout_seconds)
    merged["connect_args"] = {**connect_args, **kwargs.get("connect_args", {})}
    return merged


def create_sync_engine(url: str | URL, *, bounds: DbBounds = ETL_DB_BOUNDS, **kwargs: Any) -> Engine:
    """ETL / migrations / tools engine; on Postgres every wait is bounded by `bounds` (default: the ETL's)."""
    target = sync_url(url)
    if target.get_backend_name() == "sqlite":
        engine = create_engine(target, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(target, **_bounded(kwargs, bounds, _psycopg2_bounds(bounds)))


def create_async_db_engine(url: str | URL, *, bounds: DbBounds = API_DB_BOUNDS, **kwargs: Any) -> AsyncEngine:
    """The API's engine; on Postgres statements, connects and pool checkouts are bounded by `bounds`."""
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        engine = create_async_engine(target, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    engine = create_async_engine(target, **_bounded(kwargs, bounds, _asyncpg_bounds(bounds)))
    event.listen(engine.sync_engine, "handle_error", _client_timeout_is_disconnect)
    return engine


def _client_timeout_is_disconnect(context: Any) -> None:
    # The driver gave up on a server that did not answer: that connection's state is unknown (a statement may
    # still be running), so it must not go back to the pool. Other connections are judged on their own use.
    if isinstance(context.original_exception, TimeoutError):
        context.is_disconnect = True
        context.invalidate_pool_on_disconnect = False


def sync_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def async_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSessionType]:
    return async_sessionmaker(bind=engine, expire_on_commit=False)
