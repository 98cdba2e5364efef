"""/api/v1/metrics/stages: stage analytics from the stage history (definitions: docs/metrics.md, 12.4)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from api.caching import model_json
from api.deps import ScopeDep, query_params
from api.insight_schemas import StageAnalytics
from api.params import StageAnalyticsParams
from api.queries import stage_analytics as stage_queries
from api.response_cache import respond
from api.routers.common import CONDITIONAL_RESPONSES

router = APIRouter(prefix="/metrics", tags=["metrics"], responses=CONDITIONAL_RESPONSES)


@router.get(
    "/stages",
    response_model=StageAnalytics,
    summary="Stage analytics",
    description="Per stage of the pipeline, in sequence: the stays that began within [from, to] (UTC days; "
    "all history without them) and where each went next (forward, back, won, lost, other, still there), "
    "conversion to a later stage, median and p90 days of the stays that ended, open deals stuck beyond the "
    "stage's SLA now (the stage_sla health rule) and closing-date pushes made while in the stage "
    "(deal_stage_history, deal_versions, v_deal_health).",
)
async def get_stage_analytics(
    request: Request, scope: ScopeDep, params: Annotated[StageAnalyticsParams, query_params(StageAnalyticsParams)]
) -> Response:
    async def build(connection: AsyncConnection) -> bytes:
        return model_json(await stage_queries.stage_analytics(connection, scope, params))

    return await respond(request, scope, params, build, conditional=True)
