"""deals: ix_deals_live_closing_date_modified_time_id, so /deals with a closing range sorted by modified_time reads
each day of the range in order instead of walking every deal modified before the range's deals (issue 13.4)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deals_live_closing_date_modified_time_id",
            ["closing_date", "modified_time", "id"],
            unique=False,
            postgresql_include=["region", "deal_status", "owner_id", "pipeline", "stage"],
            postgresql_where=sa.text("deleted_at IS NULL"),
            sqlite_where=sa.text("deleted_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_live_closing_date_modified_time_id")
