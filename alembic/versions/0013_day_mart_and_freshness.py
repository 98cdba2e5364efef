"""pipeline_metrics_daily (closing-day mart without owner), open_deal_freshness (open deals by closing month and
modified month), ix_deals_live_owner_closing_date_id, and modified_time in ix_deals_live_closing_date_id: cache
misses at 1,000,000 deals read tens to thousands of rows, not deals (issue 13.4, docs/api.md)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 02:10:00

Both new tables are filled here from the live deals (as pipeline_pulse/warehouse/metrics_mart.py fills them after
every sync), so an upgraded warehouse answers cut-month ranges and staleness correctly before its next sync.
"""

# The fill SQL is assembled from constants in this file only, never from input.
# ruff: noqa: S608

from collections.abc import Sequence

import sqlalchemy as sa

import pipeline_pulse.models.base
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("deleted_at IS NULL")
CLOSING_INCLUDE = [
    "region",
    "deal_status",
    "owner_id",
    "pipeline",
    "stage",
    "amount_home",
    "weighted_amount_home",
    "created_time",
]
OWNER_INCLUDE = [
    "region",
    "deal_status",
    "pipeline",
    "stage",
    "amount_home",
    "weighted_amount_home",
    "created_time",
    "modified_time",
]
# Per dialect: cycle days (closing date minus the UTC day of creation), closing month, UTC month of modified_time.
EXPRESSIONS = {
    "postgresql": (
        "closing_date - CAST(timezone('UTC', created_time) AS DATE)",
        "CAST(date_trunc('month', closing_date) AS DATE)",
        "CAST(date_trunc('month', timezone('UTC', modified_time)) AS DATE)",
    ),
    "sqlite": (
        "CAST(julianday(closing_date) - julianday(date(created_time)) AS INTEGER)",
        "date(closing_date, 'start of month')",
        "date(modified_time, 'start of month')",
    ),
}


def _money(name: str, comment: str) -> sa.Column:
    return sa.Column(
        name, sa.Numeric(precision=20, scale=2), server_default=sa.text("0"), nullable=False, comment=comment
    )


def _id() -> sa.Column:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
        comment="Row id.",
    )


def _refreshed_at() -> sa.Column:
    return sa.Column(
        "refreshed_at",
        pipeline_pulse.models.base.UTCDateTime(timezone=True),
        nullable=False,
        comment="When rebuilt (UTC).",
    )


def upgrade() -> None:
    op.create_table(
        "pipeline_metrics_daily",
        _id(),
        sa.Column("region", sa.String(length=32), nullable=False, comment="Region code."),
        sa.Column("pipeline", sa.String(length=120), nullable=True, comment="Pipeline."),
        sa.Column("stage", sa.String(length=120), nullable=False, comment="Stage."),
        sa.Column("deal_status", sa.String(length=8), nullable=False, comment="open / won / lost."),
        sa.Column("closing_date", sa.Date(), nullable=True, comment="Closing date (NULL: deals without one)."),
        sa.Column("deal_count", sa.Integer(), nullable=False, comment="Number of deals."),
        _money("amount_home", "Sum of amount_home."),
        _money("weighted_amount_home", "Sum of weighted_amount_home."),
        sa.Column(
            "cycle_days_sum",
            sa.Numeric(precision=20, scale=4),
            server_default=sa.text("0"),
            nullable=False,
            comment="Sum of days from created to closing date.",
        ),
        sa.Column(
            "cycle_deal_count",
            sa.Integer(),
            server_default=sa.text("0"),
            nullable=False,
            comment="Deals with both created and closing date (cycle_days_sum's n).",
        ),
        _refreshed_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_metrics_daily")),
        comment="Day-grain metrics mart rebuilt with pipeline_metrics: live deals grouped by region, pipeline, "
        "stage, status and closing DAY (no owner), so a closing range that cuts months sums days, not deals.",
    )
    with op.batch_alter_table("pipeline_metrics_daily", schema=None) as batch_op:
        batch_op.create_index("ix_pipeline_metrics_daily_closing_date_region", ["closing_date", "region"], unique=False)
    op.create_table(
        "open_deal_freshness",
        _id(),
        sa.Column("region", sa.String(length=32), nullable=False, comment="Region code."),
        sa.Column("pipeline", sa.String(length=120), nullable=True, comment="Pipeline."),
        sa.Column("stage", sa.String(length=120), nullable=False, comment="Stage."),
        sa.Column("closing_month", sa.Date(), nullable=True, comment="First day of the closing month (NULL: none)."),
        sa.Column("modified_month", sa.Date(), nullable=False, comment="First day of the UTC month of modified_time."),
        sa.Column("deal_count", sa.Integer(), nullable=False, comment="Number of open deals."),
        _refreshed_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_deal_freshness")),
        comment="Open live deals with a modified time, counted by region, pipeline, stage, closing month and "
        "modified month; rebuilt with pipeline_metrics. The whole-month cells of the stale-deal count for any "
        "as_of and threshold (docs/metrics.md 6.3).",
    )
    with op.batch_alter_table("open_deal_freshness", schema=None) as batch_op:
        batch_op.create_index(
            "ix_open_deal_freshness_modified_month_closing_month", ["modified_month", "closing_month"], unique=False
        )
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_live_closing_date_id")
        batch_op.create_index(
            "ix_deals_live_closing_date_id",
            ["closing_date", "id"],
            unique=False,
            postgresql_include=[*CLOSING_INCLUDE, "modified_time"],
            postgresql_where=LIVE,
            sqlite_where=LIVE,
        )
        batch_op.create_index(
            "ix_deals_live_owner_closing_date_id",
            ["owner_id", "closing_date", "id"],
            unique=False,
            postgresql_include=OWNER_INCLUDE,
            postgresql_where=LIVE,
            sqlite_where=LIVE,
        )
    _fill(op.get_bind())


def _fill(bind: sa.Connection) -> None:
    cycle, closing_month, modified_month = EXPRESSIONS[bind.dialect.name]
    now = sa.bindparam("now", type_=pipeline_pulse.models.base.UTCDateTime(timezone=True))
    refreshed = {"now": pipeline_pulse.models.base.utcnow()}
    bind.execute(
        sa.text(
            "INSERT INTO pipeline_metrics_daily (region, pipeline, stage, deal_status, closing_date, deal_count, "
            "amount_home, weighted_amount_home, cycle_days_sum, cycle_deal_count, refreshed_at) "
            "SELECT region, pipeline, stage, deal_status, closing_date, count(*), coalesce(sum(amount_home), 0), "
            f"coalesce(sum(weighted_amount_home), 0), coalesce(sum({cycle}), 0), count({cycle}), :now "
            "FROM deals WHERE deleted_at IS NULL GROUP BY region, pipeline, stage, deal_status, closing_date"
        ).bindparams(now),
        refreshed,
    )
    bind.execute(
        sa.text(
            "INSERT INTO open_deal_freshness (region, pipeline, stage, closing_month, modified_month, deal_count, "
            f"refreshed_at) SELECT region, pipeline, stage, {closing_month}, {modified_month}, count(*), :now "
            "FROM deals WHERE deleted_at IS NULL AND deal_status = 'open' AND modified_time IS NOT NULL "
            f"GROUP BY region, pipeline, stage, {closing_month}, {modified_month}"
        ).bindparams(now),
        refreshed,
    )


def downgrade() -> None:
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_live_owner_closing_date_id")
        batch_op.drop_index("ix_deals_live_closing_date_id")
        batch_op.create_index(
            "ix_deals_live_closing_date_id",
            ["closing_date", "id"],
            unique=False,
            postgresql_include=CLOSING_INCLUDE,
            postgresql_where=LIVE,
            sqlite_where=LIVE,
        )
    with op.batch_alter_table("open_deal_freshness", schema=None) as batch_op:
        batch_op.drop_index("ix_open_deal_freshness_modified_month_closing_month")
    op.drop_table("open_deal_freshness")
    with op.batch_alter_table("pipeline_metrics_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_pipeline_metrics_daily_closing_date_region")
    op.drop_table("pipeline_metrics_daily")
