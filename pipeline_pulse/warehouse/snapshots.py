"""Daily deal snapshots: the state of every open deal (and deals that closed that day) for one day.

A partition is rebuilt wholesale (delete + insert in one transaction), so rerunning or backfilling a day is
idempotent. The values are the warehouse's state at capture time, restricted to deals that existed on that
day (created before its end, not deleted before its end)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, and_, delete, insert, literal, or_, select

from pipeline_pulse.models import Deal, DealSnapshot, utcnow
from pipeline_pulse.warehouse.data_version import bump_data_version

DEALS = Deal.__table__
SNAPSHOTS = DealSnapshot.__table__


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def capture_snapshot(connection: Connection, day: date) -> int:
    """Rebuild the snapshot partition of `day`; returns the number of deals captured."""
    _, end = day_bounds(day)
    connection.execute(delete(SNAPSHOTS).where(SNAPSHOTS.c.snapshot_date == day))
    captured_at = utcnow()
    source = select(
        literal(day, SNAPSHOTS.c.snapshot_date.type),
        DEALS.c.id,
        DEALS.c.stage,
        DEALS.c.pipeline,
        DEALS.c.deal_status,
        DEALS.c.region,
        DEALS.c.owner_id,
        DEALS.c.probability,
        DEALS.c.amount_home,
        DEALS.c.weighted_amount_home,
        DEALS.c.closing_date,
        literal(captured_at, SNAPSHOTS.c.captured_at.type),
    ).where(
        and_(
            or_(DEALS.c.created_time.is_(None), DEALS.c.created_time < end),
            or_(DEALS.c.deleted_at.is_(None), DEALS.c.deleted_at >= end),
            or_(DEALS.c.deal_status == "open", DEALS.c.closing_date == day),
        )
    )
    columns = [
        "snapshot_date",
        "deal_id",
        "stage",
        "pipeline",
        "deal_status",
        "region",
        "owner_id",
        "probability",
        "amount_home",
        "weighted_amount_home",
        "closing_date",
        "captured_at",
    ]
    captured = connection.execute(insert(SNAPSHOTS).from_select(columns, source)).rowcount
    bump_data_version(connection)
    return captured
