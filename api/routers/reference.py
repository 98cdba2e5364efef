"""/api/v1/regions, /stages, /sync/status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter

from api.caching import json_list_response, json_response
from api.deps import ConnectionDep, ScopeDep
from api.queries import reference
from api.routers.common import AUTH_ERRORS
from api.schemas import RegionOut, StageOut, SyncStatus

router = APIRouter(tags=["reference"], responses=AUTH_ERRORS)
_REGIONS = TypeAdapter(list[RegionOut])
_STAGES = TypeAdapter(list[StageOut])


@router.get("/regions", response_model=list[RegionOut], description="The regions your token lets you see.")
async def list_regions(connection: ConnectionDep, scope: ScopeDep) -> Response:
    return json_list_response(_REGIONS, await reference.regions(connection, scope))  # type: ignore[arg-type]


@router.get("/stages", response_model=list[StageOut], description="Stages per pipeline, in sequence.")
async def list_stages(
    connection: ConnectionDep, scope: ScopeDep, pipeline: Annotated[str | None, Query(max_length=120)] = None
) -> Response:
    return json_list_response(_STAGES, await reference.stages(connection, scope, pipeline))  # type: ignore[arg-type]


@router.get("/sync/status", response_model=SyncStatus, description="Last successful sync, freshness and counts.")
async def get_sync_status(connection: ConnectionDep, scope: ScopeDep) -> Response:
    return json_response(await reference.sync_status(connection, scope))
