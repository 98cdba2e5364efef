"""Where aggregates come from: the metrics mart for whole closing months, the day-grain mart (or, when an
owner is asked for, the indexed `deals` table) for the days of a partial month at either end of a closing range.

The mart (`pipeline_metrics`) holds live deals grouped by region, pipeline, stage, owner, status and closing
month, so it answers any combination of region / owner / pipeline / stage / status filters, and closing-date
ranges made of whole months. A range that cuts a month at either end takes each cut month from the smaller
side of its cut: 2026-02-10..2026-06-20 is 02-10..02-28 (days, added), 03-01..06-30 (mart) and 06-21..06-30
(days, subtracted). The measures are sums, so the signed parts add up exactly. The days come from
`pipeline_metrics_daily` (live deals by region, pipeline, stage, status and closing day: tens of rows a day,
however many deals), unless the answer needs the owner (an owner filter or the by-owner breakdown): then from
`deals`, the days inside the range only (see plan()), bounded by one owner's deals
(ix_deals_live_owner_closing_date) or by the scope's deals of those days (ix_deals_live_status_region_closing_date,
index-only on Postgres, over all statuses too: `DEALS_FACTS`). All sources expose the same
measures, so the query code is written once; their conditions come from the one compiler
(api/queries/conditions.py).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, FromClause, func

from api.filters import DealFilters
from api.queries.conditions import (
    DEALS_FACTS,
    MART,
    MART_DAILY,
    FilterColumns,
    Shape,
    StatusArg,
    compile_filters,
    conditions,
)
from api.scope import RegionScope
from pipeline_pulse.models import Deal, PipelineMetric, PipelineMetricDaily
from pipeline_pulse.warehouse.metrics_mart import cycle_days_expr


@dataclass(frozen=True, eq=False)  # identity equality: one instance per source, a key of statement caches
class FactSource:
    name: str  # "mart", "mart_daily" or "deals", reported in responses so callers (and tests) see which path answered
    table: FromClause
    columns: FilterColumns
    deal_count: ColumnElement[int]
    amount: ColumnElement[object]
    weighted: ColumnElement[object]
    cycle_days_sum: ColumnElement[object]
    cycle_deal_count: ColumnElement[object]


@cache
def mart_source() -> FactSource:
    return FactSource(
        name="mart",
        table=PipelineMetric.__table__,
        columns=MART,
        deal_count=func.coalesce(func.sum(PipelineMetric.deal_count), 0),
        amount=func.coalesce(func.sum(PipelineMetric.amount_home), 0),
        weighted=func.coalesce(func.sum(PipelineMetric.weighted_amount_home), 0),
        cycle_days_sum=func.coalesce(func.sum(PipelineMetric.cycle_days_sum), 0),
        cycle_deal_count=func.coalesce(func.sum(PipelineMetric.cycle_deal_count), 0),
    )


@cache
def daily_source() -> FactSource:
    return FactSource(
        name="mart_daily",
        table=PipelineMetricDaily.__table__,
        columns=MART_DAILY,
        deal_count=func.coalesce(func.sum(PipelineMetricDaily.deal_count), 0),
        amount=func.coalesce(func.sum(PipelineMetricDaily.amount_home), 0),
        weighted=func.coalesce(func.sum(PipelineMetricDaily.weighted_amount_home), 0),
        cycle_days_sum=func.coalesce(func.sum(PipelineMetricDaily.cycle_days_sum), 0),
        cycle_deal_count=func.coalesce(func.sum(PipelineMetricDaily.cycle_deal_count), 0),
    )


@cache
def deals_source(dialect_name: str) -> FactSource:
    cycle = cycle_days_expr(dialect_name)
    return FactSource(
        name="deals",
        table=Deal.__table__,
        columns=DEALS_FACTS,
        deal_count=func.count(),
        amount=func.coalesce(func.sum(Deal.amount_home), 0),
        weighted=func.coalesce(func.sum(Deal.weighted_amount_home), 0),
        cycle_days_sum=func.coalesce(func.sum(cycle), 0),
        cycle_deal_count=func.count(cycle),
    )


@dataclass(frozen=True, slots=True)
class PartShape:
    """One part of a plan, as far as statement caching cares: its source, condition shape and bind prefix.
    `subtracted`: its measures count negatively (days of a whole month that lie outside the closing range)."""

    source: FactSource
    shape: Shape
    prefix: str
    subtracted: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    """The parts whose sums answer a filtered aggregate, with the bind values of all of them."""

    parts: tuple[PartShape, ...]
    values: dict[str, Any]

    @property
    def name(self) -> str:
        """The tables that answered, joined by '+' in SOURCE_ORDER (docs/metrics.md section 4)."""
        names = {part.source.name for part in self.parts}
        return "+".join(name for name in SOURCE_ORDER if name in names)

    @property
    def key(self) -> tuple[PartShape, ...]:
        return self.parts


SOURCE_ORDER = ("mart", "mart_daily", "deals")


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _closing_parts(filters: DealFilters, subtract: bool) -> list[tuple[str, date | None, date | None, bool]]:
    """(source name, closing_from, closing_to, subtracted) pieces whose signed sum is exactly the filter's closing
    range; "days" pieces are answered at day grain (plan() picks the table). With `subtract`, a cut month at
    either end is answered from whichever side of the cut has fewer days: the days inside the range, added, or
    the whole month from the mart minus the days outside it (day pieces at most about half a month each);
    without, from the days inside the range."""
    start, end = filters.closing_from, filters.closing_to
    if filters.month_aligned:
        return [("mart", start, end, False)]
    if start is not None and end is not None and (start.year, start.month) == (end.year, end.month):
        return [("days", start, end, False)]  # inside one month: its days are the whole range
    parts: list[tuple[str, date | None, date | None, bool]] = []
    middle_start, middle_end = start, end
    if start is not None and start.day != 1:
        first = start.replace(day=1)
        if subtract and (start - first).days < (_month_end(start) - start).days + 1:  # fewer days before
            parts.append(("days", first, start - timedelta(days=1), True))
            middle_start = first
        else:
            parts.append(("days", start, _month_end(start), False))
            middle_start = _month_end(start) + timedelta(days=1)
    if end is not None and end != _month_end(end):
        last = _month_end(end)
        if subtract and (last - end).days < end.day:  # fewer days after the cut
            parts.append(("days", end + timedelta(days=1), last, True))
            middle_end = last
        else:
            parts.append(("days", end.replace(day=1), end, False))
            middle_end = end.replace(day=1) - timedelta(days=1)
    if middle_start is None or middle_end is None or middle_start <= middle_end:
        parts.insert(0, ("mart", middle_start, middle_end, False))  # first: its column types lead the UNION
    return parts


def plan(
    dialect_name: str,
    scope: RegionScope,
    filters: DealFilters,
    deal_status: StatusArg = None,
    *,
    needs_owner: bool = False,
) -> Plan:
    """The parts answering `filters`; `needs_owner`: the answer is grouped by owner (the day-grain mart has no
    owner, so the days then come from `deals`, as they do for an owner filter)."""
    days = deals_source(dialect_name) if needs_owner or filters.owner_id is not None else daily_source()
    parts: list[PartShape] = []
    values: dict[str, Any] = {}
    # Subtract only the day mart's days: it is written in the same transaction as the mart, so a month minus
    # its days is exact at every instant. `deals` runs ahead of the mart between a sync's deals load and its
    # mart build: subtracting its days could make a figure negative; adding them can at worst miss a deal.
    subtract = days is daily_source()
    for index, (name, start, end, subtracted) in enumerate(_closing_parts(filters, subtract)):
        source = mart_source() if name == "mart" else days
        prefix = f"p{index}_"
        piece = filters.model_copy(update={"closing_from": start, "closing_to": end})
        shape, piece_values = compile_filters(source.columns, scope, piece, deal_status, prefix)
        parts.append(PartShape(source, shape, prefix, subtracted))
        values.update(piece_values)
    return Plan(tuple(parts), values)


def part_conditions(part: PartShape) -> ColumnElement[bool]:
    return conditions(part.source.columns, part.shape, prefix=part.prefix)
