"""Summary and grouped metrics, aggregated in the database from the parts of a plan (see sources.py).

Each statement is built once per plan shape (which parts, which conditions) with named bind parameters and
reused: building a SQLAlchemy statement costs more than running it on the mart. The parts are aggregated
separately and summed by an outer query (a plan of one part is summed over one row or group)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from api.filters import DealFilters
from api.queries.sources import PartShape, part_conditions, plan
from api.queries.staleness import fresh_open_deals
from api.schemas import OwnerGroup, RegionGroup, StageGroup, Summary
from api.scope import RegionScope
from pipeline_pulse.models import CrmUser, PipelineStage
from pipeline_pulse.models import PipelineMetric as Mart
from pipeline_pulse.warehouse.metrics_mart import STALE_AFTER_DAYS

CENT = Decimal("0.01")


def money(value: Any) -> Decimal:
    """SQLite sums NUMERIC as floats; round every money figure to cents so both backends agree."""
    return Decimal(str(value or 0)).quantize(CENT)


def _ratio(numerator: Decimal | int, denominator: Decimal | int) -> float | None:
    return round(float(numerator) / float(denominator), 6) if denominator else None


def _signed(part: PartShape, measure: Any) -> Any:
    """A part's measure, negated when the plan subtracts the part (days of a whole month outside the range)."""
    return -measure if part.subtracted else measure


def _summary_part(part: PartShape) -> Select[Any]:
    """Per status: count, amount, weighted amount, cycle days (sum, deals), and the mart's stale count and
    refresh time (NULL / 0 from `deals`, whose stale count is never taken from here)."""
    source = part.source
    mart = source.name == "mart"
    return (
        select(
            source.columns.deal_status.label("s"),
            _signed(part, source.deal_count).label("c"),
            _signed(part, source.amount).label("a"),
            _signed(part, source.weighted).label("w"),
            _signed(part, source.cycle_days_sum).label("cs"),
            _signed(part, source.cycle_deal_count).label("cn"),
            (func.coalesce(func.sum(Mart.stale_count), 0) if mart else literal(0)).label("st"),
            (func.max(Mart.refreshed_at) if mart else null()).label("rf"),
        )
        .select_from(source.table)
        .where(part_conditions(part))
        .group_by(source.columns.deal_status)
    )


@lru_cache(maxsize=256)
def _summary_statement(parts: tuple[PartShape, ...]) -> Select[Any]:
    rows = union_all(*(_summary_part(part) for part in parts)).subquery()

    def status_sum(column: Any, status: str) -> Any:
        return func.coalesce(func.sum(case((rows.c.s == status, column), else_=0)), 0)

    return select(
        status_sum(rows.c.c, "open"),
        status_sum(rows.c.a, "open"),
        status_sum(rows.c.w, "open"),
        status_sum(rows.c.c, "won"),
        status_sum(rows.c.a, "won"),
        status_sum(rows.c.c, "lost"),
        status_sum(rows.c.a, "lost"),
        status_sum(rows.c.cs, "won"),
        status_sum(rows.c.cn, "won"),
        func.coalesce(func.sum(rows.c.st), 0),
        func.max(rows.c.rf),
    )


async def summary(
    connection: AsyncConnection,
    scope: RegionScope,
    filters: DealFilters,
    as_of: date | None,
    stale_after_days: int,
) -> Summary:
    """Headline figures. Staleness comes from the mart's stale_count (as of the mart's refresh day) when the
    mart answers alone, no `as_of` is given and the threshold is the mart's; otherwise stale = open deals minus
    the open deals modified since the cutoff and not yet past their closing date (api/queries/staleness.py)."""
    dialect = connection.dialect.name
    answer = plan(dialect, scope, filters)
    totals = (await connection.execute(_summary_statement(answer.key), answer.values)).one()
    open_count, open_amount, open_weighted, won_count, won_amount, lost_count, lost_amount, cycle_sum, cycle_n = (
        value or 0 for value in totals[:9]
    )
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

    mart_stale = answer.name == "mart" and as_of is None and stale_after_days == STALE_AFTER_DAYS
    if mart_stale:
        stale, refreshed_at = int(totals[9] or 0), totals[10]
        reference_day = refreshed_at.astimezone(UTC).date() if refreshed_at else datetime.now(UTC).date()
    else:
        reference_day = as_of or datetime.now(UTC).date()
        fresh = await fresh_open_deals(connection, scope, filters, reference_day, stale_after_days)
        # The open count and the fresh count read the mart and `deals`: between a deals load and the mart
        # rebuild of the same sync they may disagree by the deals in flight; never report a negative count.
        stale = max(open_count - fresh, 0)
    return Summary(
        source=answer.name,  # type: ignore[arg-type]
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


def _grouped_part(part: PartShape, keys: tuple[str, ...]) -> Select[Any]:
    source = part.source
    return (
        select(
            *(getattr(source.columns, key).label(key) for key in keys),
            _signed(part, source.deal_count).label("deal_count"),
            _signed(part, source.amount).label("amount"),
            _signed(part, source.weighted).label("weighted"),
        )
        .where(part_conditions(part))
        .group_by(*(getattr(source.columns, key) for key in keys))
    )


def _grouped(parts: tuple[PartShape, ...], keys: tuple[str, ...]) -> Any:
    both = union_all(*(_grouped_part(part, keys) for part in parts)).subquery()
    return (
        select(
            *(both.c[key] for key in keys),
            func.sum(both.c.deal_count).label("deal_count"),
            func.sum(both.c.amount).label("amount"),
            func.sum(both.c.weighted).label("weighted"),
        )
        .group_by(*(both.c[key] for key in keys))
        .having(func.sum(both.c.deal_count) > 0)  # a group whose deals all lie in subtracted days is not in range
        .subquery()
    )


@lru_cache(maxsize=256)
def _by_stage_statement(parts: tuple[PartShape, ...]) -> Select[Any]:
    grouped = _grouped(parts, ("pipeline", "stage"))
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
    answer = plan(connection.dialect.name, scope, filters, deal_status)
    rows = (await connection.execute(_by_stage_statement(answer.key), answer.values)).all()
    return answer.name, [
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
def _by_region_statement(parts: tuple[PartShape, ...]) -> Select[Any]:
    grouped = _grouped(parts, ("region",))
    return select(grouped).order_by(grouped.c.region)


async def by_region(
    connection: AsyncConnection, scope: RegionScope, filters: DealFilters, deal_status: str
) -> tuple[str, list[RegionGroup]]:
    answer = plan(connection.dialect.name, scope, filters, deal_status)
    rows = (await connection.execute(_by_region_statement(answer.key), answer.values)).all()
    return answer.name, [
        RegionGroup(
            region=row.region,
            deal_count=int(row.deal_count),
            amount=money(row.amount),
            weighted_amount=money(row.weighted),
        )
        for row in rows
    ]


@lru_cache(maxsize=256)
def _by_owner_statement(parts: tuple[PartShape, ...]) -> Select[Any]:
    grouped = _grouped(parts, ("owner_id",))
    return (
        select(grouped, CrmUser.full_name)
        .outerjoin(CrmUser, CrmUser.id == grouped.c.owner_id)
        .order_by(grouped.c.amount.desc(), grouped.c.owner_id)
    )


async def by_owner(
    connection: AsyncConnection, scope: RegionScope, filters: DealFilters, deal_status: str
) -> tuple[str, list[OwnerGroup]]:
    answer = plan(connection.dialect.name, scope, filters, deal_status, needs_owner=True)
    rows = (await connection.execute(_by_owner_statement(answer.key), answer.values)).all()
    return answer.name, [
        OwnerGroup(
            owner_id=row.owner_id,
            owner_name=row.full_name,
            deal_count=int(row.deal_count),
            amount=money(row.amount),
            weighted_amount=money(row.weighted),
        )
        for row in rows
    ]
