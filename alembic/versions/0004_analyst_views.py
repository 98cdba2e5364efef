"""analyst views: open pipeline, won/lost by month, pipeline by region and stage, stale deals

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 03:30:00

Plain SQL views for the common analyst questions, with the same columns on PostgreSQL and SQLite (the few
date/time expressions differ per dialect). Every view reads live deals only (`deleted_at IS NULL`).
On PostgreSQL the views and their columns also get COMMENTs, so `\\d+ v_open_pipeline` explains itself.

`ANALYST_VIEWS` documents each view for `tools/data_dictionary.py` (which checks the columns against the
built views). The views are not in the ORM metadata, so autogenerate ignores them.

Rebuilding a table these views read (deals, deal_stage_history, pipeline_stages, regions) needs the views
out of the way: SQLite refuses the final RENAME of a batch "recreate" while a view names the table, and
PostgreSQL refuses to change the type of or drop a column a view uses. Such a migration does:

    views = op.get_context().script.get_revision("0004").module
    views.drop_views()
    ...  # the table change
    views.create_views(op.get_bind().dialect.name)
"""

# The view SQL is assembled from constants in this file only, never from input.
# ruff: noqa: S608

from collections.abc import Sequence
from typing import Any

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STALE_AFTER_DAYS = 30

# Dialect-specific expressions; every timestamp is stored in UTC (naive ISO text on SQLite).
_EXPRESSIONS: dict[str, dict[str, str]] = {
    "postgresql": {
        "days_since": "CAST(FLOOR(EXTRACT(EPOCH FROM (CURRENT_TIMESTAMP - {0})) / 86400) AS INTEGER)",
        "utc_today": "CAST(timezone('UTC', CURRENT_TIMESTAMP) AS DATE)",
        "days_between": "({0} - {1})",
        "month_start": "CAST(date_trunc('month', {0}) AS DATE)",
        "older_than": "{0} < CURRENT_TIMESTAMP - INTERVAL '{1} days'",
    },
    "sqlite": {
        "days_since": "CAST(julianday('now') - julianday({0}) AS INTEGER)",
        "utc_today": "date('now')",
        "days_between": "CAST(julianday({0}) - julianday({1}) AS INTEGER)",
        "month_start": "date({0}, 'start of month')",
        "older_than": "julianday({0}) < julianday('now', '-{1} days')",
    },
}

_LIVE = "d.deleted_at IS NULL"
_LIVE_OPEN = f"{_LIVE} AND d.deal_status = 'open'"


def _view_sql(dialect: str) -> dict[str, str]:
    x = _EXPRESSIONS[dialect]
    stage_entered = "COALESCE(h.stage_entered_at, d.created_time)"
    today = x["utc_today"]
    not_modified = x["older_than"].format("d.modified_time", STALE_AFTER_DAYS)
    closing_passed = f"d.closing_date < {today}"
    return {
        "v_open_pipeline": f"""
SELECT d.id AS deal_id, d.deal_name, d.account_name, d.region, r.name AS region_name,
       d.pipeline, d.stage, s.sequence AS stage_sequence, d.probability, d.forecast_category,
       d.owner_id, d.owner_name, d.owner_email,
       d.amount, d.currency, d.amount_home, d.weighted_amount_home,
       d.closing_date, d.created_time, d.modified_time,
       {stage_entered} AS stage_entered_at,
       {x["days_since"].format(stage_entered)} AS days_in_stage
FROM deals d
JOIN regions r ON r.code = d.region
LEFT JOIN pipeline_stages s ON s.pipeline = d.pipeline AND s.stage = d.stage
LEFT JOIN (
    SELECT deal_id, MAX(entered_at) AS stage_entered_at FROM deal_stage_history GROUP BY deal_id
) h ON h.deal_id = d.id
WHERE {_LIVE_OPEN}""",
        "v_won_lost_by_month": f"""
SELECT {x["month_start"].format("d.closing_date")} AS closing_month, d.region,
       SUM(CASE WHEN d.deal_status = 'won' THEN 1 ELSE 0 END) AS won_count,
       SUM(CASE WHEN d.deal_status = 'lost' THEN 1 ELSE 0 END) AS lost_count,
       COALESCE(SUM(CASE WHEN d.deal_status = 'won' THEN d.amount_home END), 0) AS won_amount_home,
       COALESCE(SUM(CASE WHEN d.deal_status = 'lost' THEN d.amount_home END), 0) AS lost_amount_home,
       ROUND(100.0 * SUM(CASE WHEN d.deal_status = 'won' THEN 1 ELSE 0 END) / COUNT(*), 1) AS win_rate_pct
FROM deals d
WHERE {_LIVE} AND d.deal_status IN ('won', 'lost') AND d.closing_date IS NOT NULL
GROUP BY 1, 2""",
        "v_pipeline_by_region_stage": f"""
SELECT d.region, d.pipeline, d.stage, s.sequence AS stage_sequence,
       COUNT(*) AS deal_count,
       COALESCE(SUM(d.amount_home), 0) AS amount_home,
       COALESCE(SUM(d.weighted_amount_home), 0) AS weighted_amount_home
FROM deals d
LEFT JOIN pipeline_stages s ON s.pipeline = d.pipeline AND s.stage = d.stage
WHERE {_LIVE_OPEN}
GROUP BY d.region, d.pipeline, d.stage, s.sequence""",
        "v_stale_deals": f"""
SELECT d.id AS deal_id, d.deal_name, d.region, d.pipeline, d.stage,
       d.owner_id, d.owner_name, d.owner_email, d.amount_home, d.closing_date, d.modified_time,
       {x["days_since"].format("d.modified_time")} AS days_since_modified,
       CASE WHEN {closing_passed} THEN {x["days_between"].format(today, "d.closing_date")} END AS days_past_closing,
       CASE
           WHEN {not_modified} AND {closing_passed} THEN 'not modified in {STALE_AFTER_DAYS} days; closing date passed'
           WHEN {not_modified} THEN 'not modified in {STALE_AFTER_DAYS} days'
           ELSE 'closing date passed'
       END AS stale_reason
FROM deals d
WHERE {_LIVE_OPEN} AND ({not_modified} OR {closing_passed})""",
    }


# Read by tools/data_dictionary.py: purpose and (column, type, meaning) in the views' column order.
ANALYST_VIEWS: dict[str, dict[str, Any]] = {
    "v_open_pipeline": {
        "purpose": "The current open pipeline: one row per live open deal, with its region, stage, owner, home-"
        "currency amounts and how long it has been in its current stage.",
        "columns": [
            ("deal_id", "bigint", "Zoho deal id (deals.id)."),
            ("deal_name", "text", "Deal name."),
            ("account_name", "text", "Account name."),
            ("region", "text", "Region code (regions.code)."),
            ("region_name", "text", "Region display name."),
            ("pipeline", "text", "Zoho pipeline."),
            ("stage", "text", "Current stage."),
            (
                "stage_sequence",
                "integer",
                "Order of the stage in its pipeline (pipeline_stages.sequence); NULL if the stage is unknown.",
            ),
            ("probability", "integer", "Win probability, percent."),
            ("forecast_category", "text", "Forecast category of the stage."),
            ("owner_id", "bigint", "Zoho user id of the owner."),
            ("owner_name", "text", "Owner's name at the last sync."),
            ("owner_email", "text", "Owner's e-mail at the last sync."),
            ("amount", "numeric(20,2)", "Amount in the deal's own currency."),
            ("currency", "text", "ISO code of the deal's currency."),
            ("amount_home", "numeric(20,2)", "Amount in home currency."),
            ("weighted_amount_home", "numeric(20,2)", "amount_home x probability / 100."),
            ("closing_date", "date", "Expected closing date."),
            ("created_time", "timestamptz (UTC)", "Created in Zoho."),
            ("modified_time", "timestamptz (UTC)", "Last modified in Zoho."),
            (
                "stage_entered_at",
                "timestamptz (UTC)",
                "When the deal entered its current stage: the latest entered_at in deal_stage_history, else created_time.",
            ),
            ("days_in_stage", "integer", "Whole days since stage_entered_at, as of now."),
        ],
    },
    "v_won_lost_by_month": {
        "purpose": "Closed deals per month of closing date and region: won and lost counts, home-currency "
        "amounts and the win rate. Live deals only; deals without a closing date are left out.",
        "columns": [
            ("closing_month", "date", "First day of the closing date's month."),
            ("region", "text", "Region code."),
            ("won_count", "bigint", "Deals won."),
            ("lost_count", "bigint", "Deals lost."),
            ("won_amount_home", "numeric", "Sum of amount_home of the won deals."),
            ("lost_amount_home", "numeric", "Sum of amount_home of the lost deals."),
            ("win_rate_pct", "numeric", "won_count / (won_count + lost_count) x 100, one decimal."),
        ],
    },
    "v_pipeline_by_region_stage": {
        "purpose": "The open pipeline summed by region x pipeline x stage, with the stage's sequence for "
        "ordering a funnel.",
        "columns": [
            ("region", "text", "Region code."),
            ("pipeline", "text", "Zoho pipeline."),
            ("stage", "text", "Stage."),
            ("stage_sequence", "integer", "Order of the stage in its pipeline; NULL if the stage is unknown."),
            ("deal_count", "bigint", "Open deals."),
            ("amount_home", "numeric", "Sum of amount_home."),
            ("weighted_amount_home", "numeric", "Sum of weighted_amount_home."),
        ],
    },
    "v_stale_deals": {
        "purpose": f"Open deals that need attention: not modified in Zoho for more than {STALE_AFTER_DAYS} "
        "days, or whose closing date has passed (UTC today) while still open.",
        "columns": [
            ("deal_id", "bigint", "Zoho deal id."),
            ("deal_name", "text", "Deal name."),
            ("region", "text", "Region code."),
            ("pipeline", "text", "Zoho pipeline."),
            ("stage", "text", "Current stage."),
            ("owner_id", "bigint", "Zoho user id of the owner."),
            ("owner_name", "text", "Owner's name."),
            ("owner_email", "text", "Owner's e-mail, for follow-up."),
            ("amount_home", "numeric(20,2)", "Amount in home currency."),
            ("closing_date", "date", "Expected closing date."),
            ("modified_time", "timestamptz (UTC)", "Last modified in Zoho."),
            ("days_since_modified", "integer", "Whole days since modified_time."),
            ("days_past_closing", "integer", "Days since the closing date; NULL when it has not passed."),
            ("stale_reason", "text", f"'not modified in {STALE_AFTER_DAYS} days', 'closing date passed', or both."),
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


def upgrade() -> None:
    create_views(op.get_bind().dialect.name)


def downgrade() -> None:
    drop_views()
