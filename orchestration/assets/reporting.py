"""Downstream of deals: the metrics mart the API reads and the daily deal snapshots."""

import dagster as dg

from orchestration.assets.common import OWNERS
from orchestration.assets.deals import deals
from orchestration.partitions import DAILY_SNAPSHOTS, day_of
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


@dg.asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"sql"},
    deps=[deals],
    partitions_def=DAILY_SNAPSHOTS,
    description="One partition per UTC day: every open deal (and deals closing that day) with stage, region, "
    "owner and amounts, for trends and pipeline movement. A rerun or backfill rebuilds the day wholesale from the "
    "warehouse's current state, limited to deals that existed that day.",
)
def deal_snapshots(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    day = day_of(context.partition_key)
    with warehouse.connect() as connection:
        captured = capture_snapshot(connection, day)
        connection.commit()
    return dg.MaterializeResult(metadata={"snapshot_date": day.isoformat(), "deals_captured": captured})
