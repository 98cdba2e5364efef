"""/metrics/forecast and /metrics/attainment over real HTTP on the hand-built warehouse (tests/insight/warehouse.py),
on SQLite and Postgres: figures worked out by hand for 2025-Q4, and for every scope and grouping the figures the
written definitions (docs/metrics.md 12.1, 12.2) give when applied to the rows in plain Python."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from pipeline_pulse.insight.categories import STANDARD_CATEGORIES
from pipeline_pulse.insight.periods import Period
from tests.insight.conftest import LiveApi
from tests.insight.warehouse import ALI, ANA, BEN, CHLOE, REGIONS, TARGETS

D = Decimal
SCOPES: list[dict[str, Any]] = [
    {"regions": [], "role": "admin"},
    {"regions": ["APAC"]},
    {"regions": ["EMEA", "Americas"]},
    {"regions": ["India"]},
    {"regions": ["APAC", "EMEA"], "params": {"region": "EMEA"}},
]


def _categories(body: dict[str, Any]) -> dict[str | None, tuple[int, Decimal, Decimal]]:
    return {c["category"]: (c["deal_count"], D(c["amount"]), D(c["weighted_amount"])) for c in body["categories"]}


def test_forecast_by_hand(insight_api: LiveApi) -> None:
    body = insight_api.get("/metrics/forecast", regions=[], role="admin", params={"period": "2025-Q4"}).json()
    assert (body["period"], body["period_start"], body["period_end"], body["source"]) == (
        "2025-Q4",
        "2025-10-01",
        "2025-12-31",
        "deals",
    )
    # Deal 9 has no amount (counts, adds 0); deal 10 is deleted, deal 11 closes in 2026.
    assert _categories(body["total"]) == {
        "Pipeline": (3, D("2500.00"), D("250.00")),
        "Best Case": (1, D("2000.00"), D("1000.00")),
        "Committed": (1, D("4000.00"), D("3200.00")),
        "Closed": (2, D("5500.00"), D("5500.00")),
        "Omitted": (1, D("500.00"), D("0.00")),
        "Upside": (1, D("600.00"), D("120.00")),
        None: (1, D("700.00"), D("210.00")),
    }
    assert [c["category"] for c in body["total"]["categories"]] == [*STANDARD_CATEGORIES, "Upside", None]
    assert body["total"]["won_to_date"] == {"deal_count": 2, "amount": "5500.00"}
    assert body["groups"] == []

    by_region = insight_api.get(
        "/metrics/forecast", regions=["APAC", "Americas"], params={"period": "2025-Q4", "group_by": "region"}
    ).json()
    assert [group["region"] for group in by_region["groups"]] == ["APAC", "Americas"]
    apac, americas = by_region["groups"]
    assert _categories(apac)["Best Case"] == (1, D("2000.00"), D("1000.00"))
    assert _categories(apac)["Committed"] == (0, D("0.00"), D("0.00"))  # standard categories always listed
    assert None not in _categories(apac)
    assert _categories(americas)["Pipeline"] == (2, D("1500.00"), D("150.00"))
    assert americas["won_to_date"] == {"deal_count": 0, "amount": "0.00"}

    by_owner = insight_api.get(
        "/metrics/forecast", regions=[], role="admin", params={"period": "2025-Q4", "group_by": "owner"}
    ).json()
    # Largest amount first: Ben 7200, Ali 3500, Ana 3600 -> Ben, Ana, Ali, Chloe.
    assert [(g["owner_id"], g["owner_name"]) for g in by_owner["groups"]] == [
        (str(BEN), "Ben"),
        (str(ANA), "Ana"),
        (str(ALI), "Ali"),
        (str(CHLOE), "Chloe"),
    ]


def test_attainment_by_hand(insight_api: LiveApi) -> None:
    admin = insight_api.get("/metrics/attainment", regions=[], role="admin", params={"period": "2025-Q4"}).json()
    # Region targets: APAC 10000 (its quarter row wins over its 2025-11 row), EMEA 1000 + 1500 + 2000 from its
    # months, India 3000, Americas none.
    assert admin["total"] == {
        "region": None,
        "owner_id": None,
        "owner_name": None,
        "target": "17500.00",
        "won_count": 2,
        "won_to_date": "5500.00",
        "attainment": 0.314286,
        "gap": "12000.00",
        "open_count": 7,
        "open_pipeline": "9800.00",
        "weighted_pipeline": "4780.00",
        "coverage": 0.816667,
    }
    owners = insight_api.get(
        "/metrics/attainment", regions=[], role="admin", params={"period": "2025-Q4", "group_by": "owner"}
    ).json()
    assert owners["total"]["target"] == "17500.00"  # the total stays on the region targets
    figures = {
        g["owner_id"]: (g["target"], g["won_to_date"], g["attainment"], g["gap"], g["open_pipeline"], g["coverage"])
        for g in owners["groups"]
    }
    assert figures == {
        str(ANA): ("4000.00", "0.00", 0.0, "4000.00", "3600.00", 0.9),
        str(ALI): ("3000.00", "3000.00", 1.0, "0.00", "0.00", None),  # met: no coverage
        str(BEN): ("2000.00", "2500.00", 1.25, "-500.00", "4700.00", None),  # exceeded
        str(CHLOE): (None, "0.00", None, None, "1500.00", None),  # no target
    }
    assert [g["owner_id"] for g in owners["groups"]] == [str(ANA), str(ALI), str(BEN), str(CHLOE)]

    regions = insight_api.get(
        "/metrics/attainment", regions=[], role="admin", params={"period": "2025-Q4", "group_by": "region"}
    ).json()
    by_region = {g["region"]: (g["target"], g["won_to_date"], g["coverage"]) for g in regions["groups"]}
    assert by_region == {
        "APAC": ("10000.00", "3000.00", 0.514286),
        "Americas": (None, "0.00", None),
        "EMEA": ("4500.00", "2500.00", 2.35),
        "India": ("3000.00", "0.00", 0.0),  # a target without deals
    }
    november = insight_api.get("/metrics/attainment", regions=[], role="admin", params={"period": "2025-11"}).json()
    # Months are never split from quarters: APAC's and EMEA's November rows only.
    assert (november["total"]["target"], november["total"]["open_pipeline"]) == ("4500.00", "2700.00")

    ana = insight_api.get(
        "/metrics/attainment", regions=["APAC"], params={"period": "2025-Q4", "owner_id": str(ANA)}
    ).json()
    assert (ana["total"]["owner_id"], ana["total"]["owner_name"], ana["total"]["target"]) == (
        str(ANA),
        "Ana",
        "4000.00",
    )


# --- the written definitions, applied to the rows in plain Python -----------------------------------------


def _scope(case: dict[str, Any]) -> set[str]:
    regions = set(REGIONS) if case.get("role") == "admin" else set(case["regions"])
    narrowed = case.get("params", {}).get("region")
    return {narrowed} if narrowed else regions


def _in_period(deals: list[dict[str, Any]], regions: set[str], period: Period) -> list[dict[str, Any]]:
    return [
        d
        for d in deals
        if d["deleted_at"] is None
        and d["region"] in regions
        and d["closing_date"] is not None
        and period.start <= d["closing_date"] <= period.end
    ]


def _amount(deal: dict[str, Any], key: str = "amount_home") -> Decimal:
    return deal[key] if deal[key] is not None else D(0)


def _won_to_date(deal: dict[str, Any], period: Period, as_of: date) -> bool:
    return deal["deal_status"] == "won" and deal["closing_date"] <= min(as_of, period.end)


def _target(period: Period, region: str, owner: int | None) -> Decimal | None:
    own = [D(a) for p, r, o, a in TARGETS if p == period.label and r == region and o == owner]
    if own:
        return own[0]
    months = {m.label for m in period.months()} - {period.label}
    parts = [D(a) for p, r, o, a in TARGETS if p in months and r == region and o == owner]
    return sum(parts, D(0)) if parts else None


def _periods(today: date) -> list[str]:
    return [
        "2025-Q4",
        "2025-11",
        "2025-10",
        f"{today.year}-{today.month:02d}",
        f"{today.year}-Q{(today.month + 2) // 3}",
    ]


@pytest.mark.parametrize("case", SCOPES, ids=lambda c: "+".join(c["regions"]) or "admin")
def test_forecast_follows_the_definition(insight_api: LiveApi, case: dict[str, Any]) -> None:
    regions = _scope(case)
    for label in _periods(insight_api.today):
        period = Period.parse(label)
        body = insight_api.get(
            "/metrics/forecast",
            regions=case["regions"],
            role=case.get("role"),
            params={**case.get("params", {}), "period": label, "group_by": "region"},
        ).json()
        as_of = date.fromisoformat(body["as_of"])
        deals = _in_period(insight_api.deals, regions, period)
        expected: dict[str | None, dict[str | None, tuple[int, Decimal, Decimal]]] = defaultdict(dict)
        for key in (None, *sorted({d["region"] for d in deals})):
            group = [d for d in deals if key is None or d["region"] == key]
            for category in {*STANDARD_CATEGORIES, *(d["forecast_category"] for d in group)}:
                rows = [d for d in group if d["forecast_category"] == category]
                expected[key][category] = (
                    len(rows),
                    sum((_amount(d) for d in rows), D(0)),
                    sum((_amount(d, "weighted_amount_home") for d in rows), D(0)),
                )
            won = [d for d in group if _won_to_date(d, period, as_of)]
            won_body = body["total"] if key is None else next(g for g in body["groups"] if g["region"] == key)
            assert won_body["won_to_date"] == {
                "deal_count": len(won),
                "amount": str(sum((_amount(d) for d in won), D("0.00"))),
            }, (label, key)
        assert _categories(body["total"]) == expected[None], label
        assert {g["region"]: _categories(g) for g in body["groups"]} == {
            key: value for key, value in expected.items() if key is not None
        }, label


@pytest.mark.parametrize("case", SCOPES, ids=lambda c: "+".join(c["regions"]) or "admin")
def test_attainment_follows_the_definition(insight_api: LiveApi, case: dict[str, Any]) -> None:
    regions = _scope(case)
    for label in _periods(insight_api.today):
        period = Period.parse(label)
        body = insight_api.get(
            "/metrics/attainment",
            regions=case["regions"],
            role=case.get("role"),
            params={**case.get("params", {}), "period": label, "group_by": "region"},
        ).json()
        as_of = date.fromisoformat(body["as_of"])
        deals = _in_period(insight_api.deals, regions, period)
        targeted = {r for r in regions if _target(period, r, None) is not None}
        for key in (None, *sorted(targeted | {d["region"] for d in deals})):
            group = [d for d in deals if key is None or d["region"] == key]
            keys = sorted(targeted) if key is None else [key]
            targets = [t for t in (_target(period, r, None) for r in keys) if t is not None]
            target = sum(targets, D(0)) if targets else None
            won = sum((_amount(d) for d in group if _won_to_date(d, period, as_of)), D(0))
            open_amount = sum((_amount(d) for d in group if d["deal_status"] == "open"), D(0))
            gap = None if target is None else target - won
            figures = body["total"] if key is None else next(g for g in body["groups"] if g["region"] == key)
            assert (D(figures["won_to_date"]), D(figures["open_pipeline"])) == (won, open_amount), (label, key)
            assert figures["target"] == (None if target is None else f"{target:.2f}"), (label, key)
            assert figures["gap"] == (None if gap is None else f"{gap:.2f}"), (label, key)
            assert figures["attainment"] == (round(float(won / target), 6) if target else None), (label, key)
            coverage = round(float(open_amount / gap), 6) if gap is not None and gap > 0 else None
            assert figures["coverage"] == coverage, (label, key)
        assert len(body["groups"]) == len(targeted | {d["region"] for d in deals}), label


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/metrics/forecast", {}, "period"),
        ("/metrics/forecast", {"period": "2025-Q5"}, "period"),
        ("/metrics/forecast", {"period": "2025-13"}, "period"),
        ("/metrics/forecast", {"period": "0001-Q1"}, "period"),
        ("/metrics/forecast", {"period": "2025-Q4", "group_by": "stage"}, "group_by"),
        ("/metrics/forecast", {"period": "2025-Q4", "closing_from": "2025-10-01"}, "closing_from"),
        ("/metrics/forecast", {"period": "2025-Q4", "pipeline": "Nope"}, "pipeline"),
        ("/metrics/attainment", {"period": "2025-Q4", "owner_id": "12a"}, "owner_id"),
        ("/metrics/attainment", {"period": "2025-Q4", "pipeline": "Standard"}, "pipeline"),
        ("/metrics/attainment", {"period": "2025-Q4", "region": "Mars"}, "region"),
    ],
)
def test_bad_parameters_are_422_naming_them(
    insight_api: LiveApi, path: str, params: dict[str, str], named: str
) -> None:
    response = insight_api.get(path, params=params)
    assert response.status_code == 422, response.text
    assert named in response.json()["error"]["message"]


def test_a_region_outside_the_scope_is_403(insight_api: LiveApi) -> None:
    for path in ("/metrics/forecast", "/metrics/attainment"):
        response = insight_api.get(path, regions=["APAC"], params={"period": "2025-Q4", "region": "EMEA"})
        assert response.status_code == 403
