"""The warehouse data version: one counter row (`warehouse_data_version`) that every writer of a table the read
API serves bumps inside its own transaction, so it changes exactly when such a write commits.

The API polls `DATA_VERSION_QUERY` about once a second and drops its in-process response cache when the value
changes (api/response_cache.py). A counter, unlike max(updated_at) over the written tables, cannot miss a
commit: two transactions that stamp times in one order and commit in the other would leave the max unchanged
for the second commit, while `version = version + 1` serialises them on the row.

Writers call `bump_data_version(connection)` as the *last* write of their transaction (the row stays locked
until commit, so a bump early in a long transaction would make concurrent writers wait). Bumped today by:
`metrics_mart.refresh_pipeline_metrics` (after every sync), `snapshots.capture_snapshot`,
`deals.load_deals` / `soft_delete_deals` / `soft_delete_missing`, `stage_history.load_imported_stage_history`,
`dimensions.load_users` / `load_stages` (when they change rows). A hand edit of these tables (or of `regions`)
is seen by a running API at the next bump; after such an edit run `bump_data_version` (or
`UPDATE warehouse_data_version SET version = version + 1`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, select
from sqlalchemy.dialects import postgresql, sqlite

from pipeline_pulse.models import WarehouseDataVersion, utcnow

VERSION_ROW_ID = 1
# What readers execute (sync or async connection alike); no row yet reads as version 0.
DATA_VERSION_QUERY: Select[Any] = select(WarehouseDataVersion.version).where(WarehouseDataVersion.id == VERSION_ROW_ID)


def bump_data_version(connection: Connection) -> None:
    """Increment the version in the caller's transaction (creating the row on first use); no commit here."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    table = WarehouseDataVersion.__table__
    now = utcnow()
    stmt = dialect.insert(table).values(id=VERSION_ROW_ID, version=1, changed_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.id], set_={"version": table.c.version + 1, "changed_at": now}
    )
    connection.execute(stmt)


def read_data_version(connection: Connection) -> int:
    """The current version (0 before the first bump)."""
    return int(connection.execute(DATA_VERSION_QUERY).scalar() or 0)
