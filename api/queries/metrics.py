"""Summary and grouped metrics, aggregated in the database (mart or deals; see sources.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from api.filters import DealFilters
from api.queries.conditions import DEALS, Shape, where
from api.queries.sources import FactSource, choose_source
from api.schemas import OwnerGroup, RegionGroup, StageGroup, Summary
from api.scope import RegionScope
from pipeline_pulse.models import CrmUser, Deal, PipelineStage
from pipeline_pulse.models import PipelineMetric as Mart
from pipeline_pulse.warehouse.metrics_mart import STALE_AFTER_DAYS, cycle_days_expr, stale_condition

CENT = Decimal("0.01")


def money(value: Any) -> Decimal:
    """SQLite sums NUMERIC as floats; round every money figure to cents so both backends agree."""
    return Decimal(str(value or 0)).quantize(CENT)


def _ratio(numerator: Decimal | int, denominator: Decimal | int) -> float | None:
    return round(float(numerator) / float(denominator), 6) if denominator else None


def _status_sum(source: FactSource, measure: Any, status: str) -> Any:
    """Σ measure over one status, from the grouped source (mart: already summed; deals: per row)."""
    return func.coalesce(func.sum(case((source.columns.deal_status == status, measure), else_=0)), 0)


@lru_cache(maxsize=256)
def _summary_statement(source: FactSource, dialect: str, shape: Shape) -> Select[Any]:
    # Per-row measures: the mart's rows are pre-summed groups, the deals table's rows are single deals.
    if source.name == "mart":
        count_col, amount_col, weighted_col = Mart.deal_count, Mart.amount_home, Mart.weighted_amount_home
        cycle_sum_col, cycle_n_col = Mart.cycle_days_sum, Mart.cycle_deal_count
    else:
        cycle = cycle_days_expr(dialect)
        count_col, amount_col, weighted_col = 1, Deal.amount_home, Deal.weighted_amount_home
        cycle_sum_col, cycle_n_col = cycle, case((cycle.is_not(None), 1), else_=0)
    return (
        select(
            _status_sum(source, count_col, "open"),
            _status_sum(source, amount_col, "open"),
            _status_sum(source, weighted_col, "open"),
            _status_sum(source, count_col, "won"),
            _status_sum(source, amount_col, "won"),
            _status_sum(source, count_col, "lost"),
            _status_sum(source, amount_col, "lost"),
            _status_sum(source, cycle_sum_col, "won"),
            _status_sum(source, cycle_n_col, "won"),
            *([func.sum(Mart.stale_count), func.max(Mart.refreshed_at)] if source.name == "mart" else []),
        )
        .select_from(source.table)
        .where(source.bound_where(shape))
    )


async def summary(
    connection: AsyncConnection,
    scope: RegionScope,
    filters: DealFilters,
    as_of: date | None,
    stale_after_days: int,
) -> Summary:
    """Headline figures. Staleness comes from the mart's stale_count (as of the mart's refresh day) when no
    `as_of` is given and the threshold is the mart's; any other as_of / threshold counts on `deals`."""
    dialect = connection.dialect.name
    source = choose_source(filters, dialect)
    shape, params = source.bound(scope, filters)
    totals = (await connection.execute(_summary_statement(source, dialect, shape), params)).one()
    open_count, open_amount, open_weighted, won_count, won_amount, lost_count, lost_amount, cycle_sum, cycle_n = totals[
        :9
    ]
    won_amount, lost_amount = money(won_amount), money(lost_amount)
    won_count, lost_count, open_count = int(won_count), int(lost_count), int(open_count)

    win_rate_count = _ratio(won_count, won_count + lost_count)
    win_rate_amount = _ratio(won_amount, won_amount + lost_amount)
    average_won = (won_amount / won_count).quantize(CENT) if won_count else None
    average_cycle = round(float(cycle_sum) / float(cycle_n), 6) if cycle_n else None
    velocity = None
    if average_won is not None and win_rate_count is not None and average_cycle:
        exact_rate = Decimal(won_count) / Decimal(won_count + lost_count)
        exact_cycle = Decimal(str(cycle_sum)) / Decimal(int(cycle_n))
        velocity = (Decimal(open_count) * (won_amount / won_count) * exact_rate / exact_cycle).quantize(CENT)

    mart_stale = source.name == "mart" and as_of is None and stale_after_days == STALE_AFTER_DAYS
    if mart_stale:
        stale_sum, refreshed_at = totals[9], totals[10]
        stale = int(stale_sum or 0)
        reference_day = refreshed_at.astimezone(UTC).date() if refreshed_at else datetime.now(UTC).date()
    else:
        reference_day = as_of or datetime.now(UTC).date()
        stale = await stale_open_deals(connection, scope, filters, reference_day, stale_after_days)
    return Summary(
        source=source.name,  # type: ignore[arg-type]
        as_of=reference_day,
        open_deal_count=open_count,
        open_pipeline=money(open_amount),
        weighted_pipeline=money(open_weighted),
        won_count=won_count,
        won_amount=won_amount,
        lost_count=lost_count,
        lost_amount=lost_amount,
        win_rate_by_count=win_rate_count,
        win_rate_by_amount=win_rate_amount,
        average_won_deal_size=average_won,
        average_sales_cycle_days=average_cycle,
        sales_velocity_per_day=velocity,
        stale_open_deals=stale,
        stale_after_days=stale_after_days,
    )


async def stale_open_deals(
    connection: AsyncConnection, scope: RegionScope, filters: DealFilters, as_of: date, stale_after_days: int
) -> int:
    """Open live deals that are stale on `as_of` (see metrics_mart.stale_condition), counted on `deals`."""
    query = (
        select(func.count())
        .select_from(Deal)
        .where(where(DEALS, scope, filters, "open"), stale_condition(as_of, stale_after_days))
    )
    return int((await connection.execute(query)).scalar_one())


@lru_cache(maxsize=256)
def _by_stage_statement(source: FactSource, shape: Shape) -> Select[Any]:
    grouped = (
        select(
            source.columns.pipeline.label("pipeline"),
            source.columns.stage.label("stage"),
            source.deal_count.label("deal_count"),
            source.amount.label("amount"),
            source.weighted.label("weighted"),
        )
        .where(source.bound_where(shape))
        .group_by(source.columns.pipeline, source.columns.stage)
        .subquery()
    )
    return (
        select(grouped, PipelineStage.sequence)
        .outerjoin(
            PipelineStage,
            and_(PipelineStage.pipeline == grouped.c.pipeline, PipelineStage.stage == grouped.c.stage),
        )
        .order_by(
            grouped.c.pipeline.is_(None), grouped.c.pipeline, PipelineStage.sequence.is_(None), PipelineStage.sequence
        )
        .order_by(grouped.c.stage)
    )


async def by_stage(
    connection: AsyncConnection, scope: RegionScope, filters: DealFilters, deal_status: str
) -> tuple[str, list[StageGroup]]:
    source = choose_source(filters, connection.dialect.name)
    shape, params = source.bound(scope, filters, deal_status)
    rows = (await connection.execute(_by_stage_statement(source, shape), params)).all()
    return source.name, [
        StageGroup(
            pipeline=row.pipeline,
            stage=row.stage,
            sequence=row.sequence,
            deal_count=int(row.deal_count),
            amount=money(row.amount),
            weighted_amount=money(row.weighted),
        )
        for row in rows
    ]


@lru_cache(maxsize=256)
def _by_region_statement(source: FactSource, shape: Shape) -> Select[Any]:
    return (
        select(source.columns.region, source.deal_count, source.amount, source.weighted)
        .where(source.bound_where(shape))
        .group_by(source.columns.region)
        .order_by(source.columns.region)
    )


async def by_region(
    connection: AsyncConnection, scope: RegionScope, filters: DealFilters, deal_status: str
) -> tuple[str, list[RegionGroup]]:
    source = choose_source(filters, connection.dialect.name)
    shape, params = source.bound(scope, filters, deal_status)
    rows = (await connection.execute(_by_region_statement(source, shape), params)).all()
    return source.name, [
        RegionGroup(region=region, deal_count=int(count), amount=money(amount), weighted_amount=money(weighted))
        for region, count, amount, weighted in rows
    ]


@lru_cache(maxsize=256)
def _by_owner_statement(source: FactSource, shape: Shape) -> Select[Any]:
    grouped = (
        select(
            source.columns.owner_id.label("owner_id"),
            source.deal_count.label("deal_count"),
            source.amount.label("amount"),
            source.weighted.label("weighted"),
        )
        .where(source.bound_where(shape))
        .group_by(source.columns.owner_id)
        .subquery()
    )
    return (
        select(grouped, CrmUser.full_name)
        .outerjoin(CrmUser, CrmUser.id == grouped.c.owner_id)
        .order_by(grouped.c.amount.desc(), grouped.c.owner_id)
    )


async def by_owner(
    connection: AsyncConnection, scope: RegionScope, filters: DealFilters, deal_status: str
) -> tuple[str, list[OwnerGroup]]:
    source = choose_source(filters, connection.dialect.name)
    shape, params = source.bound(scope, filters, deal_status)
    rows = (await connection.execute(_by_owner_statement(source, shape), params)).all()
    return source.name, [
        OwnerGroup(
            owner_id=row.owner_id,
            owner_name=row.full_name,
            deal_count=int(row.deal_count),
            amount=money(row.amount),
            weighted_amount=money(row.weighted),
        )
        for row in rows
    ]
