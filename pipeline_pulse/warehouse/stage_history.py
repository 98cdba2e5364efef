"""Deal stage history: upsert Zoho's Stage_History rows and derive left_at / duration_days per deal."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import Connection, bindparam, select, update

from pipeline_pulse.models import DealStageHistory, utcnow
from pipeline_pulse.services.zoho.records import StageHistoryRecord
from pipeline_pulse.warehouse.data_version import bump_data_version
from pipeline_pulse.warehouse.deals import existing_deal_ids
from pipeline_pulse.warehouse.upsert import UpsertResult, UpsertSpec, upsert

HISTORY = DealStageHistory.__table__
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
HISTORY_UPSERT = UpsertSpec(
    table=HISTORY,  # type: ignore[arg-type]
    key=("id",),
    update=(*_DATA, "last_synced_at"),
    compare=_DATA,
)
_DAY_SECONDS = Decimal(86_400)


def load_stage_history(connection: Connection, records: Sequence[StageHistoryRecord]) -> tuple[UpsertResult, int]:
    """Upsert history rows of deals that are in the warehouse; returns (result, rows skipped for unknown deals)."""
    known = existing_deal_ids(connection, sorted({record.deal_id for record in records}))
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
    result = upsert(connection, HISTORY_UPSERT, rows)
    derived = derive_stage_durations(connection, sorted({row["deal_id"] for row in rows}))
    if result.inserted or result.updated or derived:
        bump_data_version(connection)
    return result, len(records) - len(rows)


def derive_stage_durations(connection: Connection, deal_ids: Sequence[int]) -> int:
    """left_at = the next entry's entered_at; duration in days; NULL for the current stage."""
    changes = []
    for start in range(0, len(deal_ids), 500):
        entries = connection.execute(
            select(HISTORY.c.id, HISTORY.c.deal_id, HISTORY.c.entered_at, HISTORY.c.left_at, HISTORY.c.duration_days)
            .where(HISTORY.c.deal_id.in_(deal_ids[start : start + 500]))
            .order_by(HISTORY.c.deal_id, HISTORY.c.entered_at, HISTORY.c.id)
        ).all()
        for current, following in zip(entries, [*entries[1:], None], strict=True):
            nxt = following if following is not None and following.deal_id == current.deal_id else None
            left_at = nxt.entered_at if nxt is not None else None
            duration = None
            if left_at is not None:
                seconds = Decimal(str((left_at - current.entered_at).total_seconds()))
                duration = (seconds / _DAY_SECONDS).quantize(Decimal("0.0001"))
            if left_at != current.left_at or duration != current.duration_days:
                changes.append({"history_id": current.id, "left_at": left_at, "duration_days": duration})
    if changes:
        connection.execute(
            update(HISTORY)
            .where(HISTORY.c.id == bindparam("history_id"))
            .values(left_at=bindparam("left_at"), duration_days=bindparam("duration_days")),
            changes,
        )
    return len(changes)
