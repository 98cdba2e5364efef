"""/metrics/stages: per stage of a pipeline, what happened to the stays that began in a window (docs/metrics.md
12.4). Four grouped statements, each bounded by the window's history rows (index on deal_id, entered_at): the
stays and their outcome (next entry of the same deal), the durations' percentiles, the closing-date pushes
(deal_versions) and the deals stuck beyond their stage's SLA (the health views' stage_sla rule)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from api.insight_schemas import StageAnalytics, StageFigures
from api.params import StageAnalyticsParams
from api.queries.conditions import DEALS, where
from api.queries.health import HEALTH
from api.scope import RegionScope
from pipeline_pulse.insight.health import V_DEAL_HEALTH, V_DEAL_HEALTH_REASONS
from pipeline_pulse.insight.percentiles import percentiles
from pipeline_pulse.models import Deal, DealStageHistory, DealVersion, PipelineStage

OUTCOMES = ("moved_forward", "moved_back", "won", "lost", "other", "still_in_stage")
SOURCE = "deal_stage_history+deal_versions+v_deal_health"


def _instant(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _window(column: Any, start: date | None, end: date | None) -> ColumnElement[bool]:
    """[start 00:00, end + 1 day 00:00) in UTC; open-ended where a bound is missing."""
    conditions = []
    if start is not None:
        conditions.append(column >= _instant(start))
    if end is not None:
        conditions.append(column < _instant(end + timedelta(days=1)))
    return and_(true(), *conditions)


def _stays(scope: RegionScope, params: StageAnalyticsParams) -> Any:
    """Stays that began in the window, of the pipeline's live in-scope deals, with the stage entered next."""
    h = DealStageHistory.__table__.alias("h")
    later = DealStageHistory.__table__.alias("later")
    next_stage = (
        select(later.c.stage)
        .where(later.c.deal_id == h.c.deal_id, tuple_(later.c.entered_at, later.c.id) > tuple_(h.c.entered_at, h.c.id))
        .order_by(later.c.entered_at, later.c.id)
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(h.c.stage, h.c.left_at, h.c.duration_days, next_stage.label("next_stage"))
        .join(Deal, Deal.id == h.c.deal_id)
        .where(where(DEALS, scope, params.only_filters()), _window(h.c.entered_at, params.start, params.end))
        .subquery("stays")
    )


async def stage_analytics(
    connection: AsyncConnection, scope: RegionScope, params: StageAnalyticsParams
) -> StageAnalytics:
    pipeline = params.pipeline
    stages = (
        await connection.execute(
            select(PipelineStage.stage, PipelineStage.sequence, PipelineStage.deal_status)
            .where(PipelineStage.pipeline == pipeline)
            .order_by(PipelineStage.sequence, PipelineStage.stage)
        )
    ).all()
    known = {stage: (sequence, status) for stage, sequence, status in stages}

    stays = _stays(scope, params)
    this = PipelineStage.__table__.alias("this")
    nxt = PipelineStage.__table__.alias("nxt")
    outcome = case(
        (stays.c.next_stage.is_(None), "still_in_stage"),
        (nxt.c.stage.is_(None), "other"),
        (nxt.c.deal_status == "won", "won"),
        (nxt.c.deal_status == "lost", "lost"),
        (this.c.sequence.is_(None), "other"),
        (nxt.c.sequence > this.c.sequence, "moved_forward"),
        (nxt.c.sequence < this.c.sequence, "moved_back"),
        else_="other",
    ).label("outcome")
    counted = (
        select(stays.c.stage, outcome, func.count())
        .select_from(stays)
        .outerjoin(this, and_(this.c.pipeline == pipeline, this.c.stage == stays.c.stage))
        .outerjoin(nxt, and_(nxt.c.pipeline == pipeline, nxt.c.stage == stays.c.next_stage))
        .group_by(stays.c.stage, outcome)
    )
    figures: dict[str, dict[str, Any]] = {}

    def slot(stage: str) -> dict[str, Any]:
        return figures.setdefault(
            stage, {**dict.fromkeys(OUTCOMES, 0), "median": None, "p90": None, "stuck": 0, "slips": 0}
        )

    for stage, kind, count in (await connection.execute(counted)).all():
        slot(stage)[kind] += int(count)

    ended = (
        select(stays.c.stage, stays.c.duration_days.label("days"))
        .where(stays.c.left_at.is_not(None), stays.c.duration_days.is_not(None))
        .subquery("ended")
    )
    for stage, _n, median, p90 in (await connection.execute(percentiles(ended, ["stage"], "days", (50, 90)))).all():
        slot(stage).update(median=round(float(median), 4), p90=round(float(p90), 4))

    for stage, count in (await connection.execute(_slips(scope, params))).all():
        slot(stage)["slips"] = int(count)

    h, r = V_DEAL_HEALTH, V_DEAL_HEALTH_REASONS
    stuck = (
        select(h.c.stage, func.count())
        .join(r, and_(r.c.deal_id == h.c.deal_id, r.c.rule == "stage_sla"))
        .where(where(HEALTH, scope, params.only_filters()))
        .group_by(h.c.stage)
    )
    for stage, count in (await connection.execute(stuck)).all():
        slot(stage)["stuck"] = int(count)

    order = [stage for stage, _, _ in stages] + sorted(set(figures) - set(known))
    return StageAnalytics(
        pipeline=pipeline,
        from_date=params.start,
        to_date=params.end,
        source=SOURCE,
        stages=[_stage(name, known.get(name), slot(name)) for name in order],
    )


def _slips(scope: RegionScope, params: StageAnalyticsParams) -> Any:
    """Per stage: versions written in the window, while the deal was in that stage, that pushed its closing
    date later than the previous version's (versions chain in id order)."""
    v = DealVersion.__table__.alias("v")
    before = DealVersion.__table__.alias("before")
    previous = (
        select(before.c.closing_date)
        .where(before.c.deal_id == v.c.deal_id, before.c.id < v.c.id)
        .order_by(before.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(v.c.stage, func.count())
        .join(Deal, Deal.id == v.c.deal_id)
        .where(
            where(DEALS, scope, params.only_filters()),
            _window(v.c.valid_from, params.start, params.end),
            v.c.closing_date > previous,
        )
        .group_by(v.c.stage)
    )


def _stage(name: str, known: tuple[int, str] | None, values: dict[str, Any]) -> StageFigures:
    entered = sum(values[kind] for kind in OUTCOMES)
    exited = entered - values["still_in_stage"]
    closed_stage = known is not None and known[1] != "open"
    advanced = values["moved_forward"] + values["won"]
    return StageFigures(
        stage=name,
        sequence=known[0] if known else None,
        deal_status=known[1] if known else None,  # type: ignore[arg-type]
        entered=entered,
        **{kind: values[kind] for kind in OUTCOMES},
        conversion_to_next=None if closed_stage or not exited else round(advanced / exited, 6),
        median_days=values["median"],
        p90_days=values["p90"],
        stuck_beyond_sla=values["stuck"],
        closing_date_slips=values["slips"],
    )
