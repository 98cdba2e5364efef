"""Loading deals: idempotent upsert with restore-on-reappearance, soft deletes from Zoho's /deleted feed, and
soft deletes of deals a full reconcile no longer finds in Zoho. Each writer records the deals' new versions
(deal_versions) in the same transaction."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, and_, bindparam, case, func, null, or_, select, text, update

from pipeline_pulse.models import Deal, utcnow
from pipeline_pulse.services.zoho.records import DeletedDeal
from pipeline_pulse.warehouse.data_version import bump_data_version
from pipeline_pulse.warehouse.deal_batch import DEAL_SCHEMA, rows_to_batch
from pipeline_pulse.warehouse.deal_versions import VersionMode, record_versions
from pipeline_pulse.warehouse.upsert import DEFAULT_BATCH_CHUNK, UpsertResult, UpsertSpec, upsert_batch

DEALS = Deal.__table__
# Every column the transform produces; bookkeeping columns (first_seen_at, last_synced_at, deleted_at) are not.
DEAL_DATA_COLUMNS: tuple[str, ...] = tuple(
    column.name for column in DEALS.columns if column.name not in ("first_seen_at", "last_synced_at", "deleted_at")
)


def _restore_if_newer(table: Any, excluded: Any) -> dict[str, Any]:
    # A deal Zoho returns again with a Modified_Time after its deletion was restored from the recycle bin.
    return {
        "deleted_at": case(
            (and_(table.c.deleted_at.is_not(None), excluded.modified_time > table.c.deleted_at), null()),
            else_=table.c.deleted_at,
        )
    }


def _restore_always(table: Any, excluded: Any) -> dict[str, Any]:
    return {"deleted_at": null()}


def _not_older(table: Any, excluded: Any) -> Any:
    # Never let an older version of a deal overwrite a newer one (e.g. a stale page re-read after a retry).
    return or_(
        table.c.modified_time.is_(None),
        excluded.modified_time.is_(None),
        excluded.modified_time >= table.c.modified_time,
    )


def deal_upsert_spec(*, present_in_zoho: bool = False) -> UpsertSpec:
    """`present_in_zoho`: the rows come from a complete read of Zoho (full reconcile), so any soft-deleted
    deal among them exists again and is restored whatever its Modified_Time."""
    compare = DEAL_DATA_COLUMNS
    if present_in_zoho:
        compare = (*DEAL_DATA_COLUMNS, "deleted_at")
    return UpsertSpec(
        table=DEALS,  # type: ignore[arg-type]
        key=("id",),
        update=(*(name for name in DEAL_DATA_COLUMNS if name != "id"), "last_synced_at"),
        compare=tuple(name for name in compare if name != "id"),
        extra_set=_restore_always if present_in_zoho else _restore_if_newer,
        only_if=_not_older,
    )


def load_deals(
    connection: Connection,
    rows: pa.Table | Iterable[Mapping[str, Any]],
    *,
    present_in_zoho: bool = False,
    chunk_size: int = DEFAULT_BATCH_CHUNK,
) -> UpsertResult:
    """Upsert transformed deals - the transform's Arrow batch (DEAL_SCHEMA), or dict rows with its keys - in
    the caller's transaction, then record the new versions of the deals it touched (set-based)."""
    batch = rows if isinstance(rows, pa.Table) else rows_to_batch(rows, DEAL_SCHEMA)
    if batch.num_rows == 0:
        return UpsertResult()
    now = utcnow()
    stamp = pa.repeat(pa.scalar(now, pa.timestamp("us", tz="UTC")), batch.num_rows)
    stamped = batch.append_column("first_seen_at", stamp).append_column("last_synced_at", stamp)
    spec = deal_upsert_spec(present_in_zoho=present_in_zoho)
    result = upsert_batch(connection, spec, stamped, chunk_size=chunk_size)
    if result.inserted or result.updated:
        ids = batch.column("id").to_pylist()
        mode: VersionMode = "reconcile" if present_in_zoho else "sync"
        # Every row new (a backfill's chunk): first versions only, without probing deal_versions per deal.
        all_new = result.inserted == batch.num_rows
        record_versions(connection, ids, mode=mode, observed_at=now, new=all_new)
        bump_data_version(connection)
    return result


def soft_delete_deals(connection: Connection, deleted: Sequence[DeletedDeal]) -> int:
    """Set deleted_at from Zoho's deletion feed. A deal modified after its deletion time (restored, or
    re-created with the same id) is left alone; ties go to the deletion. Returns rows newly marked deleted."""
    if not deleted:
        return 0
    stmt = (
        update(DEALS)
        .where(
            and_(
                DEALS.c.id == bindparam("deal_id"),
                DEALS.c.deleted_at.is_(None),
                or_(DEALS.c.modified_time.is_(None), DEALS.c.modified_time <= bindparam("deleted_time")),
            )
        )
        .values(deleted_at=bindparam("deleted_time"))
    )
    latest: dict[int, datetime] = {}
    for item in deleted:
        if item.id not in latest or item.deleted_time > latest[item.id]:
            latest[item.id] = item.deleted_time
    params = [{"deal_id": deal_id, "deleted_time": when} for deal_id, when in latest.items()]
    marked = connection.execute(stmt.execution_options(synchronize_session=False), params).rowcount
    if marked:
        record_versions(connection, latest, mode="sync")
        bump_data_version(connection)
    return marked


def soft_delete_missing(
    connection: Connection, seen_ids: array, *, deleted_at: datetime, not_modified_after: datetime
) -> list[int]:
    """After a complete read of Zoho: soft-delete live deals whose id was not seen (deletions /deleted
    missed). `seen_ids` is a compact array of ids (8 bytes each), not deal objects. Deals modified after the
    read started are kept (they may have been created while it ran). Returns the ids deleted."""
    seen = sorted(set(seen_ids))
    live = connection.execute(
        select(DEALS.c.id)
        .where(
            and_(
                DEALS.c.deleted_at.is_(None),
                or_(DEALS.c.modified_time.is_(None), DEALS.c.modified_time <= not_modified_after),
            )
        )
        .order_by(DEALS.c.id)
    ).scalars()
    missing: list[int] = []
    position = 0
    for deal_id in live:
        while position < len(seen) and seen[position] < deal_id:
            position += 1
        if position >= len(seen) or seen[position] != deal_id:
            missing.append(deal_id)
    for start in range(0, len(missing), 1_000):
        connection.execute(
            update(DEALS).where(DEALS.c.id.in_(missing[start : start + 1_000])).values(deleted_at=deleted_at)
        )
    if missing:
        record_versions(connection, missing, mode="reconcile", observed_at=deleted_at)
        bump_data_version(connection)
    return missing


def existing_deal_ids(connection: Connection, ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(ids), 1_000):
        found.update(connection.execute(select(DEALS.c.id).where(DEALS.c.id.in_(ids[start : start + 1_000]))).scalars())
    return found


# Planner statistics: a load that changes at least this share of the table (or the first load) runs ANALYZE,
# so a fresh warehouse gets good plans at once instead of after autovacuum's next pass (or never, on SQLite).
ANALYZE_SHARE = 0.1
ANALYZE_MIN_ROWS = 1_000
ANALYZED_TABLES = ("deals", "deal_versions")


def analyze_if_substantial(connection: Connection, changed: int, *, first_load: bool) -> bool:
    """ANALYZE the deal tables when `changed` rows are a substantial share of `deals` (or on the first load)."""
    if changed <= 0:
        return False
    if not first_load:
        total = int(connection.execute(select(func.count()).select_from(DEALS)).scalar_one())
        if changed < max(ANALYZE_MIN_ROWS, ANALYZE_SHARE * total):
            return False
    for table in ANALYZED_TABLES:
        # Raw SQL on purpose: SQLAlchemy has no ANALYZE construct; the names are constants, not input.
        connection.execute(text(f"ANALYZE {table}"))
    return True
