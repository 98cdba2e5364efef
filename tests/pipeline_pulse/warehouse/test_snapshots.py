"""Daily snapshots come from the versions: a past day backfilled after later changes equals the versions' state at
the end of that day (never today's state); a day before the history start is unknown; reruns are idempotent."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection, select

from orchestration.transforms.deals import load_transform_context, records_to_frame, transform_deals
from pipeline_pulse.models import DealSnapshot, DealVersion
from pipeline_pulse.services.zoho.records import DealRecord, DeletedDeal
from pipeline_pulse.warehouse.deal_versions import mark_history_start
from pipeline_pulse.warehouse.deals import load_deals, soft_delete_deals
from pipeline_pulse.warehouse.history import end_of_day
from pipeline_pulse.warehouse.snapshots import capture_snapshot
from tests.orchestration.factories import BASE_ID, T0, make_deal

DAY0 = T0.date()  # 2025-06-01, the first sync


def _load(conn: Connection, records: list[DealRecord]) -> None:
    result = transform_deals(records_to_frame(records), load_transform_context(conn))
    assert not result.rejected
    load_deals(conn, result.rows)


def _at(days: int, hours: int = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


def _versions_open_at_end_of(conn: Connection, day: date) -> dict[int, tuple[str, Decimal | None, date | None]]:
    """The reference: every version row, filtered in Python by the written definition."""
    instant = end_of_day(day)
    rows = conn.execute(select(DealVersion.__table__)).mappings().all()
    return {
        row["deal_id"]: (row["stage"], row["amount_home"], row["closing_date"])
        for row in rows
        if row["valid_from"] <= instant
        and (row["valid_to"] is None or row["valid_to"] > instant)
        and not row["deleted"]
        and row["deal_status"] == "open"
    }


def _snapshot(conn: Connection, day: date) -> dict[int, tuple[str, Decimal | None, date | None]]:
    rows = conn.execute(
        select(DealSnapshot.deal_id, DealSnapshot.stage, DealSnapshot.amount_home, DealSnapshot.closing_date).where(
            DealSnapshot.snapshot_date == day
        )
    ).all()
    return {row.deal_id: (row.stage, row.amount_home, row.closing_date) for row in rows}


def test_backfilled_past_day_equals_the_versions_state_that_day(conn: Connection) -> None:
    _load(conn, [make_deal(i, modified_time=_at(0, i)) for i in range(4)])
    mark_history_start(conn, _at(0, 3))
    # Day 1: deal 0 grows, deal 1 is won. Day 2: deal 2 deleted, deal 3 pushed, a new deal 4.
    _load(conn, [make_deal(0, amount=Decimal(5000), modified_time=_at(1, 2))])
    _load(conn, [make_deal(1, stage="Closed Won", probability=100, modified_time=_at(1, 3))])
    soft_delete_deals(conn, [DeletedDeal(BASE_ID + 2, _at(2, 1), "recycle")])
    _load(conn, [make_deal(3, closing_date=date(2025, 12, 31), modified_time=_at(2, 2))])
    _load(conn, [make_deal(4, created_time=_at(2, 3), modified_time=_at(2, 3))])
    conn.commit()

    day1 = DAY0 + timedelta(days=1)
    assert capture_snapshot(conn, day1) == 3  # backfilled on "day 2", after its changes
    assert capture_snapshot(conn, day1) == 3  # idempotent
    conn.commit()
    captured = _snapshot(conn, day1)
    assert captured == _versions_open_at_end_of(conn, day1)
    assert captured == {
        BASE_ID: ("Qualification", Decimal("5000.00"), date(2025, 9, 30)),
        BASE_ID + 2: ("Qualification", Decimal("1000.00"), date(2025, 9, 30)),  # deleted only on day 2
        BASE_ID + 3: ("Qualification", Decimal("1000.00"), date(2025, 9, 30)),  # pushed only on day 2
    }
    day2 = DAY0 + timedelta(days=2)
    capture_snapshot(conn, day2)
    assert _snapshot(conn, day2) == _versions_open_at_end_of(conn, day2)
    assert set(_snapshot(conn, day2)) == {BASE_ID, BASE_ID + 3, BASE_ID + 4}
    assert _snapshot(conn, day2)[BASE_ID + 3][2] == date(2025, 12, 31)


def test_days_before_the_history_start_are_unknown(conn: Connection) -> None:
    _load(conn, [make_deal(0)])
    before = DAY0 - timedelta(days=1)
    assert capture_snapshot(conn, before) is None  # no history yet at all
    mark_history_start(conn, _at(0))
    assert capture_snapshot(conn, before) is None
    assert capture_snapshot(conn, DAY0) == 1
    conn.commit()
    assert _snapshot(conn, before) == {}
