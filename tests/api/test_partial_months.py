"""Closing ranges that cut months: whole months from the mart, the cut months' days from the day-grain mart
(from `deals` when grouped by owner), summed exactly; staleness for any as_of / threshold as open minus fresh
deals. Figures recomputed here from the rows (random data and filters: test_mart_paths_property.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.fixtures.api import DEAL_ROWS, ApiClient

V1 = "/api/v1"
ADMIN = {"regions": [], "role": "admin"}
RANGES = [
    ("2026-02-15", "2026-03-10", "mart_daily"),  # two cut months, nothing whole between them
    ("2026-02-15", "2026-04-20", "mart+mart_daily"),  # cut, whole March, cut
    (None, "2026-03-10", "mart+mart_daily"),
    ("2026-02-15", None, "mart+mart_daily"),
    ("2026-02-11", "2026-02-24", "mart_daily"),  # inside one month
    ("2026-02-01", "2026-03-31", "mart"),
]


def _live(start: str | None, end: str | None) -> list[dict[str, Any]]:
    low = date.fromisoformat(start) if start else date.min
    high = date.fromisoformat(end) if end else date.max
    return [
        row
        for row in DEAL_ROWS
        if row["deleted_at"] is None and row["closing_date"] is not None and low <= row["closing_date"] <= high
    ]


def _params(start: str | None, end: str | None) -> dict[str, str]:
    return {key: value for key, value in (("closing_from", start), ("closing_to", end)) if value is not None}


@pytest.mark.parametrize(("start", "end", "source"), RANGES)
def test_summary_and_groups_over_cut_months(
    reference_api: ApiClient, start: str | None, end: str | None, source: str
) -> None:
    rows = _live(start, end)
    body = reference_api.get(f"{V1}/metrics/summary", params={**_params(start, end), "as_of": "2026-03-01"}, **ADMIN)
    summary = body.json()
    assert summary["source"] == source
    by_status = {status: [row for row in rows if row["deal_status"] == status] for status in ("open", "won", "lost")}
    assert summary["open_deal_count"] == len(by_status["open"])
    assert Decimal(summary["open_pipeline"]) == sum((row["amount"] for row in by_status["open"]), Decimal(0))
    assert Decimal(summary["weighted_pipeline"]) == sum(
        (row["weighted_amount_home"] for row in by_status["open"]), Decimal(0)
    )
    assert (summary["won_count"], Decimal(summary["won_amount"])) == (
        len(by_status["won"]),
        sum((row["amount"] for row in by_status["won"]), Decimal(0)),
    )
    assert summary["lost_count"] == len(by_status["lost"])
    cycles = [(row["closing_date"] - row["created_time"].date()).days for row in by_status["won"]]
    assert summary["average_sales_cycle_days"] == (round(sum(cycles) / len(cycles), 6) if cycles else None)
    for path in ("/metrics/by-stage", "/metrics/by-region", "/metrics/by-owner"):
        grouped = reference_api.get(f"{V1}{path}", params={**_params(start, end), "deal_status": "all"}, **ADMIN).json()
        # The day-grain mart has no owner: by-owner reads the cut days from `deals`.
        assert grouped["source"] == (source.replace("mart_daily", "deals") if path.endswith("owner") else source)
        assert sum(item["deal_count"] for item in grouped["items"]) == len(rows), path
        assert sum(Decimal(item["amount"]) for item in grouped["items"]) == sum(
            (row["amount"] for row in rows), Decimal(0)
        )
    stages = reference_api.get(f"{V1}/metrics/by-stage", params={**_params(start, end), "deal_status": "all"}, **ADMIN)
    expected_stages = sorted({row["stage"] for row in rows})
    assert sorted(item["stage"] for item in stages.json()["items"]) == expected_stages  # one group per stage


def _stale(as_of: date, days: int) -> int:
    cutoff = datetime.combine(as_of - timedelta(days=days), datetime.min.time(), tzinfo=UTC)
    return sum(
        row["deal_status"] == "open"
        and row["deleted_at"] is None
        and (
            row["modified_time"] is None
            or row["modified_time"] < cutoff
            or (row["closing_date"] is not None and row["closing_date"] < as_of)
        )
        for row in DEAL_ROWS
    )


def test_stale_count_for_any_day_and_threshold(reference_api: ApiClient) -> None:
    for as_of in ("2026-01-15", "2026-02-26", "2026-03-01", "2026-06-30"):
        for days in (1, 7, 30, 90):
            params = {"as_of": as_of, "stale_after_days": days}
            body = reference_api.get(f"{V1}/metrics/summary", params=params, **ADMIN).json()
            assert (body["as_of"], body["stale_open_deals"]) == (as_of, _stale(date.fromisoformat(as_of), days))
            cut = reference_api.get(f"{V1}/metrics/summary", params={**params, "closing_from": "2026-02-15"}, **ADMIN)
            assert cut.json()["source"] == "mart+mart_daily"
