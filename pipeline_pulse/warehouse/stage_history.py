"""Imported Zoho Stage_History: store what Zoho returned for a batch of deals, mark them imported, and rebuild
their stage timelines (stage_timeline.py), in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from pipeline_pulse.models import StageHistoryImport, ZohoStageHistory, utcnow
from pipeline_pulse.services.zoho.records import StageHistoryRecord
from pipeline_pulse.warehouse.data_version import bump_data_version
from pipeline_pulse.warehouse.deals import existing_deal_ids
from pipeline_pulse.warehouse.stage_timeline import rebuild_stage_timeline
from pipeline_pulse.warehouse.upsert import UpsertSpec, upsert

_DATA = (
    "deal_id",
    "stage",
    "entered_at",
    "amount",
    "probability",
    "expected_revenue",
    "closing_date",
    "changed_by_id",
    "changed_by_name",
)
IMPORTED_UPSERT = UpsertSpec(
    table=ZohoStageHistory.__table__,  # type: ignore[arg-type]
    key=("id",),
    update=(*_DATA, "last_synced_at"),
    compare=_DATA,
)
MARKER_UPSERT = UpsertSpec(
    table=StageHistoryImport.__table__,  # type: ignore[arg-type]
    key=("deal_id",),
    update=("imported_at", "entries"),
    compare=("imported_at", "entries"),
)


@dataclass
class ImportResult:
    deals: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    timeline_rows: int = 0
    skipped_unknown_deals: int = 0


def load_imported_stage_history(
    connection: Connection, deal_ids: Sequence[int], records: Sequence[StageHistoryRecord]
) -> ImportResult:
    """Store the Stage_History Zoho returned for `deal_ids` (every row read for them; none for a deal Zoho no
    longer has), mark those deals imported and rebuild their timelines. Deals not in the warehouse are skipped."""
    known = existing_deal_ids(connection, sorted(set(deal_ids)))
    now = utcnow()
    rows = [
        {
            "id": r.id,
            "deal_id": r.deal_id,
            "stage": r.stage,
            "entered_at": r.entered_at,
            "amount": r.amount,
            "probability": r.probability,
            "expected_revenue": r.expected_revenue,
            "closing_date": r.closing_date,
            "changed_by_id": r.changed_by_id,
            "changed_by_name": r.changed_by_name,
            "last_synced_at": now,
        }
        for r in records
        if r.deal_id in known
    ]
    written = upsert(connection, IMPORTED_UPSERT, rows)
    entries = {deal_id: 0 for deal_id in known}
    for row in rows:
        entries[row["deal_id"]] += 1
    upsert(
        connection,
        MARKER_UPSERT,
        [{"deal_id": deal_id, "imported_at": now, "entries": count} for deal_id, count in entries.items()],
    )
    timeline = rebuild_stage_timeline(connection, sorted(known))
    bump_data_version(connection)
    return ImportResult(
        deals=len(known),
        rows_inserted=written.inserted,
        rows_updated=written.updated,
        timeline_rows=timeline,
        skipped_unknown_deals=len(set(deal_ids) - known),
    )
