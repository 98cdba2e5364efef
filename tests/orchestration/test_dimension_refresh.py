"""Dimensions are re-read from Zoho only when due (issue 11.4): a sync right after another makes no dimension
call, the full reconcile's `force` and ZOHO_DIMENSION_REFRESH_MINUTES=0 re-read them, currencies once per day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
from sqlalchemy import update

from orchestration.assets.dimensions import RefreshState, dimension_stream, refresh_due, refresh_in_this_run
from orchestration.checks import DEAL_CHECKS
from orchestration.jobs import FORCED_DIMENSIONS
from orchestration.resources import PipelineSettingsResource
from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.models import SyncState, utcnow
from tests.orchestration.test_assets_on_fake import UNPARTITIONED, fake_zoho, metadata, resources

DIMENSION_CALLS = {"GET users", "GET layouts", "GET currencies"}
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_refresh_is_due_when_never_done_older_than_the_interval_a_new_day_for_daily_ones_or_interval_zero() -> None:
    assert refresh_due(None, 60, NOW)
    assert not refresh_due(NOW - timedelta(minutes=59), 60, NOW)
    assert refresh_due(NOW - timedelta(minutes=60), 60, NOW)
    assert refresh_due(NOW - timedelta(seconds=1), 0, NOW)
    just_before_midnight = datetime(2026, 3, 9, 23, 59, tzinfo=UTC)
    assert not refresh_due(just_before_midnight, 24 * 60, NOW.replace(hour=0, minute=1))
    assert refresh_due(just_before_midnight, 24 * 60, NOW.replace(hour=0, minute=1), daily=True)


def _sync(db_url: str, fake, pipeline: PipelineSettingsResource | None = None, force: bool = False):  # type: ignore[no-untyped-def]
    res = resources(db_url, fake)
    if pipeline is not None:
        res["pipeline"] = pipeline
    config: dict = {"ops": {"deals": {"config": {"mode": "incremental"}}}}
    if force:
        config["ops"].update({name: {"config": {"force": True}} for name in FORCED_DIMENSIONS})
    fake.operations.clear()
    result = dg.materialize(
        [*UNPARTITIONED, *DEAL_CHECKS], resources=res, instance=dg.DagsterInstance.ephemeral(), run_config=config
    )
    assert result.success
    return result


def test_a_sync_after_a_sync_makes_no_dimension_call_until_forced_or_due(db_url: str) -> None:
    fake = fake_zoho()
    first = _sync(db_url, fake)
    assert set(fake.operations) >= DIMENSION_CALLS
    assert all(metadata(first, name)["refreshed"] for name in FORCED_DIMENSIONS)

    second = _sync(db_url, fake)
    assert not DIMENSION_CALLS & set(fake.operations), fake.operations
    for name in FORCED_DIMENSIONS:
        skipped = metadata(second, name)
        assert (skipped["refreshed"], skipped["api_calls"]) == (False, 0)
        assert skipped["last_refreshed_at"] != "never"

    _sync(db_url, fake, force=True)
    assert set(fake.operations) >= DIMENSION_CALLS
    _sync(db_url, fake, pipeline=PipelineSettingsResource(dimension_refresh_minutes=0))
    assert set(fake.operations) >= DIMENSION_CALLS


def _states(**lasts: tuple[datetime | None, str | None]) -> dict[str, RefreshState]:
    return {name: RefreshState(*lasts.get(name, (NOW - timedelta(minutes=5), "older-run"))) for name in NAMES}


NAMES = ("currencies", "crm_users", "pipeline_stages")


def test_one_due_dimension_per_run_the_longest_unrefreshed_first_a_new_days_rate_before_all() -> None:
    hour_ago, longer, two_hours_ago = (NOW - timedelta(minutes=m) for m in (61, 70, 120))
    states = _states(crm_users=(two_hours_ago, "a"), pipeline_stages=(longer, "a"), currencies=(hour_ago, "a"))
    assert [n for n in NAMES if refresh_in_this_run(n, states, "run", 60, NOW)] == ["crm_users"]
    # Once crm_users has refreshed in this run, nobody else does in it; the next run serves the next one.
    served = {**states, "crm_users": RefreshState(NOW, "run")}
    assert [n for n in NAMES if refresh_in_this_run(n, served, "run", 60, NOW)] == []
    assert [n for n in NAMES if refresh_in_this_run(n, served, "next", 60, NOW)] == ["pipeline_stages"]
    # A new UTC day: the currency rate of the day goes first, even when others waited longer.
    yesterday = datetime(2026, 3, 9, 23, 50, tzinfo=UTC)
    morning = datetime(2026, 3, 10, 0, 5, tzinfo=UTC)
    states = _states(crm_users=(morning - timedelta(hours=3), "a"), currencies=(yesterday, "a"))
    assert [n for n in NAMES if refresh_in_this_run(n, states, "run", 60, morning)] == ["currencies"]
    # A new warehouse, or no budget asked for: every dimension.
    assert all(refresh_in_this_run(n, _states(crm_users=(None, None)), "run", 60, NOW) for n in NAMES)
    assert all(refresh_in_this_run(n, _states(), "run", 0, NOW) for n in NAMES)
    assert not any(refresh_in_this_run(n, _states(), "run", 60, NOW) for n in NAMES)


def test_when_all_three_come_due_together_the_syncs_take_them_one_at_a_time(db_url: str) -> None:
    fake = fake_zoho()
    _sync(db_url, fake)  # a new warehouse reads all three
    engine = create_sync_engine(db_url)
    try:
        with engine.begin() as connection:  # all three due at once (as an hour after a reconcile)
            streams = [dimension_stream(name) for name in NAMES]
            connection.execute(
                update(SyncState)
                .where(SyncState.stream.in_(streams))
                .values(last_success_at=utcnow() - timedelta(minutes=90))
            )
    finally:
        engine.dispose()
    refreshed: list[str] = []
    for _ in range(3):
        result = _sync(db_url, fake)
        this_run = [name for name in NAMES if metadata(result, name)["refreshed"]]
        assert len(this_run) == 1, this_run
        assert len(DIMENSION_CALLS & set(fake.operations)) == 1, fake.operations
        refreshed += this_run
    assert sorted(refreshed) == sorted(NAMES)
    _sync(db_url, fake)
    assert not DIMENSION_CALLS & set(fake.operations), fake.operations
