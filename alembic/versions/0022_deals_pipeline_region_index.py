"""deals: ix_deals_pipeline_region, so a /deals pipeline filter with few or no deals in the scope's regions is
read from an index (issue 13.4; api/queries/deals.py)

A pipeline sold in some regions only (the Enterprise pipeline of one team) is the pipeline's twin of 0021's
closed stage: the statistics of 0021 estimate the combination right (no deal), but with no index leading on
the pipeline, Postgres still reads every deal in scope to find none (pipeline=Enterprise for APAC + EMEA at
1M deals, none of them Enterprise: 0.4-0.7 s).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 15:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index("ix_deals_pipeline_region", ["pipeline", "region"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_pipeline_region")
