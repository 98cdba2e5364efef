"""pipeline_metrics.stale_count: open deals stale as of the refresh day, so the API's summary reads only the mart

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pipeline_metrics", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "stale_count",
                sa.Integer(),
                server_default=sa.text("0"),
                nullable=False,
                comment="Open deals not modified for 30 days before the refresh day (UTC), or closing before it.",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("pipeline_metrics", schema=None) as batch_op:
        batch_op.drop_column("stale_count")
