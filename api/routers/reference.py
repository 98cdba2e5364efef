"""/api/v1/regions, /stages, /sync/status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncConnection

from api.caching import json_response
from api.deps import ConnectionDep, ScopeDep
from api.queries import reference
from api.response_cache import respond, scope_key
from api.routers.common import AUTH_ERRORS
from api.schemas import RegionOut, StageOut, SyncStatus

router = APIRouter(tags=["reference"], responses=AUTH_ERRORS)
_REGIONS = TypeAdapter(list[RegionOut])
_STAGES = TypeAdapter(list[StageOut])


@router.get("/regions", response_model=list[RegionOut], description="The regions your token lets you see.")
async def list_regions(request: Request, scope: ScopeDep) -> Response:
    async def build(connection: AsyncConnection) -> bytes:
        return _REGIONS.dump_json(await reference.regions(connection, scope))

    return await respond(request, ("regions", scope_key(scope)), build)


@router.get("/stages", response_model=list[StageOut], description="Stages per pipeline, in sequence.")
async def list_stages(
    request: Request, scope: ScopeDep, pipeline: Annotated[str | None, Query(max_length=120)] = None
) -> Response:
    async def build(connection: AsyncConnection) -> bytes:
        return _STAGES.dump_json(await reference.stages(connection, scope, pipeline))

    return await respond(request, ("stages", scope_key(scope), pipeline), build)


@router.get(
    "/sync/status",
    response_model=SyncStatus,
    description="Last successful sync, freshness and counts. Never cached: freshness_seconds is computed per request.",
)
async def get_sync_status(connection: ConnectionDep, scope: ScopeDep) -> Response:
    return json_response(await reference.sync_status(connection, scope))
