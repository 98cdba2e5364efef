"""Deal listing (keyset pagination) and one deal with its stage history, from the `deals` table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    DateTime,
    Integer,
    Select,
    bindparam,
    cast,
    func,
    literal,
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
        page = _by_closing_day(shape, where, keys, in_order, limit, descending)
    else:
        return select(*_DEAL_COLUMNS).where(*where).order_by(*in_order(keys)).limit(limit)
    page_keys = _order_columns(page, len(keys) == 2)
    return select(*_DEAL_COLUMNS).join(page, page.c.id == Deal.id).order_by(*in_order(page_keys))


def _order_columns(rows: Any, valued: bool) -> list[Any]:
    """The page order's columns of a subquery of (id, sort_value) rows: (sort value, id), or id alone."""
    return [rows.c.sort_value, rows.c.id] if valued else [rows.c.id]


def _owner_first(where: list[Any], keys: list[Any], in_order: Any, limit: Any) -> Any:
    """One owner's deals are a few thousand: read them first (ix_deals_live_owner_closing_date_id holds every
    sort key and filter column), then sort. Walking a sort index instead discards the other owners' deals,
    ~200 for each one kept. MATERIALIZED keeps Postgres from folding the CTE back into that walk."""
    matching = select(Deal.id, keys[0].label("sort_value")).where(*where).cte("owner_deals").prefix_with("MATERIALIZED")
    ordered = _order_columns(matching, len(keys) == 2)
    return select(matching.c.id, matching.c.sort_value).order_by(*in_order(ordered)).limit(limit).subquery("page")


def _by_closing_day(
    shape: Shape, where: list[Any], keys: list[Any], in_order: Any, limit: Any, descending: bool
) -> Any:
    """A closing range sorted by id or modified time: closing date and those columns are correlated (old deals
    close early), so walking the sort index reads every deal outside the range first (269k entries for
    closing_from=2026-01-15, 1 s). Instead the range is read as one ordered stream per day (per region of a
    restricted scope, for the modified-time sort: ix_deals_live_region_closing_date_modified_time_id, else
    ix_deals_live_closing_date_id / ix_deals_live_closing_date_modified_time_id), in two steps:

    1. every stream's first row; the `limit`-th of those firsts in page order bounds the page (`limit` rows,
       the firsts, are at or before it), and only the `limit` streams whose first is within it can hold
       rows of the page;
    2. from each of those streams, its first `limit` rows up to the bound; then the first `limit` of all.

    Index entries read: one per stream plus at most limit x limit (about a page when the streams interleave),
    instead of a page from every stream. The id sort probes days, not (region, day): under a region scope it
    also reads the other regions' deals that come before a day's first in scope."""
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
    stream_keys: list[Any] = [days.c.day]
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
        stream_keys.append(regions.c.code)
        steps = days.join(regions, true())

    def stream_head(stream: list[Any], rows: Any, name: str, *bound: ColumnElement[bool]) -> Any:
        """The first `rows` rows in order of the stream (day[, region]) given by `stream`'s columns."""
        probe = [Deal.closing_date == cast(stream[0], Date), *(Deal.region == code for code in stream[1:])]
        head = select(Deal.id, keys[0].label("sort_value")).where(*where, *probe, *bound)
        return head.order_by(*in_order(keys)).limit(rows).lateral(name)

    first_of = stream_head(stream_keys, 1, "stream_first")
    firsts = (
        select(*(key.label(f"k{n}") for n, key in enumerate(stream_keys)), first_of.c.id, first_of.c.sort_value)
        .select_from(steps)
        .join(first_of, true())
        .cte("firsts")
    )
    within = _within_bound(firsts, len(keys) == 2, in_order, limit, descending)
    streams_in_bound = (
        select(*(firsts.c[f"k{n}"] for n in range(len(stream_keys))))
        .where(within(firsts.c.sort_value, firsts.c.id))
        .subquery("streams")
    )
    per_stream = stream_head(list(streams_in_bound.c), limit, "per_stream", within(keys[0], Deal.id))
    ordered = _order_columns(per_stream, len(keys) == 2)
    return (
        select(per_stream.c.id, per_stream.c.sort_value)
        .select_from(streams_in_bound)
        .join(per_stream, true())
        .order_by(*in_order(ordered))
        .limit(limit)
        .subquery("page")
    )


_ID_BEYOND = {False: 2**63 - 1, True: -(2**63)}  # past every bigint id, ascending / descending


def _within_bound(firsts: Any, valued: bool, in_order: Any, limit: Any, descending: bool) -> Any:
    """A condition builder: (sort value, id) at or before the `limit`-th of the streams' first rows in page order
    (always true when fewer streams have rows). The bound is read once (InitPlans); against an index's columns
    the comparison is part of the index condition."""
    ordered = _order_columns(firsts, valued)
    nth = select(firsts.c.sort_value, firsts.c.id).order_by(*in_order(ordered)).offset(limit - 1).limit(1)
    bound = nth.cte("page_bound")  # one row (or none), read by each comparison below
    bound_id = func.coalesce(select(bound.c.id).scalar_subquery(), literal(_ID_BEYOND[descending], BigInteger))
    beyond = literal_column("'-infinity'" if descending else "'infinity'", type_=firsts.c.sort_value.type)
    bound_value = func.coalesce(select(bound.c.sort_value).scalar_subquery(), beyond)

    def within(value: Any, row_id: Any) -> ColumnElement[bool]:
        if not valued:
            return row_id >= bound_id if descending else row_id <= bound_id
        position, mark = tuple_(value, row_id), tuple_(bound_value, bound_id)
        return position >= mark if descending else position <= mark

    return within


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
