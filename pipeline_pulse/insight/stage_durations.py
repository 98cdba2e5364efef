"""`stage_durations`: median and 90th percentile of the days deals spent in each stage of each pipeline.

From the completed stays in `deal_stage_history` (left_at set) of live deals, grouped by the deal's current
pipeline and the stay's stage. Rebuilt wholesale by the `deal_health` asset (the stage_sla rule's default
threshold is the median; docs/metrics.md 12.3)."""

from __future__ import annotations

from sqlalchemy import Connection, Subquery, delete, insert, literal, select

from pipeline_pulse.insight.percentiles import percentiles
from pipeline_pulse.models import Deal, DealStageHistory, StageDuration, UTCDateTime, utcnow
from pipeline_pulse.warehouse.data_version import bump_data_version


def completed_stays() -> Subquery:
    h = DealStageHistory
    return (
        select(Deal.pipeline.label("pipeline"), h.stage.label("stage"), h.duration_days.label("days"))
        .join(Deal, Deal.id == h.deal_id)
        .where(
            Deal.deleted_at.is_(None), Deal.pipeline.is_not(None), h.left_at.is_not(None), h.duration_days.is_not(None)
        )
        .subquery("stays")
    )


def refresh_stage_durations(connection: Connection) -> int:
    """Rebuild the table in the caller's transaction; returns its row count. Bumps the data version."""
    stats = percentiles(completed_stays(), ["pipeline", "stage"], "days", (50, 90)).subquery("stats")
    connection.execute(delete(StageDuration))
    rows = connection.execute(
        insert(StageDuration).from_select(
            ["pipeline", "stage", "completed_stays", "median_days", "p90_days", "refreshed_at"],
            select(
                stats.c.pipeline, stats.c.stage, stats.c.n, stats.c.p50, stats.c.p90, literal(utcnow(), UTCDateTime())
            ),
        )
    ).rowcount
    bump_data_version(connection)
    return int(rows or 0)
