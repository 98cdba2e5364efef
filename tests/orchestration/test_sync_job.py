"""The sync and reconcile jobs end to end: real service and SDK over HTTP against the sandbox, real warehouse
(SQLite and Postgres), in-process Dagster execution."""

from __future__ import annotations

import math
from typing import Any

import dagster as dg
from sqlalchemy import select

from orchestration.definitions import build_definitions
from orchestration.resources import WarehouseResource
from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.models import Deal, DealStageHistory, PipelineMetric, RejectedRecord, SyncState
from tests.orchestration.conftest import assert_warehouse_equals_truth, deals_checksum, deals_stream_calls


def _run(db_url: str, job: str) -> dg.ExecuteInProcessResult:
    defs = build_definitions(warehouse=WarehouseResource(database_url=db_url))
    result = defs.resolve_job_def(job).execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def _deals_metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    [materialization] = result.asset_materializations_for_node("deals")
    return {key: getattr(value, "value", value) for key, value in materialization.metadata.items()}


def test_sync_loads_truth_catches_up_within_budget_and_reconciles(db_url: str, sandbox_factory, pipeline_env) -> None:  # type: ignore[no-untyped-def]
    server = sandbox_factory(deals=450, seed=7, awkward_share=0.05)
    pipeline_env(server, db_url)
    engine = create_sync_engine(db_url)

    first = _run(db_url, "zoho_sync")
    assert_warehouse_equals_truth(engine, server.control.truth())
    meta = _deals_metadata(first)
    assert meta["inserted"] == 450
    assert meta["cursor_before"] == "none"
    assert meta["api_calls"] >= 3
    assert "| stage | region |" in meta["open_pipeline_by_stage_and_region"]
    checks = {c.check_name: c.passed for c in first.get_asset_check_evaluations()}
    assert checks["deals_unique_ids"] is True
    assert checks["deals_currency_rates_present"] is True
    assert checks["deals_freshness"] is True
    assert checks["deals_stages_known"] is False  # the sandbox's "removed stage" deals are flagged
    with engine.connect() as connection:
        # No invented stage entries for deals older than the history start (the import fills them in).
        assert connection.execute(select(DealStageHistory.id).limit(1)).first() is None
        assert connection.execute(select(PipelineMetric.id).limit(1)).first() is not None

    # Nothing changed in Zoho: a second run changes nothing.
    before = deals_checksum(engine)
    second = _run(db_url, "zoho_sync")
    assert deals_checksum(engine) == before
    assert (_deals_metadata(second)["inserted"], _deals_metadata(second)["updated"]) == (0, 0)

    # Mutations, including several edits in one second; formula drift is the reconcile's job.
    touched = server.control.mutate(modify=7, create=4, delete=3)
    same_second = server.control.mutate(modify=5, create=1, same_second=True)
    server.control.mutate(formula_drift=3)
    changed = sum(len(ids) for ids in (*touched.values(), *same_second.values()))
    calls_before = deals_stream_calls(server.control.stats(with_log=False))
    third = _run(db_url, "zoho_sync")
    stats = server.control.stats(with_log=False)
    used = deals_stream_calls(stats) - calls_before
    assert not [path for path in stats["by_path"] if "Stage_History" in path]  # zoho_sync never reads it
    assert_warehouse_equals_truth(engine, server.control.truth())
    assert used <= math.ceil(changed / 200) + 4, (used, changed)
    assert _deals_metadata(third)["deleted"] == 3

    reconcile = _run(db_url, "zoho_full_reconcile")
    meta = _deals_metadata(reconcile)
    assert meta["mode"] == "full"
    assert meta["updated"] == 3  # exactly the drifted deals are repaired
    assert meta["zoho_count"] == meta["warehouse_live_count"] == len(server.control.truth()["deals"])
    checks = {c.check_name: c.passed for c in reconcile.get_asset_check_evaluations()}
    assert checks["deals_count_matches_zoho"] is True
    truth = {int(r["id"]): r for r in server.control.truth()["deals"]}
    with engine.connect() as connection:
        raws = dict(connection.execute(select(Deal.id, Deal.raw).where(Deal.deleted_at.is_(None))).all())
        state = connection.execute(select(SyncState.last_status).where(SyncState.stream == "deals")).scalar_one()
        rejected = connection.execute(select(RejectedRecord.id)).all()
    assert all(raws[i]["Deal_Age_Days"] == truth[i]["Deal_Age_Days"] for i in truth)
    assert state == "success"
    assert rejected == []  # null amounts and unknown regions are valid data, not rejections
    engine.dispose()
