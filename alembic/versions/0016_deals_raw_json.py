"""deals.raw stored as Postgres `json` (the source's JSON text, validated) instead of `jsonb`: COPY no longer
converts every ~2 KB record into jsonb's binary form (the largest per-row cost of a backfill's load after the
indexes, bench/RESULTS.md), and `->`, `->>`, `json_each` keep working for analysts. SQLite stores JSON text
either way. Existing rows are kept (cast in place; the table is rewritten once). Numbered by its claim on the
team board; it follows 0018.

Revision ID: 0016
Revises: 0018
Create Date: 2026-12-02 05:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE deals ALTER COLUMN raw TYPE json USING raw::json")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE deals ALTER COLUMN raw TYPE jsonb USING raw::jsonb")
