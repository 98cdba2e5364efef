"""When a table derived from `deals` (the metrics mart, deal health) must be rebuilt: the deals changed since its
last build, or that build is older than a maximum age or from an earlier UTC day (both read the clock: stale
counts, days since touch). A sync with nothing to do then rebuilds nothing, at any warehouse size.

"The deals changed" is read from two index lookups, not a scan: the newest deal version (every change to a
field metrics use, a deletion or a restore opens one, pipeline_pulse/warehouse/deal_versions.py) and the newest
modified_time of a live deal (an edit of any other field moves it). The build records the marker it was built
from in sync_state (stream `derived:<name>`), in the build's own transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from pipeline_pulse.models import Deal, DealVersion
from pipeline_pulse.warehouse.sync_state import read_state, record_run_finished, set_cursor_details


@dataclass(frozen=True, slots=True)
class DerivedBuild:
    marker: str
    built_at: datetime


def derived_stream(name: str) -> str:
    return f"derived:{name}"


def deal_change_marker(connection: Connection) -> str:
    """Changes whenever a deal is inserted, changed, soft-deleted or restored."""
    version = connection.execute(select(func.max(DealVersion.id))).scalar()
    modified = connection.execute(select(func.max(Deal.modified_time)).where(Deal.deleted_at.is_(None))).scalar()
    return f"{version or 0}|{modified.isoformat() if modified else '-'}"


def last_build(connection: Connection, name: str) -> DerivedBuild | None:
    state = read_state(connection, derived_stream(name))
    if state is None or state.last_success_at is None or not state.cursor:
        return None
    return DerivedBuild(marker=str(state.cursor.get("deal_marker")), built_at=state.last_success_at)


def record_build(connection: Connection, name: str, marker: str, run_id: str | None) -> None:
    """In the build's transaction (no commit here)."""
    stream = derived_stream(name)
    set_cursor_details(connection, stream, {"deal_marker": marker})
    record_run_finished(connection, stream, run_id, counters={})


def rebuild_due(build: DerivedBuild | None, marker: str, now: datetime, max_age_minutes: int) -> bool:
    if build is None or max_age_minutes == 0 or build.marker != marker:
        return True
    return build.built_at.date() < now.date() or now - build.built_at >= timedelta(minutes=max_age_minutes)
