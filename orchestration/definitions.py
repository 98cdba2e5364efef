"""The Dagster code location (workspace.yaml loads this module).

`defs` is lazy: Dagster calls it when it loads the code location (webserver, daemon, `dagster job execute`,
each run worker), so importing this module reads nothing, and a misconfigured process (e.g. production without
its secret) stops right there with the one-line reason instead of failing (and retrying) inside a run.
Dagster calls it several times in one process (six per `dagster job execute`: each reconstruction of the job),
so the process keeps the first result: one settings read, one warehouse query for the partition start (a code
server also loads the location once; reloading it starts a new process).
"""

from __future__ import annotations

import functools

import dagster as dg

from orchestration.assets.deals import deals
from orchestration.assets.dimensions import crm_users, currencies, pipeline_stages, regions
from orchestration.assets.health import deal_health
from orchestration.assets.reporting import build_deal_snapshots, deal_snapshots, pipeline_metrics
from orchestration.assets.stage_history import stage_history_import
from orchestration.checks import DEAL_CHECKS
from orchestration.jobs import build_jobs
from orchestration.partitions import snapshots_start
from orchestration.resources import PipelineSettingsResource, WarehouseResource, ZohoResource
from orchestration.schedules import build_schedules
from orchestration.sensors import run_failure_alert
from pipeline_pulse.core.arrow_memory import configure_arrow_memory
from pipeline_pulse.core.config import Settings
from pipeline_pulse.core.settings import get_settings
from pipeline_pulse.core.startup import settings_or_exit

ASSETS = [
    regions,
    crm_users,
    pipeline_stages,
    currencies,
    deals,
    stage_history_import,
    pipeline_metrics,
    deal_snapshots,
    deal_health,
]


def build_definitions(
    warehouse: WarehouseResource | None = None,
    zoho: ZohoResource | None = None,
    pipeline: PipelineSettingsResource | None = None,
    settings: Settings | None = None,
) -> dg.Definitions:
    """The definitions with the given resources (tests swap them; production uses the settings)."""
    settings = settings or get_settings()
    warehouse = warehouse or WarehouseResource()
    snapshots = build_deal_snapshots(snapshots_start(settings.pipeline, warehouse.url()))
    jobs = build_jobs(settings.pipeline)
    return dg.Definitions(
        assets=[*(asset for asset in ASSETS if asset is not deal_snapshots), snapshots],
        asset_checks=DEAL_CHECKS,
        jobs=list(jobs),
        schedules=build_schedules(settings.pipeline, jobs),
        sensors=[run_failure_alert],
        resources={
            "warehouse": warehouse,
            "zoho": zoho or ZohoResource(warehouse=warehouse),
            "pipeline": pipeline or PipelineSettingsResource.from_settings(settings),
        },
    )


@functools.cache
def _process_definitions() -> dg.Definitions:
    settings = settings_or_exit()
    configure_arrow_memory(settings.arrow_memory_pool)  # a run process's Arrow allocator, before its first chunk
    return build_definitions(settings=settings)


@dg.definitions
def defs() -> dg.Definitions:
    return _process_definitions()
