"""stage timeline: zoho_stage_history (imported Stage_History, raw), zoho_stage_history_imports (the import's
progress), deal_stage_history.source (zoho / versions)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 02:20:00

`deal_stage_history` becomes one timeline per deal rebuilt from Zoho's Stage_History up to the deal's first
observation and the stage changes of `deal_versions` after it (pipeline_pulse/warehouse/stage_timeline.py;
docs/metrics.md, section 8). The rows it holds today are Zoho's Stage_History: they are copied into
`zoho_stage_history` and their deals marked imported (no credits spent to read them again); they stay in the
timeline as source `zoho` until the deal's next version rebuilds it. The views of 0004 and 0011 read
`deal_stage_history`, so they are dropped around the table change (SQLite's batch recreate) and recreated.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from pipeline_pulse.models.base import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMELINE_COMMENT = (
    "One stage timeline per deal, one row per stage entered: Zoho's Stage_History up to the deal's first "
    "observation, then the stage changes recorded in deal_versions (docs/metrics.md, section 8). Rebuilt per deal "
    "by pipeline_pulse/warehouse/stage_timeline.py; never written by hand."
)
OLD_TIMELINE_COMMENT = "Every stage a deal has been in (Zoho Stage_History), one row per stage change."
# column: (new comment, old comment)
CHANGED_COMMENTS = {
    "id": (
        "Zoho stage-history record id (source zoho) or the deal_versions id (source versions; far below "
        "Zoho's 19-digit ids, and a clash would fail loudly on this key).",
        "Zoho stage-history record id.",
    ),
    "expected_revenue": (
        "Expected revenue at the time (Zoho's; amount x probability / 100 for source versions).",
        "Expected revenue at the time.",
    ),
    "changed_by_id": (
        "Zoho user who changed the stage (source zoho; NULL for versions).",
        "Zoho user who changed the stage.",
    ),
    "last_synced_at": ("Last rebuilt (UTC).", "Last loaded (UTC)."),
}
COPIED = (
    "id, deal_id, stage, entered_at, amount, probability, expected_revenue, closing_date, changed_by_id, "
    "changed_by_name, last_synced_at"
)


def _views() -> list:  # type: ignore[type-arg]
    script = op.get_context().script
    return [script.get_revision("0004").module, script.get_revision("0011").module]


def _create_import_tables() -> None:
    op.create_table(
        "zoho_stage_history",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False, comment="Zoho stage-history record id."),
        sa.Column("deal_id", sa.BigInteger(), nullable=False, comment="The deal (deals.id)."),
        sa.Column("stage", sa.String(length=120), nullable=False, comment="Stage entered."),
        sa.Column(
            "entered_at", UTCDateTime(timezone=True), nullable=False, comment="Zoho Modified_Time of the entry (UTC)."
        ),
        sa.Column(
            "amount",
            sa.Numeric(precision=20, scale=2),
            nullable=True,
            comment="Deal amount at the time, deal currency.",
        ),
        sa.Column("probability", sa.Integer(), nullable=True, comment="Probability at the time, percent."),
        sa.Column(
            "expected_revenue",
            sa.Numeric(precision=20, scale=2),
            nullable=True,
            comment="Expected revenue at the time.",
        ),
        sa.Column("closing_date", sa.Date(), nullable=True, comment="Closing date at the time."),
        sa.Column("changed_by_id", sa.BigInteger(), nullable=True, comment="Zoho user who made the change."),
        sa.Column("changed_by_name", sa.String(length=255), nullable=True, comment="Name of that user."),
        sa.Column("last_synced_at", UTCDateTime(timezone=True), nullable=False, comment="Last imported (UTC)."),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_zoho_stage_history_deal_id_deals"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zoho_stage_history")),
        comment="Zoho's Stage_History rows as imported by the stage_history_import asset (raw, every row Zoho "
        "returned); deal_stage_history takes the ones up to the deal's first observation.",
    )
    op.create_index("ix_zoho_stage_history_deal_id_entered_at", "zoho_stage_history", ["deal_id", "entered_at"])
    op.create_table(
        "zoho_stage_history_imports",
        sa.Column("deal_id", sa.BigInteger(), autoincrement=False, nullable=False, comment="deals.id."),
        sa.Column("imported_at", UTCDateTime(timezone=True), nullable=False, comment="When it was read (UTC)."),
        sa.Column("entries", sa.Integer(), nullable=False, comment="Stage_History rows Zoho returned."),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_zoho_stage_history_imports_deal_id_deals"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("deal_id", name=op.f("pk_zoho_stage_history_imports")),
        comment="Deals whose Zoho Stage_History has been imported (the import's progress: the backlog is the deals "
        "created before the history start without a row here).",
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    _create_import_tables()
    op.execute(f"INSERT INTO zoho_stage_history ({COPIED}) SELECT {COPIED} FROM deal_stage_history")  # noqa: S608
    op.execute(
        "INSERT INTO zoho_stage_history_imports (deal_id, imported_at, entries) "
        "SELECT deal_id, MAX(last_synced_at), COUNT(*) FROM deal_stage_history GROUP BY deal_id"
    )
    # The per-deal Stage_History stream of the replaced design: no runs of it will come.
    op.execute("DELETE FROM sync_state WHERE stream = 'deal_stage_history'")
    views = _views()
    for module in reversed(views):
        module.drop_views()
    with op.batch_alter_table("deal_stage_history", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "source",
                sa.String(length=8),
                server_default="zoho",
                nullable=False,
                comment="Where the entry comes from: zoho (Stage_History, before the first observation) or versions "
                "(a stage change recorded in deal_versions).",
            )
        )
        batch_op.create_check_constraint(op.f("ck_deal_stage_history_source_values"), "source IN ('zoho', 'versions')")
        for column, (new, old) in CHANGED_COMMENTS.items():
            batch_op.alter_column(column, comment=new, existing_comment=old)
        batch_op.create_table_comment(TIMELINE_COMMENT, existing_comment=OLD_TIMELINE_COMMENT)
    for module in views:
        module.create_views(dialect)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    views = _views()
    for module in reversed(views):
        module.drop_views()
    # The timeline goes back to Zoho's rows only.
    op.execute("DELETE FROM deal_stage_history WHERE source = 'versions'")
    with op.batch_alter_table("deal_stage_history", schema=None) as batch_op:
        batch_op.create_table_comment(OLD_TIMELINE_COMMENT, existing_comment=TIMELINE_COMMENT)
        for column, (new, old) in CHANGED_COMMENTS.items():
            batch_op.alter_column(column, comment=old, existing_comment=new)
        batch_op.drop_constraint(op.f("ck_deal_stage_history_source_values"), type_="check")
        batch_op.drop_column("source")
    for module in views:
        module.create_views(dialect)
    op.drop_table("zoho_stage_history_imports")
    op.drop_index("ix_zoho_stage_history_deal_id_entered_at", table_name="zoho_stage_history")
    op.drop_table("zoho_stage_history")
