"""Property: whatever the closing range (whole months, cut months, inside one month, open-ended), filters, scope,
`as_of` and threshold, the figures the marts answer (pipeline_metrics, pipeline_metrics_daily,
open_deal_freshness, and `deals` for owners) equal the written definitions (docs/metrics.md 6.1-6.3) computed
here in Python from the rows. A seeded random warehouse of a few hundred deals and a seeded random sample of
requests, on both backends; every answered path (mart, mart_daily, deals and their sums) is hit."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.models import CrmUser, Deal, PipelineStage
from pipeline_pulse.warehouse.metrics_mart import refresh_pipeline_metrics
from tests.fixtures.api import ApiClient, api_settings, deal_row

V1 = "/api/v1"
REGIONS = ("APAC", "EMEA", "Americas")
OWNERS = {100: "APAC", 200: "EMEA", 300: "Americas", 400: "APAC"}
PIPELINES = ("Standard", "Enterprise")
STAGES = [
    ("Qualification", 1, 10, "Open", "open"),
    ("Proposal", 2, 50, "Open", "open"),
    ("Closed Won", 3, 100, "Closed Won", "won"),
    ("Closed Lost", 4, 0, "Closed Lost", "lost"),
]
START = date(2026, 1, 1)


def _deals() -> list[dict[str, Any]]:
    rng = random.Random(13)
    rows = []
    for deal_id in range(1, 401):
        owner = rng.choice(list(OWNERS))
        stage, _seq, probability, _ftype, status = rng.choice(STAGES)
        created = datetime(2025, 11, 1, tzinfo=UTC) + timedelta(hours=rng.randrange(24 * 150))
        modified = (
            None
            if rng.random() < 0.05
            else datetime(2026, 1, 1, tzinfo=UTC)
            + timedelta(
                hours=rng.randrange(24 * 200) if rng.random() < 0.8 else 24 * rng.randrange(200)  # some at 00:00 UTC
            )
        )
        closing = None if rng.random() < 0.07 else START + timedelta(days=rng.randrange(181))
        rows.append(
            deal_row(
                deal_id,
                region=OWNERS[owner] if rng.random() < 0.9 else rng.choice(REGIONS),
                stage=stage,
                deal_status=status,
                pipeline=rng.choice(PIPELINES),
                owner_id=owner,
                amount_home=None if rng.random() < 0.03 else f"{rng.randrange(1, 500000) / 100:.2f}",
                probability=probability,
                closing_date=closing,
                created_time=None if rng.random() < 0.03 else created,
                modified_time=modified,
                deleted_at=datetime(2026, 2, 1, tzinfo=UTC) if rng.random() < 0.05 else None,
            )
        )
    return rows


DEALS = _deals()


@pytest.fixture(scope="module")
def marts_api(module_db_url: str) -> Iterator[ApiClient]:
    from api.main import create_app

    engine = create_sync_engine(module_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(PipelineStage),
                [
                    {
                        "pipeline": pipeline,
                        "stage": stage,
                        "sequence": seq,
                        "probability": prob,
                        "forecast_type": ftype,
                        "forecast_category": None,
                        "deal_status": status,
                        "is_active": True,
                    }
                    for pipeline in PIPELINES
                    for stage, seq, prob, ftype, status in STAGES
                ],
            )
            conn.execute(
                insert(CrmUser),
                [{"id": o, "full_name": f"Owner {o}", "region": r, "is_active": True} for o, r in OWNERS.items()],
            )
            conn.execute(insert(Deal), DEALS)
            refresh_pipeline_metrics(conn)
    finally:
        engine.dispose()
    settings = api_settings(module_db_url)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield ApiClient(client, settings)


def _selected(query: dict[str, Any], regions: tuple[str, ...]) -> list[dict[str, Any]]:
    low = date.fromisoformat(query["closing_from"]) if "closing_from" in query else None
    high = date.fromisoformat(query["closing_to"]) if "closing_to" in query else None
    chosen = []
    for row in DEALS:
        if row["deleted_at"] is not None or row["region"] not in regions:
            continue
        if "owner_id" in query and row["owner_id"] != int(query["owner_id"]):
            continue
        if any(key in query and row[key] != query[key] for key in ("pipeline", "stage")):
            continue
        if low is not None or high is not None:
            day = row["closing_date"]
            if day is None or (low is not None and day < low) or (high is not None and day > high):
                continue
        chosen.append(row)
    return chosen


def _stale(row: dict[str, Any], as_of: date, days: int) -> bool:
    cutoff = datetime.combine(as_of - timedelta(days=days), datetime.min.time(), tzinfo=UTC)
    modified, closing = row["modified_time"], row["closing_date"]
    return modified is None or modified < cutoff or (closing is not None and closing < as_of)


def _money(rows: list[dict[str, Any]], field: str = "amount_home") -> Decimal:
    return sum((row[field] or Decimal(0) for row in rows), Decimal(0))


def _requests() -> list[tuple[dict[str, Any], tuple[str, ...], dict[str, Any]]]:
    """(query, regions in effect, token claims) triples; the dates cut months, align with them, or are absent."""
    rng = random.Random(7)
    days = [None, None, "2026-01-01", "2026-01-31", "2026-02-01", "2026-02-14", "2026-02-28", "2026-03-01"]
    days += ["2026-03-17", "2026-03-31", "2026-04-09", "2026-04-30", "2026-05-02", "2026-06-30", "2026-03-16"]
    requests = []
    for _ in range(60):
        first, second = rng.choice(days), rng.choice(days)
        if first is not None and second is not None and first > second:
            first, second = second, first
        query: dict[str, Any] = {}
        if first is not None:
            query["closing_from"] = first
        if second is not None:
            query["closing_to"] = second
        if rng.random() < 0.25:
            query["owner_id"] = str(rng.choice(list(OWNERS)))
        if rng.random() < 0.3:
            query["pipeline"] = rng.choice(PIPELINES)
        if rng.random() < 0.3:
            query["stage"] = rng.choice(STAGES)[0]
        scope = rng.choice(["admin", "APAC", "APAC+EMEA", "admin region"])
        if scope == "admin":
            regions, claims = (*REGIONS, "India", "Unassigned"), {"regions": [], "role": "admin"}
        elif scope == "admin region":
            query["region"] = "EMEA"
            regions, claims = ("EMEA",), {"regions": [], "role": "admin"}
        else:
            regions = tuple(scope.split("+"))
            claims = {"regions": list(regions)}
        requests.append((query, regions, claims))
    return requests


REQUESTS = _requests()


def test_every_path_is_exercised(marts_api: ApiClient) -> None:
    sources: Counter[str] = Counter()
    for query, _regions, claims in REQUESTS:
        sources[marts_api.get(f"{V1}/metrics/summary", params=query, **claims).json()["source"]] += 1
        sources[marts_api.get(f"{V1}/metrics/by-owner", params=query, **claims).json()["source"]] += 1
    assert {"mart", "mart_daily", "mart+mart_daily", "deals", "mart+deals"} <= set(sources), sources


@pytest.mark.parametrize("index", range(0, len(REQUESTS), 6))
def test_summary_equals_the_definitions(marts_api: ApiClient, index: int) -> None:
    rng = random.Random(index)
    for query, regions, claims in REQUESTS[index : index + 6]:
        rows = _selected(query, regions)
        opened = [row for row in rows if row["deal_status"] == "open"]
        won = [row for row in rows if row["deal_status"] == "won"]
        lost = [row for row in rows if row["deal_status"] == "lost"]
        as_of = rng.choice([None, "2026-02-10", "2026-03-01", "2026-03-16", "2026-05-31", "2026-07-20"])
        days = rng.choice([1, 7, 14, 30, 45, 90])
        params = (
            {**query, "stale_after_days": days}
            if as_of is None
            else {**query, "as_of": as_of, "stale_after_days": days}
        )
        response = marts_api.get(f"{V1}/metrics/summary", params=params, **claims)
        assert response.status_code == 200, response.text
        body = response.json()
        context = (params, claims, body["source"])
        assert body["open_deal_count"] == len(opened), context
        assert Decimal(body["open_pipeline"]) == _money(opened), context
        assert Decimal(body["weighted_pipeline"]) == _money(opened, "weighted_amount_home"), context
        assert (body["won_count"], Decimal(body["won_amount"])) == (len(won), _money(won)), context
        assert (body["lost_count"], Decimal(body["lost_amount"])) == (len(lost), _money(lost)), context
        cycles = [
            (row["closing_date"] - row["created_time"].date()).days
            for row in won
            if row["closing_date"] is not None and row["created_time"] is not None
        ]
        assert body["average_sales_cycle_days"] == (round(sum(cycles) / len(cycles), 6) if cycles else None), context
        reference = date.fromisoformat(body["as_of"])
        if as_of is not None:
            assert reference == date.fromisoformat(as_of)
        assert body["stale_open_deals"] == sum(_stale(row, reference, days) for row in opened), context


@pytest.mark.parametrize("index", range(0, len(REQUESTS), 6))
def test_breakdowns_equal_the_definitions(marts_api: ApiClient, index: int) -> None:
    keys = {"by-stage": ("pipeline", "stage"), "by-region": ("region",), "by-owner": ("owner_id",)}
    for offset, (query, regions, claims) in enumerate(REQUESTS[index : index + 6]):
        status = ("open", "all", "won", "lost")[offset % 4]
        rows = [row for row in _selected(query, regions) if status == "all" or row["deal_status"] == status]
        for path, key in keys.items():
            response = marts_api.get(f"{V1}/metrics/{path}", params={**query, "deal_status": status}, **claims)
            assert response.status_code == 200, response.text
            expected: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
            for row in rows:
                group = tuple(str(row[k]) if k == "owner_id" else row[k] for k in key)
                expected.setdefault(group, []).append(row)
            answered = {
                tuple(item[k] for k in key): (
                    item["deal_count"],
                    Decimal(item["amount"]),
                    Decimal(item["weighted_amount"]),
                )
                for item in response.json()["items"]
            }
            assert answered == {
                group: (len(members), _money(members), _money(members, "weighted_amount_home"))
                for group, members in expected.items()
            }, (path, query, claims, status)


def test_closing_cover_is_the_range_exactly_with_short_strips() -> None:
    """Whole months plus / minus strips count every day of [low, high] once and no other day (every pair of days
    over five months, and open-ended ranges); no strip is longer than half a month (+1 day)."""
    from api.queries.staleness import _closing_cover, _month_end

    horizon = date(2026, 8, 31)
    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(151)]
    # How often each day is counted, as signed +1/-1 steps on a day axis summed up (one cumsum per range,
    # the same counts as adding up day by day: ~11k ranges stay well under a second).
    origin = date(2025, 1, 1)
    size = (date(2027, 12, 31) - origin).days + 2

    def steps(counted: np.ndarray, first: date, last: date, sign: int) -> None:
        assert origin <= first, first
        assert last < origin + timedelta(days=size - 1), last
        if first <= last:
            counted[(first - origin).days] += sign
            counted[(last - origin).days + 1] -= sign

    for low in days:
        for high in [None, *(day for day in days if day >= low)]:
            months, strips = _closing_cover(low, high)
            counted = np.zeros(size, dtype=np.int64)
            if months is not None:
                first, last = months
                steps(counted, first, horizon if last is None else _month_end(last), 1)
            for first, last, sign in strips:
                assert (last - first).days + 1 <= 16, (low, high, strips)
                steps(counted, first, last, sign)
            expected = np.zeros(size, dtype=np.int64)
            steps(expected, low, horizon if high is None else high, 1)
            assert np.array_equal(np.cumsum(counted), np.cumsum(expected)), (low, high, months, strips)


def test_stale_count_on_a_grid_of_days_thresholds_and_cut_ranges(marts_api: ApiClient) -> None:
    """Every combination of a mid-month / month-start as_of, thresholds whose cutoff falls early, mid or late
    in a month, and closing ranges cut at either end: the strips of deals modified between the cutoff and the
    nearer month start that close on cut days are where an off-by-one would hide."""
    admin = {"regions": [], "role": "admin"}
    ranges: list[dict[str, str]] = [
        {},
        {"closing_from": "2026-02-09"},
        {"closing_from": "2026-02-23", "closing_to": "2026-05-06"},
        {"closing_from": "2026-03-03", "closing_to": "2026-03-26"},
        {"closing_to": "2026-06-12"},
    ]
    regions = (*REGIONS, "India", "Unassigned")
    for as_of in ("2026-02-17", "2026-03-01", "2026-04-28"):
        for days in (2, 11, 19, 40):
            for closing in ranges:
                params = {**closing, "as_of": as_of, "stale_after_days": days}
                body = marts_api.get(f"{V1}/metrics/summary", params=params, **admin).json()
                opened = [row for row in _selected(closing, regions) if row["deal_status"] == "open"]
                expected = sum(_stale(row, date.fromisoformat(as_of), days) for row in opened)
                assert body["stale_open_deals"] == expected, params
