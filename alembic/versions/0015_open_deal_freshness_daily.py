"""open_deal_freshness_daily: open live deals by region, pipeline, stage, closing month and UTC modified day, so the
part of a month the stale cutoff cuts is read as days of a small table, not as deals (issue 13.4); filled here
from the live deals as the mart refresh fills it after every sync

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 03:10:00
"""

# The fill SQL is assembled from constants in this file only, never from input.
# ruff: noqa: S608

from collections.abc import Sequence

import sqlalchemy as sa

import pipeline_pulse.models.base
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Per dialect: closing month, UTC calendar day of modified_time.
EXPRESSIONS = {
    "postgresql": (
        "CAST(date_trunc('month', closing_date) AS DATE)",
        "CAST(timezone('UTC', modified_time) AS DATE)",
    ),
    "sqlite": ("date(closing_date, 'start of month')", "date(modified_time)"),
}


def upgrade() -> None:
    op.create_table(
        "open_deal_freshness_daily",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
            comment="Row id.",
        ),
        sa.Column("region", sa.String(length=32), nullable=False, comment="Region code."),
        sa.Column("pipeline", sa.String(length=120), nullable=True, comment="Pipeline."),
        sa.Column("stage", sa.String(length=120), nullable=False, comment="Stage."),
        sa.Column("closing_month", sa.Date(), nullable=True, comment="First day of the closing month (NULL: none)."),
        sa.Column("modified_date", sa.Date(), nullable=False, comment="UTC calendar day of modified_time."),
        sa.Column("deal_count", sa.Integer(), nullable=False, comment="Number of open deals."),
        sa.Column(
            "refreshed_at",
            pipeline_pulse.models.base.UTCDateTime(timezone=True),
            nullable=False,
            comment="When rebuilt (UTC).",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_deal_freshness_daily")),
        comment="open_deal_freshness by modified DAY (UTC) instead of month: the part of a month the stale cutoff "
        "cuts, read as at most about half a month of days (docs/metrics.md 6.3).",
    )
    with op.batch_alter_table("open_deal_freshness_daily", schema=None) as batch_op:
        batch_op.create_index("ix_open_deal_freshness_daily_modified_date", ["modified_date"], unique=False)
    bind = op.get_bind()
    closing_month, modified_date = EXPRESSIONS[bind.dialect.name]
    now = sa.bindparam("now", type_=pipeline_pulse.models.base.UTCDateTime(timezone=True))
    bind.execute(
        sa.text(
            "INSERT INTO open_deal_freshness_daily (region, pipeline, stage, closing_month, modified_date, "
            f"deal_count, refreshed_at) SELECT region, pipeline, stage, {closing_month}, {modified_date}, count(*), "
            ":now FROM deals WHERE deleted_at IS NULL AND deal_status = 'open' AND modified_time IS NOT NULL "
            f"GROUP BY region, pipeline, stage, {closing_month}, {modified_date}"
        ).bindparams(now),
        {"now": pipeline_pulse.models.base.utcnow()},
    )


def downgrade() -> None:
    with op.batch_alter_table("open_deal_freshness_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_open_deal_freshness_daily_modified_date")
    op.drop_table("open_deal_freshness_daily")
