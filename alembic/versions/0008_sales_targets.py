"""sales_targets: targets per period, region and optional owner (loaded from CSV); deals.forecast_category's comment

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:00:00

Zoho CRM's v8 API has no Forecasts / targets endpoint, so targets come from a CSV the data team loads with
`python -m tools.load_targets` (docs/metrics.md, section 12).
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from pipeline_pulse.models.base import SurrogateKey, UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_CATEGORY_COMMENT = "Forecast category of the stage."
_NEW_CATEGORY_COMMENT = "Forecast category: the deal's own Forecast_Category__s, else its stage's."


def _category_comment(comment: str, existing: str) -> None:
    if op.get_bind().dialect.name == "postgresql":  # SQLite keeps no column comments
        op.alter_column(
            "deals", "forecast_category", existing_type=sa.String(60), comment=comment, existing_comment=existing
        )


def upgrade() -> None:
    op.create_table(
        "sales_targets",
        sa.Column("id", SurrogateKey, autoincrement=True, nullable=False, comment="Row id."),
        sa.Column(
            "period",
            sa.String(length=7),
            nullable=False,
            comment="Target period: YYYY-MM (calendar month) or YYYY-Qn (calendar quarter).",
        ),
        sa.Column("period_start", sa.Date(), nullable=False, comment="First day of the period (UTC)."),
        sa.Column("period_end", sa.Date(), nullable=False, comment="Last day of the period (UTC, inclusive)."),
        sa.Column("region", sa.String(length=32), nullable=False, comment="Region code the target is for."),
        sa.Column(
            "owner_id",
            sa.BigInteger(),
            nullable=True,
            comment="Zoho user id of the owner the target is for; NULL for the region's own target.",
        ),
        sa.Column("amount_home", sa.Numeric(20, 2), nullable=False, comment="Target amount in home currency."),
        sa.Column(
            "source",
            sa.String(length=255),
            nullable=False,
            comment="Where the row came from, e.g. the CSV file name.",
        ),
        sa.Column("loaded_at", UTCDateTime(), nullable=False, comment="When loaded (UTC)."),
        sa.CheckConstraint("amount_home >= 0", name=op.f("ck_sales_targets_amount_non_negative")),
        sa.CheckConstraint("period_end >= period_start", name=op.f("ck_sales_targets_period_range")),
        sa.ForeignKeyConstraint(
            ["region"], ["regions.code"], name=op.f("fk_sales_targets_region_regions"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_targets")),
        comment="Sales targets per period and region, optionally per owner, in home currency (loaded from CSV).",
    )
    op.create_index(op.f("ix_sales_targets_region"), "sales_targets", ["region"])
    op.create_index(
        "uq_sales_targets_region_target",
        "sales_targets",
        ["period", "region"],
        unique=True,
        postgresql_where=sa.text("owner_id IS NULL"),
        sqlite_where=sa.text("owner_id IS NULL"),
    )
    op.create_index(
        "uq_sales_targets_owner_target",
        "sales_targets",
        ["period", "region", "owner_id"],
        unique=True,
        postgresql_where=sa.text("owner_id IS NOT NULL"),
        sqlite_where=sa.text("owner_id IS NOT NULL"),
    )
    _category_comment(_NEW_CATEGORY_COMMENT, _OLD_CATEGORY_COMMENT)


def downgrade() -> None:
    _category_comment(_OLD_CATEGORY_COMMENT, _NEW_CATEGORY_COMMENT)
    op.drop_index("uq_sales_targets_owner_target", table_name="sales_targets")
    op.drop_index("uq_sales_targets_region_target", table_name="sales_targets")
    op.drop_index(op.f("ix_sales_targets_region"), table_name="sales_targets")
    op.drop_table("sales_targets")
