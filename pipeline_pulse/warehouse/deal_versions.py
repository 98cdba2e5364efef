"""The deal version writer (SCD type 2): after `deals` rows change, record their new observed state.

Callers (the deals upsert, soft deletes, restores) pass the ids they touched, in their own transaction, after
writing `deals`. The writer works only from what `deals` holds now, so it does not care how the rows arrived:
per chunk of ids, one UPDATE closes the current version of every deal whose tracked fields (or deleted flag)
differ from it, and one INSERT ... SELECT opens a version for every deal left without a current one (new deals
and the ones just closed). Unchanged deals cost one indexed comparison and write nothing, so a rerun or a
re-read page adds no version. Time rules (`valid_from`) are written down in docs/metrics.md, "Deal history".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    exists,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    update,
)

from pipeline_pulse.models import Deal, DealVersion, SyncState, UTCDateTime, utcnow
from pipeline_pulse.warehouse.id_sets import id_chunks, in_ids
from pipeline_pulse.warehouse.stage_timeline import rebuild_stage_timeline
from pipeline_pulse.warehouse.sync_state import HISTORY_STREAM, ensure_stream, read_cursor

DEALS = Deal.__table__
VERSIONS = DealVersion.__table__
# The fields metrics depend on; a change to any of them (or to the deleted flag) opens a new version.
TRACKED_FIELDS: tuple[str, ...] = (
    "stage",
    "pipeline",
    "deal_status",
    "probability",
    "forecast_category",
    "amount",
    "currency",
    "exchange_rate",
    "amount_home",
    "weighted_amount_home",
    "closing_date",
    "owner_id",
    "region",
)
VersionMode = Literal["sync", "reconcile"]


@dataclass
class VersionResult:
    closed: int = 0
    opened: int = 0

    def __iadd__(self, other: VersionResult) -> VersionResult:
        self.closed += other.closed
        self.opened += other.opened
        return self


def _greatest(dialect: str, *values: Any) -> Any:
    return func.greatest(*values) if dialect == "postgresql" else func.max(*values)


def _is_deleted() -> ColumnElement[bool]:
    return DEALS.c.deleted_at.is_not(None)


def _differs(current: Any) -> ColumnElement[bool]:
    deleted_now = _is_deleted()
    return or_(
        *(current.c[name].is_distinct_from(DEALS.c[name]) for name in TRACKED_FIELDS),
        and_(deleted_now, current.c.deleted == false()),
        and_(~deleted_now, current.c.deleted == true()),
    )


def _close_current(connection: Connection, ids: list[int], observed: Any) -> int:
    dialect = connection.dialect.name
    current = VERSIONS
    # A deletion starts at its deletion time; any other change at its Modified_Time when that is newer than the
    # version it replaces, else (drift found by a reconcile, a restore without a newer Modified_Time) at the
    # observed time. Never before the replaced version starts.
    starts = case(
        (and_(_is_deleted(), current.c.deleted == false()), func.coalesce(DEALS.c.deleted_at, observed)),
        (DEALS.c.modified_time > current.c.valid_from, DEALS.c.modified_time),
        else_=observed,
    )
    stmt = (
        update(current)
        .where(
            current.c.deal_id == DEALS.c.id,
            current.c.valid_to.is_(None),
            in_ids(DEALS.c.id, ids, dialect),
            _differs(current),
        )
        .values(valid_to=_greatest(dialect, current.c.valid_from, starts))
    )
    return connection.execute(stmt.execution_options(synchronize_session=False)).rowcount


def _open_missing(
    connection: Connection, ids: list[int], mode: VersionMode, observed: Any, recorded: Any, *, new: bool = False
) -> int:
    dialect = connection.dialect.name
    deleted_now = _is_deleted()
    if new:
        # Deals inserted a moment ago have no version: no look-up in deal_versions per deal, so this needs none
        # of its indexes (a first backfill builds them after the load, warehouse/load_indexes.py).
        starts: Any = func.coalesce(DEALS.c.modified_time, observed)
        produced_by: Any = case((deleted_now, literal("deletion")), else_=literal(mode))
        missing: Any = true()
    else:
        previous = VERSIONS.alias("previous")
        # The version closed a moment ago (or none, for a deal seen for the first time).
        last_end = select(func.max(previous.c.valid_to)).where(previous.c.deal_id == DEALS.c.id).scalar_subquery()
        last_deleted = (
            select(previous.c.deleted)
            .where(previous.c.deal_id == DEALS.c.id)
            .order_by(previous.c.valid_from.desc(), previous.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        starts = func.coalesce(last_end, DEALS.c.modified_time, observed)
        produced_by = case(
            (and_(deleted_now, func.coalesce(last_deleted, false()) == false()), literal("deletion")),
            (and_(~deleted_now, last_deleted == true()), literal("restore")),
            else_=literal(mode),
        )
        missing = ~exists().where(VERSIONS.c.deal_id == DEALS.c.id, VERSIONS.c.valid_to.is_(None))
    source = select(
        DEALS.c.id,
        starts,
        null(),
        produced_by,
        case((deleted_now, true()), else_=false()),
        *(DEALS.c[name] for name in TRACKED_FIELDS),
        DEALS.c.modified_time,
        recorded,
    ).where(in_ids(DEALS.c.id, ids, dialect), missing)
    columns = [
        "deal_id",
        "valid_from",
        "valid_to",
        "produced_by",
        "deleted",
        *TRACKED_FIELDS,
        "modified_time",
        "recorded_at",
    ]
    return connection.execute(insert(VERSIONS).from_select(columns, source)).rowcount


def _opened_now(connection: Connection, ids: list[int], recorded: Any) -> list[int]:
    query = select(VERSIONS.c.deal_id).where(
        in_ids(VERSIONS.c.deal_id, ids, connection.dialect.name), VERSIONS.c.recorded_at == recorded
    )
    return list(connection.execute(query).scalars())


def record_versions(
    connection: Connection,
    deal_ids: Iterable[int],
    *,
    mode: VersionMode,
    observed_at: datetime | None = None,
    new: bool = False,
) -> VersionResult:
    """Bring the versions of `deal_ids` in line with their `deals` rows, in the caller's transaction.

    Call it after every write to `deals` with the ids written (passing unchanged ids is harmless). `mode` is
    what read the rows: "sync" (incremental) or "reconcile" (a full read); versions that start a deletion or a
    restore are labelled so whatever the mode. `observed_at` (default now) is when the rows were read. The
    caller bumps the warehouse data version (it changed `deals` anyway). `new`: every deal of `deal_ids` was
    inserted by the caller's transaction (none has a version yet), so only first versions are written."""
    observed_value = observed_at or utcnow()
    observed = literal(observed_value, UTCDateTime())
    recorded = literal(utcnow(), UTCDateTime())
    result = VersionResult()
    for chunk in id_chunks(deal_ids):
        closed = 0 if new else _close_current(connection, chunk, observed)
        opened = _open_missing(connection, chunk, mode, observed, recorded, new=new)
        # The stage timeline of every deal that gained a version (docs/metrics.md, section 8). Not while the first
        # backfill runs (only first versions, no history start): those deals get no entry yet.
        if opened and (closed or history_start(connection) is not None):
            rebuild_stage_timeline(connection, _opened_now(connection, chunk, recorded))
        result += VersionResult(closed=closed, opened=opened)
    return result


def history_start(connection: Connection) -> datetime | None:
    """The instant from which the warehouse has observed every change (Zoho's clock), or None before the first
    complete deals sync. States before it are unknown."""
    return read_cursor(connection, HISTORY_STREAM).modified_time


def mark_history_start(connection: Connection, instant: datetime) -> bool:
    """Record the history start once (the first complete sync); later calls leave it. True if it was set."""
    ensure_stream(connection, HISTORY_STREAM)
    stmt = (
        update(SyncState)
        .where(SyncState.stream == HISTORY_STREAM, SyncState.cursor_modified_time.is_(None))
        .values(cursor_modified_time=instant, updated_at=utcnow())
    )
    return bool(connection.execute(stmt).rowcount)
