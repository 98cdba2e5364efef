"""When a table derived from `deals` (the metrics mart, deal health) must be rebuilt: the deals changed since its
last build, or that build is older than a maximum age or from an earlier UTC day (both read the clock: stale
counts, days since touch). A sync with nothing to do then rebuilds nothing, at any warehouse size.

"The deals changed" is read from two index lookups, not a scan: the newest deal version (every change to a
field metrics use, a deletion or a restore opens one, pipeline_pulse/warehouse/deal_versions.py) and the newest
modified_time of a live deal (an edit of any other field moves it). The build records the marker it was built
from in sync_state (stream `derived:<name>`), in the build's own transaction.

The metrics mart is then updated by the deals behind the move of the marker (`changed_deal_ids`: the deals of
the versions opened since, and the live deals modified since), not rebuilt (`mart_refresh`): its only input
from the clock is the UTC day of its stale counts, so it is rebuilt in full on a new day, when its incremental
state is missing, when PIPELINE_DERIVED_MAX_AGE_MINUTES is 0, or when asked (the full reconcile)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy import Connection, func, select

from pipeline_pulse.models import Deal, DealVersion
from pipeline_pulse.warehouse.sync_state import read_state, record_run_finished, set_cursor_details


@dataclass(frozen=True, slots=True)
class DerivedBuild:
    marker: str
    built_at: datetime
    # The metrics mart: the day its stale counts are as of, when its incremental state is current (else None).
    as_of: date | None = None


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
    as_of = state.cursor.get("as_of")
    return DerivedBuild(
        marker=str(state.cursor.get("deal_marker")),
        built_at=state.last_success_at,
        as_of=date.fromisoformat(as_of) if isinstance(as_of, str) else None,
    )


def record_build(connection: Connection, name: str, marker: str, run_id: str | None, as_of: date | None = None) -> None:
    """In the build's transaction (no commit here)."""
    stream = derived_stream(name)
    details: dict[str, object] = {"deal_marker": marker}
    if as_of is not None:
        details["as_of"] = as_of.isoformat()
    set_cursor_details(connection, stream, details)
    record_run_finished(connection, stream, run_id, counters={})


def rebuild_due(build: DerivedBuild | None, marker: str, now: datetime, max_age_minutes: int) -> bool:
    if build is None or max_age_minutes == 0 or build.marker != marker:
        return True
    return build.built_at.date() < now.date() or now - build.built_at >= timedelta(minutes=max_age_minutes)


MartRefresh = Literal["current", "incremental", "full"]


def mart_refresh(build: DerivedBuild | None, marker: str, now: datetime, max_age_minutes: int) -> MartRefresh:
    """What the metrics mart needs: nothing, the changed deals applied, or a full rebuild (see the module doc)."""
    if build is None or build.as_of != now.date() or max_age_minutes == 0:
        return "full"
    return "current" if build.marker == marker else "incremental"


def changed_deal_ids(connection: Connection, since_marker: str) -> list[int]:
    """The deals that may contribute differently to the mart than at `since_marker`: every deal with a version
    opened since (new, tracked-field change, deletion, restore) and every live deal modified at or after the
    newest modified time then (an edit of another field moves the freshness months and stale flags). Two index
    range reads; as complete as the marker itself, which is what decides that anything changed."""
    version, _, modified = since_marker.partition("|")
    ids = set(connection.execute(select(DealVersion.deal_id).where(DealVersion.id > int(version))).scalars())
    live = select(Deal.id).where(Deal.deleted_at.is_(None))
    if modified != "-":
        live = live.where(Deal.modified_time >= datetime.fromisoformat(modified))
    ids.update(connection.execute(live).scalars())
    return sorted(ids)
