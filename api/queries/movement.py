"""Movement: the bridge from the open pipeline at instant A to the one at instant B, one deal at a time, from the
versions (docs/metrics.md 7.3). One statement classifies every deal open in scope at A or B into exactly one
outcome; the totals and the drill-down read that same per-deal classification, so they always agree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import and_, case, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select, Subquery

from api.errors import ApiError
from api.filters import DealFilters
from api.params import MovementComponent
from api.queries.versions import (
    SOURCE,
    cents,
    closing_conditions,
    history_start,
    money_of,
    open_live,
    require_known,
    scope_conditions,
)
from api.scalars import parse_zoho_id
from api.schemas import Movement, MovementCounts, MovementDeal, MovementDeals
from api.scope import RegionScope
from pipeline_pulse.models import Deal
from pipeline_pulse.warehouse.history import VERSIONS, end_of_day, valid_at

Outcome = Literal["still_open", "new", "pulled_in", "won", "lost", "pushed_out", "removed"]
OUTCOMES: tuple[Outcome, ...] = ("still_open", "new", "pulled_in", "won", "lost", "pushed_out", "removed")
Component = MovementComponent
# Outcomes valued at the state at B, and those whose amount change counts as increased / decreased.
_AT_B = ("still_open", "new", "pulled_in", "pushed_out")
_CHANGED = ("still_open", "won", "lost", "pushed_out")
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class Window:
    """A = the end of `start`; B = the end of `end`, or None for the current state (`end` is today or later)."""

    start: date
    end: date
    a: datetime
    b: datetime | None


async def window(connection: AsyncConnection, start: date, end: date, today: date) -> Window:
    if start > end:
        raise ApiError(400, "bad_request", "from must not be after to")
    if start > today:
        raise ApiError(422, "validation_error", f"from: {start.isoformat()} is in the future (today is {today})")
    require_known(start, await history_start(connection), "from")
    return Window(start, end, end_of_day(start), None if end >= today else end_of_day(end))


def _state(name: str, at: datetime | None, scope: RegionScope, filters: DealFilters) -> Any:
    v = VERSIONS.alias(f"{name}_version")
    in_scope = and_(open_live(v), scope_conditions(v, scope, filters))
    in_period = and_(in_scope, closing_conditions(v, filters))
    return (
        select(
            v.c.deal_id,
            v.c.amount_home,
            v.c.stage,
            v.c.closing_date,
            case((v.c.deleted == true(), "deleted"), else_=v.c.deal_status).label("status"),
            case((in_period, 1), else_=0).label("in_pipe"),
            case((in_scope, 1), else_=0).label("open_scope"),
        )
        .where(valid_at(at, v))
        .cte(name)
    )


def _closing_versions(w: Window, scope: RegionScope, filters: DealFilters) -> Subquery:
    """Per deal, the latest live won/lost version (of non-zero length) starting inside (A, B] that is in scope
    (region, owner, pipeline; not stage, not the closing period)."""
    v = VERSIONS.alias("closing_version")
    ranked = (
        select(
            v.c.deal_id,
            v.c.deal_status,
            v.c.amount_home,
            func.row_number()
            .over(partition_by=v.c.deal_id, order_by=(v.c.valid_from.desc(), v.c.id.desc()))
            .label("rank"),
        )
        .where(
            v.c.valid_from > w.a,
            v.c.valid_from <= w.b if w.b is not None else true(),
            v.c.deleted == false(),
            v.c.deal_status.in_(("won", "lost")),
            or_(v.c.valid_to.is_(None), v.c.valid_to > v.c.valid_from),  # zero-length: never the state
            scope_conditions(v, scope, filters, stage=False),
        )
        .subquery("ranked_closing")
    )
    return (
        select(ranked.c.deal_id, ranked.c.deal_status, ranked.c.amount_home)
        .where(ranked.c.rank == 1)
        .subquery("closing")
    )


def per_deal(w: Window, scope: RegionScope, filters: DealFilters, dialect: str) -> Subquery:
    """One row per deal open in scope (and in the closing period) at A or at B: its outcome, its amount at A
    (NULL when not in the pipeline at A), its outcome amount and the change that goes to increased/decreased."""
    period = filters.closing_from is not None or filters.closing_to is not None
    a = _state("at_a", w.a, scope, filters)
    b = _state("at_b", w.b, scope, filters)
    candidates = select(a.c.deal_id).where(a.c.in_pipe == 1).union(select(b.c.deal_id).where(b.c.in_pipe == 1))
    deal_ids = candidates.subquery("candidates")
    closing = _closing_versions(w, scope, filters)
    in_a = func.coalesce(a.c.in_pipe, 0) == 1
    in_b = func.coalesce(b.c.in_pipe, 0) == 1
    whens: list[tuple[Any, str]] = [(and_(in_a, in_b), "still_open")]
    if period:
        whens.append((and_(in_b, func.coalesce(a.c.open_scope, 0) == 1), "pulled_in"))
    whens += [(in_b, "new"), (closing.c.deal_status == "won", "won"), (closing.c.deal_status == "lost", "lost")]
    if period:
        whens.append((func.coalesce(b.c.open_scope, 0) == 1, "pushed_out"))
    classified = (
        select(
            deal_ids.c.deal_id,
            case(*whens, else_="removed").label("outcome"),
            case((in_a, cents(a.c.amount_home, dialect)), else_=None).label("a_amount"),
            cents(b.c.amount_home, dialect).label("b_amount"),
            cents(closing.c.amount_home, dialect).label("c_amount"),
            a.c.stage.label("from_stage"),
            b.c.stage.label("to_stage"),
            b.c.status.label("to_status"),
            a.c.closing_date.label("from_closing_date"),
            b.c.closing_date.label("to_closing_date"),
        )
        .select_from(deal_ids)
        .outerjoin(a, a.c.deal_id == deal_ids.c.deal_id)
        .outerjoin(b, b.c.deal_id == deal_ids.c.deal_id)
        .outerjoin(closing, closing.c.deal_id == deal_ids.c.deal_id)
        .subquery("classified")
    )
    outcome_amount = case(
        (classified.c.outcome.in_(_AT_B), classified.c.b_amount),
        (classified.c.outcome.in_(("won", "lost")), classified.c.c_amount),
        else_=None,
    )
    change = case((classified.c.outcome.in_(_CHANGED), outcome_amount - classified.c.a_amount), else_=0)
    return select(
        classified.c.deal_id,
        classified.c.outcome,
        classified.c.a_amount,
        outcome_amount.label("outcome_amount"),
        change.label("change"),
        classified.c.from_stage,
        classified.c.to_stage,
        classified.c.to_status,
        classified.c.from_closing_date,
        classified.c.to_closing_date,
    ).subquery("per_deal")


def totals_statement(w: Window, scope: RegionScope, filters: DealFilters, dialect: str) -> Select[Any]:
    d = per_deal(w, scope, filters, dialect)

    def total(condition: Any, value: Any) -> Any:
        return func.coalesce(func.sum(case((condition, value), else_=0)), 0)

    return select(
        func.coalesce(func.sum(d.c.a_amount), 0).label("start"),
        total(d.c.outcome.in_(("still_open", "new", "pulled_in")), d.c.outcome_amount).label("end"),
        *(total(d.c.outcome == name, d.c.outcome_amount).label(name) for name in ("new", "pulled_in", "won", "lost")),
        total(d.c.outcome == "pushed_out", d.c.outcome_amount).label("pushed_out"),
        total(d.c.outcome == "removed", d.c.a_amount).label("removed"),
        total(d.c.change > 0, d.c.change).label("increased"),
        total(d.c.change < 0, -d.c.change).label("decreased"),
        *(total(d.c.outcome == name, 1).label(f"n_{name}") for name in OUTCOMES),
    )


async def movement(
    connection: AsyncConnection, scope: RegionScope, filters: DealFilters, start: date, end: date, today: date
) -> Movement:
    w = await window(connection, start, end, today)
    dialect = connection.dialect.name
    row = (await connection.execute(totals_statement(w, scope, filters, dialect))).mappings().one()
    figures = {name: money_of(row[name], dialect) for name in MONEY_FIELDS}
    return Movement(
        source=SOURCE,
        from_date=start,
        to_date=end,
        to_current=w.b is None,
        closing_from=filters.closing_from,
        closing_to=filters.closing_to,
        deal_counts=MovementCounts(**{name: int(row[f"n_{name}"]) for name in OUTCOMES}),
        **figures,
    )


MONEY_FIELDS = (
    "start",
    "new",
    "pulled_in",
    "increased",
    "decreased",
    "pushed_out",
    "won",
    "lost",
    "removed",
    "end",
)


def _component_condition(d: Subquery, component: Component) -> Any:
    if component == "start":
        return d.c.a_amount.is_not(None)
    if component == "end":
        return d.c.outcome.in_(("still_open", "new", "pulled_in"))
    if component == "increased":
        return d.c.change > 0
    if component == "decreased":
        return d.c.change < 0
    return d.c.outcome == component


def _component_amount(d: Subquery, component: Component) -> Any:
    if component in ("start", "removed"):
        return d.c.a_amount
    if component == "increased":
        return d.c.change
    if component == "decreased":
        return -d.c.change
    return d.c.outcome_amount


def deals_statement(
    w: Window,
    scope: RegionScope,
    filters: DealFilters,
    dialect: str,
    component: Component,
    after: int | None,
    limit: int,
) -> Select[Any]:
    d = per_deal(w, scope, filters, dialect)
    query = (
        select(
            d.c.deal_id,
            Deal.deal_name,
            d.c.outcome,
            _component_amount(d, component).label("amount"),
            d.c.a_amount,
            d.c.outcome_amount,
            d.c.from_stage,
            d.c.to_stage,
            d.c.to_status,
            d.c.from_closing_date,
            d.c.to_closing_date,
        )
        .select_from(d)
        .outerjoin(Deal, Deal.id == d.c.deal_id)
        .where(_component_condition(d, component))
        .order_by(d.c.deal_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(d.c.deal_id > after)
    return query


async def movement_deals(
    connection: AsyncConnection,
    scope: RegionScope,
    filters: DealFilters,
    start: date,
    end: date,
    today: date,
    component: Component,
    cursor: str | None,
    page_size: int,
) -> MovementDeals:
    after = _decode_cursor(cursor)
    w = await window(connection, start, end, today)
    dialect = connection.dialect.name
    rows = (
        await connection.execute(deals_statement(w, scope, filters, dialect, component, after, page_size + 1))
    ).all()
    more = len(rows) > page_size
    rows = rows[:page_size]

    def optional(value: Any) -> Decimal | None:
        return None if value is None else money_of(value, dialect)

    items = [
        MovementDeal(
            deal_id=row.deal_id,
            deal_name=row.deal_name,
            outcome=row.outcome,
            amount=money_of(row.amount, dialect),
            from_amount=optional(row.a_amount),
            to_amount=optional(row.outcome_amount),
            from_stage=row.from_stage,
            to_stage=row.to_stage,
            to_status=row.to_status,
            from_closing_date=row.from_closing_date,
            to_closing_date=row.to_closing_date,
        )
        for row in rows
    ]
    next_cursor = str(rows[-1].deal_id) if more and rows else None
    return MovementDeals(source=SOURCE, component=component, items=items, next_cursor=next_cursor)


def _decode_cursor(cursor: str | None) -> int | None:
    """The cursor is the last deal id of the previous page, as a decimal string."""
    if cursor is None:
        return None
    try:
        return parse_zoho_id(cursor)
    except ValueError as exc:
        raise ApiError(422, "validation_error", "cursor: not a cursor this endpoint returned") from exc
