"""zoho_credit_ledger: Zoho credits spent per client and UTC day, shared by every process

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from pipeline_pulse.models.base import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "zoho_credit_ledger",
        sa.Column(
            "ledger_key",
            sa.String(length=64),
            nullable=False,
            comment="Which Zoho client spends (the token store's token id).",
        ),
        sa.Column("day", sa.Date(), nullable=False, comment="UTC day the credits count against."),
        sa.Column("credits_spent", sa.BigInteger(), nullable=False, comment="Credits charged that day."),
        sa.Column("updated_at", UTCDateTime(), nullable=False, comment="Last charge or refund (UTC)."),
        sa.PrimaryKeyConstraint("ledger_key", "day", name=op.f("pk_zoho_credit_ledger")),
        comment="Zoho API credits spent per UTC day, shared by every process that calls Zoho, so the daily "
        "budget holds across concurrent runs (pipeline_pulse.services.zoho.credit_ledger).",
    )


def downgrade() -> None:
    op.drop_table("zoho_credit_ledger")
