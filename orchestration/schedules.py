"""Schedules: incremental sync every ZOHO_SYNC_INTERVAL_MINUTES (15 by default), nightly reconcile, daily
snapshots, the hourly Stage_History import, hourly deal health. Built from the settings when the code location loads, never at import."""

from __future__ import annotations

import dagster as dg

from orchestration.jobs import Jobs
from pipeline_pulse.core.config import PipelineSettings


def sync_cron(interval_minutes: int) -> str:
    if not 1 <= interval_minutes <= 60 or 60 % interval_minutes:
        raise ValueError("ZOHO_SYNC_INTERVAL_MINUTES must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)")
    return "0 * * * *" if interval_minutes == 60 else f"*/{interval_minutes} * * * *"


def build_schedules(pipeline: PipelineSettings, jobs: Jobs) -> list[dg.ScheduleDefinition]:
    zoho_sync_schedule = dg.ScheduleDefinition(
        name="zoho_sync_schedule",
        job=jobs.zoho_sync,
        cron_schedule=sync_cron(pipeline.zoho_sync_interval_minutes),
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    zoho_full_reconcile_schedule = dg.ScheduleDefinition(
        name="zoho_full_reconcile_schedule",
        job=jobs.zoho_full_reconcile,
        cron_schedule=pipeline.zoho_reconcile_cron,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    # One run per day shortly after midnight UTC for the day that just ended.
    deal_snapshots_schedule = dg.build_schedule_from_partitioned_job(
        jobs.deal_snapshots_job,
        name="deal_snapshots_schedule",
        hour_of_day=0,
        minute_of_hour=20,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    stage_history_import_schedule = dg.ScheduleDefinition(
        name="stage_history_import_schedule",
        job=jobs.stage_history_import_job,
        cron_schedule=pipeline.stage_history_import_cron,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    deal_health_schedule = dg.ScheduleDefinition(
        name="deal_health_schedule",
        job=jobs.deal_health_job,
        cron_schedule=pipeline.deal_health_cron,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    return [
        zoho_sync_schedule,
        zoho_full_reconcile_schedule,
        deal_snapshots_schedule,
        stage_history_import_schedule,
        deal_health_schedule,
    ]
