"""Downstream of deals (their load rebuilds the stage timeline): deal health, so the data team sees the rule counts move."""

import dagster as dg

from orchestration.assets.common import OWNERS, markdown_table
from orchestration.assets.deals import deals
from orchestration.resources import PipelineSettingsResource, WarehouseResource
from pipeline_pulse.insight.health import health_counts
from pipeline_pulse.insight.stage_durations import refresh_stage_durations
from pipeline_pulse.models import utcnow
from pipeline_pulse.warehouse.derived import deal_change_marker, last_build, rebuild_due, record_build
from pipeline_pulse.warehouse.statistics import analyze_if_stale

# The small tables the health views join per open deal: without statistics their plans go quadratic.
HEALTH_VIEW_LOOKUPS = ("deal_health_rules", "stage_durations", "pipeline_stages")

GROUP = "insight"


@dg.asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"sql"},
    deps=[deals],
    description="Deal health, hourly (deal_health_job, DEAL_HEALTH_CRON; not in each sync: the counts scan every "
    "open deal, ~100 s at 1M, while the API reads the health views live): rebuilds stage_durations (median / p90 days per pipeline stage, "
    "the stage_sla rule's default), then counts the open deals per health colour and per broken rule from "
    "v_deal_health / v_deal_health_reasons - the views that apply deal_health_rules (docs/metrics.md 12.3). "
    "Each rule's count is numeric metadata (rule:<name>), plotted across runs. Recomputed after a sync that "
    "changed deals, and otherwise once the last one is PIPELINE_DERIVED_MAX_AGE_MINUTES old or from an earlier "
    "UTC day (the rules read the clock); `recomputed: false` when it was current.",
)
def deal_health(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, pipeline: PipelineSettingsResource
) -> dg.MaterializeResult:
    with warehouse.connect() as connection:
        marker = deal_change_marker(connection)
        build = last_build(connection, "deal_health")
        if build is not None and not rebuild_due(build, marker, utcnow(), pipeline.derived_max_age_minutes):
            return dg.MaterializeResult(metadata={"recomputed": False, "computed_at": build.built_at.isoformat()})
        stages = refresh_stage_durations(connection)
        connection.commit()
        analyzed = analyze_if_stale(connection, HEALTH_VIEW_LOOKUPS)
        connection.commit()
        counts = health_counts(connection)
        record_build(connection, "deal_health", marker, context.run.run_id)
        connection.commit()
    metadata: dict[str, object] = {
        "recomputed": True,
        "stage_durations_rows": stages,
        "analyzed": ", ".join(analyzed) or "none",
        **{f"open_deals_{status}": count for status, count in counts.by_health.items()},
        "amount_at_risk": dg.MetadataValue.float(float(counts.amount_at_risk)),
        **{f"rule:{rule}": count for rule, count in sorted(counts.by_rule.items())},
        "rules": dg.MetadataValue.md(
            markdown_table(
                ["rule", "severity", "open deals breaking it"],
                [(rule, counts.severity[rule], count) for rule, count in sorted(counts.by_rule.items())],
            )
        ),
    }
    return dg.MaterializeResult(metadata=metadata)
