"""Dimensions are re-read from Zoho only when due (issue 11.4): a sync right after another makes no dimension
call, the full reconcile's `force` and ZOHO_DIMENSION_REFRESH_MINUTES=0 re-read them, currencies once per day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg

from orchestration.assets.dimensions import refresh_due
from orchestration.checks import DEAL_CHECKS
from orchestration.jobs import FORCED_DIMENSIONS
from orchestration.resources import PipelineSettingsResource
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
