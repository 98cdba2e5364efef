"""/api/v1/metrics/forecast and /metrics/attainment: a period's deals by forecast category, and against its
sales targets; region-scoped and cached like every metrics endpoint (definitions: docs/metrics.md, 12.1-12.2)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from api.caching import model_json
from api.deps import ScopeDep, query_params
from api.insight_schemas import Attainment, Forecast
from api.params import AttainmentParams, ForecastParams, today_utc
from api.queries import forecast as forecast_queries
from api.response_cache import respond
from api.routers.common import CONDITIONAL_RESPONSES

router = APIRouter(prefix="/metrics", tags=["metrics"], responses=CONDITIONAL_RESPONSES)


@router.get(
    "/forecast",
    response_model=Forecast,
    summary="Forecast by category",
    description="Deals closing in the period (a month YYYY-MM or a quarter YYYY-Qn) per forecast category "
    "(Pipeline, Best Case, Committed, Closed, Omitted, then any other; the deal's own category, else its "
    "stage's), with count, amount and weighted amount, plus won to date; optionally per region or owner.",
)
async def get_forecast(
    request: Request, scope: ScopeDep, params: Annotated[ForecastParams, query_params(ForecastParams)]
) -> Response:
    async def build(connection: AsyncConnection) -> bytes:
        return model_json(await forecast_queries.forecast(connection, scope, params, today_utc()))

    return await respond(request, scope, params, build, conditional=True)


@router.get(
    "/attainment",
    response_model=Attainment,
    summary="Target attainment and coverage",
    description="The period's target (sales_targets), won to date, attainment = won / target, gap = target - "
    "won, open and weighted pipeline closing in the period and coverage = open / gap; in total (region "
    "targets, or the owner_id's) and per region or owner (owner targets).",
)
async def get_attainment(
    request: Request, scope: ScopeDep, params: Annotated[AttainmentParams, query_params(AttainmentParams)]
) -> Response:
    async def build(connection: AsyncConnection) -> bytes:
        return model_json(await forecast_queries.attainment(connection, scope, params, today_utc()))

    return await respond(request, scope, params, build, conditional=True)
