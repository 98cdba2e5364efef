"""The metrics mart and deal health are rebuilt only when deals changed, or when their last build is too old or
from an earlier day (issue 11.4): a sync with nothing to do rebuilds nothing; an edit or a deletion does."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg

from orchestration.checks import CHECKS, CONTENT_CHECKS, DEAL_CHECKS
from orchestration.resources import PipelineSettingsResource
from pipeline_pulse.warehouse.derived import DerivedBuild, mart_refresh, rebuild_due
from tests.fakes.zoho import InMemoryZoho
from tests.orchestration.factories import T0, make_deal
from tests.orchestration.test_assets_on_fake import UNPARTITIONED, fake_zoho, metadata, resources

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_rebuild_is_due_on_a_new_marker_an_old_build_a_new_day_or_max_age_zero() -> None:
    recent = DerivedBuild(marker="7|x", built_at=NOW - timedelta(minutes=5))
    assert rebuild_due(None, "7|x", NOW, 60)
    assert not rebuild_due(recent, "7|x", NOW, 60)
    assert rebuild_due(recent, "8|x", NOW, 60)
    assert rebuild_due(recent, "7|x", NOW, 0)
    assert rebuild_due(DerivedBuild("7|x", NOW - timedelta(minutes=60)), "7|x", NOW, 60)
    yesterday_late = DerivedBuild("7|x", datetime(2026, 3, 9, 23, 58, tzinfo=UTC))
    assert rebuild_due(yesterday_late, "7|x", datetime(2026, 3, 10, 0, 1, tzinfo=UTC), 60)


def test_the_mart_applies_changes_the_same_day_and_rebuilds_on_a_new_day_or_without_its_state() -> None:
    today = DerivedBuild(marker="7|x", built_at=NOW - timedelta(hours=5), as_of=NOW.date())
    assert mart_refresh(today, "7|x", NOW, 60) == "current"  # no max age: its only clock input is the day
    assert mart_refresh(today, "8|x", NOW, 60) == "incremental"
    assert mart_refresh(today, "8|x", NOW, 0) == "full"
    assert mart_refresh(None, "8|x", NOW, 60) == "full"
    assert mart_refresh(DerivedBuild("7|x", NOW), "8|x", NOW, 60) == "full"  # built before the contributions
    yesterday = DerivedBuild("7|x", datetime(2026, 3, 9, 23, 58, tzinfo=UTC), as_of=date(2026, 3, 9))
    assert mart_refresh(yesterday, "7|x", NOW, 60) == "full"


def _rebuilt(db_url: str, fake: InMemoryZoho, **pipeline: int) -> tuple[bool, bool]:
    res = resources(db_url, fake)
    res["pipeline"] = PipelineSettingsResource(**pipeline)
    result = dg.materialize([*UNPARTITIONED, *DEAL_CHECKS], resources=res, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    return metadata(result, "pipeline_metrics")["rebuilt"], metadata(result, "deal_health")["recomputed"]


def test_only_a_sync_that_changed_deals_rebuilds_the_mart_and_deal_health(db_url: str) -> None:
    fake = fake_zoho()
    assert _rebuilt(db_url, fake) == (True, True)
    assert _rebuilt(db_url, fake) == (False, False)  # nothing changed in Zoho

    fake.edit(make_deal(3).id, T0 + timedelta(hours=2), stage="Closed Won", probability=100)
    assert _rebuilt(db_url, fake) == (True, True)
    assert _rebuilt(db_url, fake) == (False, False)

    fake.edit(make_deal(5).id, T0 + timedelta(hours=3), lead_source="Trade show")  # not a tracked field
    assert _rebuilt(db_url, fake) == (True, True)  # modified_time moved: stale counts may have changed

    fake.delete(make_deal(4).id, T0 + timedelta(hours=4))
    assert _rebuilt(db_url, fake) == (True, True)
    assert _rebuilt(db_url, fake, derived_max_age_minutes=0) == (True, True)


def _evaluated_checks(db_url: str, fake: InMemoryZoho) -> set[str]:
    result = dg.materialize(
        [*UNPARTITIONED, *DEAL_CHECKS], resources=resources(db_url, fake), instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    return {evaluation.check_name for evaluation in result.get_asset_check_evaluations()}


def test_content_checks_are_evaluated_again_only_after_the_deals_changed(db_url: str) -> None:
    fake = fake_zoho()
    every = set(CHECKS) - {"deals_count_matches_zoho"}  # not evaluated before the first full reconcile
    assert _evaluated_checks(db_url, fake) == every
    assert _evaluated_checks(db_url, fake) == every - CONTENT_CHECKS  # nothing changed: sync state, clock
    fake.put(make_deal(60, modified_time=T0 + timedelta(hours=5)))
    assert _evaluated_checks(db_url, fake) == every
