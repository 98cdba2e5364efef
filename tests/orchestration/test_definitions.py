"""The code location loads with every asset, check, job, schedule and sensor; small units of the jobs."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
import yaml
from sqlalchemy import func, select

from orchestration.definitions import build_definitions
from orchestration.definitions import defs as lazy_defs
from orchestration.resources import WarehouseResource
from orchestration.schedules import sync_cron
from orchestration.sensors import alert_line, run_failure_alert
from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.models import DealSnapshot
from pipeline_pulse.warehouse.currencies import store_currency_rates
from pipeline_pulse.warehouse.deal_versions import mark_history_start
from pipeline_pulse.warehouse.deals import load_deals
from pipeline_pulse.warehouse.dimensions import load_stages
from tests.orchestration.factories import CURRENCIES, STAGES, T0, make_deal

REPO = Path(__file__).resolve().parents[2]
EXPECTED_ASSETS = {
    "regions",
    "crm_users",
    "pipeline_stages",
    "currencies",
    "deals",
    "stage_history_import",
    "pipeline_metrics",
    "deal_snapshots",
    "deal_health",
}
EXPECTED_CHECKS = {
    "deals_unique_ids",
    "deals_no_negative_amounts",
    "deals_stages_known",
    "deals_currency_rates_present",
    "deals_unassigned_share",
    "deals_rejections",
    "deals_count_matches_zoho",
    "deals_freshness",
}


def test_every_job_has_a_settings_driven_max_runtime_and_monitoring_is_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """A statement on a frozen server never returns: run monitoring fails runs past `dagster/max_runtime`.
    (That the daemon then fails such a run is Dagster's own behaviour; starting a daemon here would cost more
    than the rest of this file, so the test stops at the tag and the instance setting.)"""
    monkeypatch.setenv("ZOHO_SYNC_MAX_RUNTIME_SECONDS", "1234")
    from orchestration.jobs import MAX_RUNTIME_TAG
    from pipeline_pulse.core.settings import load_settings

    repo = build_definitions(settings=load_settings()).get_repository_def()
    tags = {name: repo.get_job(name).tags.get(MAX_RUNTIME_TAG) for name in repo.job_names if not name.startswith("__")}
    assert tags == {
        "zoho_sync": "1234",
        "zoho_full_reconcile": "14400",
        "deal_snapshots_job": "3600",
        "stage_history_import_job": "3600",
        "deal_health_job": "3600",
    }
    for instance_file in ("deploy/dagster.yaml", "deploy/dagster.local.yaml"):
        config = yaml.safe_load((REPO / instance_file).read_text())
        assert config["run_monitoring"]["enabled"] is True, instance_file


def test_definitions_load_with_everything_listed() -> None:
    defs = lazy_defs()
    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    assert {key.to_user_string() for key in defs.resolve_all_asset_keys()} == EXPECTED_ASSETS
    checks = {key.name for key in repo.asset_graph.asset_check_keys}
    assert checks == EXPECTED_CHECKS
    assert {
        "zoho_sync",
        "zoho_full_reconcile",
        "deal_snapshots_job",
        "stage_history_import_job",
        "deal_health_job",
    } <= set(repo.job_names)
    assert {s.name for s in repo.schedule_defs} == {
        "zoho_sync_schedule",
        "zoho_full_reconcile_schedule",
        "deal_snapshots_schedule",
        "stage_history_import_schedule",
        "deal_health_schedule",
    }
    # Deal health scans every open deal: its own hourly job, not part of each sync.
    assert "deal_health" not in {key.to_user_string() for key in sync_selection(repo, "zoho_sync")}
    assert {key.to_user_string() for key in sync_selection(repo, "deal_health_job")} == {"deal_health"}
    # Stage_History is read only by its own job: zoho_sync makes no Stage_History calls.
    assert "stage_history_import" not in {key.to_user_string() for key in sync_selection(repo, "zoho_sync")}
    assert "stage_history_import" in {key.to_user_string() for key in sync_selection(repo, "stage_history_import_job")}
    importer = repo.get_job("stage_history_import_job")
    assert importer.tags["dagster/concurrency_key"] == repo.get_job("zoho_sync").tags["dagster/concurrency_key"]
    assert [s.name for s in repo.sensor_defs] == ["run_failure_alert"]
    sync = repo.get_job("zoho_sync")
    assert sync.tags["dagster/concurrency_key"] == repo.get_job("zoho_full_reconcile").tags["dagster/concurrency_key"]
    assert repo.get_schedule_def("zoho_sync_schedule").cron_schedule == "*/15 * * * *"
    deals = defs.resolve_assets_def("deals")
    assert deals.op.retry_policy is not None
    assert deals.op.pool == "zoho_api"


def sync_selection(repo: dg.RepositoryDefinition, job: str) -> set[dg.AssetKey]:
    return set(repo.get_job(job).asset_layer.selected_asset_keys)


def test_definitions_validate_cli_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys
    from pathlib import Path

    dagster = str(Path(sys.executable).with_name("dagster"))
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [dagster, "definitions", "validate", "-m", "orchestration.definitions"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**__import__("os").environ, "DAGSTER_HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_sync_interval_is_configurable_but_must_divide_an_hour() -> None:
    assert sync_cron(5) == "*/5 * * * *"
    assert sync_cron(60) == "0 * * * *"
    with pytest.raises(ValueError, match="divide 60"):
        sync_cron(7)


def test_failure_sensor_logs_one_clear_alert_line(caplog: pytest.LogCaptureFixture) -> None:
    @dg.op
    def boom() -> None:
        raise RuntimeError("zoho said no\nsecond line")

    @dg.job
    def failing_job() -> None:
        boom()

    instance = dg.DagsterInstance.ephemeral()
    result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    dagster_run = instance.get_run_by_id(result.run_id)
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert", dagster_instance=instance, dagster_run=dagster_run, dagster_event=failure
    ).for_run_failure()
    with caplog.at_level(logging.ERROR, logger="pipeline_pulse.alerts"):
        run_failure_alert(context)
    [line] = [r.getMessage() for r in caplog.records if r.name == "pipeline_pulse.alerts"]
    assert line.startswith(f"ALERT pipeline-pulse run failed: job=failing_job run_id={result.run_id} error=")
    assert "\n" not in line
    assert alert_line("j", "r", "a\n b") == "ALERT pipeline-pulse run failed: job=j run_id=r error=a b"


def test_snapshot_partitions_materialize_and_backfill_idempotently(db_url: str) -> None:
    engine = create_sync_engine(db_url)
    with engine.connect() as connection:
        load_stages(connection, STAGES)
        store_currency_rates(connection, CURRENCIES, date(2025, 1, 1))
        from orchestration.transforms.deals import load_transform_context, records_to_frame, transform_deals

        rows = transform_deals(
            records_to_frame([make_deal(i) for i in range(3)]), load_transform_context(connection)
        ).rows
        load_deals(connection, rows)
        mark_history_start(connection, T0)
        connection.commit()
    job = build_definitions(warehouse=WarehouseResource(database_url=db_url)).resolve_job_def("deal_snapshots_job")
    instance = dg.DagsterInstance.ephemeral()
    for key in ("2025-06-01", "2025-06-02", "2025-06-01"):
        assert job.execute_in_process(partition_key=key, instance=instance).success
    with engine.connect() as connection:
        per_day = dict(
            connection.execute(
                select(DealSnapshot.snapshot_date, func.count()).group_by(DealSnapshot.snapshot_date)
            ).all()
        )
    assert per_day == {date(2025, 6, 1): 3, date(2025, 6, 2): 3}
    engine.dispose()
