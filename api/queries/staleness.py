"""How many open deals are NOT stale on a day D with threshold N (docs/metrics.md 6.3), for any D, N and filters,
reading a bounded number of rows: `/metrics/summary` reports stale = open deals - this count.

A deal is fresh when it was modified on or after the cutoff day C = D - N (00:00 UTC) and closes on or after D
(or has no closing date and no closing range is asked for). That is a count over two dimensions (modified day,
closing day), answered in three disjoint parts:

- the cells of `open_deal_freshness` (open deals by closing month and modified month) from the month start M
  nearest to C on, whose closing month lies in the closing range [max(D, closing_from), closing_to] rounded
  to whole months;
- strip X, added or subtracted: the deals modified between C and M, from `open_deal_freshness_daily` (the same
  cells by modified day) for whole closing months, from `deals` for the cut days below;
- strips S from `deals`, added or subtracted: the deals modified since M (or in X) that close on the days the
  rounding of the closing range added or left out (ix_deals_live_closing_date_id / _modified_time_id).

Deals are read only for the cut days of the closing range (each strip at most about half a month of closing
days), whatever D and N; an unbounded range (no closing_to) has at most one such strip (fresh_parts has the
algebra). With an owner filter (the tables have no owner) one owner's deals are counted directly
(ix_deals_live_owner_closing_date_id).
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from api.filters import DealFilters
from api.queries.conditions import DEALS, FRESHNESS, FRESHNESS_DAILY, where
from api.scope import RegionScope
from pipeline_pulse.models import Deal, OpenDealFreshness, OpenDealFreshnessDaily
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


Strip = tuple[date, date, int]  # first day, last day (inclusive), sign


def _closing_cover(low: date, high: date | None) -> tuple[tuple[date, date | None] | None, list[Strip]]:
    """[low, high] as whole months (first months' first days, or None) plus or minus cut-day strips, each end
    rounded to the nearer month boundary, so no strip is longer than about half a month."""
    if high is not None and (low.year, low.month) == (high.year, high.month):
        inward = (low - _month_start(low)).days + (_month_end(high) - high).days
        if (high - low).days + 1 <= inward:
            return None, [(low, high, 1)]
        strips = [(_month_start(low), low - timedelta(days=1), -1)] if low.day != 1 else []
        if high != _month_end(high):
            strips.append((high + timedelta(days=1), _month_end(high), -1))
        return (_month_start(low), _month_start(low)), strips
    strips: list[Strip] = []
    first = low
    if low.day != 1:
        if (low - _month_start(low)).days <= (_month_end(low) - low).days + 1:
            first = _month_start(low)
            strips.append((first, low - timedelta(days=1), -1))
        else:
            first = _next_month(low)
            strips.append((low, first - timedelta(days=1), 1))
    last: date | None = None
    if high is not None:
        last = _month_start(high)
        if high != _month_end(high):
            if (_month_end(high) - high).days <= (high - last).days + 1:
                strips.append((high + timedelta(days=1), _month_end(high), -1))
            else:
                strips.append((last, high, 1))
                last = _month_start(last - timedelta(days=1))
    return ((first, last) if last is None or first <= last else None), strips


def _counted(sign: int, *conditions: ColumnElement[bool]) -> Any:
    return select((func.count() * sign).label("n")).where(*conditions)


def fresh_parts(scope: RegionScope, filters: DealFilters, as_of: date, stale_after_days: int) -> list[Any]:
    """The signed count statements (column `n`) whose sum is the fresh count; none when nothing can be fresh.

    fresh = |{modified >= C} x R| where R is the closing range [max(D, closing_from), closing_to] (plus deals
    without closing date when no range is given). With M the month start nearest to C and R = whole months W
    plus or minus cut-day strips S, and X the days between M and C: |{modified >= C} x R| =
    |{modified >= M} x W| (open_deal_freshness) + sum of +-|{modified >= M} x S| (`deals`)
    +- (|X x W| (open_deal_freshness_daily) + sum of +-|X x S| (`deals`))."""
    cutoff = as_of - timedelta(days=stale_after_days)
    low = as_of if filters.closing_from is None else max(as_of, filters.closing_from)
    high = filters.closing_to
    with_undated = filters.closing_from is None and filters.closing_to is None
    if high is not None and low > high:
        return []  # the whole closing range is before D: every open deal in it is stale
    dims = filters.model_copy(update={"closing_from": None, "closing_to": None})
    deals_where = where(DEALS, scope, dims, "open")
    parts: list[Any] = []

    def in_range(column: Any) -> ColumnElement[bool]:
        dated = _between(column, low, high)
        return or_(dated, column.is_(None)) if with_undated else dated

    months, strips = _closing_cover(low, high)

    def cells(table: Any) -> ColumnElement[bool] | None:
        """The table's cells of R rounded to whole months (and undated deals when no range is given)."""
        chosen = None if months is None else _between(table.closing_month, *months)
        if with_undated:
            undated = table.closing_month.is_(None)
            chosen = undated if chosen is None else or_(chosen, undated)
        return chosen

    def cell_count(table: Any, columns: Any, modified: ColumnElement[bool], sign: int = 1) -> None:
        chosen = cells(table)
        if chosen is not None:
            total = func.coalesce(func.sum(table.deal_count), 0) * sign
            parts.append(select(total.label("n")).where(where(columns, scope, dims), modified, chosen))

    month = _month_start(cutoff)
    if cutoff != month:  # strip X: modified between the cutoff and the nearer month start
        if (cutoff - month).days <= (_next_month(cutoff) - cutoff).days:
            span, sign = (month, cutoff), -1
        else:
            month = _next_month(cutoff)
            span, sign = (cutoff, month), 1
        # X x R = X x (whole months) from the day table + X x (each cut-day strip) from `deals`.
        day = OpenDealFreshnessDaily.modified_date
        cell_count(OpenDealFreshnessDaily, FRESHNESS_DAILY, and_(day >= span[0], day < span[1]), sign)
        for first, last, strip_sign in strips:
            parts.append(
                _counted(
                    sign * strip_sign,
                    deals_where,
                    Deal.modified_time >= _midnight(span[0]),
                    Deal.modified_time < _midnight(span[1]),
                    _between(Deal.closing_date, first, last),
                )
            )
    recent = Deal.modified_time >= _midnight(month)
    for first, last, sign in strips:  # strips S: modified since M, closing on cut days
        parts.append(_counted(sign, deals_where, recent, _between(Deal.closing_date, first, last)))
    cell_count(OpenDealFreshness, FRESHNESS, OpenDealFreshness.modified_month >= month)
    return parts
