"""The deal_health Dagster asset on SQLite and Postgres: stage_durations' median / p90 as PostgreSQL's
percentile_cont defines them (checked against Python's statistics), and the rule counts as run metadata."""

from __future__ import annotations

import statistics
from datetime import timedelta
from decimal import Decimal

import dagster as dg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert, select

from orchestration.assets.health import deal_health
from orchestration.resources import PipelineSettingsResource, WarehouseResource
from pipeline_pulse.insight.stage_durations import refresh_stage_durations
from pipeline_pulse.models import DealStageHistory, StageDuration
from tests.fixtures.property_budget import examples
from tests.insight.health_warehouse import HealthDeal, HealthWorld, load, utc_now


def _stays(engine: Engine, deal_id: int, stage: str, durations: list[Decimal], first_id: int) -> None:
    now = utc_now()
    rows = [
        {
            "id": first_id + i,
            "deal_id": deal_id,
            "stage": stage,
            "entered_at": now - timedelta(days=400 - i),
            "left_at": now - timedelta(days=399 - i),
            "duration_days": days,
        }
        for i, days in enumerate(durations)
    ]
    with engine.begin() as connection:
        connection.execute(insert(DealStageHistory), rows)


def _durations(engine: Engine) -> dict[tuple[str, str], tuple[int, Decimal, Decimal]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                StageDuration.pipeline,
                StageDuration.stage,
                StageDuration.completed_stays,
                StageDuration.median_days,
                StageDuration.p90_days,
            )
        ).all()
    return {(p, s): (n, Decimal(m), Decimal(q)) for p, s, n, m, q in rows}


def test_asset_reports_rule_counts_and_rebuilds_stage_durations(db_url: str, sync_engine: Engine) -> None:
    world = HealthWorld(
        deals=[
            HealthDeal(1),
            HealthDeal(2, closing_in_days=-3, amount="100.00"),
            HealthDeal(3, closing_in_days=-4, amount=None),
            HealthDeal(4, stage="Proposal", probability=50, stage_entered_days_ago=20.5),
            HealthDeal(5, pipeline="Renewals", deleted=True),
        ]
    )
    load(sync_engine, world, utc_now())
    days = [Decimal(d) for d in ("2", "4", "6", "8")]
    _stays(sync_engine, world.deals[0].id, "Proposal", days, 1)  # Standard / Proposal
    _stays(sync_engine, world.deals[1].id, "Qualification", [Decimal("3.5")], 100)
    _stays(sync_engine, world.deals[4].id, "Proposal", [Decimal(99)], 200)  # a deleted deal's: left out
    with sync_engine.begin() as connection:  # a stay still open: left out
        connection.execute(
            insert(DealStageHistory),
            {"id": 300, "deal_id": world.deals[2].id, "stage": "Proposal", "entered_at": utc_now() - timedelta(days=1)},
        )

    resources = {"warehouse": WarehouseResource(database_url=db_url), "pipeline": PipelineSettingsResource()}
    result = dg.materialize([deal_health], resources=resources)
    assert result.success
    [materialization] = result.asset_materializations_for_node("deal_health")
    meta = {key: getattr(value, "value", value) for key, value in materialization.metadata.items()}

    # Standard/Proposal: median of 2,4,6,8 = 5; p90 at position 1 + 0.9 x 3 = 3.7 -> 6 + 0.7 x 2 = 7.4.
    assert _durations(sync_engine) == {
        ("Standard", "Proposal"): (4, Decimal("5.0000"), Decimal("7.4000")),
        ("Standard", "Qualification"): (1, Decimal("3.5000"), Decimal("3.5000")),
    }
    assert meta["stage_durations_rows"] == 2
    # Deal 4 is 20.5 days in Proposal against its median 5 (stage_sla); 2 and 3 are past their closing date,
    # 3 has no amount (red: its past close date); 1 is green.
    assert (meta["open_deals_red"], meta["open_deals_amber"], meta["open_deals_green"]) == (2, 1, 1)
    assert (meta["rule:past_close_date"], meta["rule:amount_missing"], meta["rule:stage_sla"]) == (2, 1, 1)
    assert meta["amount_at_risk"] == pytest.approx(100.0 + 1000.0)
    assert "| past_close_date | red | 2 |" in meta["rules"]


durations = st.lists(
    st.decimals(min_value=0, max_value=500, places=2, allow_nan=False, allow_infinity=False), min_size=1, max_size=30
)


@settings(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=durations)
def test_percentiles_are_percentile_cont(sync_engine: Engine, values: list[Decimal]) -> None:
    load(sync_engine, HealthWorld(deals=[HealthDeal(1)]), utc_now())
    with sync_engine.begin() as connection:
        connection.execute(delete(DealStageHistory))
    _stays(sync_engine, HealthDeal(1).id, "Proposal", values, 1)
    with sync_engine.begin() as connection:
        refresh_stage_durations(connection)
    [(n, median, p90)] = _durations(sync_engine).values()
    floats = sorted(float(v) for v in values)
    p90_expected = floats[0] if len(floats) == 1 else statistics.quantiles(floats, n=10, method="inclusive")[8]
    assert n == len(values)
    assert float(median) == pytest.approx(statistics.median(floats), abs=1e-4)
    assert float(p90) == pytest.approx(p90_expected, abs=1e-4)
