"""The one compiler from (RegionScope, DealFilters, deal status) to SQL conditions, for every table that holds
deal facts: the metrics mart, `deals`, `deal_snapshots` (and any table mapped by a `FilterColumns`).

Building a SQLAlchemy statement costs more Python time than running it on the mart, so hot statements are
built once per *shape* (which conditions are present, whether the scope is all regions) with named bind
parameters, then executed with the values: `compile_filters()` gives both, `conditions()` the bound clause of
a shape (cache statements on `(columns, shape)`). `where()` is the same clause with the values attached, for
statements built per request. Bind names are `<prefix><filter>` (prefix `f_` by default) and `scope_regions`: parts of one statement with
different filter values take different prefixes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam

from api.filters import DealFilters
from api.scope import SCOPE_PARAM, RegionScope
from pipeline_pulse.models import (
    DEAL_STATUSES,
    Deal,
    DealSnapshot,
    OpenDealFreshness,
    OpenDealFreshnessDaily,
    PipelineMetric,
    PipelineMetricDaily,
    SalesTarget,
)

StatusArg = str | None  # "open" / "won" / "lost"; None or "all" for no status condition


@dataclass(frozen=True, eq=False)  # identity equality: one instance per table, a key of statement caches
class FilterColumns:
    """Where one table keeps the filtered facts. `closing_is_month`: `closing` holds the first day of the
    closing month (the mart), so only whole-month ranges can be answered from it (`DealFilters.month_aligned`).
    `every_status`: with no status filter the condition names every status (a tautology under the table's
    CHECK), so an index led by status, then region, reads only the scope's regions over all statuses."""

    name: str
    region: Any
    owner_id: Any
    pipeline: Any
    stage: Any
    deal_status: Any
    closing: Any
    closing_is_month: bool = False
    base: tuple[ColumnElement[bool], ...] = ()
    every_status: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Shape:
    """Which conditions a filtered query has; with its FilterColumns it identifies one cached statement."""

    all_regions: bool
    owner_id: bool
    pipeline: bool
    stage: bool
    closing_from: bool
    closing_to: bool
    deal_status: bool


def _has_status(deal_status: StatusArg) -> bool:
    return deal_status is not None and deal_status != "all"


def _closing_value(columns: FilterColumns, day: date) -> date:
    return day.replace(day=1) if columns.closing_is_month else day


def compile_filters(
    columns: FilterColumns,
    scope: RegionScope,
    filters: DealFilters,
    deal_status: StatusArg = None,
    prefix: str = "f_",
) -> tuple[Shape, dict[str, Any]]:
    """The shape of the conditions and the bind values that `conditions(columns, shape)` needs. `prefix` names
    the filter's bind parameters: one statement combining differently filtered parts gives each its own."""
    if columns.closing_is_month and not filters.month_aligned:
        raise ValueError(f"{columns.name} holds closing months; a partial-month range needs another table")
    if columns.owner_id is None and filters.owner_id is not None:
        raise ValueError(f"{columns.name} has no owner; an owner filter needs another table")
    shape = Shape(
        all_regions=scope.is_all,
        owner_id=filters.owner_id is not None,
        pipeline=filters.pipeline is not None,
        stage=filters.stage is not None,
        closing_from=filters.closing_from is not None,
        closing_to=filters.closing_to is not None,
        deal_status=_has_status(deal_status),
    )
    values: dict[str, Any] = scope.bind_params()
    if filters.closing_from is not None:
        values[prefix + "closing_from"] = _closing_value(columns, filters.closing_from)
    if filters.closing_to is not None:
        values[prefix + "closing_to"] = _closing_value(columns, filters.closing_to)
    if filters.owner_id is not None:
        values[prefix + "owner_id"] = filters.owner_id
    if filters.pipeline is not None:
        values[prefix + "pipeline"] = filters.pipeline
    if filters.stage is not None:
        values[prefix + "stage"] = filters.stage
    if shape.deal_status:
        values[prefix + "deal_status"] = deal_status
    return shape, values


def conditions(
    columns: FilterColumns,
    shape: Shape,
    values: dict[str, Any] | None = None,
    prefix: str = "f_",
    *,
    literal_categories: bool = False,
) -> ColumnElement[bool]:
    """The WHERE clause of a shape, with named bind parameters: values supplied at execution (from
    `compile_filters`) or, given `values`, attached now. A restricted scope's clause cannot execute without
    the scope's regions (missing bind parameter error).

    `literal_categories`: the closed-set filters (scope regions, pipeline, stage, status) are written into the
    SQL text at execution, so Postgres plans each combination with its own values and the column statistics
    of `deals` (migration 0021). As bind parameters, a prepared statement reused past five executions gets a
    generic plan costed for an average value: a combination with no deal in scope (stage=Closed Won for a
    region with only open deals) then walks a sort index past every deal (1-3 s at 1M). The values are
    validated members of closed sets, quoted by the dialect. Each new combination is one more prepared
    statement (planned once, ~1 ms; asyncpg keeps the last 100 per connection)."""

    def param(field: str, category: bool = False) -> Any:
        name = prefix + field
        literal = category and literal_categories
        if values is None:
            return bindparam(name, literal_execute=literal)
        return bindparam(name, values[name], literal_execute=literal)

    scope_regions = None if values is None or shape.all_regions else values[SCOPE_PARAM]
    clauses = [
        *columns.base,
        RegionScope.bound_clause(
            columns.region, all_regions=shape.all_regions, regions=scope_regions, literal=literal_categories
        ),
    ]
    if shape.closing_from:
        clauses.append(columns.closing >= param("closing_from"))
    if shape.closing_to:
        clauses.append(columns.closing <= param("closing_to"))
    if shape.owner_id:
        clauses.append(columns.owner_id == param("owner_id"))
    if shape.pipeline:
        clauses.append(columns.pipeline == param("pipeline", category=True))
    if shape.stage:
        clauses.append(columns.stage == param("stage", category=True))
    if shape.deal_status:
        clauses.append(columns.deal_status == param("deal_status", category=True))
    elif columns.every_status:
        every = bindparam(prefix + "every_status", list(columns.every_status), expanding=True, literal_execute=True)
        clauses.append(columns.deal_status.in_(every))
    return and_(*clauses)


def where(
    columns: FilterColumns,
    scope: RegionScope,
    filters: DealFilters,
    deal_status: StatusArg = None,
    prefix: str = "f_",
) -> ColumnElement[bool]:
    """`conditions` with the values attached, for a statement built per request."""
    shape, values = compile_filters(columns, scope, filters, deal_status, prefix)
    return conditions(columns, shape, values, prefix)


DEALS = FilterColumns(
    name="deals",
    region=Deal.region,
    owner_id=Deal.owner_id,
    pipeline=Deal.pipeline,
    stage=Deal.stage,
    deal_status=Deal.deal_status,
    closing=Deal.closing_date,
    base=(Deal.deleted_at.is_(None),),
)
# Aggregates over `deals` (the cut days of by-owner figures and owner filters, api/queries/sources.py): over all
# statuses they read ix_deals_live_status_region_closing_date for the scope's regions only, not every region's
# deals from the closing-date index (2.6x fewer entries for two of five regions).
DEALS_FACTS = replace(DEALS, every_status=DEAL_STATUSES)
MART = FilterColumns(
    name="mart",
    region=PipelineMetric.region,
    owner_id=PipelineMetric.owner_id,
    pipeline=PipelineMetric.pipeline,
    stage=PipelineMetric.stage,
    deal_status=PipelineMetric.deal_status,
    closing=PipelineMetric.closing_month,
    closing_is_month=True,
)
# The day-grain mart has no owner: a query with an owner filter (or grouped by owner) reads `deals` instead.
MART_DAILY = FilterColumns(
    name="mart_daily",
    region=PipelineMetricDaily.region,
    owner_id=None,
    pipeline=PipelineMetricDaily.pipeline,
    stage=PipelineMetricDaily.stage,
    deal_status=PipelineMetricDaily.deal_status,
    closing=PipelineMetricDaily.closing_date,
)
# Open deals only, no owner, closing months: api/queries/staleness.py adds the closing and modified conditions.
FRESHNESS = FilterColumns(
    name="open_deal_freshness",
    region=OpenDealFreshness.region,
    owner_id=None,
    pipeline=OpenDealFreshness.pipeline,
    stage=OpenDealFreshness.stage,
    deal_status=None,
    closing=OpenDealFreshness.closing_month,
    closing_is_month=True,
)
FRESHNESS_DAILY = FilterColumns(
    name="open_deal_freshness_daily",
    region=OpenDealFreshnessDaily.region,
    owner_id=None,
    pipeline=OpenDealFreshnessDaily.pipeline,
    stage=OpenDealFreshnessDaily.stage,
    deal_status=None,
    closing=OpenDealFreshnessDaily.closing_month,
    closing_is_month=True,
)
SNAPSHOTS = FilterColumns(
    name="deal_snapshots",
    region=DealSnapshot.region,
    owner_id=DealSnapshot.owner_id,
    pipeline=DealSnapshot.pipeline,
    stage=DealSnapshot.stage,
    deal_status=DealSnapshot.deal_status,
    closing=DealSnapshot.closing_date,
)
# Targets are filtered by region scope and owner only (they have no pipeline, stage, status or closing date).
TARGETS = FilterColumns(
    name="sales_targets",
    region=SalesTarget.region,
    owner_id=SalesTarget.owner_id,
    pipeline=None,
    stage=None,
    deal_status=None,
    closing=None,
)
