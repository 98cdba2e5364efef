"""How many open deals are NOT stale on a day D with threshold N (docs/metrics.md 6.3), for any D, N and filters,
reading a bounded number of rows: `/metrics/summary` reports stale = open deals - this count.

A deal is fresh when it was modified on or after the cutoff day C = D - N (00:00 UTC) and closes on or after D
(or has no closing date and no closing range is asked for). That is a count over two dimensions (modified day,
closing day), answered in three disjoint parts:

- the cells of `open_deal_freshness` (open deals by closing month and modified month) whose modified month
  starts after C's month and whose closing month lies wholly in the closing range [max(D, closing_from),
  closing_to];
- strip X from `deals`: the deals modified between C and the end of C's month (ix_deals_live_modified_time_id);
- strips Y from `deals`: the deals modified after C's month that close in the cut month at either end of the
  closing range (ix_deals_live_closing_date_id, which includes modified_time).

Each strip is at most one month of deals (in scope), whatever D and N. With an owner filter the table has no
owner, so one owner's deals are counted directly (ix_deals_live_owner_closing_date_id).
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from api.filters import DealFilters
from api.queries.conditions import DEALS, FRESHNESS, where
from api.scope import RegionScope
from pipeline_pulse.models import Deal, OpenDealFreshness
from pipeline_pulse.warehouse.metrics_mart import fresh_condition


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _between(column: Any, low: date | None, high: date | None) -> ColumnElement[bool]:
    return and_(
        column >= low if low is not None else true(),
        column <= high if high is not None else true(),
    )


async def fresh_open_deals(
    connection: AsyncConnection, scope: RegionScope, filters: DealFilters, as_of: date, stale_after_days: int
) -> int:
    if filters.owner_id is not None:
        query = (
            select(func.count())
            .select_from(Deal)
            .where(where(DEALS, scope, filters, "open"), fresh_condition(as_of, stale_after_days))
        )
        return int((await connection.execute(query)).scalar_one())
    parts = fresh_parts(scope, filters, as_of, stale_after_days)
    if not parts:
        return 0
    counts = union_all(*parts).subquery()
    return int((await connection.execute(select(func.coalesce(func.sum(counts.c.n), 0)))).scalar_one())


def fresh_parts(scope: RegionScope, filters: DealFilters, as_of: date, stale_after_days: int) -> list[Any]:
    """The count statements (column `n`) whose sum is the fresh count; none when nothing can be fresh."""
    cutoff = as_of - timedelta(days=stale_after_days)
    low = as_of if filters.closing_from is None else max(as_of, filters.closing_from)
    high = filters.closing_to
    with_undated = filters.closing_from is None and filters.closing_to is None
    if high is not None and low > high:
        return []  # the whole closing range is before D: every open deal in it is stale
    dims = filters.model_copy(update={"closing_from": None, "closing_to": None})
    deals_where = where(DEALS, scope, dims, "open")
    after_cutoff_month = cutoff if cutoff.day == 1 else _next_month(cutoff)

    def in_range(column: Any) -> ColumnElement[bool]:
        dated = _between(column, low, high)
        return or_(dated, column.is_(None)) if with_undated else dated

    parts: list[Any] = []
    if cutoff.day != 1:  # strip X: modified from the cutoff to the end of its month, any closing day in range
        parts.append(
            select(func.count().label("n")).where(
                deals_where,
                Deal.modified_time >= _midnight(cutoff),
                Deal.modified_time < _midnight(after_cutoff_month),
                in_range(Deal.closing_date),
            )
        )
    # Whole closing months of [low, high] and the cut days at either end.
    full_low = low if low.day == 1 else _next_month(low)
    full_high = None if high is None else (high if high == _month_end(high) else _month_start(high) - timedelta(days=1))
    if full_high is not None and full_low > full_high:
        strips = [(low, high)]
        months: tuple[date, date | None] | None = None
    else:
        strips = []
        if low.day != 1:
            strips.append((low, full_low - timedelta(days=1)))
        if high is not None and full_high is not None and high != full_high:
            strips.append((full_high + timedelta(days=1), high))
        months = (full_low, None if full_high is None else _month_start(full_high))
    recent = Deal.modified_time >= _midnight(after_cutoff_month)
    for strip_low, strip_high in strips:  # strips Y: modified after the cutoff's month, closing on cut days
        parts.append(
            select(func.count().label("n")).where(
                deals_where, recent, _between(Deal.closing_date, strip_low, strip_high)
            )
        )
    if months is not None or with_undated:
        month_low, month_high = months if months is not None else (None, None)
        cells = _between(OpenDealFreshness.closing_month, month_low, month_high) if months is not None else None
        if with_undated:
            undated = OpenDealFreshness.closing_month.is_(None)
            cells = undated if cells is None else or_(cells, undated)
        parts.append(
            select(func.coalesce(func.sum(OpenDealFreshness.deal_count), 0).label("n")).where(
                where(FRESHNESS, scope, dims), OpenDealFreshness.modified_month >= after_cutoff_month, cells
            )
        )
    return parts
