"""/api/v1/metrics/*: aggregates in home currency, scoped to the caller's regions, with ETags."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api.caching import cached_json
from api.deps import ConnectionDep, FiltersDep, ScopeDep
from api.filters import DealStatusFilter
from api.queries import funnel as funnel_queries
from api.queries import metrics as metric_queries
from api.queries import snapshots as snapshot_queries
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
    connection: ConnectionDep,
    scope: ScopeDep,
    filters: FiltersDep,
    as_of: Annotated[
        date | None, Query(description="Reference day for staleness (default: the mart's refresh day, UTC).")
    ] = None,
    stale_after_days: Annotated[
        int, Query(ge=1, le=3650, description="Days without change that make a deal stale.")
    ] = 30,
) -> Response:
    result = await metric_queries.summary(connection, scope, filters, as_of, stale_after_days)
    return cached_json(request, result)


@router.get(
    "/by-stage", response_model=StageGroups, description="Per pipeline and stage, in stage sequence." + SOURCE_NOTE
)
async def get_by_stage(
    request: Request, connection: ConnectionDep, scope: ScopeDep, filters: FiltersDep, deal_status: StatusQuery = "open"
) -> Response:
    source, items = await metric_queries.by_stage(connection, scope, filters, deal_status)
    return cached_json(request, StageGroups(source=source, deal_status=deal_status, items=items))  # type: ignore[arg-type]


@router.get("/by-region", response_model=RegionGroups, description="Per region." + SOURCE_NOTE)
async def get_by_region(
    request: Request, connection: ConnectionDep, scope: ScopeDep, filters: FiltersDep, deal_status: StatusQuery = "open"
) -> Response:
    source, items = await metric_queries.by_region(connection, scope, filters, deal_status)
    return cached_json(request, RegionGroups(source=source, deal_status=deal_status, items=items))  # type: ignore[arg-type]


@router.get("/by-owner", response_model=OwnerGroups, description="Per owner, largest amount first." + SOURCE_NOTE)
async def get_by_owner(
    request: Request, connection: ConnectionDep, scope: ScopeDep, filters: FiltersDep, deal_status: StatusQuery = "open"
) -> Response:
    source, items = await metric_queries.by_owner(connection, scope, filters, deal_status)
    return cached_json(request, OwnerGroups(source=source, deal_status=deal_status, items=items))  # type: ignore[arg-type]


@router.get(
    "/trend",
    response_model=Trend,
    description="Open and weighted pipeline at each period's end, from the latest daily snapshot inside the "
    "period (deal_snapshots).",
)
async def get_trend(
    request: Request,
    connection: ConnectionDep,
    scope: ScopeDep,
    filters: FiltersDep,
    start: FromQuery,
    end: ToQuery,
    interval: Annotated[
        snapshot_queries.Interval, Query(description="day, week (ISO, Monday first) or month.")
    ] = "month",
) -> Response:
    items = await snapshot_queries.trend(connection, scope, filters, start, end, interval)
    return cached_json(request, Trend(interval=interval, items=items))


@router.get(
    "/funnel",
    response_model=Funnel,
    description="Per open/won stage of the pipeline in sequence: deals whose stage history (entries entered "
    "within [from, to] if given) reached this stage or a later one, and conversion to the next stage "
    "(deal_stage_history joined to deals).",
)
async def get_funnel(
    request: Request,
    connection: ConnectionDep,
    scope: ScopeDep,
    filters: FiltersDep,
    pipeline: Annotated[str, Query(max_length=120, description="Pipeline name.")],
    start: Annotated[date | None, Query(alias="from", description="History entered on or after.")] = None,
    end: Annotated[date | None, Query(alias="to", description="History entered on or before.")] = None,
) -> Response:
    steps = await funnel_queries.funnel(connection, scope, filters, pipeline, start, end)
    return cached_json(request, Funnel(pipeline=pipeline, steps=steps))


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
    request: Request, connection: ConnectionDep, scope: ScopeDep, filters: FiltersDep, start: FromQuery, end: ToQuery
) -> Response:
    result: Movement = await snapshot_queries.movement(connection, scope, filters, start, end)
    return cached_json(request, result)
