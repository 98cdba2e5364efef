"""Downstream of deals: the metrics mart the API reads and the daily deal snapshots."""

from datetime import date

import dagster as dg
from sqlalchemy import func, select

from orchestration.assets.common import OWNERS
from orchestration.assets.deals import deals
from orchestration.partitions import DEFAULT_SNAPSHOTS_START, daily_snapshots, day_of
from orchestration.resources import PipelineSettingsResource, WarehouseResource
from pipeline_pulse.models import PipelineMetric, utcnow
from pipeline_pulse.warehouse.derived import (
    changed_deal_ids,
    deal_change_marker,
    last_build,
    mart_refresh,
    record_build,
)
from pipeline_pulse.warehouse.metrics_mart import refresh_pipeline_metrics, update_pipeline_metrics
from pipeline_pulse.warehouse.snapshots import capture_snapshot

GROUP = "reporting"


class MartConfig(dg.Config):
    full: bool = False  # rebuild from every live deal (the full reconcile) instead of applying the changed ones


# Above this many changed deals one scan of `deals` per mart is cheaper than looking each of them up.
INCREMENTAL_MAX_DEALS = 100_000


@dg.asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"sql"},
    deps=[deals],
    description="pipeline_metrics: live deals grouped by region, pipeline, stage, owner, status and closing month "
    "(count, amount, weighted amount), with pipeline_metrics_daily (by closing day, no owner) and "
    "open_deal_freshness(_daily) (open deals by closing month and modified month / day), written in one "
    "transaction so the API never scans deals. After a sync that changed deals only the changed deals are "
    "applied (their old contribution out, the new one in: mart_deal_contributions), at a cost that grows with the "
    "changes; rebuilt in full on the first build of a UTC day (the stale counts are as of the build day), by the "
    "full reconcile, above 100,000 changed deals and when PIPELINE_DERIVED_MAX_AGE_MINUTES is 0. `refresh`: "
    "current / incremental / full.",
)
def pipeline_metrics(
    context: dg.AssetExecutionContext,
    config: MartConfig,
    warehouse: WarehouseResource,
    pipeline: PipelineSettingsResource,
) -> dg.MaterializeResult:
    now = utcnow()
    with warehouse.connect() as connection:
        marker = deal_change_marker(connection)
        build = last_build(connection, "pipeline_metrics")
        refresh = "full" if config.full else mart_refresh(build, marker, now, pipeline.derived_max_age_minutes)
        if refresh == "current" and build is not None:
            return dg.MaterializeResult(
                metadata={"refresh": "current", "rebuilt": False, "built_at": build.built_at.isoformat()}
            )
        changed: list[int] = []
        if refresh == "incremental" and build is not None:
            changed = changed_deal_ids(connection, build.marker)
            if len(changed) > INCREMENTAL_MAX_DEALS:
                refresh = "full"
        if refresh == "incremental" and build is not None and build.as_of is not None:
            update_pipeline_metrics(connection, changed, build.as_of)
            as_of = build.as_of
        else:
            refresh_pipeline_metrics(connection, now)
            as_of = now.date()
        record_build(connection, "pipeline_metrics", marker, context.run.run_id, as_of=as_of)
        rows = connection.execute(select(func.count()).select_from(PipelineMetric)).scalar_one()
        connection.commit()
    metadata: dict[str, object] = {"refresh": refresh, "rebuilt": True, "rows": rows}
    if refresh == "incremental":
        metadata["deals_applied"] = len(changed)
    return dg.MaterializeResult(metadata=metadata)


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
