"""deal_versions: every observed state of every deal (SCD type 2), backfilled from the deals already loaded

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 22:30:00

Existing installs get one version per deal, valid from its Modified_Time (else created / first seen), plus a
tombstone from deleted_at for soft-deleted deals; all labelled `sync`. The history start (sync_state row
`deal_history`) becomes the deals cursor, i.e. the newest change the warehouse had seen: states before it are
unknown (docs/metrics.md, "Deal history").
"""

# The backfill SQL is assembled from constants in this file only.
# ruff: noqa: S608

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from pipeline_pulse.models.base import UTCDateTime, utcnow

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRACKED = (
    "stage, pipeline, deal_status, probability, forecast_category, amount, currency, exchange_rate, amount_home, "
    "weighted_amount_home, closing_date, owner_id, region"
)
_COLUMNS = f"deal_id, valid_from, valid_to, produced_by, deleted, {_TRACKED}, modified_time, recorded_at"
HISTORY_STREAM = "deal_history"


def _create_table() -> None:
    op.create_table(
        "deal_versions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
            comment="Row id.",
        ),
        sa.Column("deal_id", sa.BigInteger(), nullable=False, comment="The deal (deals.id)."),
        sa.Column(
            "valid_from",
            UTCDateTime(timezone=True),
            nullable=False,
            comment="Start of validity (UTC, inclusive): Zoho Modified_Time of the change; for a deletion Zoho's "
            "deleted time (or the reconcile's observed time); the observed time for drift without a newer "
            "Modified_Time.",
        ),
        sa.Column(
            "valid_to",
            UTCDateTime(timezone=True),
            nullable=True,
            comment="End of validity (UTC, exclusive) = the next version's valid_from; NULL while current.",
        ),
        sa.Column(
            "produced_by",
            sa.String(length=10),
            nullable=False,
            comment="What wrote it: sync (incremental), reconcile (full read), deletion (deleted in Zoho), restore "
            "(a deleted deal reappeared).",
        ),
        sa.Column(
            "deleted",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
            comment="True from the deal's deletion on (a tombstone).",
        ),
        sa.Column("stage", sa.String(length=120), nullable=False, comment="Stage."),
        sa.Column("pipeline", sa.String(length=120), nullable=True, comment="Pipeline."),
        sa.Column("deal_status", sa.String(length=8), nullable=False, comment="open / won / lost."),
        sa.Column("probability", sa.Integer(), nullable=True, comment="Win probability, percent."),
        sa.Column("forecast_category", sa.String(length=60), nullable=True, comment="Forecast category."),
        sa.Column(
            "amount", sa.Numeric(precision=20, scale=2), nullable=True, comment="Amount in the deal's own currency."
        ),
        sa.Column("currency", sa.String(length=3), nullable=True, comment="ISO code of the deal's currency."),
        sa.Column(
            "exchange_rate",
            sa.Numeric(precision=20, scale=9),
            nullable=True,
            comment="Units of deal currency per home unit.",
        ),
        sa.Column("amount_home", sa.Numeric(precision=20, scale=2), nullable=True, comment="Amount in home currency."),
        sa.Column(
            "weighted_amount_home",
            sa.Numeric(precision=20, scale=2),
            nullable=True,
            comment="amount_home x probability / 100.",
        ),
        sa.Column("closing_date", sa.Date(), nullable=True, comment="Closing date."),
        sa.Column("owner_id", sa.BigInteger(), nullable=True, comment="Zoho user id of the owner."),
        sa.Column("region", sa.String(length=32), nullable=False, comment="Region code."),
        sa.Column(
            "modified_time",
            UTCDateTime(timezone=True),
            nullable=True,
            comment="Zoho Modified_Time of the deal when this version was written (UTC).",
        ),
        sa.Column(
            "recorded_at",
            UTCDateTime(timezone=True),
            nullable=False,
            comment="When the warehouse wrote the version (UTC).",
        ),
        sa.CheckConstraint(
            "produced_by IN ('sync', 'reconcile', 'deletion', 'restore')",
            name=op.f("ck_deal_versions_produced_by_values"),
        ),
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name=op.f("ck_deal_versions_valid_range")),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_deal_versions_deal_id_deals"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_versions")),
        comment="Every observed state of every deal (SCD type 2): the fields metrics depend on, valid over "
        "[valid_from, valid_to). Written with the deals upsert; see docs/metrics.md, 'Deal history'.",
    )
    op.create_index("ix_deal_versions_deal_id_valid_from", "deal_versions", ["deal_id", "valid_from"], unique=False)
    op.create_index("ix_deal_versions_valid_from", "deal_versions", ["valid_from"], unique=False)
    op.create_index(
        "uq_deal_versions_current",
        "deal_versions",
        ["deal_id"],
        unique=True,
        postgresql_where=sa.text("valid_to IS NULL"),
        sqlite_where=sa.text("valid_to IS NULL"),
    )


def _backfill() -> None:
    bind = op.get_bind()
    greatest = "GREATEST" if bind.dialect.name == "postgresql" else "MAX"
    starts = "COALESCE(modified_time, created_time, first_seen_at)"
    deleted_from = f"{greatest}({starts}, deleted_at)"
    now = sa.bindparam("now", utcnow(), type_=UTCDateTime())
    live = sa.text(
        f"INSERT INTO deal_versions ({_COLUMNS}) SELECT id, {starts}, "
        f"CASE WHEN deleted_at IS NOT NULL THEN {deleted_from} END, 'sync', FALSE, {_TRACKED}, modified_time, :now "
        "FROM deals"
    ).bindparams(now)
    tombstones = sa.text(
        f"INSERT INTO deal_versions ({_COLUMNS}) SELECT id, {deleted_from}, NULL, 'deletion', TRUE, {_TRACKED}, "
        "modified_time, :now FROM deals WHERE deleted_at IS NOT NULL"
    ).bindparams(now)
    bind.execute(live)
    bind.execute(tombstones)
    # The history start of an existing install: the newest change it had seen (the deals cursor).
    start = bind.execute(
        sa.text(
            "SELECT COALESCE((SELECT cursor_modified_time FROM sync_state WHERE stream = 'deals'), "
            "(SELECT MAX(modified_time) FROM deals))"
        ).columns(sa.column("start", UTCDateTime()))
    ).scalar()
    if start is not None:
        bind.execute(
            sa.text(
                "INSERT INTO sync_state (stream, cursor_modified_time, records_extracted, records_inserted, "
                "records_updated, records_deleted, records_rejected, api_calls, credits_used, updated_at) "
                "VALUES (:stream, :start, 0, 0, 0, 0, 0, 0, 0, :now)"
            ).bindparams(
                sa.bindparam("stream", HISTORY_STREAM),
                sa.bindparam("start", start, type_=UTCDateTime()),
                now,
            )
        )


def upgrade() -> None:
    _create_table()
    _backfill()


def downgrade() -> None:
    op.execute(f"DELETE FROM sync_state WHERE stream = '{HISTORY_STREAM}'")
    op.drop_index("uq_deal_versions_current", table_name="deal_versions")
    op.drop_index("ix_deal_versions_valid_from", table_name="deal_versions")
    op.drop_index("ix_deal_versions_deal_id_valid_from", table_name="deal_versions")
    op.drop_table("deal_versions")
