"""Downstream of deals: the metrics mart the API reads and the daily deal snapshots."""

from datetime import date

import dagster as dg

from orchestration.assets.common import OWNERS
from orchestration.assets.deals import deals
from orchestration.partitions import DEFAULT_SNAPSHOTS_START, daily_snapshots, day_of
from orchestration.resources import PipelineSettingsResource, WarehouseResource
from pipeline_pulse.models import utcnow
from pipeline_pulse.warehouse.derived import deal_change_marker, last_build, rebuild_due, record_build
from pipeline_pulse.warehouse.metrics_mart import refresh_pipeline_metrics
from pipeline_pulse.warehouse.snapshots import capture_snapshot

GROUP = "reporting"


@dg.asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"sql"},
    deps=[deals],
    description="pipeline_metrics: live deals grouped by region, pipeline, stage, owner, status and closing month "
    "(count, amount, weighted amount), with pipeline_metrics_daily (by closing day, no owner) and "
    "open_deal_freshness (open deals by closing and modified month), rebuilt in one transaction so the API never "
    "scans deals: after a sync that changed deals, and otherwise once the last build is "
    "PIPELINE_DERIVED_MAX_AGE_MINUTES old or from an earlier UTC day (its stale counts are as of the build day); "
    "`rebuilt: false` when it was current.",
)
def pipeline_metrics(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, pipeline: PipelineSettingsResource
) -> dg.MaterializeResult:
    with warehouse.connect() as connection:
        marker = deal_change_marker(connection)
        build = last_build(connection, "pipeline_metrics")
        if build is not None and not rebuild_due(build, marker, utcnow(), pipeline.derived_max_age_minutes):
            return dg.MaterializeResult(metadata={"rebuilt": False, "built_at": build.built_at.isoformat()})
        rows = refresh_pipeline_metrics(connection)
        record_build(connection, "pipeline_metrics", marker, context.run.run_id)
        connection.commit()
    return dg.MaterializeResult(metadata={"rebuilt": True, "rows": rows})


def build_deal_snapshots(start: date) -> dg.AssetsDefinition:
    """The snapshot asset with daily partitions from `start` (the code location's history start)."""

    @dg.asset(
        name="deal_snapshots",
        group_name=GROUP,
        owners=OWNERS,
        kinds={"sql"},
        deps=[deals],
        partitions_def=daily_snapshots(start),
        description="One partition per UTC day: every deal open and live at the end of that day, with the stage, "
        "region, owner, amounts and closing date of its version then (docs/metrics.md 7.1). Rebuilt wholesale "
        "from deal_versions, so a backfill of any past day equals that day's state; a day before the history "
        "start is unknown and captures nothing. Partitions start at the history start (HISTORY_START_DATE).",
    )
    def deal_snapshots(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        day = day_of(context.partition_key)
        with warehouse.connect() as connection:
            captured = capture_snapshot(connection, day)
            connection.commit()
        if captured is None:
            context.log.warning("deal_snapshots %s: before the warehouse's history start; state unknown", day)
        return dg.MaterializeResult(
            metadata={
                "snapshot_date": day.isoformat(),
                "known": captured is not None,
                "deals_captured": captured or 0,
            }
        )

    return deal_snapshots


deal_snapshots = build_deal_snapshots(DEFAULT_SNAPSHOTS_START)
