"""/api/v1/regions, /stages, /sync/status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ScopeDep, SessionDep
from api.queries import reference
from api.routers.common import AUTH_ERRORS
from api.schemas import RegionOut, StageOut, SyncStatus

router = APIRouter(tags=["reference"], responses=AUTH_ERRORS)


@router.get("/regions", response_model=list[RegionOut], description="The regions your token lets you see.")
async def list_regions(session: SessionDep, scope: ScopeDep) -> list[RegionOut]:
    return await reference.regions(session, scope)


@router.get("/stages", response_model=list[StageOut], description="Stages per pipeline, in sequence.")
async def list_stages(
    session: SessionDep, scope: ScopeDep, pipeline: Annotated[str | None, Query(max_length=120)] = None
) -> list[StageOut]:
    return await reference.stages(session, scope, pipeline)


@router.get("/sync/status", response_model=SyncStatus, description="Last successful sync, freshness and counts.")
async def get_sync_status(session: SessionDep, scope: ScopeDep) -> SyncStatus:
    return await reference.sync_status(session, scope)
