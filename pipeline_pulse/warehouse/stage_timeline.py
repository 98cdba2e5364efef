"""The stage timeline `deal_stage_history`: one row per stage a deal entered, rebuilt per deal from two sources.

- Zoho's Stage_History (`zoho_stage_history`, imported by the stage_history_import asset): the entries up to
  and including the deal's first observation (its first version's valid_from, "the seam");
- `deal_versions`: every later version whose stage differs from the version before it, entered at its
  valid_from. A deal's first version counts as an entry only when the deal was created after the history start
  (the pipeline saw it from its creation); for older deals the stage they were in when first observed began at
  an unknown time that only Stage_History knows.

Consecutive entries of the same stage collapse into the first (Zoho also writes rows for amount or closing-date
changes; at the seam the first version repeats the last imported stage), so the timeline has no duplicates.
`left_at` is the next entry's `entered_at`, `duration_days` their difference in days (4 decimals). One
DELETE and one INSERT ... SELECT per chunk of deals, in the caller's transaction; the caller bumps the data
version. Definitions: docs/metrics.md, section 8.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    Connection,
    Numeric,
    and_,
    cast,
    delete,
    extract,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
)

from pipeline_pulse.models import Deal, DealStageHistory, DealVersion, SyncState, UTCDateTime, ZohoStageHistory, utcnow
from pipeline_pulse.warehouse.id_sets import id_chunks, in_ids
from pipeline_pulse.warehouse.sync_state import HISTORY_STREAM

TIMELINE = DealStageHistory.__table__
IMPORTED = ZohoStageHistory.__table__
VERSIONS = DealVersion.__table__
DEALS = Deal.__table__
# Deals per statement pair: each one windows every version and imported row of its deals.
TIMELINE_CHUNK = 10_000
_COLUMNS = (
    "id",
    "deal_id",
    "stage",
    "entered_at",
    "amount",
    "probability",
    "expected_revenue",
    "closing_date",
    "changed_by_id",
    "changed_by_name",
    "source",
)


def _days_between(dialect: str, start: Any, end: Any) -> Any:
    if dialect == "postgresql":
        return func.round(cast(extract("epoch", end - start) / 86_400, Numeric(20, 6)), 4)
    return func.round(func.julianday(end) - func.julianday(start), 4)  # SQLite keeps UTC as ISO text


def _timeline_select(ids: list[int], dialect: str) -> Any:
    seam = (
        select(VERSIONS.c.deal_id, func.min(VERSIONS.c.valid_from).label("seen_from"))
        .where(in_ids(VERSIONS.c.deal_id, ids, dialect))
        .group_by(VERSIONS.c.deal_id)
        .subquery("seam")
    )
    imported = (
        select(
            IMPORTED.c.id,
            IMPORTED.c.deal_id,
            IMPORTED.c.stage,
            IMPORTED.c.entered_at,
            IMPORTED.c.amount,
            IMPORTED.c.probability,
            IMPORTED.c.expected_revenue,
            IMPORTED.c.closing_date,
            IMPORTED.c.changed_by_id,
            IMPORTED.c.changed_by_name,
            literal("zoho").label("source"),
            literal(0).label("rank"),
        )
        .select_from(IMPORTED.outerjoin(seam, seam.c.deal_id == IMPORTED.c.deal_id))
        .where(
            in_ids(IMPORTED.c.deal_id, ids, dialect),
            or_(seam.c.seen_from.is_(None), IMPORTED.c.entered_at <= seam.c.seen_from),
        )
    )
    order = (VERSIONS.c.valid_from, VERSIONS.c.id)
    lagged = (
        select(
            VERSIONS.c.id,
            VERSIONS.c.deal_id,
            VERSIONS.c.stage,
            VERSIONS.c.valid_from,
            VERSIONS.c.amount,
            VERSIONS.c.probability,
            VERSIONS.c.closing_date,
            func.lag(VERSIONS.c.stage).over(partition_by=VERSIONS.c.deal_id, order_by=order).label("previous"),
        )
        .where(in_ids(VERSIONS.c.deal_id, ids, dialect))
        .subquery("lagged")
    )
    history_start = select(SyncState.cursor_modified_time).where(SyncState.stream == HISTORY_STREAM).scalar_subquery()
    observed = (
        select(
            lagged.c.id,
            lagged.c.deal_id,
            lagged.c.stage,
            lagged.c.valid_from,
            lagged.c.amount,
            lagged.c.probability,
            func.round(lagged.c.amount * lagged.c.probability / 100, 2),
            lagged.c.closing_date,
            null(),
            null(),
            literal("versions"),
            literal(1),
        )
        .select_from(lagged.join(DEALS, DEALS.c.id == lagged.c.deal_id))
        .where(
            or_(
                and_(lagged.c.previous.is_(None), DEALS.c.created_time > history_start),
                lagged.c.previous != lagged.c.stage,
            )
        )
    )
    entries = union_all(imported, observed).subquery("entries")
    entry_order = (entries.c.entered_at, entries.c.rank, entries.c.id)
    collapsed = select(
        *entries.c,
        func.lag(entries.c.stage).over(partition_by=entries.c.deal_id, order_by=entry_order).label("previous"),
    ).subquery("collapsed")
    kept = (
        select(*(collapsed.c[name] for name in (*_COLUMNS, "rank")))
        .where(or_(collapsed.c.previous.is_(None), collapsed.c.previous != collapsed.c.stage))
        .subquery("kept")
    )
    kept_order = (kept.c.entered_at, kept.c.rank, kept.c.id)
    ended = select(
        *(kept.c[name] for name in _COLUMNS),
        func.lead(kept.c.entered_at).over(partition_by=kept.c.deal_id, order_by=kept_order).label("left_at"),
    ).subquery("ended")
    return select(
        *(ended.c[name] for name in _COLUMNS),
        ended.c.left_at,
        _days_between(dialect, ended.c.entered_at, ended.c.left_at),
        literal(utcnow(), UTCDateTime()),
    )


def rebuild_stage_timeline(connection: Connection, deal_ids: Iterable[int]) -> int:
    """Rebuild the stage timeline of `deal_ids` from versions and imported Stage_History; returns its rows."""
    dialect = connection.dialect.name
    written = 0
    for chunk in id_chunks(deal_ids, TIMELINE_CHUNK):
        connection.execute(delete(TIMELINE).where(in_ids(TIMELINE.c.deal_id, chunk, dialect)))
        columns = [*_COLUMNS, "left_at", "duration_days", "last_synced_at"]
        written += connection.execute(insert(TIMELINE).from_select(columns, _timeline_select(chunk, dialect))).rowcount
    return written
