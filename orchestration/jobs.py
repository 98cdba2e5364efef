"""Jobs. Both Zoho jobs share a run-concurrency key (limit 1 in dagster.yaml) so two syncs never overlap.

They run in one process (the in-process executor): their steps wait on Zoho and the database, so a
subprocess per step (~25 s each here, 15 steps with the checks) would cost far more than it could overlap."""

from __future__ import annotations

import dagster as dg

from orchestration.assets.deals import deal_stage_history, deals
from orchestration.assets.dimensions import crm_users, currencies, pipeline_stages, regions
from orchestration.assets.health import deal_health
from orchestration.assets.reporting import deal_snapshots, pipeline_metrics

ZOHO_CONCURRENCY_TAGS = {"dagster/concurrency_key": "zoho_sync"}
SYNC_SELECTION = dg.AssetSelection.assets(
    regions, crm_users, pipeline_stages, currencies, deals, deal_stage_history, pipeline_metrics, deal_health
)

zoho_sync = dg.define_asset_job(
    "zoho_sync",
    selection=SYNC_SELECTION,
    tags=ZOHO_CONCURRENCY_TAGS,
    executor_def=dg.in_process_executor,
    description="Incremental sync: dimensions, deals changed since the cursor, deletions, stage history, metrics mart, "
    "deal health.",
)
zoho_full_reconcile = dg.define_asset_job(
    "zoho_full_reconcile",
    selection=SYNC_SELECTION,
    tags=ZOHO_CONCURRENCY_TAGS,
    executor_def=dg.in_process_executor,
    config={"ops": {"deals": {"config": {"mode": "full"}}}},
    description="Nightly: re-read every deal (Bulk Read above the threshold), repair drift, soft-delete deals "
    "missing from Zoho, then rebuild the mart.",
)
deal_snapshots_job = dg.define_asset_job(
    "deal_snapshots_job",
    # By key: the code location builds the asset with its own partition start (build_definitions).
    selection=dg.AssetSelection.assets(deal_snapshots.key),
    description="Capture one day of deal snapshots (backfillable per partition).",
)
