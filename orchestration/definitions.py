"""The Dagster code location (workspace.yaml loads this module)."""

from __future__ import annotations

import dagster as dg

from orchestration.assets.deals import deal_stage_history, deals
from orchestration.assets.dimensions import crm_users, currencies, pipeline_stages, regions
from orchestration.assets.reporting import deal_snapshots, pipeline_metrics
from orchestration.checks import DEAL_CHECKS
from orchestration.jobs import deal_snapshots_job, zoho_full_reconcile, zoho_sync
from orchestration.resources import PipelineSettingsResource, WarehouseResource, ZohoResource
from orchestration.schedules import deal_snapshots_schedule, zoho_full_reconcile_schedule, zoho_sync_schedule
from orchestration.sensors import run_failure_alert

ASSETS = [regions, crm_users, pipeline_stages, currencies, deals, deal_stage_history, pipeline_metrics, deal_snapshots]


def build_definitions(
    warehouse: WarehouseResource | None = None,
    zoho: ZohoResource | None = None,
    pipeline: PipelineSettingsResource | None = None,
) -> dg.Definitions:
    """The definitions with the given resources (tests swap them; production uses the settings)."""
    warehouse = warehouse or WarehouseResource()
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=DEAL_CHECKS,
        jobs=[zoho_sync, zoho_full_reconcile, deal_snapshots_job],
        schedules=[zoho_sync_schedule, zoho_full_reconcile_schedule, deal_snapshots_schedule],
        sensors=[run_failure_alert],
        resources={
            "warehouse": warehouse,
            "zoho": zoho or ZohoResource(warehouse=warehouse),
            "pipeline": pipeline or PipelineSettingsResource(),
        },
    )


defs = build_definitions()
