"""/api/v1/regions, /stages, /sync/status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncConnection

from api.caching import json_response
from api.deps import ConnectionDep, ScopeDep, query_params
from api.params import StageListParams
from api.queries import reference
from api.response_cache import respond
from api.routers.common import AUTH_ERRORS
from api.schemas import RegionOut, StageOut, SyncStatus

router = APIRouter(tags=["reference"], responses=AUTH_ERRORS)
_REGIONS = TypeAdapter(list[RegionOut])
_STAGES = TypeAdapter(list[StageOut])


@router.get("/regions", response_model=list[RegionOut], description="The regions your token lets you see.")
async def list_regions(request: Request, scope: ScopeDep) -> Response:
    async def build(connection: AsyncConnection) -> bytes:
        return _REGIONS.dump_json(await reference.regions(connection, scope))

    return await respond(request, scope, None, build)


@router.get("/stages", response_model=list[StageOut], description="Stages per pipeline, in sequence.")
async def list_stages(
    request: Request, scope: ScopeDep, params: Annotated[StageListParams, query_params(StageListParams)]
) -> Response:
    async def build(connection: AsyncConnection) -> bytes:
        return _STAGES.dump_json(await reference.stages(connection, scope, params.pipeline))

    return await respond(request, scope, params, build)


@router.get(
    "/sync/status",
    response_model=SyncStatus,
    description=(
        "Last successful sync, freshness and per-stream status. live_deals counts your regions; the per-stream "
        "records_* counters are org-wide, so they are null unless your token sees all regions. Never cached: "
        "freshness_seconds is computed per request."
    ),
)
async def get_sync_status(connection: ConnectionDep, scope: ScopeDep) -> Response:
    return json_response(await reference.sync_status(connection, scope))
