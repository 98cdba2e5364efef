"""Deal listing (page pagination, capped) and one deal with its stage history, from the `deals` table."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Integer, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import KeyedColumnElement

from api.errors import ApiError
from api.params import DealListParams, DealSort
from api.queries.sources import FactSource, Shape, deals_source
from api.schemas import DealDetail, DealOut, DealPage, StageHistoryOut
from api.scope import RegionScope
from pipeline_pulse.models import Deal, DealStageHistory

MAX_OFFSET = 100_000  # deeper pages make the database skip too many rows; narrow the filters instead
_SORT_COLUMNS = {
    "id": Deal.id,
    "amount_home": Deal.amount_home,
    "closing_date": Deal.closing_date,
    "modified_time": Deal.modified_time,
}


# Exactly the response fields, as Core columns: no ORM entities per row, and never the `raw` Zoho record.
_DEAL_COLUMNS: list[KeyedColumnElement[object]] = [Deal.__table__.c[name] for name in DealOut.model_fields]
_HISTORY_COLUMNS: list[KeyedColumnElement[object]] = [
    DealStageHistory.__table__.c[name] for name in StageHistoryOut.model_fields
]


@lru_cache(maxsize=512)
def _page_statement(source: FactSource, shape: Shape, sort: DealSort) -> Select[Any]:
    column = _SORT_COLUMNS[sort.lstrip("-")]
    descending = sort.startswith("-")
    # id (the primary key) sorts straight off its index; nullable columns put NULLs last in both directions on
    # both backends (NULLS LAST: Postgres, SQLite >= 3.30), and id breaks ties so pages are stable. Written as
    # NULLS LAST rather than `column IS NULL, column` so Postgres can walk the column's index (ascending:
    # ix_deals_closing_date / ix_deals_modified_time with an incremental sort on id) instead of sorting all rows.
    if column is Deal.id:
        order = [Deal.id.desc() if descending else Deal.id.asc()]
    else:
        order = [(column.desc() if descending else column.asc()).nulls_last()]
        order.append(Deal.id.desc() if descending else Deal.id.asc())
    return (
        select(*_DEAL_COLUMNS)
        .where(source.bound_where(shape))
        .order_by(*order)
        .offset(bindparam("page_offset", type_=Integer))
        .limit(bindparam("page_limit", type_=Integer))
    )


_DEAL_LIST = TypeAdapter(list[DealOut])


async def list_deals(connection: AsyncConnection, scope: RegionScope, params: DealListParams) -> DealPage:
    page, page_size = params.page, params.page_size
    offset = (page - 1) * page_size
    if offset > MAX_OFFSET:
        raise ApiError(400, "bad_request", f"page too deep (offset > {MAX_OFFSET}); narrow the filters")
    source = deals_source(connection.dialect.name)
    shape, values = source.bound(scope, params.only_filters(), params.deal_status)
    values.update(page_offset=offset, page_limit=page_size + 1)
    deals = (await connection.execute(_page_statement(source, shape, params.sort), values)).all()
    return DealPage(
        items=_DEAL_LIST.validate_python(deals[:page_size], from_attributes=True),
        page=page,
        page_size=page_size,
        has_more=len(deals) > page_size,
    )


async def get_deal(connection: AsyncConnection, scope: RegionScope, deal_id: int) -> DealDetail:
    """A live deal in scope with its history; out of scope and missing look the same (404)."""
    deal = (
        await connection.execute(
            select(*_DEAL_COLUMNS).where(Deal.id == deal_id, Deal.deleted_at.is_(None), scope.clause(Deal.region))
        )
    ).one_or_none()
    if deal is None:
        raise ApiError(404, "not_found", f"deal {deal_id} not found")
    history = (
        await connection.execute(
            select(*_HISTORY_COLUMNS)
            .where(DealStageHistory.deal_id == deal_id)
            .order_by(DealStageHistory.entered_at, DealStageHistory.id)
        )
    ).all()
    return DealDetail(
        **DealOut.model_validate(deal).model_dump(),
        stage_history=[StageHistoryOut.model_validate(entry) for entry in history],
    )
