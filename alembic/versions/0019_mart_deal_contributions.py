"""mart_deal_contributions: per live deal, the keys and measures it adds to the metrics marts, so a sync updates
the marts by the deals it changed (old row out, new row in) instead of rebuilding them (issue 11.4). Left empty
here: the next mart refresh finds no incremental state and rebuilds in full, which fills it.

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-02 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0019"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mart_deal_contributions",
        sa.Column("deal_id", sa.BigInteger(), autoincrement=False, nullable=False, comment="deals.id."),
        sa.Column("region", sa.String(length=32), nullable=False, comment="Region code."),
        sa.Column("pipeline", sa.String(length=120), nullable=True, comment="Pipeline."),
        sa.Column("stage", sa.String(length=120), nullable=False, comment="Stage."),
        sa.Column("owner_id", sa.BigInteger(), nullable=True, comment="Owner (Zoho user id)."),
        sa.Column("deal_status", sa.String(length=8), nullable=False, comment="open / won / lost."),
        sa.Column("closing_date", sa.Date(), nullable=True, comment="Closing date."),
        sa.Column("closing_month", sa.Date(), nullable=True, comment="First day of the closing month."),
        sa.Column(
            "freshness_month",
            sa.Date(),
            nullable=True,
            comment="First day of the UTC month of modified_time when counted in open_deal_freshness, else NULL.",
        ),
        sa.Column(
            "freshness_date",
            sa.Date(),
            nullable=True,
            comment="UTC day of modified_time when counted in open_deal_freshness_daily, else NULL.",
        ),
        sa.Column("amount_home", sa.Numeric(precision=20, scale=2), nullable=True, comment="Amount in home currency."),
        sa.Column(
            "weighted_amount_home", sa.Numeric(precision=20, scale=2), nullable=True, comment="Weighted home amount."
        ),
        sa.Column("cycle_days", sa.Integer(), nullable=True, comment="Closing date minus created day (NULL: unknown)."),
        sa.Column("stale", sa.Integer(), nullable=False, comment="1 when stale as of the mart's refresh day, else 0."),
        sa.PrimaryKeyConstraint("deal_id", name=op.f("pk_mart_deal_contributions")),
        comment="Per live deal, the keys and measures it adds to pipeline_metrics, pipeline_metrics_daily and "
        "open_deal_freshness(_daily) as of the last mart refresh: a sync subtracts the old row and adds the new one "
        "for the deals it changed instead of rebuilding the marts.",
    )


def downgrade() -> None:
    op.drop_table("mart_deal_contributions")
