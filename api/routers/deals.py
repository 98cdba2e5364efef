"""/api/v1/deals: listing and detail, from the indexed deals table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.caching import json_response, model_json
from api.csv_export import CSV_RESPONSE, CsvWriter, csv_response, wants_csv
from api.deps import ConnectionDep, ScopeDep, query_params
from api.params import DealListParams
from api.queries import deals as deal_queries
from api.response_cache import respond
from api.routers.common import AUTH_ERRORS
from api.scalars import ZohoIdParam
from api.schemas import DEAL_ROW_FIELDS, DealDetail, DealOut, DealPage, ErrorBody
from api.scope import RegionScope

router = APIRouter(prefix="/deals", tags=["deals"], responses=AUTH_ERRORS)


@router.get(
    "",
    response_model=DealPage,
    responses=CSV_RESPONSE,
    description="Live deals in your regions, a page at a time (pass `next_cursor` back as `cursor`). As CSV "
    "(`format=csv` or `Accept: text/csv`): every matching deal, streamed.",
)
async def list_deals(
    request: Request, scope: ScopeDep, params: Annotated[DealListParams, query_params(DealListParams)]
) -> Response:
    if wants_csv(request, params.format):
        return csv_response(_deals_csv(request.app.state.engine, scope, params), "deals.csv")

    async def build(connection: AsyncConnection) -> bytes:
        return model_json(await deal_queries.list_deals(connection, scope, params))

    return await respond(request, scope, params, build)


async def _deals_csv(engine: AsyncEngine, scope: RegionScope, params: DealListParams) -> AsyncIterator[str]:
    writer = CsvWriter(DealOut, DEAL_ROW_FIELDS)  # health is not a deal column
    yield writer.header()
    async for rows in deal_queries.deal_rows(engine, scope, params):
        yield writer.chunk(rows)


@router.get(
    "/{deal_id}",
    response_model=DealDetail,
    responses={404: {"model": ErrorBody, "description": "No such live deal in your regions."}},
)
async def get_deal(
    connection: ConnectionDep,
    scope: ScopeDep,
    deal_id: Annotated[ZohoIdParam, Path(description="The deal's Zoho id, as a string.")],
) -> Response:
    return json_response(await deal_queries.get_deal(connection, scope, deal_id))
