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
from api.params import FunnelParams, GroupParams, MovementParams, SummaryParams, TrendParams
from api.queries import funnel as funnel_queries
from api.queries import metrics as metric_queries
from api.queries import snapshots as snapshot_queries
from api.response_cache import respond
from api.routers.common import CONDITIONAL_RESPONSES
from api.schemas import (
    ErrorBody,
    Funnel,
    Movement,
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
    " Answered from the metrics mart unless closing_from / closing_to are not whole months, then from `deals`."
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
    description="Open and weighted pipeline at each period's end, from the latest daily snapshot inside the "
    "period (deal_snapshots).",
)
async def get_trend(
    request: Request, scope: ScopeDep, params: Annotated[TrendParams, query_params(TrendParams)]
) -> Response:
    async def build(connection: AsyncConnection) -> bytes:
        items = await snapshot_queries.trend(
            connection, scope, params.only_filters(), params.start, params.end, params.interval
        )
        return model_json(Trend(interval=params.interval, items=items))

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


@router.get(
    "/movement",
    response_model=Movement,
    responses={404: {"model": ErrorBody, "description": "No daily snapshot on `from` or on `to`."}},
    description=(
        "Pipeline movement between the daily snapshots of `from` and `to` (deal_snapshots), in home currency, "
        "such that start + new + increased - decreased - won - lost - removed = end exactly. Each deal in the "
        "filtered, in-scope snapshots counts once: open at both dates → increased (end - start > 0) or "
        "decreased (start - end > 0); open only at `to` → new (end amount); open at `from` and won / lost at "
        "`to` → won / lost (start amount); open at `from` and absent at `to` (deleted, or moved out of the "
        "filters or your regions) → removed (start amount). 404 when either day has no snapshot."
    ),
)
async def get_movement(
    request: Request, scope: ScopeDep, params: Annotated[MovementParams, query_params(MovementParams)]
) -> Response:
    async def build(connection: AsyncConnection) -> bytes:
        result: Movement = await snapshot_queries.movement(
            connection, scope, params.only_filters(), params.start, params.end
        )
        return model_json(result)

    return await respond(request, scope, params, build, conditional=True)
