"""Where aggregates come from: the metrics mart when it can answer exactly, else the indexed `deals` table.

The mart (`pipeline_metrics`) holds live deals grouped by region, pipeline, stage, owner, status and closing
month, so it answers any combination of region / owner / pipeline / stage / status filters, and closing-date
ranges made of whole months. Any other closing range goes to `deals` (indexes on closing_date, region,
deal_status). Both sources expose the same measures, so the query code is written once.

Building a SQLAlchemy statement costs more Python time than running it on the mart, so the hot queries are
built once per *shape* (which filters are present, whether the scope is all regions) with named bind
parameters, and executed with `params(...)`: the statement object, its cache key and its compiled form are
reused. `where()` (literal values) remains for one-off queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, FromClause, and_, bindparam, func
from sqlalchemy.orm import InstrumentedAttribute

from api.filters import DealFilters
from api.scope import RegionScope
from pipeline_pulse.models import Deal, PipelineMetric
from pipeline_pulse.warehouse.metrics_mart import cycle_days_expr


@dataclass(frozen=True, slots=True)
class Shape:
    """Which conditions a filtered query has; with the source and dialect it identifies one cached statement."""

    all_regions: bool
    owner_id: bool
    pipeline: bool
    stage: bool
    closing_from: bool
    closing_to: bool
    deal_status: bool


def _month_start(day: date) -> date:
    return day.replace(day=1)


@dataclass(frozen=True, eq=False)  # identity equality: one instance per source, a key of statement caches
class FactSource:
    name: str  # "mart" or "deals", reported in responses so callers (and tests) see which path answered
    table: FromClause
    region: InstrumentedAttribute[str]
    pipeline: InstrumentedAttribute[str | None]
    stage: InstrumentedAttribute[str]
    owner_id: InstrumentedAttribute[int | None]
    deal_status: InstrumentedAttribute[str]
    closing: InstrumentedAttribute[date | None]  # the mart's closing_month, or the deal's closing_date
    deal_count: ColumnElement[int]
    amount: ColumnElement[object]
    weighted: ColumnElement[object]
    cycle_days_sum: ColumnElement[object]
    cycle_deal_count: ColumnElement[object]
    base_conditions: tuple[ColumnElement[bool], ...]

    def _closing_value(self, day: date) -> date:
        return _month_start(day) if self.name == "mart" else day

    def where(self, scope: RegionScope, filters: DealFilters, deal_status: str | None = None) -> ColumnElement[bool]:
        """The conditions with literal values, for queries built per request."""
        conditions = [*self.base_conditions, scope.clause(self.region)]
        if filters.closing_from is not None:
            conditions.append(self.closing >= self._closing_value(filters.closing_from))
        if filters.closing_to is not None:
            conditions.append(self.closing <= self._closing_value(filters.closing_to))
        if filters.owner_id is not None:
            conditions.append(self.owner_id == filters.owner_id)
        if filters.pipeline is not None:
            conditions.append(self.pipeline == filters.pipeline)
        if filters.stage is not None:
            conditions.append(self.stage == filters.stage)
        if deal_status is not None and deal_status != "all":
            conditions.append(self.deal_status == deal_status)
        return and_(*conditions)

    def bound(
        self, scope: RegionScope, filters: DealFilters, deal_status: str | None = None
    ) -> tuple[Shape, dict[str, Any]]:
        """The shape of `where(scope, filters, deal_status)` and the values for `bound_where(shape)`."""
        status = deal_status is not None and deal_status != "all"
        shape = Shape(
            all_regions=scope.is_all,
            owner_id=filters.owner_id is not None,
            pipeline=filters.pipeline is not None,
            stage=filters.stage is not None,
            closing_from=filters.closing_from is not None,
            closing_to=filters.closing_to is not None,
            deal_status=status,
        )
        params: dict[str, Any] = scope.bind_params()
        if filters.closing_from is not None:
            params["f_closing_from"] = self._closing_value(filters.closing_from)
        if filters.closing_to is not None:
            params["f_closing_to"] = self._closing_value(filters.closing_to)
        if filters.owner_id is not None:
            params["f_owner_id"] = filters.owner_id
        if filters.pipeline is not None:
            params["f_pipeline"] = filters.pipeline
        if filters.stage is not None:
            params["f_stage"] = filters.stage
        if status:
            params["f_deal_status"] = deal_status
        return shape, params

    def bound_where(self, shape: Shape) -> ColumnElement[bool]:
        """The same conditions as `where`, with named bind parameters (values from `bound`)."""
        conditions = [*self.base_conditions, RegionScope.bound_clause(self.region, all_regions=shape.all_regions)]
        if shape.closing_from:
            conditions.append(self.closing >= bindparam("f_closing_from"))
        if shape.closing_to:
            conditions.append(self.closing <= bindparam("f_closing_to"))
        if shape.owner_id:
            conditions.append(self.owner_id == bindparam("f_owner_id"))
        if shape.pipeline:
            conditions.append(self.pipeline == bindparam("f_pipeline"))
        if shape.stage:
            conditions.append(self.stage == bindparam("f_stage"))
        if shape.deal_status:
            conditions.append(self.deal_status == bindparam("f_deal_status"))
        return and_(*conditions)


@cache
def mart_source() -> FactSource:
    return FactSource(
        name="mart",
        table=PipelineMetric.__table__,
        region=PipelineMetric.region,
        pipeline=PipelineMetric.pipeline,
        stage=PipelineMetric.stage,
        owner_id=PipelineMetric.owner_id,
        deal_status=PipelineMetric.deal_status,
        closing=PipelineMetric.closing_month,
        deal_count=func.coalesce(func.sum(PipelineMetric.deal_count), 0),
        amount=func.coalesce(func.sum(PipelineMetric.amount_home), 0),
        weighted=func.coalesce(func.sum(PipelineMetric.weighted_amount_home), 0),
        cycle_days_sum=func.coalesce(func.sum(PipelineMetric.cycle_days_sum), 0),
        cycle_deal_count=func.coalesce(func.sum(PipelineMetric.cycle_deal_count), 0),
        base_conditions=(),
    )


@cache
def deals_source(dialect_name: str) -> FactSource:
    cycle = cycle_days_expr(dialect_name)
    return FactSource(
        name="deals",
        table=Deal.__table__,
        region=Deal.region,
        pipeline=Deal.pipeline,
        stage=Deal.stage,
        owner_id=Deal.owner_id,
        deal_status=Deal.deal_status,
        closing=Deal.closing_date,
        deal_count=func.count(),
        amount=func.coalesce(func.sum(Deal.amount_home), 0),
        weighted=func.coalesce(func.sum(Deal.weighted_amount_home), 0),
        cycle_days_sum=func.coalesce(func.sum(cycle), 0),
        cycle_deal_count=func.count(cycle),
        base_conditions=(Deal.deleted_at.is_(None),),
    )


def choose_source(filters: DealFilters, dialect_name: str) -> FactSource:
    return mart_source() if filters.month_aligned else deals_source(dialect_name)
