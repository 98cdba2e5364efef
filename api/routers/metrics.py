"""/api/v1/metrics/*: aggregates in home currency, scoped to the caller's regions, with ETags.

Every answer goes through the response cache (api/response_cache.py), keyed by the route, the effective
region scope and the endpoint's parameter model (api/params.py); the query runs only on a miss."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from api.caching import model_json
from api.csv_export import CSV_RESPONSE, csv_of_models, csv_response, wants_csv
from api.deps import ScopeDep, query_params
from api.params import (
    FunnelParams,
    GroupParams,
    MovementDealsParams,
    MovementParams,
    SummaryParams,
    TrendParams,
    today_utc,
)
from api.queries import funnel as funnel_queries
from api.queries import metrics as metric_queries
from api.queries import movement as movement_queries
from api.queries import trend as trend_queries
from api.response_cache import respond
from api.routers.common import CONDITIONAL_RESPONSES
from api.schemas import (
    Funnel,
    Movement,
    MovementDeals,
    OwnerGroup,
    OwnerGroups,
    RegionGroup,
    RegionGroups,
    StageGroup,
    StageGroups,
    Summary,
    Trend,
)
from api.scope import RegionScope

router = APIRouter(prefix="/metrics", tags=["metrics"], responses=CONDITIONAL_RESPONSES)

SOURCE_NOTE = (
    " Answered from the metrics mart; the days of a month that closing_from / closing_to cut from the day-grain"
    " mart, or from `deals` when an owner is asked for (`source`)."
)
Groups = Annotated[GroupParams, query_params(GroupParams)]


@router.get(
    "/summary", response_model=Summary, summary="Pipeline summary", description="Headline figures." + SOURCE_NOTE
)
async def get_summary(
    request: Request, scope: ScopeDep, params: Annotated[SummaryParams, query_params(SummaryParams)]
) -> Response:
    async def build(connection: AsyncConnection) -> bytes:
        filters = params.only_filters()
        return model_json(
            await metric_queries.summary(connection, scope, filters, params.as_of, params.stale_after_days)
        )

    return await respond(request, scope, params, build, conditional=True)


async def _groups(
    request: Request,
    scope: RegionScope,
    params: GroupParams,
    query: Callable[..., Awaitable[tuple[str, list[Any]]]],
    answer: type[StageGroups | RegionGroups | OwnerGroups],
    item: type[BaseModel],
    filename: str,
) -> Response:
    """A breakdown as JSON (cached, with ETag) or CSV (its items, `format=csv` / `Accept: text/csv`)."""
    if wants_csv(request, params.format):
        async with request.app.state.engine.connect() as connection:
            _source, items = await query(connection, scope, params.only_filters(), params.deal_status)
        return csv_response(csv_of_models(item, items), filename)

    async def build(connection: AsyncConnection) -> bytes:
        source, items = await query(connection, scope, params.only_filters(), params.deal_status)
        return model_json(answer(source=source, deal_status=params.deal_status, items=items))

    return await respond(request, scope, params, build, conditional=True)


@router.get(
    "/by-stage",
    response_model=StageGroups,
    responses=CSV_RESPONSE,
    description="Per pipeline and stage, in stage sequence." + SOURCE_NOTE,
)
async def get_by_stage(request: Request, scope: ScopeDep, params: Groups) -> Response:
    return await _groups(request, scope, params, metric_queries.by_stage, StageGroups, StageGroup, "by-stage.csv")


@router.get("/by-region", response_model=RegionGroups, responses=CSV_RESPONSE, description="Per region." + SOURCE_NOTE)
async def get_by_region(request: Request, scope: ScopeDep, params: Groups) -> Response:
    return await _groups(request, scope, params, metric_queries.by_region, RegionGroups, RegionGroup, "by-region.csv")


@router.get(
    "/by-owner",
    response_model=OwnerGroups,
    responses=CSV_RESPONSE,
    description="Per owner, largest amount first." + SOURCE_NOTE,
)
async def get_by_owner(request: Request, scope: ScopeDep, params: Groups) -> Response:
    return await _groups(request, scope, params, metric_queries.by_owner, OwnerGroups, OwnerGroup, "by-owner.csv")


@router.get(
    "/trend",
    response_model=Trend,
    description="Open and weighted pipeline at the end of each day / ISO week / month of [from, to] (the current "
    "state for the period that reaches today), from deal_versions; periods before the history start are "
    "`unknown`, periods after today `future` (figures null). Definition: docs/metrics.md 7.2.",
)
async def get_trend(
    request: Request, scope: ScopeDep, params: Annotated[TrendParams, query_params(TrendParams)]
) -> Response:
    today = today_utc()

    async def build(connection: AsyncConnection) -> bytes:
        result = await trend_queries.trend(
            connection, scope, params.only_filters(), params.start, params.end, params.interval, today
        )
        return model_json(result)

    return await respond(request, scope, params, build, conditional=True)


@router.get(
    "/funnel",
    response_model=Funnel,
    description="Per open/won stage of the pipeline in sequence: deals whose stage history (entries entered "
    "within [from, to] if given) reached this stage or a later one, and conversion to the next stage "
    "(deal_stage_history joined to deals).",
)
async def get_funnel(
    request: Request, scope: ScopeDep, params: Annotated[FunnelParams, query_params(FunnelParams)]
) -> Response:
    async def build(connection: AsyncConnection) -> bytes:
        steps = await funnel_queries.funnel(
            connection, scope, params.only_filters(), params.pipeline, params.start, params.end
        )
        return model_json(Funnel(pipeline=params.pipeline, steps=steps))

    return await respond(request, scope, params, build, conditional=True)


MOVEMENT_NOTE = (
    " A = the end of `from`, B = the end of `to` (the current state when `to` is today or later); `from` must not "
    "be before the history start nor after today (422). closing_from / closing_to give the closing period "
    "(pulled_in / pushed_out). Definition: docs/metrics.md 7.3."
)


@router.get(
    "/movement",
    response_model=Movement,
    description="Pipeline movement from A to B in home currency, from deal_versions: start + new + pulled_in + "
    "increased - decreased - pushed_out - won - lost - removed = end exactly; every deal open in scope at A or B "
    "is in exactly one outcome (deal_counts)." + MOVEMENT_NOTE,
)
async def get_movement(
    request: Request, scope: ScopeDep, params: Annotated[MovementParams, query_params(MovementParams)]
) -> Response:
    today = today_utc()

    async def build(connection: AsyncConnection) -> bytes:
        result = await movement_queries.movement(
            connection, scope, params.only_filters(), params.start, params.end, today
        )
        return model_json(result)

    return await respond(request, scope, params, build, conditional=True)


@router.get(
    "/movement/deals",
    response_model=MovementDeals,
    description="The deals of one movement component with their amounts at A and at the outcome, by deal id, "
    "page by page (`next_cursor`)." + MOVEMENT_NOTE,
)
async def get_movement_deals(
    request: Request, scope: ScopeDep, params: Annotated[MovementDealsParams, query_params(MovementDealsParams)]
) -> Response:
    today = today_utc()

    async def build(connection: AsyncConnection) -> bytes:
        page = await movement_queries.movement_deals(
            connection,
            scope,
            params.only_filters(),
            params.start,
            params.end,
            today,
            params.component,
            params.cursor,
            params.page_size,
        )
        return model_json(page)

    return await respond(request, scope, params, build, conditional=True)
