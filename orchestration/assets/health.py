"""Downstream of deals (their load rebuilds the stage timeline): deal health, so the data team sees the rule counts move."""

import dagster as dg

from orchestration.assets.common import OWNERS, markdown_table
from orchestration.assets.deals import deals
from orchestration.resources import WarehouseResource
from pipeline_pulse.insight.health import health_counts
from pipeline_pulse.insight.stage_durations import refresh_stage_durations
from pipeline_pulse.warehouse.statistics import analyze_if_stale

# The small tables the health views join per open deal: without statistics their plans go quadratic.
HEALTH_VIEW_LOOKUPS = ("deal_health_rules", "stage_durations", "pipeline_stages")

GROUP = "insight"


@dg.asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"sql"},
    deps=[deals],
    description="Deal health after every sync: rebuilds stage_durations (median / p90 days per pipeline stage, "
    "the stage_sla rule's default), then counts the open deals per health colour and per broken rule from "
    "v_deal_health / v_deal_health_reasons - the views that apply deal_health_rules (docs/metrics.md 12.3). "
    "Each rule's count is numeric metadata (rule:<name>), plotted across runs.",
)
def deal_health(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as connection:
        stages = refresh_stage_durations(connection)
        connection.commit()
        analyzed = analyze_if_stale(connection, HEALTH_VIEW_LOOKUPS)
        connection.commit()
        counts = health_counts(connection)
    metadata: dict[str, object] = {
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
