"""/metrics/stages over real HTTP on a hand-built stage history, on SQLite and Postgres: every figure of
docs/metrics.md 12.4 worked out by hand, for two region scopes, plus parameter errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, insert

from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.insight.stage_durations import refresh_stage_durations
from pipeline_pulse.models import DealStageHistory, DealVersion
from tests.fixtures.api import api_settings, make_token, serve
from tests.insight.health_warehouse import HealthDeal, HealthWorld, load, utc_now

A, B, C, D, E, F = (HealthDeal(n).id for n in range(1, 7))
WORLD = HealthWorld(
    deals=[
        HealthDeal(1, stage="Closed Won", status="won", stage_entered_days_ago=None),
        HealthDeal(2, stage="Closed Lost", status="lost", stage_entered_days_ago=None),
        HealthDeal(3, stage="Proposal", probability=50, region="EMEA", stage_entered_days_ago=None),
        HealthDeal(4, stage_entered_days_ago=None),
        HealthDeal(5, pipeline="Renewals", stage="Proposal", probability=50, stage_entered_days_ago=None),
        HealthDeal(6, stage="Legacy", stage_entered_days_ago=None),
    ]
)
PATHS = {  # deal -> (stage, entered) in order; the last stay has not ended
    A: [
        ("Qualification", "2026-01-05"),
        ("Proposal", "2026-01-15"),
        ("Negotiation", "2026-02-01"),
        ("Closed Won", "2026-02-20"),
    ],
    B: [
        ("Qualification", "2026-01-10"),
        ("Proposal", "2026-01-12"),
        ("Qualification", "2026-01-20"),
        ("Closed Lost", "2026-02-05"),
    ],
    C: [("Qualification", "2025-12-20"), ("Proposal", "2026-01-03")],
    D: [("Qualification", "2026-03-30")],
    E: [("Qualification", "2026-01-05"), ("Proposal", "2026-01-07")],
    F: [("Qualification", "2026-02-01"), ("Legacy", "2026-02-10")],
}
VERSIONS = [  # deal A: (stage, valid_from, closing date)
    ("Qualification", "2026-01-05", "2026-03-01"),
    ("Qualification", "2026-01-08", "2026-03-15"),  # a push while in Qualification
    ("Proposal", "2026-01-20", "2026-03-10"),  # pulled in: not a push
    ("Negotiation", "2026-02-05", "2026-04-01"),  # a push while in Negotiation
    ("Negotiation", "2026-04-10", "2026-05-01"),  # a push after the window
]


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def _seed(engine: Engine) -> None:
    load(engine, WORLD, utc_now())
    rows, next_id = [], 1
    for deal_id, path in PATHS.items():
        for index, (stage, entered) in enumerate(path):
            left = _at(path[index + 1][1]) if index + 1 < len(path) else None
            days = None if left is None else Decimal((left - _at(entered)).days)
            rows.append(
                {
                    "id": next_id,
                    "deal_id": deal_id,
                    "stage": stage,
                    "entered_at": _at(entered),
                    "left_at": left,
                    "duration_days": days,
                }
            )
            next_id += 1
    versions = [
        {
            "deal_id": A,
            "valid_from": _at(start),
            "valid_to": _at(VERSIONS[i + 1][1]) if i + 1 < len(VERSIONS) else None,
            "produced_by": "sync",
            "deleted": False,
            "stage": stage,
            "pipeline": "Standard",
            "deal_status": "open",
            "closing_date": date.fromisoformat(closing),
            "region": "APAC",
            "recorded_at": _at(start),
        }
        for i, (stage, start, closing) in enumerate(VERSIONS)
    ]
    with engine.begin() as connection:
        connection.execute(insert(DealStageHistory), rows)
        for version in versions:
            connection.execute(insert(DealVersion), version)
        refresh_stage_durations(connection)


@pytest.fixture(scope="module")
def stages_api(module_db_url: str) -> Iterator[Any]:
    """One seeded warehouse and server per module and backend: the tests only read."""
    engine = create_sync_engine(module_db_url)
    try:
        _seed(engine)
    finally:
        engine.dispose()
    settings = api_settings(module_db_url)
    for base in serve(settings):
        with httpx.Client(base_url=base, timeout=30) as client:

            def get(params: dict[str, Any], regions: Any = (), role: str | None = "admin") -> httpx.Response:
                token = make_token(settings, regions, role)
                return client.get("/api/v1/metrics/stages", params=params, headers={"Authorization": f"Bearer {token}"})

            yield get


FIELDS = ("entered", "moved_forward", "moved_back", "won", "lost", "other", "still_in_stage")


def _figures(body: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {
        s["stage"]: (
            tuple(s[f] for f in FIELDS),
            s["conversion_to_next"],
            s["median_days"],
            s["p90_days"],
            s["stuck_beyond_sla"],
            s["closing_date_slips"],
        )
        for s in body["stages"]
    }


def test_stage_figures_by_hand(stages_api: Any) -> None:
    body = stages_api({"pipeline": "Standard", "from": "2026-01-01", "to": "2026-03-31"}).json()
    assert (body["pipeline"], body["from_date"], body["to_date"]) == ("Standard", "2026-01-01", "2026-03-31")
    assert [(s["stage"], s["sequence"], s["deal_status"]) for s in body["stages"]] == [
        ("Qualification", 1, "open"),
        ("Proposal", 2, "open"),
        ("Negotiation", 3, "open"),
        ("Closed Won", 4, "won"),
        ("Closed Lost", 5, "lost"),
        ("Legacy", None, None),  # entered but not a stage of the pipeline: last
    ]
    # Qualification: A and B forward, B's second stay lost, F to Legacy (other), D still there; C's began in
    # 2025. Ended stays 10, 2, 16, 9 days -> median 9.5, p90 at 1 + 0.9 x 3 = 3.7 -> 10 + 0.7 x 6 = 14.2.
    # Stuck now: D (in Qualification since March, median of all ended stays 10) and C in Proposal.
    assert _figures(body) == {
        "Qualification": ((5, 2, 0, 0, 1, 1, 1), 0.5, 9.5, 14.2, 1, 1),
        "Proposal": ((3, 1, 1, 0, 0, 0, 1), 0.5, 12.5, 16.1, 1, 0),
        "Negotiation": ((1, 0, 0, 1, 0, 0, 0), 1.0, 19.0, 19.0, 0, 1),
        "Closed Won": ((1, 0, 0, 0, 0, 0, 1), None, None, None, 0, 0),
        "Closed Lost": ((1, 0, 0, 0, 0, 0, 1), None, None, None, 0, 0),
        "Legacy": ((1, 0, 0, 0, 0, 0, 1), None, None, None, 0, 0),
    }
    apac = _figures(
        stages_api({"pipeline": "Standard", "from": "2026-01-01", "to": "2026-03-31"}, ["APAC"], None).json()
    )
    assert apac["Proposal"] == ((2, 1, 1, 0, 0, 0, 0), 0.5, 12.5, 16.1, 0, 0)  # C is EMEA's
    emea = _figures(stages_api({"pipeline": "Standard"}, ["EMEA"], None).json())  # no window: all history
    assert emea["Qualification"] == ((1, 1, 0, 0, 0, 0, 0), 1.0, 14.0, 14.0, 0, 0)
    assert emea["Proposal"][0][0] == 1
    assert {stage for stage, values in emea.items() if values[0][0] == 0} == {
        "Negotiation",
        "Closed Won",
        "Closed Lost",
    }
    february = _figures(stages_api({"pipeline": "Standard", "from": "2026-02-01", "to": "2026-02-28"}).json())
    assert february["Qualification"][0] == (1, 0, 0, 0, 0, 1, 0)  # F only
    assert february["Negotiation"][5] == 1  # the push of 2026-02-05


@pytest.mark.parametrize(
    ("params", "status", "named"),
    [
        ({}, 422, "pipeline"),
        ({"pipeline": "Nope"}, 422, "pipeline"),
        ({"pipeline": "Standard", "from": "2026-02-01", "to": "2026-01-01"}, 400, "from"),
        ({"pipeline": "Standard", "from": "2026-13-01"}, 422, "from"),
        ({"pipeline": "Standard", "period": "2026-Q1"}, 422, "period"),
    ],
)
def test_bad_parameters(stages_api: Any, params: dict[str, Any], status: int, named: str) -> None:
    response = stages_api(params)
    assert response.status_code == status, response.text
    assert named in response.json()["error"]["message"]
