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
days), whatever D and N; an unbounded range (no closing_to) has at most one such strip (fresh_plan has the
algebra). With an owner filter (the tables have no owner) one owner's deals are counted directly
(ix_deals_live_owner_closing_date_id).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Date, Select, and_, bindparam, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from api.filters import DealFilters
from api.queries.conditions import DEALS, FRESHNESS, FRESHNESS_DAILY, Shape, compile_filters, conditions, where
from api.scope import RegionScope
from pipeline_pulse.models import Deal, OpenDealFreshness, OpenDealFreshnessDaily, UTCDateTime
from pipeline_pulse.warehouse.metrics_mart import fresh_condition


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


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
    planned = fresh_plan(scope, filters, as_of, stale_after_days)
    if planned is None:
        return 0
    layout, values = planned
    return int((await connection.execute(fresh_statement(layout), values)).scalar_one())


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


@dataclass(frozen=True, slots=True)
class Layout:
    """Which parts a fresh count has (the statement is built once per layout, with bind parameters): the dims'
    condition shape, strip X's sign (0: none), the cut-day strips' signs, which ends the whole closing months
    have (None: no whole months), and whether undated deals count."""

    shape: Shape
    x_sign: int
    strip_signs: tuple[int, ...]
    months: tuple[bool, bool] | None
    with_undated: bool


def fresh_plan(
    scope: RegionScope, filters: DealFilters, as_of: date, stale_after_days: int
) -> tuple[Layout, dict[str, Any]] | None:
    """The layout and bind values of the fresh count; None when nothing can be fresh.

    fresh = |{modified >= C} x R| where R is the closing range [max(D, closing_from), closing_to] (plus deals
    without closing date when no range is given). With M the month start nearest to C, R = whole months W
    plus or minus cut-day strips S, and X the days between M and C: |{modified >= C} x R| =
    |{modified >= M} x W| (open_deal_freshness) + sum of +-|{modified >= M} x S| (`deals`)
    +- (|X x W| (open_deal_freshness_daily) + sum of +-|X x S| (`deals`))."""
    cutoff = as_of - timedelta(days=stale_after_days)
    low = as_of if filters.closing_from is None else max(as_of, filters.closing_from)
    high = filters.closing_to
    with_undated = filters.closing_from is None and filters.closing_to is None
    if high is not None and low > high:
        return None  # the whole closing range is before D: every open deal in it is stale
    dims = filters.model_copy(update={"closing_from": None, "closing_to": None})
    shape, values = compile_filters(DEALS, scope, dims, "open")
    months, strips = _closing_cover(low, high)
    month, x_sign = _month_start(cutoff), 0
    if cutoff != month:
        if (cutoff - month).days <= (_next_month(cutoff) - cutoff).days:
            values.update(x_from=_midnight(month), x_to=_midnight(cutoff), x_day_from=month, x_day_to=cutoff)
            x_sign = -1
        else:
            month = _next_month(cutoff)
            values.update(x_from=_midnight(cutoff), x_to=_midnight(month), x_day_from=cutoff, x_day_to=month)
            x_sign = 1
    values.update(m_month=month, m_from=_midnight(month))
    for index, (first, last, _sign) in enumerate(strips):
        values[f"s{index}_first"], values[f"s{index}_last"] = first, last
    if months is not None:
        values["w_first"] = months[0]
        if months[1] is not None:
            values["w_last"] = months[1]
    layout = Layout(
        shape=shape,
        x_sign=x_sign,
        strip_signs=tuple(sign for _first, _last, sign in strips),
        months=None if months is None else (True, months[1] is not None),
        with_undated=with_undated,
    )
    return layout, values


def _counted(sign: int, *conditions: ColumnElement[bool]) -> Any:
    return select((func.count() * sign).label("n")).where(*conditions)


@lru_cache(maxsize=256)
def fresh_statement(layout: Layout) -> Select[Any]:
    """The sum of the layout's signed parts (column `n` each), with the bind names fresh_plan() fills."""
    shape = layout.shape
    deals_where = conditions(DEALS, shape)
    table_shape = replace(shape, deal_status=False)
    parts: list[Any] = []

    def param(name: str, type_: Any) -> Any:
        return bindparam(name, type_=type_)

    def cells(table: Any) -> ColumnElement[bool] | None:
        chosen = None
        if layout.months is not None:
            chosen = table.closing_month >= param("w_first", Date)
            if layout.months[1]:
                chosen = and_(chosen, table.closing_month <= param("w_last", Date))
        if layout.with_undated:
            undated = table.closing_month.is_(None)
            chosen = undated if chosen is None else or_(chosen, undated)
        return chosen

    def cell_count(table: Any, columns: Any, modified: ColumnElement[bool], sign: int = 1) -> None:
        chosen = cells(table)
        if chosen is not None:
            total = func.coalesce(func.sum(table.deal_count), 0) * sign
            parts.append(select(total.label("n")).where(conditions(columns, table_shape), modified, chosen))

    def strip(index: int) -> ColumnElement[bool]:
        return Deal.closing_date.between(param(f"s{index}_first", Date), param(f"s{index}_last", Date))

    if layout.x_sign:  # strip X: X x (whole months) from the day table, X x (cut days) from `deals`
        day = OpenDealFreshnessDaily.modified_date
        x_days = and_(day >= param("x_day_from", Date), day < param("x_day_to", Date))
        cell_count(OpenDealFreshnessDaily, FRESHNESS_DAILY, x_days, layout.x_sign)
        x_times = and_(
            Deal.modified_time >= param("x_from", UTCDateTime(timezone=True)),
            Deal.modified_time < param("x_to", UTCDateTime(timezone=True)),
        )
        for index, sign in enumerate(layout.strip_signs):
            parts.append(_counted(layout.x_sign * sign, deals_where, x_times, strip(index)))
    recent = Deal.modified_time >= param("m_from", UTCDateTime(timezone=True))
    for index, sign in enumerate(layout.strip_signs):  # strips S: modified since M, closing on cut days
        parts.append(_counted(sign, deals_where, recent, strip(index)))
    cell_count(OpenDealFreshness, FRESHNESS, OpenDealFreshness.modified_month >= param("m_month", Date))
    if not parts:
        return select(literal(0))
    counts = union_all(*parts).subquery()
    return select(func.coalesce(func.sum(counts.c.n), 0))
