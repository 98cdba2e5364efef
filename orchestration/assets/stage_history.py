"""The Stage_History import asset: Zoho's stage history from before the history start, within its credit
share. Its own job and schedule (not zoho_sync): a sync never waits on it, and it never spends the sync's
credits beyond its share."""

import dagster as dg

from orchestration.assets.common import OWNERS, ZOHO_POOL, failing_fast_on_fatal_zoho_errors
from orchestration.assets.deals import deals
from orchestration.resources import WarehouseResource, ZohoResource
from orchestration.stage_history_import import run_stage_history_import
from pipeline_pulse.core.settings import get_settings

GROUP = "deals"


class StageHistoryImportConfig(dg.Config):
    max_deals: int | None = None  # default STAGE_HISTORY_IMPORT_MAX_DEALS
    budget_credits: int | None = None  # default ZOHO_DAILY_CREDITS x STAGE_HISTORY_IMPORT_CREDIT_SHARE


@dg.asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"python", "sql"},
    deps=[deals],
    pool=ZOHO_POOL,
    tags={"stream": "stage_history_import"},
    description="Zoho Stage_History of the deals that existed before the history start (zoho_stage_history), "
    "open deals first, then recently closed ones; a deal is read once. Spends at most "
    "STAGE_HISTORY_IMPORT_CREDIT_SHARE of ZOHO_DAILY_CREDITS per UTC day and resumes where the last run "
    "stopped; metadata reports the backlog. Stage changes after a deal's first observation never come from "
    "here: the deals load derives them from deal_versions (docs/metrics.md, section 8).",
)
def stage_history_import(
    context: dg.AssetExecutionContext,
    config: StageHistoryImportConfig,
    warehouse: WarehouseResource,
    zoho: ZohoResource,
) -> dg.MaterializeResult:
    settings = get_settings()
    budget = config.budget_credits
    if budget is None:
        budget = int(settings.zoho_daily_credits * settings.pipeline.stage_history_import_credit_share)
    service = zoho.port()
    with failing_fast_on_fatal_zoho_errors(), warehouse.sync_guard():
        report = run_stage_history_import(
            warehouse.get_engine(),
            service,
            budget_credits=budget,
            max_deals=config.max_deals or settings.pipeline.stage_history_import_max_deals,
            run_id=context.run.run_id,
        )
    counters = service.counters.as_dict()
    context.log.info(
        "stage history import: %s deals, backlog %s -> %s (open %s), %s/%s credits today, stopped: %s",
        report.deals,
        report.backlog_before,
        report.backlog_after,
        report.open_backlog_after,
        report.spent_today_credits,
        report.budget_credits,
        report.stopped,
    )
    return dg.MaterializeResult(
        metadata={
            **report.as_metadata(),
            "duration_seconds": dg.MetadataValue.float(report.duration_seconds),
            "api_calls": counters["calls"],
            "api_credits": counters["credits"],
        }
    )
