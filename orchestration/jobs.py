"""Jobs. Both Zoho jobs share a run-concurrency key (limit 1 in dagster.yaml) so two syncs never overlap.

They run in one process (the in-process executor): their steps wait on Zoho and the database, so a
subprocess per step (~25 s each here, 15 steps with the checks) would cost far more than it could overlap.

Every job carries `dagster/max_runtime` (PipelineSettings, `*_MAX_RUNTIME_SECONDS`): a statement waiting on a
frozen database server has no client-side bound, so run monitoring (deploy/dagster*.yaml) fails a run that
outlives it and frees its slots (docs/production.md). The jobs are built from the settings when the code
location loads, never at import."""

from __future__ import annotations

from typing import NamedTuple

import dagster as dg

from orchestration.assets.deals import deals
from orchestration.assets.dimensions import crm_users, currencies, pipeline_stages, regions
from orchestration.assets.health import deal_health
from orchestration.assets.reporting import deal_snapshots, pipeline_metrics
from orchestration.assets.stage_history import stage_history_import
from pipeline_pulse.core.config import PipelineSettings

ZOHO_CONCURRENCY_TAGS = {"dagster/concurrency_key": "zoho_sync"}
# Deal health is not in the syncs: its counts scan every open deal through the health views (10 s at 100k deals,
# ~100 s at 1M) while the API reads those views live, so the counts are monitoring and run hourly on their own.
SYNC_SELECTION = dg.AssetSelection.assets(regions, crm_users, pipeline_stages, currencies, deals, pipeline_metrics)

MAX_RUNTIME_TAG = "dagster/max_runtime"
# The reconcile re-reads these from Zoho whatever their last refresh (orchestration/assets/dimensions.py).
FORCED_DIMENSIONS = ("crm_users", "pipeline_stages", "currencies")


class Jobs(NamedTuple):
    zoho_sync: dg.UnresolvedAssetJobDefinition
    zoho_full_reconcile: dg.UnresolvedAssetJobDefinition
    deal_snapshots_job: dg.UnresolvedAssetJobDefinition
    stage_history_import_job: dg.UnresolvedAssetJobDefinition
    deal_health_job: dg.UnresolvedAssetJobDefinition


def _max_runtime(seconds: float) -> dict[str, str]:
    return {MAX_RUNTIME_TAG: str(int(seconds))}


def build_jobs(pipeline: PipelineSettings) -> Jobs:
    zoho_sync = dg.define_asset_job(
        "zoho_sync",
        selection=SYNC_SELECTION,
        tags={**ZOHO_CONCURRENCY_TAGS, **_max_runtime(pipeline.zoho_sync_max_runtime_seconds)},
        executor_def=dg.in_process_executor,
        description="Incremental sync: dimensions (when due), deals changed since the cursor (with their versions "
        "and stage timelines), deletions, metrics mart (when deals changed). No Stage_History calls.",
    )
    zoho_full_reconcile = dg.define_asset_job(
        "zoho_full_reconcile",
        selection=SYNC_SELECTION,
        tags={**ZOHO_CONCURRENCY_TAGS, **_max_runtime(pipeline.zoho_reconcile_max_runtime_seconds)},
        executor_def=dg.in_process_executor,
        config={
            "ops": {
                "deals": {"config": {"mode": "full"}},
                "pipeline_metrics": {"config": {"full": True}},  # the reference rebuild, from every live deal
                **{name: {"config": {"force": True}} for name in FORCED_DIMENSIONS},
            }
        },
        description="Nightly: re-read users, stages, currencies and every deal (Bulk Read above the threshold), "
        "repair drift, soft-delete deals missing from Zoho, then rebuild the mart.",
    )
    deal_snapshots_job = dg.define_asset_job(
        "deal_snapshots_job",
        # By key: the code location builds the asset with its own partition start (build_definitions).
        selection=dg.AssetSelection.assets(deal_snapshots.key),
        tags=_max_runtime(pipeline.snapshots_max_runtime_seconds),
        description="Capture one day of deal snapshots (backfillable per partition).",
    )
    stage_history_import_job = dg.define_asset_job(
        "stage_history_import_job",
        selection=dg.AssetSelection.assets(stage_history_import),
        # Shares the Zoho runs' key: it rebuilds timelines of deals a sync may be rebuilding too.
        tags={**ZOHO_CONCURRENCY_TAGS, **_max_runtime(pipeline.stage_history_import_max_runtime_seconds)},
        executor_def=dg.in_process_executor,
        description="Import Zoho Stage_History of deals older than the history start, within its daily credit "
        "share (STAGE_HISTORY_IMPORT_CREDIT_SHARE); resumes where the last run stopped.",
    )
    deal_health_job = dg.define_asset_job(
        "deal_health_job",
        selection=dg.AssetSelection.assets(deal_health),
        tags=_max_runtime(pipeline.deal_health_max_runtime_seconds),
        executor_def=dg.in_process_executor,
        description="Hourly (DEAL_HEALTH_CRON): stage durations and the open deals per health colour and broken rule.",
    )
    return Jobs(zoho_sync, zoho_full_reconcile, deal_snapshots_job, stage_history_import_job, deal_health_job)
