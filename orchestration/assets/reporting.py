"""Downstream of deals: the metrics mart the API reads and the daily deal snapshots."""

from datetime import date

import dagster as dg

from orchestration.assets.common import OWNERS
from orchestration.assets.deals import deals
from orchestration.partitions import DEFAULT_SNAPSHOTS_START, daily_snapshots, day_of
from orchestration.resources import WarehouseResource
from pipeline_pulse.warehouse.metrics_mart import refresh_pipeline_metrics
from pipeline_pulse.warehouse.snapshots import capture_snapshot

GROUP = "reporting"


@dg.asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"sql"},
    deps=[deals],
    description="pipeline_metrics: live deals grouped by region, pipeline, stage, owner, status and closing month "
    "(count, amount, weighted amount), rebuilt in one transaction after every sync so the API never scans deals.",
)
def pipeline_metrics(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as connection:
        rows = refresh_pipeline_metrics(connection)
        connection.commit()
    return dg.MaterializeResult(metadata={"rows": rows})


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
