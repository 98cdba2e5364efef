"""Every asset and check through `materialize()` on the in-memory Zoho port: the asset wiring, metadata and
warehouse effects in seconds. The same paths against the real SDK and the sandbox: test_sync_job.py."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import dagster as dg
import pytest
from dagster._core.loader import LoadingContextForTest
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionResolvedStatus
from sqlalchemy import func, select

from orchestration.checks import CHECKS, DEAL_CHECKS
from orchestration.definitions import ASSETS
from orchestration.resources import PipelineSettingsResource, WarehouseResource, ZohoResource
from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.models import CrmUser, Currency, Deal, DealSnapshot, DealStageHistory, PipelineMetric, PipelineStage
from pipeline_pulse.services.zoho.port import ZohoPort
from pipeline_pulse.services.zoho.records import StageHistoryRecord
from tests.fakes.zoho import InMemoryZoho
from tests.orchestration.factories import CURRENCIES, STAGES, T0, USERS, make_deal

UNPARTITIONED = [asset for asset in ASSETS if asset.partitions_def is None]
SNAPSHOTS = next(asset for asset in ASSETS if asset.partitions_def is not None)


def fake_zoho(deals: int = 12) -> InMemoryZoho:
    fake = InMemoryZoho(
        deals=[make_deal(i, modified_time=T0 + timedelta(minutes=i)) for i in range(deals)],
        users=USERS,
        stages=STAGES,
        currencies=CURRENCIES,
        per_page=5,
    )
    first = make_deal(0)
    fake.history[first.id] = [
        StageHistoryRecord(
            id=first.id + 10**6,
            deal_id=first.id,
            stage="Qualification",
            entered_at=T0 - timedelta(days=3),
            amount=first.amount,
            probability=10,
            expected_revenue=None,
            closing_date=first.closing_date,
            duration_days=None,
            changed_by_id=USERS[0].id,
            changed_by_name=USERS[0].full_name,
        )
    ]
    return fake


def resources(db_url: str, port: ZohoPort, **zoho: Any) -> dict[str, Any]:
    class InMemoryZohoResource(ZohoResource):
        def build_port(self) -> ZohoPort:
            return port

    warehouse = WarehouseResource(database_url=db_url)
    return {
        "warehouse": warehouse,
        "zoho": InMemoryZohoResource(warehouse=warehouse, **zoho),
        "pipeline": PipelineSettingsResource(),
    }


def run(db_url: str, fake: InMemoryZoho, mode: str = "incremental", **zoho: Any) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*UNPARTITIONED, *DEAL_CHECKS],
        resources=resources(db_url, fake, **zoho),
        instance=dg.DagsterInstance.ephemeral(),
        run_config={"ops": {"deals": {"config": {"mode": mode}}}},
        raise_on_error=False,
    )


def metadata(result: dg.ExecuteInProcessResult, node: str) -> dict[str, Any]:
    [materialization] = result.asset_materializations_for_node(node)
    return {key: getattr(value, "value", value) for key, value in materialization.metadata.items()}


def counts(db_url: str) -> dict[str, int]:
    engine = create_sync_engine(db_url)
    try:
        with engine.connect() as connection:
            return {
                model.__tablename__: int(connection.execute(select(func.count()).select_from(model)).scalar_one())
                for model in (CrmUser, PipelineStage, Currency, Deal, DealStageHistory, PipelineMetric)
            }
    finally:
        engine.dispose()


def test_every_asset_and_check_materializes_from_the_port(db_url: str) -> None:
    fake = fake_zoho()
    result = run(db_url, fake)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    loaded = counts(db_url)
    assert loaded.pop("pipeline_metrics") > 0
    assert loaded == {"crm_users": 2, "pipeline_stages": 4, "currencies": 3, "deals": 12, "deal_stage_history": 1}
    deals = metadata(result, "deals")
    assert (deals["extracted"], deals["inserted"], deals["pages"], deals["extract_path"]) == (12, 12, 3, "rest")
    assert deals["api_calls"] == 1 + 3 + 1  # the count (first load: Bulk or REST?), three pages, the deletions
    assert metadata(result, "crm_users")["api_calls"] == 1  # counters are per asset, not per run
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == dict.fromkeys(checks, True)
    assert set(checks) == set(CHECKS) - {"deals_count_matches_zoho"}  # no full reconcile yet: not evaluated

    snapshot = dg.materialize(
        [SNAPSHOTS],
        resources=resources(db_url, fake),
        instance=dg.DagsterInstance.ephemeral(),
        partition_key=T0.date().isoformat(),
    )
    assert snapshot.success
    engine = create_sync_engine(db_url)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(DealSnapshot)).scalar_one() == 12
    engine.dispose()


def _resolved_status(instance: dg.DagsterInstance, check: str) -> AssetCheckExecutionResolvedStatus:
    key = dg.AssetCheckKey(dg.AssetKey("deals"), check)
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
    return asyncio.run(record.resolve_status(LoadingContextForTest(instance)))


def test_count_check_is_skipped_until_a_full_reconcile_then_evaluated(db_url: str) -> None:
    """Before any full reconcile there is no Zoho count to compare: the Dagster UI shows the check skipped (planned,
    not evaluated, in a run that succeeded), never passed; the reconcile evaluates it."""
    fake = fake_zoho()
    instance = dg.DagsterInstance.ephemeral()
    job = [*UNPARTITIONED, *DEAL_CHECKS]
    first = dg.materialize(job, resources=resources(db_url, fake), instance=instance)
    assert first.success
    assert "deals_count_matches_zoho" not in {c.check_name for c in first.get_asset_check_evaluations()}
    assert _resolved_status(instance, "deals_count_matches_zoho") == AssetCheckExecutionResolvedStatus.SKIPPED
    assert _resolved_status(instance, "deals_unique_ids") == AssetCheckExecutionResolvedStatus.SUCCEEDED
    full = dg.materialize(
        job,
        resources=resources(db_url, fake),
        instance=instance,
        run_config={"ops": {"deals": {"config": {"mode": "full"}}}},
    )
    evaluated = {c.check_name: c for c in full.get_asset_check_evaluations()}
    assert evaluated["deals_count_matches_zoho"].passed is True
    assert evaluated["deals_count_matches_zoho"].metadata["zoho_count"].value == 12
    assert _resolved_status(instance, "deals_count_matches_zoho") == AssetCheckExecutionResolvedStatus.SUCCEEDED


def test_incremental_run_reads_changes_and_deletions_only(db_url: str) -> None:
    fake = fake_zoho()
    assert run(db_url, fake).success
    later = T0 + timedelta(hours=2)
    fake.edit(make_deal(3).id, later, stage="Closed Won", probability=100)
    fake.put(make_deal(50, modified_time=later + timedelta(seconds=1)))
    fake.delete(make_deal(4).id, later + timedelta(seconds=2))
    result = run(db_url, fake)
    assert result.success
    deals = metadata(result, "deals")
    # the last deal of the first run is inside the overlap window: re-read, unchanged
    assert (deals["extracted"], deals["inserted"], deals["updated"], deals["deleted"]) == (3, 1, 1, 1)
    engine = create_sync_engine(db_url)
    with engine.connect() as connection:
        status = dict(connection.execute(select(Deal.id, Deal.deal_status)).all())
        deleted = connection.execute(select(Deal.deleted_at).where(Deal.id == make_deal(4).id)).scalar_one()
    engine.dispose()
    assert status[make_deal(3).id] == "won"
    assert deleted is not None


def test_full_mode_uses_bulk_read_above_the_threshold_and_soft_deletes_missing(db_url: str) -> None:
    fake = fake_zoho()
    assert run(db_url, fake).success
    fake.deals.pop(make_deal(7).id)  # gone from Zoho without a /deleted entry
    result = run(db_url, fake, mode="full", bulk_threshold=5)
    assert result.success
    deals = metadata(result, "deals")
    assert (deals["extract_path"], deals["missing_in_zoho_soft_deleted"], deals["zoho_count"]) == ("bulk", 1, 11)
    assert deals["warehouse_live_count"] == 11


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_revoked_token_fails_the_first_zoho_step_at_once_without_retries(db_url: str) -> None:
    fake = fake_zoho()
    fake.revoke()
    result = run(db_url, fake)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    errors = [str(e.step_failure_data.error) for e in failures]
    assert errors
    assert all("ZohoAuthError" in error for error in errors), errors
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert counts(db_url)["deals"] == 0
