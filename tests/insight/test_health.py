"""Deal health over real HTTP, on SQLite and Postgres: each default rule by hand, per-stage and per-pipeline rule
rows, the attention list's order, filters and pages, `health` on /deals and /deals/{id}; and a property test
that the API, the analyst view v_deal_health and the written definitions flag the same deals for the same
reasons over random deals and random rules."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from api.response_cache import CacheConfig
from pipeline_pulse.insight.health import V_DEAL_HEALTH, V_DEAL_HEALTH_REASONS
from tests.fixtures.api import api_settings, make_token, serve
from tests.fixtures.property_budget import examples
from tests.insight.health_warehouse import (
    DEFAULT_RULES,
    PIPELINES,
    STAGE_PROBABILITY,
    HealthDeal,
    HealthWorld,
    RuleRow,
    as_dict,
    expected_health,
    load,
    utc_now,
)

ADMIN: dict[str, Any] = {"regions": [], "role": "admin"}

HAND = HealthWorld(
    deals=[
        HealthDeal(1),  # green
        HealthDeal(2, closing_in_days=-5, amount="2000.00"),  # past close: red
        HealthDeal(3, modified_days_ago=40.5, activity_days_ago=35.5, stage_entered_days_ago=None, amount="3000.00"),
        HealthDeal(4, stage="Proposal", probability=50, stage_entered_days_ago=15.5, amount="4000.00"),  # SLA 10
        HealthDeal(5, probability=60, amount="5000.00"),  # 50 points off its stage's 10
        HealthDeal(6, amount=None),
        HealthDeal(7, amount="0.00"),
        HealthDeal(8, closing_dates=(10, 20, 15, 25, 30), amount="8000.00"),  # pushed 3 times, pulled in once
        HealthDeal(9, closing_in_days=-1, modified_days_ago=31.5, amount=None),  # three rules: red
        HealthDeal(10, stage="Closed Won", status="won", closing_in_days=-5),  # closed: not evaluated
        HealthDeal(11, closing_in_days=-5, deleted=True),  # deleted: not listed
        HealthDeal(12, stage="Negotiation", probability=80, modified_days_ago=10.5, amount="12000.00"),
        HealthDeal(13, pipeline="Renewals", closing_in_days=-3, amount="13000.00"),  # rule off for Renewals
        HealthDeal(14, region="EMEA", closing_in_days=-2, amount="14000.00"),
        HealthDeal(15, pipeline="Renewals", stage="Negotiation", probability=80, modified_days_ago=10.5, amount="1.00"),
    ],
    rules=[
        *(RuleRow(rule, *values) for rule, values in DEFAULT_RULES.items()),
        RuleRow("no_activity", "days_since_touch", ">", 7, "amber", stage="Negotiation"),
        RuleRow("past_close_date", "days_past_close", ">", 0, "red", pipeline="Renewals", enabled=False),
        RuleRow("no_activity", "days_since_touch", ">", 60, "amber", pipeline="Renewals"),  # the stage row wins
    ],
    medians={("Standard", "Proposal"): 10},
)


class Live:
    def __init__(self, client: httpx.Client, settings: Any) -> None:
        self.client, self.settings = client, settings

    def get(self, path: str, regions: Any = ("APAC",), role: str | None = None, **kwargs: Any) -> httpx.Response:
        token = make_token(self.settings, regions, role)
        return self.client.get("/api/v1" + path, headers={"Authorization": f"Bearer {token}"}, **kwargs)


@pytest.fixture
def live(db_url: str) -> Iterator[Live]:
    settings = api_settings(db_url)
    for base in serve(settings, cache=CacheConfig(poll_seconds=0)):
        with httpx.Client(base_url=base, timeout=30) as client:
            yield Live(client, settings)


def _attention(live: Live, **params: Any) -> list[dict[str, Any]]:
    auth = params.pop("auth", ADMIN)
    response = live.get("/deals/attention", params={"page_size": 200, **params}, **auth)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_each_rule_by_hand(live: Live, sync_engine: Engine) -> None:
    load(sync_engine, HAND, utc_now())
    items = _attention(live)
    assert as_dict(items) == {
        HAND.deals[1].id: ("red", frozenset({"past_close_date"})),
        HAND.deals[2].id: ("amber", frozenset({"no_activity"})),
        HAND.deals[3].id: ("amber", frozenset({"stage_sla"})),
        HAND.deals[4].id: ("amber", frozenset({"probability_mismatch"})),
        HAND.deals[5].id: ("amber", frozenset({"amount_missing"})),
        HAND.deals[6].id: ("amber", frozenset({"amount_missing"})),
        HAND.deals[7].id: ("amber", frozenset({"closing_date_pushed"})),
        HAND.deals[8].id: ("red", frozenset({"past_close_date", "no_activity", "amount_missing"})),
        HAND.deals[11].id: ("amber", frozenset({"no_activity"})),  # the Negotiation row: 7 days
        HAND.deals[13].id: ("red", frozenset({"past_close_date"})),
        HAND.deals[14].id: ("amber", frozenset({"no_activity"})),
    }
    # Largest amount at risk first; deals without an amount risk 0 and come last, by id descending.
    assert [int(item["id"]) - HAND.deals[0].id + 1 for item in items] == [14, 12, 8, 5, 4, 3, 2, 15, 9, 7, 6]
    by_id = {int(item["id"]): item for item in items}
    [pushes] = by_id[HAND.deals[7].id]["health"]["reasons"]
    assert (pushes["value"], pushes["comparison"], pushes["threshold"]) == (3.0, ">", 2.0)
    [sla] = by_id[HAND.deals[3].id]["health"]["reasons"]
    assert (sla["measure"], sla["value"]) == ("days_over_stage_median", pytest.approx(5.5, abs=0.01))
    nine = by_id[HAND.deals[8].id]["health"]["reasons"]
    assert [r["rule"] for r in nine] == ["past_close_date", "amount_missing", "no_activity"]  # red first
    assert by_id[HAND.deals[8].id]["amount_at_risk"] == "0.00"

    assert set(as_dict(_attention(live, health="red"))) == {HAND.deals[i].id for i in (1, 8, 13)}
    assert set(as_dict(_attention(live, rule="amount_missing"))) == {HAND.deals[i].id for i in (5, 6, 8)}
    assert set(as_dict(_attention(live, auth={"regions": ["EMEA"]}))) == {HAND.deals[13].id}
    assert set(as_dict(_attention(live, stage="Negotiation"))) == {HAND.deals[11].id, HAND.deals[14].id}
    ascending = _attention(live, sort="amount_at_risk")
    assert [item["id"] for item in ascending] == [item["id"] for item in reversed(items)]


def test_pages_follow_the_cursor(live: Live, sync_engine: Engine) -> None:
    load(sync_engine, HAND, utc_now())
    everything = [item["id"] for item in _attention(live)]
    for sort in ("-amount_at_risk", "amount_at_risk"):
        seen: list[str] = []
        params: dict[str, Any] = {"page_size": 3, "sort": sort}
        while True:
            page = live.get("/deals/attention", params=params, **ADMIN).json()
            seen += [item["id"] for item in page["items"]]
            if not page["has_more"]:
                break
            params["cursor"] = page["next_cursor"]
        assert seen == (everything if sort.startswith("-") else everything[::-1])
    first = live.get("/deals/attention", params={"page_size": 3}, **ADMIN).json()
    other_sort = live.get(
        "/deals/attention", params={"cursor": first["next_cursor"], "sort": "amount_at_risk"}, **ADMIN
    )
    assert other_sort.status_code == 422
    assert "cursor" in other_sort.json()["error"]["message"]


def test_health_on_deals_and_deal(live: Live, sync_engine: Engine) -> None:
    load(sync_engine, HAND, utc_now())
    page = live.get("/deals", params={"page_size": 200}, **ADMIN).json()["items"]
    health = {int(item["id"]): item["health"] for item in page}
    assert health[HAND.deals[0].id] == {"status": "green", "reasons": []}
    assert health[HAND.deals[9].id] is None  # won: not evaluated
    assert health[HAND.deals[8].id]["status"] == "red"
    detail = live.get(f"/deals/{HAND.deals[1].id}", **ADMIN).json()
    assert detail["health"]["status"] == "red"
    assert detail["health"]["reasons"][0]["rule"] == "past_close_date"
    assert detail["health"]["reasons"][0]["value"] == 5.0


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"health": "green"}, "health"),
        ({"rule": "nope"}, "rule"),
        ({"sort": "amount_home"}, "sort"),
        ({"page_size": 0}, "page_size"),
        ({"cursor": "garbage"}, "cursor"),
    ],
)
def test_bad_parameters(live: Live, sync_engine: Engine, params: dict[str, Any], named: str) -> None:
    load(sync_engine, HAND, utc_now())
    response = live.get("/deals/attention", params=params, **ADMIN)
    assert response.status_code == 422, response.text
    assert named in response.json()["error"]["message"]


# --- API = view = definitions, for random deals and rules -------------------------------------------------

STAGES = (*STAGE_PROBABILITY, "Legacy")
ages = st.integers(0, 60).map(lambda days: days + 0.5)
deals = st.builds(
    HealthDeal,
    stage=st.sampled_from(("Qualification",) * 4 + STAGES),
    pipeline=st.sampled_from(("Standard",) * 4 + (*PIPELINES, None)),
    region=st.sampled_from(("APAC", "EMEA")),
    status=st.sampled_from(("open", "open", "open", "won")),
    probability=st.one_of(st.none(), st.integers(0, 10).map(lambda p: p * 10)),
    amount=st.sampled_from((None, "0.00", "150.00", "2500.50", "9000.00")),
    closing_in_days=st.one_of(st.none(), st.integers(-20, 40)),
    modified_days_ago=ages,
    activity_days_ago=st.one_of(st.none(), ages),
    stage_entered_days_ago=st.one_of(st.none(), ages),
    created_days_ago=st.integers(61, 90).map(lambda days: days + 0.5),
    closing_dates=st.lists(st.integers(-10, 60), max_size=5).map(tuple),
    deleted=st.sampled_from((False, False, False, True)),
)


@st.composite
def rule_rows(draw: st.DrawFn, focus: str) -> RuleRow:
    """Override rows, mostly of one rule, so rows of different specificity meet on the same deals."""
    return RuleRow(
        rule=draw(st.sampled_from((focus, focus, focus, *DEFAULT_RULES))),
        measure=draw(st.sampled_from(("days_past_close", "days_since_touch", "days_in_stage", "probability_gap"))),
        comparison=draw(st.sampled_from((">", ">=", "<", "<="))),
        threshold=draw(st.integers(0, 40)),
        severity=draw(st.sampled_from(("amber", "red"))),
        pipeline=draw(st.sampled_from(("*", "Standard", "Standard", "Renewals"))),
        stage=draw(st.sampled_from(("*", "Qualification", "Qualification", "Proposal"))),
        enabled=draw(st.sampled_from((True, True, False))),
    )


@st.composite
def worlds(draw: st.DrawFn) -> HealthWorld:
    drawn = draw(st.lists(deals, min_size=1, max_size=10))
    population = [replace(d, n=i + 1) for i, d in enumerate(drawn)]
    defaults = [
        RuleRow(rule, measure, comparison, draw(st.integers(0, 40)) if rule != "amount_missing" else 0, severity)
        for rule, (measure, comparison, _threshold, severity) in DEFAULT_RULES.items()
    ]
    focus = draw(st.sampled_from(tuple(DEFAULT_RULES)))
    extra = draw(st.lists(rule_rows(focus), min_size=3, max_size=8, unique_by=lambda r: (r.rule, r.pipeline, r.stage)))
    keys = {(r.rule, r.pipeline, r.stage) for r in extra}
    rules = [r for r in defaults if (r.rule, r.pipeline, r.stage) not in keys] + extra
    medians = draw(
        st.dictionaries(st.tuples(st.sampled_from(PIPELINES), st.sampled_from(STAGES)), st.integers(0, 30), max_size=4)
    )
    return HealthWorld(deals=population, rules=rules, medians=medians)


def _view(engine: Engine) -> dict[int, tuple[str, frozenset[str]]]:
    with engine.connect() as connection:
        health = dict(connection.execute(select(V_DEAL_HEALTH.c.deal_id, V_DEAL_HEALTH.c.health)).all())
        reasons: dict[int, set[str]] = {deal_id: set() for deal_id in health}
        for deal_id, rule in connection.execute(select(V_DEAL_HEALTH_REASONS.c.deal_id, V_DEAL_HEALTH_REASONS.c.rule)):
            reasons[deal_id].add(rule)
    return {deal_id: (status, frozenset(reasons[deal_id])) for deal_id, status in health.items()}


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds())
def test_api_view_and_definitions_flag_the_same_deals(live: Live, sync_engine: Engine, world: HealthWorld) -> None:
    before = utc_now()
    load(sync_engine, world, before)
    view = _view(sync_engine)
    api = as_dict(_attention(live))
    listed = live.get("/deals", params={"page_size": 200, "deal_status": "open"}, **ADMIN).json()["items"]
    after = utc_now()
    assume(before.date() == after.date())  # midnight (UTC) passed: the day-based measures moved
    expected = expected_health(world, before.date())
    assert view == expected
    assert api == {deal_id: value for deal_id, value in expected.items() if value[0] != "green"}
    on_deals = {
        int(item["id"]): (item["health"]["status"], frozenset(r["rule"] for r in item["health"]["reasons"]))
        for item in listed
    }
    assert on_deals == expected
