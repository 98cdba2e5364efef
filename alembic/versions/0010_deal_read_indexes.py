"""deals: (column, id) indexes of live deals for keyset pages in every sort order, covering the partial-month
aggregates and the staleness count on Postgres; owner -> region dependency statistics

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 23:30:00

Replaces ix_deals_closing_date and ix_deals_modified_time (their leading column leads the new ones too).
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
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
MODIFIED_INCLUDE = ["region", "deal_status", "owner_id", "pipeline", "stage", "closing_date"]


def upgrade() -> None:
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_closing_date")
        batch_op.drop_index("ix_deals_modified_time")
        batch_op.create_index(
            "ix_deals_live_closing_date_id",
            ["closing_date", "id"],
            unique=False,
            postgresql_include=CLOSING_INCLUDE,
            postgresql_where=LIVE,
            sqlite_where=LIVE,
        )
        batch_op.create_index(
            "ix_deals_live_modified_time_id",
            ["modified_time", "id"],
            unique=False,
            postgresql_include=MODIFIED_INCLUDE,
            postgresql_where=LIVE,
            sqlite_where=LIVE,
        )
        batch_op.create_index(
            "ix_deals_live_amount_home_id",
            ["amount_home", "id"],
            unique=False,
            postgresql_where=LIVE,
            sqlite_where=LIVE,
        )
    if op.get_bind().dialect.name == "postgresql":
        # Owners work in one region: without this the planner multiplies the two selectivities and walks a
        # sort index for an owner filter it thinks matches almost nothing.
        op.execute("CREATE STATISTICS st_deals_owner_region (dependencies) ON owner_id, region FROM deals")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_deals_owner_region")
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_live_amount_home_id")
        batch_op.drop_index("ix_deals_live_modified_time_id")
        batch_op.drop_index("ix_deals_live_closing_date_id")
        batch_op.create_index("ix_deals_modified_time", ["modified_time"], unique=False)
        batch_op.create_index("ix_deals_closing_date", ["closing_date"], unique=False)
