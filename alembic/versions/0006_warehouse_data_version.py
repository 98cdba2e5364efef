"""warehouse_data_version: one counter row the ETL writers bump, so the read API knows when to drop its cache

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from pipeline_pulse.models.base import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "warehouse_data_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False, comment="Always 1."),
        sa.Column("version", sa.BigInteger(), nullable=False, comment="Bumped by one per writing transaction."),
        sa.Column("changed_at", UTCDateTime(), nullable=False, comment="Last bump (UTC)."),
        sa.CheckConstraint("id = 1", name=op.f("ck_warehouse_data_version_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warehouse_data_version")),
        comment="One row: a counter every ETL writer bumps in its transaction; the read API polls it to drop its "
        "response cache (pipeline_pulse.warehouse.data_version).",
    )


def downgrade() -> None:
    op.drop_table("warehouse_data_version")
