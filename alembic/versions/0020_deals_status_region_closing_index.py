"""deals: ix_deals_live_status_region_closing_date, so by-owner figures over the cut days of a closing range
(read from deals: the day mart has no owner) read the deals of one status in the scope's regions from the
index alone, instead of every deal of each day (issue 13.4; api/queries/metrics.py)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deals_live_status_region_closing_date",
            ["deal_status", "region", "closing_date"],
            unique=False,
            postgresql_include=["owner_id", "pipeline", "stage", "amount_home", "weighted_amount_home"],
            postgresql_where=sa.text("deleted_at IS NULL"),
            sqlite_where=sa.text("deleted_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_live_status_region_closing_date")
