"""Trend: the open pipeline at the end of each period, from the versions (docs/metrics.md 7.2).

One pass over `deal_versions`: every open, in-scope version adds its figures on the UTC day it starts and removes
them on the day it ends, so the state at the end of day D is the running sum of those per-day changes up to D.
The query returns one row per day with a change (never per deal); the running sum over days is done here.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from api.errors import ApiError
from api.filters import DealFilters
from api.queries.versions import (
    SOURCE,
    as_date,
    cents,
    closing_conditions,
    history_start,
    money_of,
    open_live,
    scope_conditions,
)
from api.schemas import Trend, TrendPoint
from api.scope import RegionScope
from pipeline_pulse.warehouse.history import VERSIONS, known_day, utc_day

Interval = Literal["day", "week", "month"]
MAX_PERIODS = 1000


def _period_end(cursor: date, interval: Interval, end: date) -> date:
    if interval == "day":
        return cursor
    if (date.max - cursor).days < 31:  # the last month or week of the calendar
        return end
    if interval == "week":
        return min(cursor + timedelta(days=6 - cursor.weekday()), end)
    next_month = (cursor.replace(day=28) + timedelta(days=4)).replace(day=1)
    return min(next_month - timedelta(days=1), end)


def periods(start: date, end: date, interval: Interval) -> list[tuple[date, date]]:
    """Calendar periods covering [start, end]: days, ISO weeks (Monday first) or months, clipped to the range."""
    result: list[tuple[date, date]] = []
    cursor = start
    while True:
        period_end = _period_end(cursor, interval, end)
        result.append((cursor, period_end))
        if len(result) > MAX_PERIODS:
            raise ApiError(400, "bad_request", f"too many periods (> {MAX_PERIODS}); use a longer interval")
        if period_end >= end:
            return result
        cursor = period_end + timedelta(days=1)


def _daily_changes(scope: RegionScope, filters: DealFilters, dialect: str) -> Any:
    v = VERSIONS
    conditions = [open_live(v), scope_conditions(v, scope, filters), closing_conditions(v, filters)]
    amount, weighted = cents(v.c.amount_home, dialect), cents(v.c.weighted_amount_home, dialect)
    starts = select(
        utc_day(v.c.valid_from, dialect).label("day"),
        literal(1).label("deals"),
        amount.label("amount"),
        weighted.label("weighted"),
    ).where(*conditions)
    ends = select(utc_day(v.c.valid_to, dialect), literal(-1), -amount, -weighted).where(
        *conditions, v.c.valid_to.is_not(None)
    )
    changes = union_all(starts, ends).subquery()
    return select(
        changes.c.day, func.sum(changes.c.deals), func.sum(changes.c.amount), func.sum(changes.c.weighted)
    ).group_by(changes.c.day)


async def trend(
    connection: AsyncConnection,
    scope: RegionScope,
    filters: DealFilters,
    start: date,
    end: date,
    interval: Interval,
    today: date,
) -> Trend:
    if start > end:
        raise ApiError(400, "bad_request", "from must not be after to")
    buckets = periods(start, end, interval)
    dialect = connection.dialect.name
    began = await history_start(connection)
    rows = sorted(
        (
            (as_date(day), int(deals or 0), amount, weighted)
            for day, deals, amount, weighted in await connection.execute(_daily_changes(scope, filters, dialect))
        ),
        key=lambda row: row[0],
    )
    # Running totals as of each day with a change: exact (Decimal on Postgres, integer cents on SQLite).
    running: list[tuple[date, int, Any, Any]] = []
    deals_total, amount_total, weighted_total = 0, 0, 0
    for day, deals, amount, weighted in rows:
        deals_total += deals
        amount_total += amount or 0
        weighted_total += weighted or 0
        running.append((day, deals_total, amount_total, weighted_total))
    points: list[TrendPoint] = []
    position = 0
    latest: tuple[int, Any, Any] = (0, 0, 0)
    current = (deals_total, amount_total, weighted_total)
    for period_start, period_end in buckets:
        if period_start > today:
            points.append(TrendPoint.unknown(period_start, period_end, "future"))
            continue
        if period_end >= today:
            values, as_of, state = current, today, "current"
        elif not known_day(period_end, began):
            points.append(TrendPoint.unknown(period_start, period_end, "unknown"))
            continue
        else:
            while position < len(running) and running[position][0] <= period_end:
                latest = running[position][1:]
                position += 1
            values, as_of, state = latest, period_end, "end_of_day"
        points.append(
            TrendPoint(
                period_start=period_start,
                period_end=period_end,
                state=state,  # type: ignore[arg-type]
                as_of_day=as_of,
                open_deal_count=int(values[0]),
                open_pipeline=money_of(values[1], dialect),
                weighted_pipeline=money_of(values[2], dialect),
            )
        )
    return Trend(source=SOURCE, interval=interval, items=points)
