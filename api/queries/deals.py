"""Deal listing (keyset pagination) and one deal with its stage history, from the `deals` table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Integer,
    Select,
    bindparam,
    cast,
    func,
    literal_column,
    select,
    true,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import KeyedColumnElement

from api.cursor import DealCursor
from api.errors import ApiError
from api.insight_schemas import DealHealth
from api.params import DealListParams, DealSort
from api.queries.conditions import DEALS, Shape, compile_filters, conditions
from api.queries.health import health_of
from api.schemas import DEAL_ROW_FIELDS, DealDetail, DealOut, DealPage, StageHistoryOut
from api.scope import RegionScope
from pipeline_pulse.models import Deal, DealStageHistory, Region

EXPORT_CHUNK = 2000
_SORT_COLUMNS = {
    "id": Deal.id,
    "amount_home": Deal.amount_home,
    "closing_date": Deal.closing_date,
    "modified_time": Deal.modified_time,
}


# Exactly the response fields, as Core columns: no ORM entities per row, and never the `raw` Zoho record.
_DEAL_COLUMNS: list[KeyedColumnElement[object]] = [Deal.__table__.c[name] for name in DEAL_ROW_FIELDS]
_HISTORY_COLUMNS: list[KeyedColumnElement[object]] = [
    DealStageHistory.__table__.c[name] for name in StageHistoryOut.model_fields
]


@lru_cache(maxsize=1024)
def _page_statement(shape: Shape, sort: DealSort, phase: int, after: bool, postgres: bool = False) -> Select[Any]:
    """One keyset step: the rows after the cursor (`after`) in one phase of the order. Phase 0 holds the rows
    whose sort column is set, ordered by (column, id) — Postgres walks ix_deals_<column>_id forwards or
    backwards — phase 1 the rows where it is NULL, by id (NULLs last in both directions). The id sort has
    phase 0 only, off the primary key. Two filters make that walk discard most of what it reads, and Postgres
    reads the page another way: an owner filter (the owner's deals first, `_owner_first`) and a closing range
    with an id or modified-time sort (day by day, `_by_closing_day`)."""
    column = _SORT_COLUMNS[sort.lstrip("-")]
    descending = sort.startswith("-")
    where = [conditions(DEALS, shape, literal_categories=True)]
    if column is Deal.id or phase == 1:
        if column is not Deal.id:
            where.append(column.is_(None))
        if after:
            last = bindparam("cursor_id", type_=BigInteger)
            where.append(Deal.id < last if descending else Deal.id > last)
        keys: list[Any] = [Deal.id]
    else:
        where.append(column.is_not(None))
        if after:
            position = tuple_(column, Deal.id)
            mark = tuple_(bindparam("cursor_value", type_=column.type), bindparam("cursor_id", type_=BigInteger))
            where.append(position < mark if descending else position > mark)
        keys = [column, Deal.id]
    limit = bindparam("page_limit", type_=Integer)

    def in_order(columns: list[Any]) -> list[Any]:
        return [key.desc() if descending else key.asc() for key in columns]

    if postgres and shape.owner_id and column is not Deal.closing_date:
        page = _owner_first(where, keys, in_order, limit)
    elif postgres and (shape.closing_from or shape.closing_to) and column in (Deal.id, Deal.modified_time):
        page = _by_closing_day(shape, where, keys, in_order, limit)
    else:
        return select(*_DEAL_COLUMNS).where(*where).order_by(*in_order(keys)).limit(limit)
    page_keys = [page.c.sort_value, page.c.id] if len(keys) == 2 else [page.c.id]
    return select(*_DEAL_COLUMNS).join(page, page.c.id == Deal.id).order_by(*in_order(page_keys))


def _owner_first(where: list[Any], keys: list[Any], in_order: Any, limit: Any) -> Any:
    """One owner's deals are a few thousand: read them first (ix_deals_live_owner_closing_date_id holds every
    sort key and filter column), then sort. Walking a sort index instead discards the other owners' deals,
    ~200 for each one kept. MATERIALIZED keeps Postgres from folding the CTE back into that walk."""
    matching = select(Deal.id, keys[0].label("sort_value")).where(*where).cte("owner_deals").prefix_with("MATERIALIZED")
    ordered = [matching.c.sort_value, matching.c.id] if len(keys) == 2 else [matching.c.id]
    return select(matching.c.id, matching.c.sort_value).order_by(*in_order(ordered)).limit(limit).subquery("page")


def _by_closing_day(shape: Shape, where: list[Any], keys: list[Any], in_order: Any, limit: Any) -> Any:
    """A closing range sorted by id or modified time: closing date and those columns are correlated (old deals
    close early), so walking the sort index reads every deal outside the range first (269k entries for
    closing_from=2026-01-15, 1 s). Instead, for each day of the range, the first `limit` rows in order from
    (closing_date, <sort>, id) (ix_deals_live_closing_date_id / ix_deals_live_closing_date_modified_time_id),
    then the first `limit` of those: about limit x days index entries, wherever the page is (x regions in a
    restricted scope, for the modified-time sort: the days are probed per region of the scope)."""
    live = Deal.deleted_at.is_(None)
    first = (
        bindparam("f_closing_from", type_=Date)
        if shape.closing_from
        else select(func.min(Deal.closing_date)).where(live).scalar_subquery()
    )
    last = (
        bindparam("f_closing_to", type_=Date)
        if shape.closing_to
        else select(func.max(Deal.closing_date)).where(live).scalar_subquery()
    )
    days = (
        func.generate_series(cast(first, DateTime), cast(last, DateTime), literal_column("interval '1 day'"))
        .table_valued("day", name="days")
        .render_derived()
    )
    # The range itself is the days: repeating it in each probe only makes Postgres' generic plan (a reused
    # prepared statement) estimate one row per probe and pick an index it then walks past most of the day.
    where = [
        conditions(DEALS, replace(shape, closing_from=False, closing_to=False), literal_categories=True),
        *where[1:],
    ]
    probe = [Deal.closing_date == cast(days.c.day, Date)]
    steps: Any = days
    if not shape.all_regions and keys[0] is Deal.modified_time:
        # A region scope discards the other regions' deals of each day (most of them for a one-region
        # token): probe (region, day) instead, from ix_deals_live_region_closing_date_modified_time_id, so
        # each probe reads only deals in scope. The scope's regions are known codes (RegionScope.from_claims).
        regions = (
            select(Region.code)
            .where(RegionScope.bound_clause(Region.code, all_regions=False, literal=True))
            .subquery("scope_codes")
        )
        probe.append(Deal.region == regions.c.code)
        steps = days.join(regions, true())
    per_day = (
        select(Deal.id, keys[0].label("sort_value"))
        .where(*where, *probe)
        .order_by(*in_order(keys))
        .limit(limit)
        .lateral("per_day")
    )
    ordered = [per_day.c.sort_value, per_day.c.id] if len(keys) == 2 else [per_day.c.id]
    return (
        select(per_day.c.id, per_day.c.sort_value)
        .select_from(steps)
        .join(per_day, true())
        .order_by(*in_order(ordered))
        .limit(limit)
        .subquery("page")
    )


_DEAL_LIST = TypeAdapter(list[DealOut])


async def _rows_after(
    connection: AsyncConnection,
    shape: Shape,
    values: dict[str, Any],
    sort: DealSort,
    cursor: DealCursor | None,
    wanted: int,
) -> list[Any]:
    """Up to `wanted` rows in `sort` order after `cursor` (from the start without one)."""
    column = _SORT_COLUMNS[sort.lstrip("-")]
    phases = [0] if column is Deal.id else [0, 1]
    start = cursor.phase if cursor is not None else 0
    rows: list[Any] = []
    for phase in phases[phases.index(start) :]:
        after = cursor is not None and phase == cursor.phase
        step = dict(values, page_limit=wanted - len(rows))
        if after:
            assert cursor is not None
            step["cursor_id"] = cursor.last_id
            if phase == 0 and column is not Deal.id:
                step["cursor_value"] = cursor.value
        statement = _page_statement(shape, sort, phase, after, connection.dialect.name == "postgresql")
        rows.extend((await connection.execute(statement, step)).all())
        if len(rows) >= wanted:
            break
    return rows


def _cursor_at(sort: DealSort, row: Any) -> DealCursor:
    column = _SORT_COLUMNS[sort.lstrip("-")]
    if column is Deal.id:
        return DealCursor(sort, 0, None, row.id)
    value = getattr(row, column.key)
    return DealCursor(sort, 0 if value is not None else 1, value, row.id)


async def list_deals(connection: AsyncConnection, scope: RegionScope, params: DealListParams) -> DealPage:
    """A page of `page_size` deals after `params.cursor` (first page without one), and the cursor of the next.
    Each page costs an index walk of about page_size rows, however deep it is."""
    shape, values = compile_filters(DEALS, scope, params.only_filters(), params.deal_status)
    rows = await _rows_after(connection, shape, values, params.sort, params.cursor, params.page_size + 1)
    items = rows[: params.page_size]
    next_cursor = _cursor_at(params.sort, items[-1]).encode() if len(rows) > params.page_size else None
    health = await health_of(connection, [row.id for row in items if row.deal_status == "open"])
    fields = rows[0]._fields if rows else ()  # zip over the fields: a third of the cost of {**row._mapping}
    return DealPage(
        items=_DEAL_LIST.validate_python(
            [dict(zip(fields, row, strict=True), health=health.get(row.id)) for row in items]
        ),
        page_size=params.page_size,
        has_more=next_cursor is not None,
        next_cursor=next_cursor,
    )


async def deal_rows(engine: AsyncEngine, scope: RegionScope, params: DealListParams) -> AsyncIterator[list[Any]]:
    """Every matching deal from `params.cursor` on, in `sort` order, EXPORT_CHUNK rows at a time (the CSV export).
    Each chunk is its own keyset query on a connection held only for that query, so a slow reader holds no
    connection; a deal whose sort value changes during the export may show twice or not at all (never with
    the default id sort)."""
    shape, values = compile_filters(DEALS, scope, params.only_filters(), params.deal_status)
    cursor, chunk = params.cursor, EXPORT_CHUNK
    while True:
        async with engine.connect() as connection:
            rows = await _rows_after(connection, shape, values, params.sort, cursor, chunk)
        if rows:
            yield rows
        if len(rows) < chunk:
            return
        cursor = _cursor_at(params.sort, rows[-1])


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
    health = (await health_of(connection, [deal_id] if deal.deal_status == "open" else [])).get(deal_id)
    return DealDetail(
        **DealOut.model_validate(deal).model_dump(exclude={"health"}),
        health=DealHealth.model_validate(health) if health is not None else None,
        stage_history=[StageHistoryOut.model_validate(entry) for entry in history],
    )
