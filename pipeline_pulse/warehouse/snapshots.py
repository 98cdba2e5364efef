"""Daily deal snapshots: the state of every deal open and live at the end of a UTC day, read from the versions.

A partition is rebuilt wholesale (delete + insert in one transaction) from `deal_versions`, never from the
current state, so capturing or backfilling a day on any later date gives the same rows (docs/metrics.md 7.1).
A day before the history start is unknown: nothing is captured for it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, delete, false, insert, literal, select

from pipeline_pulse.models import DealSnapshot, utcnow
from pipeline_pulse.warehouse.data_version import bump_data_version
from pipeline_pulse.warehouse.history import HISTORY_START_QUERY, VERSIONS, end_of_day, known_day, valid_at

SNAPSHOTS = DealSnapshot.__table__
COLUMNS = (
    "stage",
    "pipeline",
    "deal_status",
    "region",
    "owner_id",
    "probability",
    "amount_home",
    "weighted_amount_home",
    "closing_date",
)


def capture_snapshot(connection: Connection, day: date) -> int | None:
    """Rebuild the snapshot partition of `day`; returns the deals captured, or None if the day is unknown."""
    if not known_day(day, connection.execute(HISTORY_START_QUERY).scalar()):
        return None
    connection.execute(delete(SNAPSHOTS).where(SNAPSHOTS.c.snapshot_date == day))
    source = select(
        literal(day, SNAPSHOTS.c.snapshot_date.type),
        VERSIONS.c.deal_id,
        *(VERSIONS.c[name] for name in COLUMNS),
        literal(utcnow(), SNAPSHOTS.c.captured_at.type),
    ).where(valid_at(end_of_day(day)), VERSIONS.c.deleted == false(), VERSIONS.c.deal_status == "open")
    columns = ["snapshot_date", "deal_id", *COLUMNS, "captured_at"]
    captured = connection.execute(insert(SNAPSHOTS).from_select(columns, source)).rowcount
    bump_data_version(connection)
    return captured
