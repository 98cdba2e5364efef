"""Secondary indexes of the deal tables during a first backfill: built once after the load, not kept per row.

Into an empty warehouse a backfill COPYs every deal; keeping `deals`' nine secondary indexes (and
`deal_versions`' three) up to date row by row costs more server time than the rows themselves, and more as the
indexes outgrow shared buffers. Building an index over the loaded table is one sort (bench/RESULTS.md).

The order of a run (orchestration/deal_sync.py):
1. `prepare_load_indexes` when the first page has arrived, before it is loaded. `deals` empty: drop the secondary indexes (committed, so pages
   commit one by one as always). A resumed Bulk Read with indexes missing: leave them missing (the same
   backfill goes on). Anything else: build whatever is missing first.
2. `build_missing_indexes` after the last page, before ANALYZE.
A crash between 1 and 2 leaves the indexes missing until the next run, which either resumes the backfill (and
builds them at its end) or builds them before it loads anything. The indexes built are the model's own (the
definitions the migrations create; tests/pipeline_pulse/warehouse/test_load_indexes.py compares the catalogs).
Primary keys, foreign keys and checks stay: the load relies on the primary key, and they are cheap by comparison.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import Connection, Index, Table, inspect, select, text

from pipeline_pulse.models import Deal, DealVersion

DEFERRED_TABLES: tuple[Table, ...] = (Deal.__table__, DealVersion.__table__)  # type: ignore[assignment]
# Sort memory of the index builds, for this session only (Postgres' default, 64 MB, makes a 1M-row build spill to
# disk). Server memory, held only while an index is built.
BUILD_MAINTENANCE_WORK_MEM = "256MB"
log = logging.getLogger(__name__)


def _indexes() -> list[Index]:
    return [index for table in DEFERRED_TABLES for index in sorted(table.indexes, key=lambda i: str(i.name))]


def missing_indexes(connection: Connection) -> list[Index]:
    """The deal tables' secondary indexes of the model that the database does not have."""
    inspector = inspect(connection)
    present = {table.name: {str(ix["name"]) for ix in inspector.get_indexes(table.name)} for table in DEFERRED_TABLES}
    return [index for index in _indexes() if str(index.name) not in present[index.table.name]]  # type: ignore[union-attr]


def build_missing_indexes(connection: Connection) -> list[str]:
    """Create every missing secondary index of the deal tables, in the caller's transaction; their names."""
    missing = missing_indexes(connection)
    if not missing:
        return []
    started = time.monotonic()
    if connection.dialect.name == "postgresql":
        # Raw SQL on purpose: a session setting, a constant.
        connection.execute(text(f"SET LOCAL maintenance_work_mem = '{BUILD_MAINTENANCE_WORK_MEM}'"))
    for index in missing:
        index.create(connection)
    log.info("built %d deal-table indexes in %.1f s", len(missing), time.monotonic() - started)
    return [str(index.name) for index in missing]


def prepare_load_indexes(connection: Connection, *, resuming_backfill: bool) -> bool:
    """Before a run's first page, in the caller's transaction (commit it): True if the secondary indexes are
    off for this run's load (a first backfill, or its resumption), else False with every index present."""
    empty = connection.execute(select(Deal.id).limit(1)).first() is None
    if empty:
        absent = {str(index.name) for index in missing_indexes(connection)}
        present = [index for index in _indexes() if str(index.name) not in absent]
        for index in present:
            index.drop(connection)
        log.info("first backfill: %d deal-table indexes dropped, built after the load", len(present))
        return True
    if resuming_backfill and missing_indexes(connection):
        return True
    build_missing_indexes(connection)
    return False
