"""What every query over `deal_versions` shares: the filter compiler's columns of a version row, exact money sums, and the
history start (states before it are unknown). Definitions: docs/metrics.md, sections 3, 5 and 7."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, cast, false, func
from sqlalchemy.ext.asyncio import AsyncConnection

from api.errors import ApiError
from api.filters import DealFilters
from api.queries.conditions import FilterColumns, where
from api.scope import RegionScope
from pipeline_pulse.warehouse.history import HISTORY_START_QUERY, known_day

CENT = Decimal("0.01")
SOURCE = "deal_versions"


def version_columns(versions: Any) -> FilterColumns:
    """Where a `deal_versions` row (or an alias of the table) keeps the filtered facts."""
    c = versions.c
    return FilterColumns(
        name="deal_versions",
        region=c.region,
        owner_id=c.owner_id,
        pipeline=c.pipeline,
        stage=c.stage,
        deal_status=c.deal_status,
        closing=c.closing_date,
    )


def scope_conditions(
    versions: Any, scope: RegionScope, filters: DealFilters, *, stage: bool = True
) -> ColumnElement[bool]:
    """Region scope, owner, pipeline and (optionally) stage on a version row: the deal's scope at that time."""
    dropped: dict[str, Any] = {"closing_from": None, "closing_to": None}
    if not stage:
        dropped["stage"] = None
    return where(version_columns(versions), scope, filters.only_filters().model_copy(update=dropped))


def closing_conditions(versions: Any, filters: DealFilters) -> ColumnElement[bool]:
    """The closing range on a version row (a deal without a closing date never matches a range)."""
    closing = DealFilters(closing_from=filters.closing_from, closing_to=filters.closing_to)
    return where(version_columns(versions), RegionScope(None), closing)


def open_live(versions: Any) -> ColumnElement[bool]:
    return and_(versions.c.deleted == false(), versions.c.deal_status == "open")


def cents(value: Any, dialect: str) -> ColumnElement[Any]:
    """A money column ready for exact sums: NUMERIC on Postgres, integer cents on SQLite (which would sum
    NUMERIC as floats). NULL counts as 0. Read sums back with `money_of`."""
    amount = func.coalesce(value, 0)
    if dialect == "postgresql":
        return amount
    return cast(func.round(amount * 100), Integer)


def money_of(value: Any, dialect: str) -> Decimal:
    if value is None:
        return Decimal("0.00")
    if dialect == "postgresql":
        return Decimal(value).quantize(CENT)
    return (Decimal(int(value)) / 100).quantize(CENT)


async def history_start(connection: AsyncConnection) -> datetime | None:
    return (await connection.execute(HISTORY_START_QUERY)).scalar()


def require_known(day: date, start: datetime | None, parameter: str) -> None:
    """422 naming the parameter when the end of `day` is before the history start (unknown state)."""
    if known_day(day, start):
        return
    if start is None:
        raise ApiError(422, "validation_error", f"{parameter}: no deal history has been observed yet")
    first = start.astimezone(UTC).date().isoformat()
    raise ApiError(
        422,
        "validation_error",
        f"{parameter}: {day.isoformat()} is before the history start ({first}); states before it are unknown",
    )


def as_date(value: Any) -> date:
    """A day from SQL (a date on Postgres, 'YYYY-MM-DD' text on SQLite)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))
