"""Property: for random region scopes and filters, no endpoint answers with anything from outside the scope.

The oracle is the reference warehouse's own rows (tests/fixtures/api.py) filtered in plain Python. The app (and
its response cache) lives across all examples, so answers cached for one scope are there when the next
example asks with another: a cache keyed wrongly would fail here.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline_pulse.warehouse.history import end_of_day
from tests.fixtures.api import ALL_TEST_REGIONS, DEAL_ROWS, HISTORY_ROWS, STAGE_ROWS, ApiClient, versions_open_at
from tests.fixtures.property_budget import examples

V1 = "/api/v1"
FEB1 = date(2026, 2, 1)
CLOSING_DAYS = [None, date(2026, 2, 1), date(2026, 2, 15), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
FUNNEL_STAGES = {row["stage"] for row in STAGE_ROWS if row["deal_status"] in ("open", "won")}


def _matches(
    row: dict[str, Any], regions: set[str], owner_id: int | None, start: date | None, end: date | None
) -> bool:
    closing = row["closing_date"]
    return (
        row["region"] in regions
        and (owner_id is None or row["owner_id"] == owner_id)
        and (start is None or (closing is not None and closing >= start))
        and (end is None or (closing is not None and closing <= end))
    )


@settings(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    scope=st.one_of(st.none(), st.sets(st.sampled_from(ALL_TEST_REGIONS), min_size=1)),
    region=st.one_of(st.none(), st.sampled_from(ALL_TEST_REGIONS)),
    owner_id=st.sampled_from([None, 100, 200, 300, 999]),
    closing=st.tuples(st.sampled_from(CLOSING_DAYS), st.sampled_from(CLOSING_DAYS)),
)
def test_no_endpoint_leaks_outside_the_scope(
    seeded_api: ApiClient,
    scope: set[str] | None,
    region: str | None,
    owner_id: int | None,
    closing: tuple[date | None, date | None],
) -> None:
    assert seeded_api.client.app.state.response_cache.active  # type: ignore[attr-defined]
    start, end = sorted(closing, key=lambda day: day or date.min) if all(closing) else closing
    allowed = set(ALL_TEST_REGIONS) if scope is None else scope
    auth: dict[str, Any] = {"regions": [], "role": "admin"} if scope is None else {"regions": sorted(scope)}
    params: dict[str, Any] = {}
    if region is not None:
        params["region"] = region
    if region is not None and region not in allowed:
        for path in [
            "/metrics/summary",
            "/metrics/by-region",
            "/deals",
            "/deals/attention",
            "/regions",
            "/sync/status",
        ]:
            assert seeded_api.get(V1 + path, params=params, **auth).status_code == 403
        for path in ["/metrics/forecast", "/metrics/attainment"]:
            assert seeded_api.get(V1 + path, params={**params, "period": "2026-Q1"}, **auth).status_code == 403
        return
    effective = allowed if region is None else {region}
    filters = dict(params)
    if owner_id is not None:
        filters["owner_id"] = owner_id
    if start is not None:
        filters["closing_from"] = start.isoformat()
    if end is not None:
        filters["closing_to"] = end.isoformat()

    live = [row for row in DEAL_ROWS if row["deleted_at"] is None]
    expected = [row for row in live if _matches(row, effective, owner_id, start, end)]
    expected_open = [row for row in expected if row["deal_status"] == "open"]

    summary = seeded_api.get(f"{V1}/metrics/summary", params=filters, **auth).json()
    assert summary["open_deal_count"] == len(expected_open)
    assert Decimal(summary["open_pipeline"]) == sum((row["amount_home"] for row in expected_open), Decimal(0))
    assert summary["won_count"] == sum(row["deal_status"] == "won" for row in expected)
    assert summary["lost_count"] == sum(row["deal_status"] == "lost" for row in expected)

    by_region = seeded_api.get(f"{V1}/metrics/by-region", params={**filters, "deal_status": "all"}, **auth).json()
    assert {item["region"]: item["deal_count"] for item in by_region["items"]} == {
        code: sum(row["region"] == code for row in expected) for code in {row["region"] for row in expected}
    }
    for path in ("/metrics/by-stage", "/metrics/by-owner"):
        grouped = seeded_api.get(V1 + path, params={**filters, "deal_status": "all"}, **auth).json()
        assert sum(item["deal_count"] for item in grouped["items"]) == len(expected)

    # Every open deal of the reference warehouse breaks no_activity (modified in early 2026), so the attention
    # list is exactly the open deals in scope.
    attention = seeded_api.get(f"{V1}/deals/attention", params={**filters, "page_size": 200}, **auth).json()
    assert sorted(item["id"] for item in attention["items"]) == sorted(str(row["id"]) for row in expected_open)
    deals = seeded_api.get(f"{V1}/deals", params={**filters, "page_size": 200}, **auth).json()
    assert seeded_api.get(f"{V1}/deals", params={**filters, "page_size": 200}, **auth).json() == deals  # a hit
    assert sorted(int(item["id"]) for item in deals["items"]) == sorted(row["id"] for row in expected)
    for row in DEAL_ROWS:
        status = seeded_api.get(f"{V1}/deals/{row['id']}", **auth).status_code
        assert status == (200 if row["deleted_at"] is None and row["region"] in allowed else 404)

    def open_at(day: date) -> list[dict[str, Any]]:
        return [row for row in versions_open_at(end_of_day(day)) if _matches(row, effective, owner_id, start, end)]

    trend = seeded_api.get(
        f"{V1}/metrics/trend", params={**filters, "from": "2026-01-31", "to": "2026-02-28", "interval": "day"}, **auth
    ).json()
    for point in trend["items"]:
        rows = open_at(date.fromisoformat(point["as_of_day"]))
        assert point["open_deal_count"] == len(rows)
        assert Decimal(point["open_pipeline"]) == sum((row["amount_home"] for row in rows), Decimal(0))
    movement = seeded_api.get(
        f"{V1}/metrics/movement", params={**filters, "from": "2026-01-31", "to": "2026-02-28"}, **auth
    ).json()
    for key, day in (("start", date(2026, 1, 31)), ("end", date(2026, 2, 28))):
        assert Decimal(movement[key]) == sum((row["amount_home"] for row in open_at(day)), Decimal(0))

    stages = seeded_api.get(f"{V1}/metrics/stages", params={**filters, "pipeline": "Standard"}, **auth).json()
    in_scope = {row["id"] for row in expected if row["pipeline"] == "Standard"}
    assert sum(stage["entered"] for stage in stages["stages"]) == sum(h["deal_id"] in in_scope for h in HISTORY_ROWS)
    funnel = seeded_api.get(f"{V1}/metrics/funnel", params={**filters, "pipeline": "Standard"}, **auth).json()
    expected_ids = {row["id"] for row in expected}
    reached = {h["deal_id"] for h in HISTORY_ROWS if h["deal_id"] in expected_ids and h["stage"] in FUNNEL_STAGES}
    assert funnel["steps"][0]["reached"] == len(reached)

    regions = seeded_api.get(f"{V1}/regions", params=params, **auth).json()
    assert {item["code"] for item in regions} == effective
    sync = seeded_api.get(f"{V1}/sync/status", params=params, **auth).json()
    assert sync["live_deals"] == sum(row["region"] in effective for row in live)

    # Forecast and attainment: the period replaces the closing range; every deal counted is in scope.
    by_owner = {"owner_id": owner_id} if owner_id is not None else {}
    for period, first, last in (("2026-Q1", date(2026, 1, 1), date(2026, 3, 31)), ("2026-02", FEB1, date(2026, 2, 28))):
        in_period = [row for row in live if _matches(row, effective, owner_id, first, last)]
        forecast = seeded_api.get(
            f"{V1}/metrics/forecast", params={**params, **by_owner, "period": period, "group_by": "region"}, **auth
        ).json()
        assert sum(item["deal_count"] for item in forecast["total"]["categories"]) == len(in_period)
        assert {group["region"] for group in forecast["groups"]} == {row["region"] for row in in_period}
        attainment = seeded_api.get(
            f"{V1}/metrics/attainment", params={**params, **by_owner, "period": period}, **auth
        ).json()
        open_rows = [row for row in in_period if row["deal_status"] == "open"]
        assert attainment["total"]["open_count"] == len(open_rows)
        assert Decimal(attainment["total"]["open_pipeline"]) == sum((r["amount_home"] for r in open_rows), Decimal(0))
        assert attainment["total"]["won_count"] == sum(row["deal_status"] == "won" for row in in_period)
