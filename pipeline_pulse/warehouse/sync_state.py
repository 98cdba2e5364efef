"""Per-stream cursors in `sync_state`. A cursor only moves forward, and callers advance it inside the same
transaction as the rows it covers, so a crash leaves either both or neither committed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from pipeline_pulse.models import SyncState, utcnow

# The row whose cursor_modified_time is the history start: the instant from which the warehouse has seen every
# change (deal_versions.mark_history_start). Not a stream of runs.
HISTORY_STREAM = "deal_history"
DELETIONS_STREAM = "deals_deleted"
# An unfinished Bulk Read's resume point (orchestration/deal_sync.BulkProgress), not a stream of runs either.
BULK_PROGRESS_STREAM = "deals_bulk_progress"
# sync_state rows that are bookkeeping, not streams of runs: GET /sync/status leaves them out.
NOT_RUN_STREAMS = (HISTORY_STREAM, BULK_PROGRESS_STREAM)
RUN_COUNTER_COLUMNS = (
    "records_extracted",
    "records_inserted",
    "records_updated",
    "records_deleted",
    "records_rejected",
    "api_calls",
    "credits_used",
)


@dataclass(frozen=True)
class StreamCursor:
    modified_time: datetime | None = None
    id: int | None = None
    details: Mapping[str, Any] | None = None

    @property
    def is_empty(self) -> bool:
        return self.modified_time is None

    def as_text(self) -> str:
        return "none" if self.modified_time is None else f"{self.modified_time.isoformat()} / {self.id}"

    def is_after(self, other: StreamCursor) -> bool:
        if self.modified_time is None:
            return False
        if other.modified_time is None:
            return True
        return (self.modified_time, self.id or 0) > (other.modified_time, other.id or 0)


def ensure_stream(connection: Connection, stream: str) -> None:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(SyncState).values(stream=stream, updated_at=utcnow()).on_conflict_do_nothing()
    connection.execute(stmt)


def read_state(connection: Connection, stream: str) -> SyncState | None:
    row = connection.execute(select(SyncState.__table__).where(SyncState.stream == stream)).mappings().first()
    return SyncState(**row) if row is not None else None


def read_cursor(connection: Connection, stream: str) -> StreamCursor:
    row = connection.execute(
        select(SyncState.cursor_modified_time, SyncState.cursor_id, SyncState.cursor).where(SyncState.stream == stream)
    ).first()
    if row is None:
        return StreamCursor()
    return StreamCursor(modified_time=row[0], id=row[1], details=row[2])


def advance_cursor(
    connection: Connection, stream: str, cursor: StreamCursor, *, run_id: str | None = None
) -> StreamCursor:
    """Move the stream's cursor to `cursor` if that is later than the committed one; return the result."""
    ensure_stream(connection, stream)
    current = read_cursor(connection, stream)
    if not cursor.is_after(current):
        return current
    connection.execute(
        update(SyncState)
        .where(SyncState.stream == stream)
        .values(
            cursor_modified_time=cursor.modified_time,
            cursor_id=cursor.id,
            cursor=dict(cursor.details) if cursor.details is not None else current.details,
            last_run_id=run_id,
            updated_at=utcnow(),
        )
    )
    return cursor


def set_cursor_details(connection: Connection, stream: str, details: Mapping[str, Any]) -> None:
    ensure_stream(connection, stream)
    connection.execute(
        update(SyncState).where(SyncState.stream == stream).values(cursor=dict(details), updated_at=utcnow())
    )


def record_run_started(connection: Connection, stream: str, run_id: str | None) -> None:
    ensure_stream(connection, stream)
    connection.execute(
        update(SyncState)
        .where(SyncState.stream == stream)
        .values(last_run_id=run_id, last_run_started_at=utcnow(), last_status="running", updated_at=utcnow())
    )


def record_run_finished(
    connection: Connection,
    stream: str,
    run_id: str | None,
    *,
    counters: Mapping[str, int],
    error: str | None = None,
) -> None:
    """Store the run's outcome and counters (keys of RUN_COUNTER_COLUMNS; missing ones become 0)."""
    ensure_stream(connection, stream)
    now = utcnow()
    values: dict[str, Any] = {name: int(counters.get(name, 0)) for name in RUN_COUNTER_COLUMNS}
    values.update(
        last_run_id=run_id,
        last_run_finished_at=now,
        last_status="failed" if error else "success",
        last_error=error[:4000] if error else None,
        updated_at=now,
    )
    if not error:
        values["last_success_at"] = now
    connection.execute(update(SyncState).where(SyncState.stream == stream).values(**values))
