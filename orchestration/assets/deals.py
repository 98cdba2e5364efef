"""The deals asset (incremental sync or full reconcile, chosen by run config). Its load also writes the deal
versions and rebuilds the stage timeline of every deal that changed (no Stage_History calls)."""

from typing import Literal

import dagster as dg

from orchestration.assets.common import (
    EXTRACT_RETRY,
    OWNERS,
    ZOHO_POOL,
    failing_fast_on_fatal_zoho_errors,
    open_pipeline_preview,
)
from orchestration.assets.dimensions import crm_users, currencies, pipeline_stages, regions
from orchestration.deal_sync import run_deal_sync
from orchestration.resources import PipelineSettingsResource, WarehouseResource, ZohoResource
from orchestration.transforms import deals as deal_rules

GROUP = "deals"


class DealsConfig(dg.Config):
    mode: Literal["incremental", "full"] = "incremental"


@dg.asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"python", "pandas", "sql"},
    deps=[pipeline_stages, currencies, regions, crm_users],
    retry_policy=EXTRACT_RETRY,
    pool=ZOHO_POOL,
    tags={"stream": "deals"},
    description="Current state of every Zoho deal (soft-deleted ones keep deleted_at). Incremental by a "
    "(Modified_Time, id) cursor committed with each page; `mode: full` re-reads everything (Bulk Read above "
    "the threshold), repairs drift and soft-deletes deals Zoho no longer has.\n\n" + (deal_rules.__doc__ or ""),
)
def deals(
    context: dg.AssetExecutionContext,
    config: DealsConfig,
    warehouse: WarehouseResource,
    zoho: ZohoResource,
    pipeline: PipelineSettingsResource,
) -> dg.MaterializeResult:
    with failing_fast_on_fatal_zoho_errors(), warehouse.sync_guard():
        report = run_deal_sync(
            warehouse.get_engine(),
            zoho.port(),
            mode=config.mode,
            bulk_threshold=zoho.effective_bulk_threshold(),
            home_currency=pipeline.effective_home_currency(),
            run_id=context.run.run_id,
        )
    with warehouse.connect() as connection:
        preview = open_pipeline_preview(connection)
    context.log.info(
        "deals %s: extracted=%s inserted=%s updated=%s deleted=%s rejected=%s api_calls=%s cursor %s -> %s "
        "extract=%.1fs transform=%.1fs load=%.1fs",
        report.mode,
        report.extracted,
        report.inserted,
        report.updated,
        report.deleted,
        report.rejected,
        report.api.get("calls"),
        report.cursor_before,
        report.cursor_after,
        report.extract_seconds,
        report.transform_seconds,
        report.load_seconds,
    )
    metadata: dict[str, object] = {
        "mode": report.mode,
        "extract_path": report.extract_path,
        "extracted": report.extracted,
        "inserted": report.inserted,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "deleted": report.deleted,
        "rejected": report.rejected,
        "rejected_reread": report.reread,
        "rejected_resolved": report.resolved,
        "analyzed": report.analyzed,
        "bulk_resumed_at_page": report.bulk_resumed_at_page or 0,
        "unknown_stage_deals": report.unknown_stages,
        "pages": report.pages,
        "api_calls": report.api.get("calls", 0),
        "api_credits": report.api.get("credits", 0),
        "api_retries": report.api.get("retries", 0),
        "cursor_before": report.cursor_before,
        "cursor_after": report.cursor_after,
        "duration_seconds": dg.MetadataValue.float(report.duration_seconds),
        "extract_seconds": dg.MetadataValue.float(round(report.extract_seconds, 3)),
        "transform_seconds": dg.MetadataValue.float(round(report.transform_seconds, 3)),
        "load_seconds": dg.MetadataValue.float(round(report.load_seconds, 3)),
        "open_pipeline_by_stage_and_region": dg.MetadataValue.md(preview),
    }
    if report.zoho_count is not None:
        metadata["zoho_count"] = report.zoho_count
        metadata["warehouse_live_count"] = report.warehouse_count or 0
        metadata["missing_in_zoho_soft_deleted"] = report.restored_or_missing_deleted
    return dg.MaterializeResult(metadata=metadata)
