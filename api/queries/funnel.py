"""Stage funnel of one pipeline from the stage history."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from api.filters import DealFilters
from api.queries.conditions import DEALS, where
from api.schemas import FunnelStep
from api.scope import RegionScope
from pipeline_pulse.models import Deal, DealStageHistory, PipelineStage

FUNNEL_STATUSES = ("open", "won")


async def funnel(
    connection: AsyncConnection,
    scope: RegionScope,
    filters: DealFilters,
    pipeline: str,
    entered_from: date | None,
    entered_to: date | None,
) -> list[FunnelStep]:
    """Per open/won stage of `pipeline` in sequence: deals that reached it, and conversion to the next stage.

    A deal "reached" a stage when its stage history (entries entered within [from, to], UTC days, if given)
    contains that stage or any later open/won stage of the pipeline, so skipped stages still count and the
    funnel never widens. Lost stages end a deal's path and are not funnel steps. Only live, in-scope deals of
    the pipeline count.
    """
    stages = (
        await connection.execute(
            select(PipelineStage.stage, PipelineStage.sequence)
            .where(PipelineStage.pipeline == pipeline, PipelineStage.deal_status.in_(FUNNEL_STATUSES))
            .order_by(PipelineStage.sequence)
        )
    ).all()
    # The funnel spans every stage of its pipeline: the stage filter does not apply.
    deal_conditions = where(
        DEALS, scope, filters.only_filters().model_copy(update={"pipeline": pipeline, "stage": None})
    )
    history_conditions = []
    if entered_from is not None:
        history_conditions.append(DealStageHistory.entered_at >= datetime.combine(entered_from, time.min, tzinfo=UTC))
    if entered_to is not None:
        end = datetime.combine(entered_to + timedelta(days=1), time.min, tzinfo=UTC)
        history_conditions.append(DealStageHistory.entered_at < end)
    furthest = (
        select(DealStageHistory.deal_id, func.max(PipelineStage.sequence).label("furthest"))
        .join(Deal, Deal.id == DealStageHistory.deal_id)
        .join(
            PipelineStage,
            and_(
                PipelineStage.pipeline == pipeline,
                PipelineStage.stage == DealStageHistory.stage,
                PipelineStage.deal_status.in_(FUNNEL_STATUSES),
            ),
        )
        .where(deal_conditions, *history_conditions)
        .group_by(DealStageHistory.deal_id)
        .subquery()
    )
    counts = dict(
        (await connection.execute(select(furthest.c.furthest, func.count()).group_by(furthest.c.furthest))).all()
    )
    # reached(stage) = deals whose furthest stage is at or beyond it: a suffix sum over the few stages.
    reached: list[int] = []
    running = 0
    for _stage, sequence in reversed(stages):
        running += sum(count for furthest_seq, count in counts.items() if furthest_seq == sequence)
        reached.append(running)
    reached.reverse()
    steps = []
    for index, (stage, sequence) in enumerate(stages):
        following = reached[index + 1] if index + 1 < len(stages) else None
        conversion = round(following / reached[index], 6) if following is not None and reached[index] else None
        steps.append(FunnelStep(stage=stage, sequence=sequence, reached=reached[index], conversion_to_next=conversion))
    return steps
