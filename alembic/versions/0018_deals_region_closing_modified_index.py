"""deals: ix_deals_live_region_closing_date_modified_time_id, so /deals with a closing range sorted by
modified_time under a region scope probes (region, day) and reads only deals in scope, instead of every deal of
each day of the range (issue 13.4; api/queries/deals.py `_by_closing_day`)

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-02 05:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0018"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deals_live_region_closing_date_modified_time_id",
            ["region", "closing_date", "modified_time", "id"],
            unique=False,
            postgresql_include=["deal_status", "owner_id", "pipeline", "stage"],
            postgresql_where=sa.text("deleted_at IS NULL"),
            sqlite_where=sa.text("deleted_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_live_region_closing_date_modified_time_id")
