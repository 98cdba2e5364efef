"""deal health: deal_health_rules (declarative rules, seeded defaults), stage_durations, and the rule engine as
the views v_deal_health_reasons / v_deal_health

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 23:45:00

The rule engine is these two views, and nothing else: the read API selects from them (so API, analysts and the
`deal_health` Dagster asset get one answer), and the rules they apply are rows of `deal_health_rules`, read at
query time (editing a row changes every answer; no schema change). Definitions: docs/metrics.md, section 12.3.

How the views decide, per live open deal and per rule name: among the rule's rows whose pipeline and stage match
the deal's (`'*'` matches any), the most specific one applies (a stage row beats a pipeline row beats the
`'*'` row); if it is enabled and its measure (below) compares true with its threshold, the deal breaks the rule.
No window functions or CTEs: PostgreSQL and SQLite flatten the views into the caller's query, so a lookup of a
few deals (the API's pages) evaluates just those deals.

A later migration that rebuilds a table these views read (deals, deal_stage_history, deal_versions,
pipeline_stages, deal_health_rules, stage_durations) drops and recreates them:

    health = op.get_context().script.get_revision("0011").module
    health.drop_views()
    ...  # the table change
    health.create_views(op.get_bind().dialect.name)
"""

# The view SQL is assembled from constants in this file only, never from input.
# ruff: noqa: S608

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from alembic import op
from pipeline_pulse.models.base import SurrogateKey, UTCDateTime, utcnow

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MEASURES = (
    "days_past_close",
    "days_since_touch",
    "days_in_stage",
    "days_over_stage_median",
    "probability_gap",
    "amount_missing",
    "closing_date_pushes",
)
COMPARISONS = (">", ">=", "<", "<=")
SEVERITIES = ("amber", "red")

# rule, measure, comparison, threshold, severity, description: the defaults of issue 15 (docs/metrics.md 12.3).
DEFAULT_RULES = (
    ("past_close_date", "days_past_close", ">", "0", "red", "Still open after its closing date (before today, UTC)."),
    ("no_activity", "days_since_touch", ">", "30", "amber", "No activity and no change in Zoho for more than 30 days."),
    (
        "stage_sla",
        "days_over_stage_median",
        ">",
        "0",
        "amber",
        "In its stage longer than the stage's SLA: by default the pipeline's median time in that stage.",
    ),
    (
        "probability_mismatch",
        "probability_gap",
        ">",
        "20",
        "amber",
        "Probability more than 20 points away from its stage's probability.",
    ),
    ("amount_missing", "amount_missing", ">", "0", "amber", "No amount (missing or zero)."),
    ("closing_date_pushed", "closing_date_pushes", ">", "2", "amber", "Closing date pushed out more than 2 times."),
)

_DIALECT: dict[str, dict[str, str]] = {
    "postgresql": {
        "days_since": "(EXTRACT(EPOCH FROM (CURRENT_TIMESTAMP - {0})) / 86400)",
        "days_past": "({0} - CAST(timezone('UTC', CURRENT_TIMESTAMP) AS DATE))",
        "reasons": "string_agg(b.rule, ',' ORDER BY b.rule)",
    },
    "sqlite": {
        "days_since": "(julianday('now') - julianday({0}))",
        "days_past": "CAST(julianday({0}) - julianday(date('now')) AS INTEGER)",
        "reasons": "group_concat(b.rule, ',')",
    },
}


def _specificity(alias: str) -> str:
    return f"(CASE WHEN {alias}.stage <> '*' THEN 2 ELSE 0 END + CASE WHEN {alias}.pipeline <> '*' THEN 1 ELSE 0 END)"


def _matches(alias: str) -> str:
    return f"({alias}.pipeline = '*' OR {alias}.pipeline = d.pipeline) AND ({alias}.stage = '*' OR {alias}.stage = d.stage)"


def _measures(dialect: str) -> dict[str, str]:
    x = _DIALECT[dialect]
    touched = (
        "COALESCE(CASE WHEN d.modified_time IS NULL OR d.last_activity_time > d.modified_time "
        "THEN d.last_activity_time ELSE d.modified_time END, d.created_time)"
    )
    stage_entered = (
        "COALESCE((SELECT MAX(h.entered_at) FROM deal_stage_history h WHERE h.deal_id = d.id), d.created_time)"
    )
    days_in_stage = x["days_since"].format(stage_entered)
    median = "(SELECT sd.median_days FROM stage_durations sd WHERE sd.pipeline = d.pipeline AND sd.stage = d.stage)"
    stage_probability = (
        "(SELECT s.probability FROM pipeline_stages s WHERE s.pipeline = d.pipeline AND s.stage = d.stage)"
    )
    # A push: a version whose closing date is later than its predecessor's (versions chain in id order).
    pushes = (
        "(SELECT COUNT(*) FROM deal_versions v WHERE v.deal_id = d.id AND v.closing_date > "
        "(SELECT p.closing_date FROM deal_versions p WHERE p.deal_id = v.deal_id AND p.id < v.id "
        "ORDER BY p.id DESC LIMIT 1))"
    )
    return {
        "days_past_close": f"(-{x['days_past'].format('d.closing_date')})",
        "days_since_touch": x["days_since"].format(touched),
        "days_in_stage": days_in_stage,
        "days_over_stage_median": f"({days_in_stage} - {median})",
        "probability_gap": f"ABS(d.probability - {stage_probability})",
        "amount_missing": "(CASE WHEN d.amount_home IS NULL OR d.amount_home = 0 THEN 1 ELSE 0 END)",
        "closing_date_pushes": pushes,
    }


def _view_sql(dialect: str) -> dict[str, str]:
    x = _DIALECT[dialect]
    value = "CASE r.measure " + " ".join(f"WHEN '{m}' THEN {sql}" for m, sql in _measures(dialect).items()) + " END"
    compared = " OR ".join(f"(x.comparison = '{c}' AND x.value {c} x.threshold)" for c in COMPARISONS)
    red = "SUM(CASE WHEN b.severity = 'red' THEN 1 ELSE 0 END)"
    amber = "SUM(CASE WHEN b.severity = 'amber' THEN 1 ELSE 0 END)"
    return {
        "v_deal_health_reasons": f"""
SELECT x.deal_id, x.rule, x.severity, x.measure, x.value, x.comparison, x.threshold, x.description
FROM (
    SELECT d.id AS deal_id, r.rule, r.severity, r.measure, r.comparison, r.threshold, r.description,
           {value} AS value
    FROM deals d
    JOIN deal_health_rules r ON {_matches("r")}
    WHERE d.deleted_at IS NULL AND d.deal_status = 'open' AND r.enabled
      AND NOT EXISTS (
          SELECT 1 FROM deal_health_rules m
          WHERE m.rule = r.rule AND {_matches("m")} AND {_specificity("m")} > {_specificity("r")}
      )
) x
WHERE x.value IS NOT NULL AND ({compared})""",
        "v_deal_health": f"""
SELECT d.id AS deal_id, d.deal_name, d.region, d.pipeline, d.stage, d.deal_status, d.owner_id, d.owner_name,
       d.amount_home, d.closing_date,
       CASE WHEN {red} > 0 THEN 'red' WHEN COUNT(b.rule) > 0 THEN 'amber' ELSE 'green' END AS health,
       {x["reasons"]} AS reasons,
       {red} AS red_rules,
       {amber} AS amber_rules,
       CASE WHEN COUNT(b.rule) > 0 THEN COALESCE(d.amount_home, 0) ELSE 0 END AS amount_at_risk
FROM deals d
LEFT JOIN v_deal_health_reasons b ON b.deal_id = d.id
WHERE d.deleted_at IS NULL AND d.deal_status = 'open'
GROUP BY d.id, d.deal_name, d.region, d.pipeline, d.stage, d.deal_status, d.owner_id, d.owner_name,
         d.amount_home, d.closing_date""",
    }


# Read by tools/data_dictionary.py: purpose and (column, type, meaning) in the views' column order.
ANALYST_VIEWS: dict[str, dict[str, Any]] = {
    "v_deal_health_reasons": {
        "purpose": "Deal health, the reasons: one row per live open deal and rule it breaks now (the rules of "
        "deal_health_rules, most specific row per rule; docs/metrics.md 12.3).",
        "columns": [
            ("deal_id", "bigint", "Zoho deal id (deals.id)."),
            ("rule", "text", "Rule broken (deal_health_rules.rule)."),
            ("severity", "text", "amber or red."),
            ("measure", "text", "What the rule measures (docs/metrics.md 12.3)."),
            ("value", "numeric", "The deal's measure now (days are fractional, UTC)."),
            ("comparison", "text", "The rule's comparison: >, >=, < or <=."),
            ("threshold", "numeric(12,2)", "The rule's threshold."),
            ("description", "text", "What breaking the rule means."),
        ],
    },
    "v_deal_health": {
        "purpose": "Deal health: one row per live open deal, green / amber / red from the rules it breaks now, "
        "with the amount at risk (the API's /deals/attention and health fields read this view).",
        "columns": [
            ("deal_id", "bigint", "Zoho deal id (deals.id)."),
            ("deal_name", "text", "Deal name."),
            ("region", "text", "Region code."),
            ("pipeline", "text", "Zoho pipeline."),
            ("stage", "text", "Current stage."),
            ("deal_status", "text", "Always open."),
            ("owner_id", "bigint", "Zoho user id of the owner."),
            ("owner_name", "text", "Owner's name at the last sync."),
            ("amount_home", "numeric(20,2)", "Amount in home currency."),
            ("closing_date", "date", "Expected closing date."),
            ("health", "text", "red if a red rule is broken, else amber if any rule is, else green."),
            ("reasons", "text", "The broken rules, comma-separated (by name on PostgreSQL); NULL when green."),
            ("red_rules", "bigint", "Number of red rules broken."),
            ("amber_rules", "bigint", "Number of amber rules broken."),
            ("amount_at_risk", "numeric", "amount_home (0 when missing) when any rule is broken, else 0."),
        ],
    },
}


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def create_views(dialect: str) -> None:
    for name, sql in _view_sql(dialect).items():
        op.execute(f"CREATE VIEW {name} AS {sql}")
        if dialect == "postgresql":
            spec = ANALYST_VIEWS[name]
            op.execute(f"COMMENT ON VIEW {name} IS {_quote(spec['purpose'])}")
            for column, _type, meaning in spec["columns"]:
                op.execute(f"COMMENT ON COLUMN {name}.{column} IS {_quote(meaning)}")


def drop_views() -> None:
    for name in reversed(list(ANALYST_VIEWS)):
        op.execute(f"DROP VIEW IF EXISTS {name}")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    rules = op.create_table(
        "deal_health_rules",
        sa.Column("id", SurrogateKey, autoincrement=True, nullable=False, comment="Row id."),
        sa.Column(
            "rule",
            sa.String(length=60),
            nullable=False,
            comment="Rule name, e.g. past_close_date; reported as a reason.",
        ),
        sa.Column(
            "pipeline",
            sa.String(length=120),
            server_default="*",
            nullable=False,
            comment="Pipeline the row applies to, '*' for every pipeline.",
        ),
        sa.Column(
            "stage",
            sa.String(length=120),
            server_default="*",
            nullable=False,
            comment="Stage the row applies to, '*' for every stage.",
        ),
        sa.Column(
            "measure",
            sa.String(length=40),
            nullable=False,
            comment="What is measured: " + ", ".join(MEASURES) + " (docs/metrics.md 12.3).",
        ),
        sa.Column(
            "comparison", sa.String(length=2), nullable=False, comment="How the measure is compared: >, >=, < or <=."
        ),
        sa.Column(
            "threshold", sa.Numeric(12, 2), nullable=False, comment="The threshold the measure is compared with."
        ),
        sa.Column(
            "severity",
            sa.String(length=8),
            nullable=False,
            comment="amber or red: the deal's health when it breaks the rule.",
        ),
        sa.Column(
            "enabled",
            sa.Boolean(),
            server_default=sa.true(),
            nullable=False,
            comment="False turns the rule off where this row applies.",
        ),
        sa.Column("description", sa.Text(), nullable=False, comment="What breaking the rule means, for people."),
        sa.Column("updated_at", UTCDateTime(), nullable=False, comment="Last change (UTC)."),
        sa.CheckConstraint(_in("measure", MEASURES), name=op.f("ck_deal_health_rules_measure_values")),
        sa.CheckConstraint(_in("comparison", COMPARISONS), name=op.f("ck_deal_health_rules_comparison_values")),
        sa.CheckConstraint(_in("severity", SEVERITIES), name=op.f("ck_deal_health_rules_severity_values")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_health_rules")),
        sa.UniqueConstraint("rule", "pipeline", "stage", name=op.f("uq_deal_health_rules_rule_pipeline_stage")),
        comment="Deal health rules: an open deal breaks a rule when its measure compares true with the threshold. "
        "Per rule, the most specific enabled-or-not row for the deal's pipeline and stage applies (stage beats "
        "pipeline beats '*'). Read by v_deal_health_reasons / v_deal_health and the API.",
    )
    op.create_table(
        "stage_durations",
        sa.Column("pipeline", sa.String(length=120), nullable=False, comment="Pipeline (the deal's current one)."),
        sa.Column("stage", sa.String(length=120), nullable=False, comment="Stage."),
        sa.Column("completed_stays", sa.Integer(), nullable=False, comment="Stays that ended (left_at set)."),
        sa.Column("median_days", sa.Numeric(12, 4), nullable=False, comment="Median of their duration_days."),
        sa.Column("p90_days", sa.Numeric(12, 4), nullable=False, comment="90th percentile (linear interpolation)."),
        sa.Column("refreshed_at", UTCDateTime(), nullable=False, comment="When rebuilt (UTC)."),
        sa.PrimaryKeyConstraint("pipeline", "stage", name=op.f("pk_stage_durations")),
        comment="Days deals spend in each stage of each pipeline (completed stays in deal_stage_history of live "
        "deals), rebuilt by the deal_health asset; the stage_sla rule's default threshold is the median.",
    )
    now = utcnow()
    op.bulk_insert(
        rules,
        [
            {
                "rule": rule,
                "pipeline": "*",
                "stage": "*",
                "measure": measure,
                "comparison": comparison,
                "threshold": Decimal(threshold),
                "severity": severity,
                "enabled": True,
                "description": description,
                "updated_at": now,
            }
            for rule, measure, comparison, threshold, severity, description in DEFAULT_RULES
        ],
    )
    create_views(op.get_bind().dialect.name)


def downgrade() -> None:
    drop_views()
    op.drop_table("stage_durations")
    op.drop_table("deal_health_rules")
