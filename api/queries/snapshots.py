"""Trend and movement from the daily `deal_snapshots`."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from sqlalchemy import and_, case, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from api.errors import ApiError
from api.filters import DealFilters
from api.queries.conditions import SNAPSHOTS, where
from api.queries.metrics import money
from api.schemas import Movement, TrendPoint
from api.scope import RegionScope
from pipeline_pulse.models import DealSnapshot

Interval = Literal["day", "week", "month"]
MAX_PERIODS = 1000


def periods(start: date, end: date, interval: Interval) -> list[tuple[date, date]]:
    """Calendar periods covering [start, end]: days, ISO weeks (Monday first) or months, clipped to the range."""
    result: list[tuple[date, date]] = []
    cursor = start
    while cursor <= end:
        if interval == "day":
            period_end = cursor
        elif interval == "week":
            period_end = cursor + timedelta(days=6 - cursor.weekday())
        else:
            next_month = (cursor.replace(day=28) + timedelta(days=4)).replace(day=1)
            period_end = next_month - timedelta(days=1)
        period_end = min(period_end, end)
        result.append((cursor, period_end))
        cursor = period_end + timedelta(days=1)
        if len(result) > MAX_PERIODS:
            raise ApiError(400, "bad_request", f"too many periods (> {MAX_PERIODS}); use a longer interval")
    return result


async def trend(
    connection: AsyncConnection,
    scope: RegionScope,
    filters: DealFilters,
    start: date,
    end: date,
    interval: Interval,
) -> list[TrendPoint]:
    """Open and weighted pipeline at each period's end: the latest snapshot taken inside the period."""
    if start > end:
        raise ApiError(400, "bad_request", "from must not be after to")
    buckets = periods(start, end, interval)
    # Snapshot days are not region data; read them unfiltered so a day with no in-scope deal shows zero.
    days = (
        await connection.execute(
            select(DealSnapshot.snapshot_date)
            .where(DealSnapshot.snapshot_date.between(start, end))
            .group_by(DealSnapshot.snapshot_date)
        )
    ).scalars()
    snapshot_days = sorted(days)
    totals = {
        row.snapshot_date: row
        for row in await connection.execute(
            select(
                DealSnapshot.snapshot_date,
                func.count().label("deal_count"),
                func.coalesce(func.sum(DealSnapshot.amount_home), 0).label("amount"),
                func.coalesce(func.sum(DealSnapshot.weighted_amount_home), 0).label("weighted"),
            )
            .where(
                DealSnapshot.snapshot_date.between(start, end),
                where(SNAPSHOTS, scope, filters, "open"),
            )
            .group_by(DealSnapshot.snapshot_date)
        )
    }
    points = []
    for period_start, period_end in buckets:
        inside = [day for day in snapshot_days if period_start <= day <= period_end]
        if not inside:
            points.append(
                TrendPoint(
                    period_start=period_start,
                    period_end=period_end,
                    snapshot_date=None,
                    open_deal_count=None,
                    open_pipeline=None,
                    weighted_pipeline=None,
                )
            )
            continue
        day = inside[-1]
        row = totals.get(day)
        points.append(
            TrendPoint(
                period_start=period_start,
                period_end=period_end,
                snapshot_date=day,
                open_deal_count=int(row.deal_count) if row else 0,
                open_pipeline=money(row.amount if row else 0),
                weighted_pipeline=money(row.weighted if row else 0),
            )
        )
    return points


async def _has_snapshot(connection: AsyncConnection, day: date) -> bool:
    query = select(DealSnapshot.deal_id).where(DealSnapshot.snapshot_date == day).limit(1)
    return (await connection.execute(query)).first() is not None


async def movement(
    connection: AsyncConnection, scope: RegionScope, filters: DealFilters, start: date, end: date
) -> Movement:
    """Bridge from the open pipeline at `start` to the one at `end`, one deal at a time, in SQL.

    Each deal in the (filtered, in-scope) `start` or `end` snapshot falls in exactly one case:
    open at both → increased or decreased by (end - start amount); open only at end → new (end amount);
    open at start and won / lost at end → won / lost (start amount); open at start and missing from the end
    snapshot or not open and not closed there → removed (start amount). Summing gives
    start + new + increased - decreased - won - lost - removed = end exactly.
    """
    if start > end:
        raise ApiError(400, "bad_request", "from must not be after to")
    for day in (start, end):
        if not await _has_snapshot(connection, day):
            raise ApiError(404, "not_found", f"no snapshot on {day.isoformat()}")
    conditions = where(SNAPSHOTS, scope, filters)
    amount = func.coalesce(DealSnapshot.amount_home, 0)
    zero = literal(0)
    at_start = select(
        DealSnapshot.deal_id.label("deal_id"),
        amount.label("start_amount"),
        zero.label("end_amount"),
        literal(1).label("open_start"),
        zero.label("open_end"),
        zero.label("won_end"),
        zero.label("lost_end"),
    ).where(DealSnapshot.snapshot_date == start, DealSnapshot.deal_status == "open", conditions)
    at_end = select(
        DealSnapshot.deal_id,
        zero,
        case((DealSnapshot.deal_status == "open", amount), else_=0),
        zero,
        case((DealSnapshot.deal_status == "open", 1), else_=0),
        case((DealSnapshot.deal_status == "won", 1), else_=0),
        case((DealSnapshot.deal_status == "lost", 1), else_=0),
    ).where(DealSnapshot.snapshot_date == end, conditions)
    both = union_all(at_start, at_end).subquery()
    per_deal = (
        select(
            func.sum(both.c.start_amount).label("s"),
            func.sum(both.c.end_amount).label("e"),
            func.max(both.c.open_start).label("os"),
            func.max(both.c.open_end).label("oe"),
            func.max(both.c.won_end).label("w"),
            func.max(both.c.lost_end).label("l"),
        )
        .group_by(both.c.deal_id)
        .subquery()
    )
    open_both = and_(per_deal.c.os == 1, per_deal.c.oe == 1)
    left_open = and_(per_deal.c.os == 1, per_deal.c.oe == 0)

    def total(condition, value):  # type: ignore[no-untyped-def]
        return func.coalesce(func.sum(case((condition, value), else_=0)), 0)

    row = (
        await connection.execute(
            select(
                total(per_deal.c.os == 1, per_deal.c.s),
                total(and_(per_deal.c.os == 0, per_deal.c.oe == 1), per_deal.c.e),
                total(and_(open_both, per_deal.c.e > per_deal.c.s), per_deal.c.e - per_deal.c.s),
                total(and_(open_both, per_deal.c.e < per_deal.c.s), per_deal.c.s - per_deal.c.e),
                total(and_(left_open, per_deal.c.w == 1), per_deal.c.s),
                total(and_(left_open, per_deal.c.l == 1), per_deal.c.s),
                total(and_(left_open, per_deal.c.w == 0, per_deal.c.l == 0), per_deal.c.s),
                total(per_deal.c.oe == 1, per_deal.c.e),
            )
        )
    ).one()
    start_v, new_v, inc_v, dec_v, won_v, lost_v, removed_v, end_v = (money(value) for value in row)
    return Movement(
        from_date=start,
        to_date=end,
        start=start_v,
        new=new_v,
        increased=inc_v,
        decreased=dec_v,
        won=won_v,
        lost=lost_v,
        removed=removed_v,
        end=end_v,
    )
