"""Hand-built service records for tests that need no Zoho (transforms, loaders, assets with a fake service)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pipeline_pulse.services.zoho.records import CrmUserRecord, CurrencyRecord, DealRecord, StageRecord

BASE_ID = 4_876_876_000_100_000_000
T0 = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)

STAGES = [
    StageRecord("Standard", "Qualification", 1, 10, "Open", "Pipeline"),
    StageRecord("Standard", "Negotiation/Review", 2, 90, "Open", "Committed"),
    StageRecord("Standard", "Closed Won", 3, 100, "Closed Won", "Closed"),
    StageRecord("Standard", "Closed Lost", 4, 0, "Closed Lost", "Omitted"),
]
CURRENCIES = [
    CurrencyRecord("SGD", "Singapore Dollar", "S$", Decimal(1), True, True),
    CurrencyRecord("USD", "US Dollar", "$", Decimal("0.740000000"), False, True),
    CurrencyRecord("INR", "Indian Rupee", "₹", Decimal("62.000000000"), False, True),
]
USERS = [
    CrmUserRecord(
        4_876_876_000_000_200_001, "Amelia Tan", "amelia@example.com", "CEO", "Administrator", "active", "Singapore", T0
    ),
    CrmUserRecord(
        4_876_876_000_000_200_002, "Priya Sharma", "priya@example.com", "Rep", "Standard", "disabled", "india", T0
    ),
]


def make_deal(index: int = 0, **overrides: Any) -> DealRecord:
    values: dict[str, Any] = {
        "id": BASE_ID + index,
        "deal_name": f"Deal {index}",
        "account_id": 4_876_876_000_001_000_000 + index,
        "account_name": f"Account {index}",
        "owner_id": USERS[0].id,
        "owner_name": USERS[0].full_name,
        "owner_email": USERS[0].email,
        "stage": "Qualification",
        "pipeline": "Standard",
        "probability": 10,
        "amount": Decimal("1000.00"),
        "currency": "SGD",
        "exchange_rate": Decimal(1),
        "closing_date": date(2025, 9, 30),
        "created_time": T0 - timedelta(days=30),
        "modified_time": T0 + timedelta(seconds=index),
        "last_activity_time": None,
        "lead_source": "Web",
        "deal_type": "New Business",
        "region": "APAC",
        "country": "Singapore",
    }
    values.update(overrides)
    raw = {key: (value.isoformat() if hasattr(value, "isoformat") else value) for key, value in values.items()}
    raw = {
        key: (str(value) if isinstance(value, Decimal | int) and not isinstance(value, bool) else value)
        for key, value in raw.items()
    }
    values.setdefault("raw", raw)
    return DealRecord(**values)
