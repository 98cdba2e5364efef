"""Deal listing (page pagination, capped) and one deal with its stage history, from the `deals` table."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ApiError
from api.filters import DealFilters
from api.queries.sources import deals_source
from api.schemas import DealDetail, DealOut, DealPage, StageHistoryOut
from api.scope import RegionScope
from pipeline_pulse.models import Deal, DealStageHistory

MAX_PAGE_SIZE = 200
MAX_OFFSET = 100_000  # deeper pages make the database skip too many rows; narrow the filters instead
DealSort = Literal[
    "id", "-id", "amount_home", "-amount_home", "closing_date", "-closing_date", "modified_time", "-modified_time"
]
_SORT_COLUMNS = {
    "id": Deal.id,
    "amount_home": Deal.amount_home,
    "closing_date": Deal.closing_date,
    "modified_time": Deal.modified_time,
}


async def list_deals(
    session: AsyncSession,
    scope: RegionScope,
    filters: DealFilters,
    deal_status: str,
    sort: DealSort,
    page: int,
    page_size: int,
) -> DealPage:
    if page_size > MAX_PAGE_SIZE:
        raise ApiError(400, "bad_request", f"page_size must be at most {MAX_PAGE_SIZE}")
    offset = (page - 1) * page_size
    if offset > MAX_OFFSET:
        raise ApiError(400, "bad_request", f"page too deep (offset > {MAX_OFFSET}); narrow the filters")
    column = _SORT_COLUMNS[sort.lstrip("-")]
    descending = sort.startswith("-")
    # id (the primary key) sorts straight off its index; nullable columns put NULLs last in both directions on
    # both backends, and id breaks ties so pages are stable.
    if column is Deal.id:
        order = [Deal.id.desc() if descending else Deal.id.asc()]
    else:
        order = [column.is_(None), column.desc() if descending else column.asc()]
        order.append(Deal.id.desc() if descending else Deal.id.asc())
    query = (
        select(Deal)
        .where(deals_source(filters, session.bind.dialect.name).where(scope, filters, deal_status))
        .order_by(*order)
        .offset(offset)
        .limit(page_size + 1)
    )
    deals = (await session.execute(query)).scalars().all()
    return DealPage(
        items=[DealOut.model_validate(deal) for deal in deals[:page_size]],
        page=page,
        page_size=page_size,
        has_more=len(deals) > page_size,
    )


async def get_deal(session: AsyncSession, scope: RegionScope, deal_id: int) -> DealDetail:
    """A live deal in scope with its history; out of scope and missing look the same (404)."""
    deal = (
        await session.execute(
            select(Deal).where(Deal.id == deal_id, Deal.deleted_at.is_(None), scope.clause(Deal.region))
        )
    ).scalar_one_or_none()
    if deal is None:
        raise ApiError(404, "not_found", f"deal {deal_id} not found")
    history = (
        await session.execute(
            select(DealStageHistory)
            .where(DealStageHistory.deal_id == deal_id)
            .order_by(DealStageHistory.entered_at, DealStageHistory.id)
        )
    ).scalars()
    return DealDetail(
        **DealOut.model_validate(deal).model_dump(),
        stage_history=[StageHistoryOut.model_validate(entry) for entry in history],
    )
