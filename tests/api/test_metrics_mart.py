"""refresh_pipeline_metrics on both backends, against figures worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, insert, select

from pipeline_pulse.models import Deal, PipelineMetric
from pipeline_pulse.warehouse.metrics_mart import refresh_pipeline_metrics
from tests.fixtures.api import deal_row


def test_refresh_groups_live_deals_and_replaces_previous_rows(sync_engine: Engine) -> None:
    created = datetime(2026, 1, 10, 23, 30, tzinfo=UTC)
    deals = [
        # Two open APAC deals in the same group: one mart row with count 2.
        deal_row(
            1,
            region="APAC",
            stage="Qualification",
            amount_home="100.00",
            probability=10,
            closing_date=date(2026, 3, 5),
            created_time=created,
        ),
        deal_row(
            2,
            region="APAC",
            stage="Qualification",
            amount_home="300.00",
            probability=10,
            closing_date=date(2026, 3, 28),
            created_time=created,
        ),
        # Same group but closing in April: its own row.
        deal_row(
            3,
            region="APAC",
            stage="Qualification",
            amount_home="50.00",
            probability=10,
            closing_date=date(2026, 4, 1),
            created_time=None,
        ),
        # A won EMEA deal: cycle 2026-01-10 -> 2026-02-09 = 30 days.
        deal_row(
            4,
            region="EMEA",
            stage="Closed Won",
            deal_status="won",
            amount_home="1000.00",
            probability=100,
            closing_date=date(2026, 2, 9),
            created_time=created,
        ),
        # Soft-deleted: must not count.
        deal_row(
            5,
            region="EMEA",
            stage="Closed Won",
            deal_status="won",
            amount_home="999.00",
            probability=100,
            closing_date=date(2026, 2, 9),
            created_time=created,
            deleted_at=created,
        ),
    ]
    with sync_engine.begin() as conn:
        conn.execute(insert(Deal), deals)
        assert refresh_pipeline_metrics(conn) == 3
    with sync_engine.begin() as conn:  # a second refresh replaces, never appends
        conn.execute(
            insert(Deal),
            [deal_row(6, region="India", stage="Qualification", amount_home="7.00", probability=10, closing_date=None)],
        )
        assert refresh_pipeline_metrics(conn) == 4
    with sync_engine.begin() as conn:  # fresh and closing later: not stale as of the refresh day
        now = datetime.now(UTC)
        conn.execute(
            insert(Deal),
            [
                deal_row(
                    7,
                    region="Americas",
                    amount_home="1.00",
                    modified_time=now,
                    closing_date=(now + timedelta(days=60)).date(),
                ),
                deal_row(
                    9,
                    region="Americas",
                    amount_home="1.00",
                    modified_time=now,
                    closing_date=(now - timedelta(days=1)).date(),
                ),
            ],
        )
        assert refresh_pipeline_metrics(conn) == 6

    with sync_engine.connect() as conn:
        rows = conn.execute(select(PipelineMetric.__table__)).all()
    got = {(row.region, row.closing_month): row for row in rows}
    march = got[("APAC", date(2026, 3, 1))]
    assert (march.deal_count, march.amount_home, march.weighted_amount_home) == (2, Decimal("400.00"), Decimal("40.00"))
    assert (march.cycle_days_sum, march.cycle_deal_count) == (Decimal("131"), 2)  # 54 + 77 days
    april = got[("APAC", date(2026, 4, 1))]
    assert (april.deal_count, april.amount_home, april.cycle_deal_count) == (1, Decimal("50.00"), 0)
    won = got[("EMEA", date(2026, 2, 1))]
    assert (won.deal_status, won.deal_count, won.amount_home) == ("won", 1, Decimal("1000.00"))
    assert (won.cycle_days_sum, won.cycle_deal_count) == (Decimal("30"), 1)
    assert (march.stale_count, won.stale_count) == (2, 0)  # modified Jan 10, far more than 30 days ago
    india = got[("India", None)]
    assert (india.deal_count, india.amount_home, india.cycle_deal_count) == (1, Decimal("7.00"), 0)
    americas = {row.closing_month: row.stale_count for row in rows if row.region == "Americas"}
    assert sorted(americas.values()) == [0, 1]  # deal 9 closed yesterday: stale by its past closing date
