"""A hand-built warehouse for the insight endpoints: deals across regions, owners, forecast categories and
closing dates around a past quarter (2025-Q4) and the current month, plus sales targets with every edge case
of docs/metrics.md 12.2 (no target, monthly targets only, a met target, an exceeded one, a target without
deals). The figures the tests expect are worked out by hand in the tests, and by `oracle` functions that
apply the written definitions to these rows in plain Python."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, insert

from pipeline_pulse.insight.periods import Period
from tests.fixtures.api import deal_row

ANA, ALI, BEN, CHLOE = (
    4_876_876_000_000_224_001,
    4_876_876_000_000_224_002,
    4_876_876_000_000_224_003,
    4_876_876_000_000_224_004,
)
USERS = [
    {"id": ANA, "full_name": "Ana", "email": "ana@example.com", "region": "APAC", "is_active": True},
    {"id": ALI, "full_name": "Ali", "email": "ali@example.com", "region": "APAC", "is_active": True},
    {"id": BEN, "full_name": "Ben", "email": "ben@example.com", "region": "EMEA", "is_active": True},
    {"id": CHLOE, "full_name": "Chloe", "email": "chloe@example.com", "region": "Americas", "is_active": True},
]
REGIONS = ("APAC", "EMEA", "Americas", "India", "Unassigned")
BASE = 4_876_876_000_100_000_000

_STAGES = [  # stage, sequence, probability, forecast type, category, status
    ("Qualification", 1, 10, "Open", "Pipeline", "open"),
    ("Proposal", 2, 50, "Open", "Pipeline", "open"),
    ("Negotiation", 3, 80, "Open", "Committed", "open"),
    ("Closed Won", 4, 100, "Closed Won", "Closed", "won"),
    ("Closed Lost", 5, 0, "Closed Lost", "Omitted", "lost"),
]
STAGE_ROWS = [
    {
        "pipeline": "Standard",
        "stage": stage,
        "sequence": sequence,
        "probability": probability,
        "forecast_type": forecast_type,
        "forecast_category": category,
        "deal_status": status,
        "is_active": True,
    }
    for stage, sequence, probability, forecast_type, category, status in _STAGES
]


def _deal(
    n: int,
    region: str,
    owner: int,
    stage: str,
    amount: str | None,
    probability: int,
    closing: date,
    category: str | None,
    **extra: Any,
) -> dict[str, Any]:
    status = {"Closed Won": "won", "Closed Lost": "lost"}.get(stage, "open")
    return deal_row(
        BASE + n,
        region=region,
        owner_id=owner,
        stage=stage,
        deal_status=status,
        amount_home=amount,
        probability=probability,
        closing_date=closing,
        forecast_category=category,
        **extra,
    )


Q4 = Period.parse("2025-Q4")
PAST_DEALS = [
    _deal(1, "APAC", ANA, "Qualification", "1000.00", 10, date(2025, 10, 15), "Pipeline"),
    _deal(2, "APAC", ANA, "Proposal", "2000.00", 50, date(2025, 11, 20), "Best Case"),  # a rep's override
    _deal(3, "APAC", ALI, "Closed Won", "3000.00", 100, date(2025, 12, 1), "Closed"),
    _deal(4, "APAC", ALI, "Closed Lost", "500.00", 0, date(2025, 11, 5), "Omitted"),
    _deal(5, "EMEA", BEN, "Negotiation", "4000.00", 80, date(2025, 12, 31), "Committed"),  # last day
    _deal(6, "EMEA", BEN, "Closed Won", "2500.00", 100, date(2025, 10, 1), "Closed"),  # first day
    _deal(7, "EMEA", BEN, "Legacy Evaluation", "700.00", 30, date(2025, 11, 11), None),  # no category
    _deal(8, "Americas", CHLOE, "Qualification", "1500.00", 10, date(2025, 12, 15), "Pipeline"),
    _deal(9, "Americas", CHLOE, "Qualification", None, 10, date(2025, 10, 20), "Pipeline"),  # no amount
    _deal(
        10,
        "APAC",
        ANA,
        "Closed Won",
        "9999.00",
        100,
        date(2025, 11, 1),
        "Closed",
        deleted_at=datetime(2025, 12, 2, tzinfo=UTC),
    ),
    _deal(11, "APAC", ANA, "Qualification", "800.00", 10, date(2026, 1, 1), "Pipeline"),  # after the quarter
    _deal(12, "APAC", ANA, "Proposal", "600.00", 20, date(2025, 10, 31), "Upside"),  # a custom category
]

TARGETS = [  # period, region, owner, amount
    ("2025-Q4", "APAC", None, "10000.00"),
    ("2025-Q4", "APAC", ANA, "4000.00"),
    ("2025-Q4", "APAC", ALI, "3000.00"),  # met exactly: gap 0
    ("2025-10", "EMEA", None, "1000.00"),  # EMEA has monthly targets only
    ("2025-11", "EMEA", None, "1500.00"),
    ("2025-12", "EMEA", None, "2000.00"),
    ("2025-Q4", "EMEA", BEN, "2000.00"),  # exceeded
    ("2025-Q4", "India", None, "3000.00"),  # a target without deals
    ("2025-11", "APAC", None, "3000.00"),  # a month of a quarter that has its own row
]


def current_deals(today: date) -> list[dict[str, Any]]:
    """Deals in today's month: won today, won on the month's last day (after today unless it is today), an
    overdue open deal on the month's first day."""
    month = Period.parse(f"{today.year}-{today.month:02d}")
    return [
        _deal(20, "APAC", ANA, "Closed Won", "111.00", 100, today, "Closed"),
        _deal(21, "APAC", ANA, "Closed Won", "222.00", 100, month.end, "Closed"),
        _deal(22, "EMEA", BEN, "Proposal", "333.00", 50, month.start, "Best Case"),
    ]


def target_rows() -> list[dict[str, Any]]:
    rows = []
    for label, region, owner, amount in TARGETS:
        period = Period.parse(label)
        rows.append(
            {
                "period": label,
                "period_start": period.start,
                "period_end": period.end,
                "region": region,
                "owner_id": owner,
                "amount_home": Decimal(amount),
                "source": "tests",
                "loaded_at": datetime(2025, 9, 1, tzinfo=UTC),
            }
        )
    return rows


def seed(engine: Engine, today: date) -> list[dict[str, Any]]:
    """Load the warehouse; returns every deal row (the oracle's input)."""
    from pipeline_pulse.models import CrmUser, Deal, PipelineStage, SalesTarget

    deals = [*PAST_DEALS, *current_deals(today)]
    with engine.begin() as connection:
        connection.execute(insert(PipelineStage), STAGE_ROWS)
        connection.execute(insert(CrmUser), USERS)
        connection.execute(insert(Deal), deals)
        connection.execute(insert(SalesTarget), target_rows())
    return deals


def today_utc() -> date:
    return datetime.now(UTC).date()
