"""Where aggregates come from: the metrics mart when it can answer exactly, else the indexed `deals` table.

The mart (`pipeline_metrics`) holds live deals grouped by region, pipeline, stage, owner, status and closing
month, so it answers any combination of region / owner / pipeline / stage / status filters, and closing-date
ranges made of whole months. Any other closing range goes to `deals` (indexes on closing_date, region,
deal_status). Both sources expose the same measures, so the query code is written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, FromClause, and_, func
from sqlalchemy.orm import InstrumentedAttribute

from api.filters import DealFilters
from api.scope import RegionScope
from pipeline_pulse.models import Deal, PipelineMetric
from pipeline_pulse.warehouse.metrics_mart import cycle_days_expr


@dataclass(frozen=True)
class FactSource:
    name: str  # "mart" or "deals", reported in responses so callers (and tests) see which path answered
    table: FromClause
    region: InstrumentedAttribute[str]
    pipeline: InstrumentedAttribute[str | None]
    stage: InstrumentedAttribute[str]
    owner_id: InstrumentedAttribute[int | None]
    deal_status: InstrumentedAttribute[str]
    deal_count: ColumnElement[int]
    amount: ColumnElement[object]
    weighted: ColumnElement[object]
    cycle_days_sum: ColumnElement[object]
    cycle_deal_count: ColumnElement[object]
    base_conditions: tuple[ColumnElement[bool], ...]
    closing_conditions: tuple[ColumnElement[bool], ...]

    def where(self, scope: RegionScope, filters: DealFilters, deal_status: str | None = None) -> ColumnElement[bool]:
        conditions = [*self.base_conditions, scope.clause(self.region), *self.closing_conditions]
        if filters.owner_id is not None:
            conditions.append(self.owner_id == filters.owner_id)
        if filters.pipeline is not None:
            conditions.append(self.pipeline == filters.pipeline)
        if filters.stage is not None:
            conditions.append(self.stage == filters.stage)
        if deal_status is not None and deal_status != "all":
            conditions.append(self.deal_status == deal_status)
        return and_(*conditions)


def _month_start(day: date) -> date:
    return day.replace(day=1)


def mart_source(filters: DealFilters) -> FactSource:
    closing: list[ColumnElement[bool]] = []
    if filters.closing_from is not None:
        closing.append(PipelineMetric.closing_month >= _month_start(filters.closing_from))
    if filters.closing_to is not None:
        closing.append(PipelineMetric.closing_month <= _month_start(filters.closing_to))
    return FactSource(
        name="mart",
        table=PipelineMetric.__table__,
        region=PipelineMetric.region,
        pipeline=PipelineMetric.pipeline,
        stage=PipelineMetric.stage,
        owner_id=PipelineMetric.owner_id,
        deal_status=PipelineMetric.deal_status,
        deal_count=func.coalesce(func.sum(PipelineMetric.deal_count), 0),
        amount=func.coalesce(func.sum(PipelineMetric.amount_home), 0),
        weighted=func.coalesce(func.sum(PipelineMetric.weighted_amount_home), 0),
        cycle_days_sum=func.coalesce(func.sum(PipelineMetric.cycle_days_sum), 0),
        cycle_deal_count=func.coalesce(func.sum(PipelineMetric.cycle_deal_count), 0),
        base_conditions=(),
        closing_conditions=tuple(closing),
    )


def deals_source(filters: DealFilters, dialect_name: str) -> FactSource:
    closing: list[ColumnElement[bool]] = []
    if filters.closing_from is not None:
        closing.append(Deal.closing_date >= filters.closing_from)
    if filters.closing_to is not None:
        closing.append(Deal.closing_date <= filters.closing_to)
    cycle = cycle_days_expr(dialect_name)
    return FactSource(
        name="deals",
        table=Deal.__table__,
        region=Deal.region,
        pipeline=Deal.pipeline,
        stage=Deal.stage,
        owner_id=Deal.owner_id,
        deal_status=Deal.deal_status,
        deal_count=func.count(),
        amount=func.coalesce(func.sum(Deal.amount_home), 0),
        weighted=func.coalesce(func.sum(Deal.weighted_amount_home), 0),
        cycle_days_sum=func.coalesce(func.sum(cycle), 0),
        cycle_deal_count=func.count(cycle),
        base_conditions=(Deal.deleted_at.is_(None),),
        closing_conditions=tuple(closing),
    )


def choose_source(filters: DealFilters, dialect_name: str) -> FactSource:
    return mart_source(filters) if filters.month_aligned else deals_source(filters, dialect_name)
