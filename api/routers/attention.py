"""/api/v1/deals/attention: open deals that break a deal-health rule, by amount at risk (docs/metrics.md 12.3).

Registered before the /deals router, so `attention` is never read as a deal id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from api.caching import model_json
from api.deps import ScopeDep, query_params
from api.insight_schemas import AttentionPage
from api.params import AttentionParams
from api.queries import health as health_queries
from api.response_cache import respond
from api.routers.common import CONDITIONAL_RESPONSES

router = APIRouter(prefix="/deals", tags=["deals"], responses=CONDITIONAL_RESPONSES)


@router.get(
    "/attention",
    response_model=AttentionPage,
    summary="Deals needing attention",
    description="Live open deals in your regions that break at least one rule of deal_health_rules now (past "
    "closing date, no activity, over the stage's SLA, probability off its stage's, no amount, closing date "
    "pushed too often - each a row the data team can tune per pipeline / stage), with the reasons, largest "
    "amount at risk first. Filters as on /deals; `health` narrows to red or amber, `rule` to one rule. Read from "
    "v_deal_health, the view analysts query.",
)
async def get_attention(
    request: Request, scope: ScopeDep, params: Annotated[AttentionParams, query_params(AttentionParams)]
) -> Response:
    async def build(connection: AsyncConnection) -> bytes:
        return model_json(await health_queries.attention(connection, scope, params))

    return await respond(request, scope, params, build, conditional=True)
