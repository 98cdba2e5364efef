"""/metrics/forecast and /metrics/attainment: deals closing in a period by forecast category, and against the
period's sales targets (docs/metrics.md, sections 12.1 and 12.2). One grouped query on `deals` each (the
closing_date index bounds it to the period), plus the period's targets."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from api.filters import DealFilters
from api.insight_schemas import Attainment, AttainmentFigures, CategoryFigures, CountAmount, Forecast, ForecastGroup
from api.params import AttainmentParams, ForecastParams
from api.queries.conditions import DEALS, TARGETS, where
from api.queries.metrics import money
from api.scope import RegionScope
from pipeline_pulse.insight.categories import STANDARD_CATEGORIES, category_order
from pipeline_pulse.insight.periods import Period
from pipeline_pulse.models import CrmUser, Deal, SalesTarget

ZERO = Decimal("0.00")
GroupKey = str | int | None  # a region code, an owner id, or None (no grouping / deals without owner)
_GROUP_COLUMNS: dict[str, Any] = {"region": Deal.region, "owner": Deal.owner_id}


def _sum(condition: ColumnElement[bool], measure: Any) -> Any:
    return func.coalesce(func.sum(case((condition, measure), else_=0)), 0)


def _won_to_date(period: Period, today: date) -> ColumnElement[bool]:
    # Closing dates of won deals up to today; the period bound comes from the filters.
    return and_(Deal.deal_status == "won", Deal.closing_date <= min(today, period.end))


def _ratio(numerator: Decimal, denominator: Decimal | None) -> float | None:
    return round(float(numerator / denominator), 6) if denominator else None


async def _owner_names(connection: AsyncConnection, owner_ids: Iterable[GroupKey]) -> dict[int, str | None]:
    ids = sorted({key for key in owner_ids if isinstance(key, int)})
    if not ids:
        return {}
    rows = await connection.execute(select(CrmUser.id, CrmUser.full_name).where(CrmUser.id.in_(ids)))
    return {user_id: name for user_id, name in rows.all()}


def _grouped_statement(params: ForecastParams | AttainmentParams, scope: RegionScope, measures: list[Any]) -> Any:
    group = _GROUP_COLUMNS.get(params.group_by)
    keys = [group.label("group_key")] if group is not None else []
    statement = select(*keys, *measures).where(where(DEALS, scope, params.filters()))
    return statement.group_by(*keys) if keys else statement


# --- forecast ---------------------------------------------------------------------------------------------


@dataclass
class _CategoryTotals:
    figures: dict[str | None, list[Any]] = field(default_factory=dict)  # category -> [count, amount, weighted]
    won: list[Any] = field(default_factory=lambda: [0, ZERO])

    def add(self, category: str | None, count: int, amount: Decimal, weighted: Decimal) -> None:
        current = self.figures.setdefault(category, [0, ZERO, ZERO])
        current[0] += count
        current[1] += amount
        current[2] += weighted

    @property
    def amount(self) -> Decimal:
        return sum((values[1] for values in self.figures.values()), ZERO)

    def categories(self) -> list[CategoryFigures]:
        names = sorted({*STANDARD_CATEGORIES, *self.figures}, key=category_order)
        return [
            CategoryFigures(
                category=name,
                deal_count=self.figures.get(name, [0])[0],
                amount=self.figures.get(name, [0, ZERO])[1],
                weighted_amount=self.figures.get(name, [0, ZERO, ZERO])[2],
            )
            for name in names
        ]


async def forecast(connection: AsyncConnection, scope: RegionScope, params: ForecastParams, today: date) -> Forecast:
    won = _won_to_date(params.period, today)
    statement = _grouped_statement(
        params,
        scope,
        [
            Deal.forecast_category,
            func.count(),
            func.coalesce(func.sum(Deal.amount_home), 0),
            func.coalesce(func.sum(Deal.weighted_amount_home), 0),
            _sum(won, 1),
            _sum(won, Deal.amount_home),
        ],
    ).group_by(Deal.forecast_category)
    total = _CategoryTotals()
    groups: dict[GroupKey, _CategoryTotals] = defaultdict(_CategoryTotals)
    for row in (await connection.execute(statement)).all():
        *key, category, count, amount, weighted, won_count, won_amount = row
        values = (category, int(count), money(amount), money(weighted))
        total.add(*values)
        total.won[0] += int(won_count)
        total.won[1] += money(won_amount)
        if key:
            groups[key[0]].add(*values)
            groups[key[0]].won[0] += int(won_count)
            groups[key[0]].won[1] += money(won_amount)
    names = await _owner_names(
        connection, [*groups, params.owner_id] if params.group_by == "owner" else [params.owner_id]
    )

    def out(key: GroupKey, totals: _CategoryTotals, owner: int | None) -> ForecastGroup:
        return ForecastGroup(
            region=key if params.group_by == "region" else None,  # type: ignore[arg-type]
            owner_id=owner,
            owner_name=names.get(owner) if owner is not None else None,
            categories=totals.categories(),
            won_to_date=CountAmount(deal_count=totals.won[0], amount=totals.won[1]),
        )

    if params.group_by == "owner":
        ordered = sorted(groups.items(), key=lambda item: (-item[1].amount, item[0] is None, item[0] or 0))
    else:
        ordered = sorted(groups.items(), key=lambda item: str(item[0]))
    return Forecast(
        **_period_info(params.period, today),
        group_by=params.group_by,
        source="deals",
        total=out(None, total, params.owner_id),
        groups=[
            out(key, totals, key if params.group_by == "owner" else params.owner_id)  # type: ignore[arg-type]
            for key, totals in ordered
        ],
    )


def _period_info(period: Period, today: date) -> dict[str, Any]:
    return {"period": period.label, "period_start": period.start, "period_end": period.end, "as_of": today}


# --- attainment -------------------------------------------------------------------------------------------


@dataclass
class _Actuals:
    won_count: int = 0
    won: Decimal = ZERO
    open_count: int = 0
    open: Decimal = ZERO
    weighted: Decimal = ZERO

    def add(self, other: _Actuals) -> None:
        self.won_count += other.won_count
        self.won += other.won
        self.open_count += other.open_count
        self.open += other.open
        self.weighted += other.weighted


def resolve_targets(
    period: Period, rows: Iterable[tuple[str, str, int | None, Decimal]]
) -> dict[tuple[str, int | None], Decimal]:
    """The period's target per (region, owner): the row of the period itself, else (for a quarter) the sum of
    that key's monthly rows in the quarter; keys with neither have no target."""
    own: dict[tuple[str, int | None], Decimal] = {}
    months: dict[tuple[str, int | None], Decimal] = defaultdict(Decimal)
    for label, region, owner_id, amount in rows:
        if label == period.label:
            own[(region, owner_id)] = money(amount)
        else:
            months[(region, owner_id)] += money(amount)
    return {**months, **own}


async def _targets(
    connection: AsyncConnection, scope: RegionScope, period: Period, owner_id: int | None, owner_level: bool
) -> dict[tuple[str, int | None], Decimal]:
    labels = sorted({period.label, *(month.label for month in period.months())})
    level = SalesTarget.owner_id.is_not(None) if owner_level else SalesTarget.owner_id.is_(None)
    statement = select(SalesTarget.period, SalesTarget.region, SalesTarget.owner_id, SalesTarget.amount_home).where(
        where(TARGETS, scope, DealFilters(owner_id=owner_id)), SalesTarget.period.in_(labels), level
    )
    return resolve_targets(period, (tuple(row) for row in (await connection.execute(statement)).all()))  # type: ignore[misc]


def _figures(
    key: GroupKey, grouping: str, actuals: _Actuals, target: Decimal | None, names: dict[int, str | None]
) -> AttainmentFigures:
    gap = None if target is None else target - actuals.won
    owner = key if grouping == "owner" else None
    return AttainmentFigures(
        region=key if grouping == "region" else None,  # type: ignore[arg-type]
        owner_id=owner,  # type: ignore[arg-type]
        owner_name=names.get(owner) if isinstance(owner, int) else None,
        target=target,
        won_count=actuals.won_count,
        won_to_date=actuals.won,
        attainment=_ratio(actuals.won, target),
        gap=gap,
        open_count=actuals.open_count,
        open_pipeline=actuals.open,
        weighted_pipeline=actuals.weighted,
        coverage=_ratio(actuals.open, gap) if gap is not None and gap > 0 else None,
    )


def _sum_targets(targets: Iterable[Decimal]) -> Decimal | None:
    values = list(targets)
    return sum(values, ZERO) if values else None


async def attainment(
    connection: AsyncConnection, scope: RegionScope, params: AttainmentParams, today: date
) -> Attainment:
    won = _won_to_date(params.period, today)
    is_open = Deal.deal_status == "open"
    statement = _grouped_statement(
        params,
        scope,
        [
            _sum(won, 1),
            _sum(won, Deal.amount_home),
            _sum(is_open, 1),
            _sum(is_open, Deal.amount_home),
            _sum(is_open, Deal.weighted_amount_home),
        ],
    )
    total = _Actuals()
    groups: dict[GroupKey, _Actuals] = defaultdict(_Actuals)
    for row in (await connection.execute(statement)).all():
        *key, won_count, won_amount, open_count, open_amount, weighted = row
        actuals = _Actuals(int(won_count), money(won_amount), int(open_count), money(open_amount), money(weighted))
        total.add(actuals)
        if key:
            groups[key[0]].add(actuals)

    # The total is measured against the region targets (or the filtered owner's); owners against their own.
    by_owner = params.owner_id is not None
    total_targets = await _targets(connection, scope, params.period, params.owner_id, owner_level=by_owner)
    group_targets: dict[GroupKey, list[Decimal]] = defaultdict(list)
    if params.group_by != "none":
        owner_level = params.group_by == "owner"
        keyed = (
            total_targets
            if owner_level == by_owner
            else await _targets(connection, scope, params.period, params.owner_id, owner_level=owner_level)
        )
        for (region, owner_id), amount in keyed.items():
            group_targets[owner_id if owner_level else region].append(amount)
    names = await _owner_names(connection, [*groups, *group_targets, params.owner_id])
    total_figures = _figures(
        params.owner_id, "owner" if by_owner else "none", total, _sum_targets(total_targets.values()), names
    )
    keys = set(groups) | set(group_targets) if params.group_by != "none" else set()
    items = [
        _figures(key, params.group_by, groups.get(key, _Actuals()), _sum_targets(group_targets.get(key, [])), names)
        for key in keys
    ]
    if params.group_by == "owner":
        items.sort(key=lambda item: (-(item.target or 0), -item.won_to_date, item.owner_id is None, item.owner_id or 0))
    else:
        items.sort(key=lambda item: item.region or "")
    return Attainment(
        **_period_info(params.period, today),
        group_by=params.group_by,
        source="deals+sales_targets",
        total=total_figures,
        groups=items,
    )
