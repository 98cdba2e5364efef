"""pipeline_metrics.cycle_deal_count: how many deals cycle_days_sum covers, for an exact average sales cycle

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pipeline_metrics", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "cycle_deal_count",
                sa.Integer(),
                server_default=sa.text("0"),
                nullable=False,
                comment="Deals with both created and closing date (cycle_days_sum's n).",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("pipeline_metrics", schema=None) as batch_op:
        batch_op.drop_column("cycle_deal_count")
