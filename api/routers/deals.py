"""/api/v1/deals: listing and detail, from the indexed deals table."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from api.caching import json_response, model_json
from api.deps import ConnectionDep, FiltersDep, ScopeDep
from api.filters import DealStatusFilter
from api.queries import deals as deal_queries
from api.response_cache import respond, scope_key
from api.routers.common import AUTH_ERRORS
from api.schemas import DealDetail, DealPage, ErrorBody

router = APIRouter(prefix="/deals", tags=["deals"], responses=AUTH_ERRORS)


@router.get("", response_model=DealPage, description="Live deals in your regions, page by page (has_more tells).")
async def list_deals(
    request: Request,
    scope: ScopeDep,
    filters: FiltersDep,
    deal_status: Annotated[DealStatusFilter, Query(description="open, won, lost or all (default).")] = "all",
    sort: Annotated[deal_queries.DealSort, Query(description="Field, '-' prefix for descending.")] = "-id",
    page: Annotated[int, Query(ge=1, description="1-based page number.")] = 1,
    page_size: Annotated[
        int, Query(ge=1, le=deal_queries.MAX_PAGE_SIZE, description=f"At most {deal_queries.MAX_PAGE_SIZE}.")
    ] = 50,
) -> Response:
    async def build(connection: AsyncConnection) -> bytes:
        return model_json(await deal_queries.list_deals(connection, scope, filters, deal_status, sort, page, page_size))

    key = ("deals", scope_key(scope), filters, deal_status, sort, page, page_size)
    return await respond(request, key, build)


@router.get(
    "/{deal_id}",
    response_model=DealDetail,
    responses={404: {"model": ErrorBody, "description": "No such live deal in your regions."}},
)
async def get_deal(connection: ConnectionDep, scope: ScopeDep, deal_id: Annotated[int, Path(ge=1)]) -> Response:
    return json_response(await deal_queries.get_deal(connection, scope, deal_id))
