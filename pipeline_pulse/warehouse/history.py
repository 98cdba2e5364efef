"""Reading deal history: which version of each deal is valid at an instant (docs/metrics.md, section 3).

Shared by the snapshot materialisation (ETL) and the read API, so both select a past state the same way.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, cast, create_engine, func, make_url, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.selectable import Select

from pipeline_pulse.core.db import sync_url
from pipeline_pulse.models import DealVersion, SyncState
from pipeline_pulse.warehouse.deal_versions import HISTORY_STREAM

VERSIONS = DealVersion.__table__
MICROSECOND = timedelta(microseconds=1)
# What readers execute (sync or async connection alike): the history start instant, or no row / NULL.
HISTORY_START_QUERY: Select[Any] = select(SyncState.cursor_modified_time).where(SyncState.stream == HISTORY_STREAM)


def end_of_day(day: date) -> datetime:
    """The last instant of UTC day `day`: the state "at the end of D" is the state as of this instant."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC) - MICROSECOND


def valid_at(instant: datetime | None, versions: Any = VERSIONS) -> ColumnElement[bool]:
    """Versions valid at `instant` (valid_from <= T < valid_to); None = the current versions."""
    if instant is None:
        return versions.c.valid_to.is_(None)
    return and_(versions.c.valid_from <= instant, or_(versions.c.valid_to.is_(None), versions.c.valid_to > instant))


def utc_day(column: Any, dialect_name: str) -> ColumnElement[date]:
    """The UTC calendar day of a stored UTC timestamp."""
    if dialect_name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)  # SQLite stores naive UTC text


def recorded_history_start(url: str) -> datetime | None:
    """The history start recorded in the warehouse at `url`, read without side effects: None when the database
    is missing (a SQLite file is never created), unreachable within a few seconds, or not migrated yet."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:" or not Path(parsed.database).exists():
            return None
        connect_args: dict[str, Any] = {}
    else:
        connect_args = {"connect_timeout": 3}
    engine = create_engine(sync_url(url), connect_args=connect_args, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            start: datetime | None = connection.execute(HISTORY_START_QUERY).scalar()
            return start
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def known_day(day: date, start: datetime | None) -> bool:
    """Whether the state at the end of `day` is known: the history start is before that end."""
    return start is not None and day >= start.astimezone(UTC).date()
