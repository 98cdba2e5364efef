"""/api/v1/metrics/*: aggregates in home currency, scoped to the caller's regions, with ETags.

Every answer goes through the response cache (api/response_cache.py), keyed by the endpoint, the effective
region scope and the validated parameters; the query runs only on a miss."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from api.caching import model_json
from api.deps import FiltersDep, ScopeDep
from api.filters import DealStatusFilter
from api.queries import funnel as funnel_queries
from api.queries import metrics as metric_queries
from api.queries import snapshots as snapshot_queries
from api.response_cache import respond, scope_key, today_utc
from api.routers.common import AUTH_ERRORS
from api.schemas import Funnel, Movement, OwnerGroups, RegionGroups, StageGroups, Summary, Trend

router = APIRouter(prefix="/metrics", tags=["metrics"], responses=AUTH_ERRORS)

StatusQuery = Annotated[DealStatusFilter, Query(description="Which deals to group: open (default), won, lost or all.")]
FromQuery = Annotated[date, Query(alias="from", description="First day (YYYY-MM-DD).")]
ToQuery = Annotated[date, Query(alias="to", description="Last day (YYYY-MM-DD).")]
SOURCE_NOTE = (
    " Answered from the metrics mart unless closing_from / closing_to are not whole months, then from `deals`."
)


@router.get(
    "/summary", response_model=Summary, summary="Pipeline summary", description="Headline figures." + SOURCE_NOTE
)
async def get_summary(
    request: Request,
    scope: ScopeDep,
    filters: FiltersDep,
    as_of: Annotated[
        date | None, Query(description="Reference day for staleness (default: the mart's refresh day, UTC).")
    ] = None,
    stale_after_days: Annotated[
        int, Query(ge=1, le=3650, description="Days without change that make a deal stale.")
    ] = 30,
) -> Response:
    async def build(connection: AsyncConnection) -> bytes:
        return model_json(await metric_queries.summary(connection, scope, filters, as_of, stale_after_days))

    # Without as_of the stale count may be "as of today": the day is part of the key.
    day = today_utc() if as_of is None else None
    key = ("summary", scope_key(scope), filters, as_of, stale_after_days, day)
    return await respond(request, key, build, conditional=True)


@router.get(
    "/by-stage", response_model=StageGroups, description="Per pipeline and stage, in stage sequence." + SOURCE_NOTE
)
async def get_by_stage(
    request: Request, scope: ScopeDep, filters: FiltersDep, deal_status: StatusQuery = "open"
) -> Response:
    async def build(connection: AsyncConnection) -> bytes:
        source, items = await metric_queries.by_stage(connection, scope, filters, deal_status)
        return model_json(StageGroups(source=source, deal_status=deal_status, items=items))  # type: ignore[arg-type]

    key = ("by_stage", scope_key(scope), filters, deal_status)
    return await respond(request, key, build, conditional=True)


@router.get("/by-region", response_model=RegionGroups, description="Per region." + SOURCE_NOTE)
async def get_by_region(
    request: Request, scope: ScopeDep, filters: FiltersDep, deal_status: StatusQuery = "open"
) -> Response:
    async def build(connection: AsyncConnection) -> bytes:
        source, items = await metric_queries.by_region(connection, scope, filters, deal_status)
        return model_json(RegionGroups(source=source, deal_status=deal_status, items=items))  # type: ignore[arg-type]

    key = ("by_region", scope_key(scope), filters, deal_status)
    return await respond(request, key, build, conditional=True)


@router.get("/by-owner", response_model=OwnerGroups, description="Per owner, largest amount first." + SOURCE_NOTE)
async def get_by_owner(
    request: Request, scope: ScopeDep, filters: FiltersDep, deal_status: StatusQuery = "open"
) -> Response:
    async def build(connection: AsyncConnection) -> bytes:
        source, items = await metric_queries.by_owner(connection, scope, filters, deal_status)
        return model_json(OwnerGroups(source=source, deal_status=deal_status, items=items))  # type: ignore[arg-type]

    key = ("by_owner", scope_key(scope), filters, deal_status)
    return await respond(request, key, build, conditional=True)


@router.get(
    "/trend",
    response_model=Trend,
    description="Open and weighted pipeline at each period's end, from the latest daily snapshot inside the "
    "period (deal_snapshots).",
)
async def get_trend(
    request: Request,
    scope: ScopeDep,
    filters: FiltersDep,
    start: FromQuery,
    end: ToQuery,
    interval: Annotated[
        snapshot_queries.Interval, Query(description="day, week (ISO, Monday first) or month.")
    ] = "month",
) -> Response:
    async def build(connection: AsyncConnection) -> bytes:
        items = await snapshot_queries.trend(connection, scope, filters, start, end, interval)
        return model_json(Trend(interval=interval, items=items))

    key = ("trend", scope_key(scope), filters, start, end, interval)
    return await respond(request, key, build, conditional=True)


@router.get(
    "/funnel",
    response_model=Funnel,
    description="Per open/won stage of the pipeline in sequence: deals whose stage history (entries entered "
    "within [from, to] if given) reached this stage or a later one, and conversion to the next stage "
    "(deal_stage_history joined to deals).",
)
async def get_funnel(
    request: Request,
    scope: ScopeDep,
    filters: FiltersDep,
    pipeline: Annotated[str, Query(max_length=120, description="Pipeline name.")],
    start: Annotated[date | None, Query(alias="from", description="History entered on or after.")] = None,
    end: Annotated[date | None, Query(alias="to", description="History entered on or before.")] = None,
) -> Response:
    async def build(connection: AsyncConnection) -> bytes:
        steps = await funnel_queries.funnel(connection, scope, filters, pipeline, start, end)
        return model_json(Funnel(pipeline=pipeline, steps=steps))

    key = ("funnel", scope_key(scope), filters, pipeline, start, end)
    return await respond(request, key, build, conditional=True)


@router.get(
    "/movement",
    response_model=Movement,
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
    request: Request, scope: ScopeDep, filters: FiltersDep, start: FromQuery, end: ToQuery
) -> Response:
    async def build(connection: AsyncConnection) -> bytes:
        result: Movement = await snapshot_queries.movement(connection, scope, filters, start, end)
        return model_json(result)

    key = ("movement", scope_key(scope), filters, start, end)
    return await respond(request, key, build, conditional=True)
