"""The analyst views (migration 0004) return the right rows for hand-seeded deals on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session

from pipeline_pulse.models import Deal, DealStageHistory, PipelineStage

NOW = datetime.now(UTC)
TODAY = NOW.date()

STAGES = [
    ("Standard", "Qualification", 1, 10, "Open", "open"),
    ("Standard", "Proposal", 2, 50, "Open", "open"),
    ("Standard", "Closed Won", 3, 100, "Closed Won", "won"),
    ("Standard", "Closed Lost", 4, 0, "Closed Lost", "lost"),
]


def _deal(deal_id: int, **values: Any) -> Deal:
    defaults: dict[str, Any] = {
        "deal_name": f"Deal {deal_id}",
        "pipeline": "Standard",
        "stage": "Qualification",
        "deal_status": "open",
        "region": "APAC",
        "owner_id": 7,
        "owner_name": "Ada Owner",
        "owner_email": "ada@example.com",
        "currency": "USD",
        "exchange_rate": Decimal("1"),
        "probability": 10,
        "created_time": NOW - timedelta(days=90),
        "modified_time": NOW - timedelta(days=2),
        "closing_date": TODAY + timedelta(days=30),
        "raw": {"id": str(deal_id)},
    }
    defaults.update(values)
    amount = defaults.pop("amount_home", Decimal("100.00"))
    defaults.setdefault("amount", amount)
    defaults["amount_home"] = amount
    defaults["weighted_amount_home"] = (amount * defaults["probability"] / 100).quantize(Decimal("0.01"))
    return Deal(id=deal_id, **defaults)


@pytest.fixture
def seeded(sync_engine: Engine) -> Engine:
    with Session(sync_engine) as session:
        for pipeline, stage, sequence, probability, forecast_type, status in STAGES:
            session.add(
                PipelineStage(
                    pipeline=pipeline,
                    stage=stage,
                    sequence=sequence,
                    probability=probability,
                    forecast_type=forecast_type,
                    deal_status=status,
                )
            )
        session.add_all(
            [
                # open, in Qualification for 10 days (latest history entry), fresh, closing later: not stale
                _deal(1, amount_home=Decimal("1000.00")),
                # open, no stage history (age from created_time), closing date was yesterday: stale
                _deal(
                    2,
                    region="EMEA",
                    stage="Proposal",
                    probability=50,
                    amount_home=Decimal("400.00"),
                    created_time=NOW - timedelta(days=5, hours=1),
                    closing_date=TODAY - timedelta(days=1),
                ),
                # open, not modified for 45 days: stale
                _deal(3, amount_home=Decimal("250.00"), modified_time=NOW - timedelta(days=45)),
                # open but deleted in Zoho, stale on both counts: must appear nowhere
                _deal(
                    4,
                    amount_home=Decimal("9999.00"),
                    deleted_at=NOW - timedelta(days=1),
                    modified_time=NOW - timedelta(days=100),
                    closing_date=TODAY - timedelta(days=50),
                ),
                # closed deals for the monthly view
                _deal(
                    5,
                    stage="Closed Won",
                    deal_status="won",
                    probability=100,
                    amount_home=Decimal("500.00"),
                    closing_date=date(2026, 3, 15),
                ),
                _deal(
                    6,
                    stage="Closed Lost",
                    deal_status="lost",
                    probability=0,
                    amount_home=Decimal("200.00"),
                    closing_date=date(2026, 3, 2),
                ),
                _deal(
                    7,
                    stage="Closed Won",
                    deal_status="won",
                    probability=100,
                    amount_home=Decimal("300.00"),
                    closing_date=date(2026, 3, 31),
                ),
                _deal(
                    8,
                    region="EMEA",
                    stage="Closed Won",
                    deal_status="won",
                    probability=100,
                    amount_home=Decimal("300.00"),
                    closing_date=date(2026, 4, 1),
                ),
                _deal(
                    9,
                    stage="Closed Won",
                    deal_status="won",
                    probability=100,
                    amount_home=Decimal("777.00"),
                    closing_date=date(2026, 3, 9),
                    deleted_at=NOW,
                ),
                _deal(10, stage="Closed Lost", deal_status="lost", probability=0, closing_date=None),
            ]
        )
        session.flush()
        session.add_all(
            [
                DealStageHistory(id=101, deal_id=1, stage="Qualification", entered_at=NOW - timedelta(days=40)),
                DealStageHistory(
                    id=102, deal_id=1, stage="Qualification", entered_at=NOW - timedelta(days=10, hours=1)
                ),
                DealStageHistory(
                    id=103, deal_id=3, stage="Qualification", entered_at=NOW - timedelta(days=60, hours=1)
                ),
            ]
        )
        session.commit()
    return sync_engine


def _rows(engine: Engine, sql: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(text(sql))]


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_views_exist_and_are_not_tables(sync_engine: Engine) -> None:
    inspector = inspect(sync_engine)
    views = {"v_open_pipeline", "v_won_lost_by_month", "v_pipeline_by_region_stage", "v_stale_deals"}
    assert views <= set(inspector.get_view_names())
    assert not views & set(inspector.get_table_names())


def test_open_pipeline(seeded: Engine) -> None:
    rows = {row["deal_id"]: row for row in _rows(seeded, "SELECT * FROM v_open_pipeline")}
    assert set(rows) == {1, 2, 3}
    assert rows[1]["days_in_stage"] == 10  # the latest history entry, not the first
    assert rows[2]["days_in_stage"] == 5  # no history: from created_time
    assert rows[3]["days_in_stage"] == 60
    assert rows[1]["region_name"] == "Asia Pacific"
    assert (rows[2]["region"], rows[2]["stage"], rows[2]["stage_sequence"]) == ("EMEA", "Proposal", 2)
    assert _money(rows[2]["amount_home"]) == Decimal("400.00")
    assert _money(rows[2]["weighted_amount_home"]) == Decimal("200.00")


def test_won_lost_by_month(seeded: Engine) -> None:
    rows = _rows(seeded, "SELECT * FROM v_won_lost_by_month ORDER BY closing_month, region")
    got = [
        (
            str(row["closing_month"]),
            row["region"],
            row["won_count"],
            row["lost_count"],
            _money(row["won_amount_home"]),
            _money(row["lost_amount_home"]),
            float(row["win_rate_pct"]),
        )
        for row in rows
    ]
    assert got == [
        ("2026-03-01", "APAC", 2, 1, Decimal("800.00"), Decimal("200.00"), pytest.approx(66.7)),
        ("2026-04-01", "EMEA", 1, 0, Decimal("300.00"), Decimal("0.00"), pytest.approx(100.0)),
    ]


def test_pipeline_by_region_stage(seeded: Engine) -> None:
    rows = _rows(seeded, "SELECT * FROM v_pipeline_by_region_stage ORDER BY region, stage_sequence")
    got = [
        (
            row["region"],
            row["pipeline"],
            row["stage"],
            row["stage_sequence"],
            row["deal_count"],
            _money(row["amount_home"]),
            _money(row["weighted_amount_home"]),
        )
        for row in rows
    ]
    assert got == [
        ("APAC", "Standard", "Qualification", 1, 2, Decimal("1250.00"), Decimal("125.00")),
        ("EMEA", "Standard", "Proposal", 2, 1, Decimal("400.00"), Decimal("200.00")),
    ]


def test_stale_deals(seeded: Engine) -> None:
    rows = {row["deal_id"]: row for row in _rows(seeded, "SELECT * FROM v_stale_deals")}
    assert set(rows) == {2, 3}
    assert rows[2]["stale_reason"] == "closing date passed"
    assert rows[2]["days_past_closing"] == 1
    assert rows[3]["stale_reason"] == "not modified in 30 days"
    assert rows[3]["days_past_closing"] is None
    assert rows[3]["days_since_modified"] == 45
    assert rows[2]["owner_email"] == "ada@example.com"
