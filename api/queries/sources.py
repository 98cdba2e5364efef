"""Where aggregates come from: the metrics mart when it can answer exactly, else the indexed `deals` table.

The mart (`pipeline_metrics`) holds live deals grouped by region, pipeline, stage, owner, status and closing
month, so it answers any combination of region / owner / pipeline / stage / status filters, and closing-date
ranges made of whole months. Any other closing range goes to `deals`. Both sources expose the same measures,
so the query code is written once; their conditions come from the one compiler (api/queries/conditions.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, FromClause, func

from api.filters import DealFilters
from api.queries.conditions import DEALS, MART, FilterColumns, Shape, StatusArg, compile_filters, conditions
from api.scope import RegionScope
from pipeline_pulse.models import Deal, PipelineMetric
from pipeline_pulse.warehouse.metrics_mart import cycle_days_expr


@dataclass(frozen=True, eq=False)  # identity equality: one instance per source, a key of statement caches
class FactSource:
    name: str  # "mart" or "deals", reported in responses so callers (and tests) see which path answered
    table: FromClause
    columns: FilterColumns
    deal_count: ColumnElement[int]
    amount: ColumnElement[object]
    weighted: ColumnElement[object]
    cycle_days_sum: ColumnElement[object]
    cycle_deal_count: ColumnElement[object]

    def bound(
        self, scope: RegionScope, filters: DealFilters, deal_status: StatusArg = None
    ) -> tuple[Shape, dict[str, Any]]:
        return compile_filters(self.columns, scope, filters, deal_status)

    def bound_where(self, shape: Shape) -> ColumnElement[bool]:
        return conditions(self.columns, shape)


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
def deals_source(dialect_name: str) -> FactSource:
    cycle = cycle_days_expr(dialect_name)
    return FactSource(
        name="deals",
        table=Deal.__table__,
        columns=DEALS,
        deal_count=func.count(),
        amount=func.coalesce(func.sum(Deal.amount_home), 0),
        weighted=func.coalesce(func.sum(Deal.weighted_amount_home), 0),
        cycle_days_sum=func.coalesce(func.sum(cycle), 0),
        cycle_deal_count=func.count(cycle),
    )


def choose_source(filters: DealFilters, dialect_name: str) -> FactSource:
    return mart_source() if filters.month_aligned else deals_source(dialect_name)
