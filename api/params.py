"""Each endpoint's query-parameter model (see api/filters.py for the rules every model follows).

Receive one with `params: Annotated[SummaryParams, Query()]`. A new endpoint adds its model here, derived
from `DealFilters` when it filters deals, so the filters, their validation, the SQL conditions and the cache
key stay the same everywhere.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import UTC, date, datetime
from typing import Literal

from pydantic import Field, model_validator

from api.cursor import CursorParam
from api.filters import DealFilters, DealStatusFilter, QueryParams, inverted_range
from api.scalars import QueryDate, QueryInt, QueryPeriod, QueryText, ZohoIdParam

Interval = Literal["day", "week", "month"]
ExportFormat = Literal["json", "csv"]
FORMAT_DESCRIPTION = "csv for a CSV download (as `Accept: text/csv`), json (the default otherwise)."
DealSort = Literal[
    "id", "-id", "amount_home", "-amount_home", "closing_date", "-closing_date", "modified_time", "-modified_time"
]
MAX_PAGE_SIZE = 200
STALE_AFTER_DAYS_MAX = 3650


def today_utc() -> date:
    return datetime.now(UTC).date()


class SummaryParams(DealFilters):
    as_of: QueryDate | None = Field(
        None, description="Reference day for staleness (default: the mart's refresh day, UTC)."
    )
    stale_after_days: QueryInt = Field(
        30, ge=1, le=STALE_AFTER_DAYS_MAX, description="Days without change that make a deal stale."
    )

    def cache_salt(self) -> Hashable:
        # Without as_of the stale count may be "as of today".
        return today_utc() if self.as_of is None else None


class GroupParams(DealFilters):
    deal_status: DealStatusFilter = Field("open", description="Which deals to group: open (default), won, lost or all.")
    format: ExportFormat | None = Field(None, description=FORMAT_DESCRIPTION)


class _DayRange(DealFilters):
    start: QueryDate = Field(alias="from", description="First day (YYYY-MM-DD).")
    end: QueryDate = Field(alias="to", description="Last day (YYYY-MM-DD).")

    @model_validator(mode="after")
    def _ordered_days(self) -> _DayRange:
        if self.start > self.end:
            raise inverted_range("from", "to")
        return self


class TrendParams(_DayRange):
    interval: Interval = Field("month", description="day, week (ISO, Monday first) or month.")

    def cache_salt(self) -> Hashable:
        # Which period is "current" (and which is in the future) depends on today.
        return today_utc()


class MovementParams(_DayRange):
    def cache_salt(self) -> Hashable:
        # `to` on or after today means the current state.
        return today_utc()


MovementComponent = Literal[
    "start",
    "end",
    "still_open",
    "new",
    "pulled_in",
    "increased",
    "decreased",
    "won",
    "lost",
    "pushed_out",
    "removed",
]


class MovementDealsParams(MovementParams):
    component: MovementComponent = Field(description="Which component's deals to list.")
    cursor: QueryText | None = Field(None, description="`next_cursor` of the previous page.")
    page_size: QueryInt = Field(50, ge=1, le=MAX_PAGE_SIZE, description=f"At most {MAX_PAGE_SIZE}.")


class FunnelParams(DealFilters):
    pipeline: QueryText = Field(description="Pipeline name (one of /stages' pipelines).")
    start: QueryDate | None = Field(None, alias="from", description="History entered on or after (YYYY-MM-DD).")
    end: QueryDate | None = Field(None, alias="to", description="History entered on or before (YYYY-MM-DD).")

    @model_validator(mode="after")
    def _ordered_days(self) -> FunnelParams:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise inverted_range("from", "to")
        return self


class DealListParams(DealFilters):
    deal_status: DealStatusFilter = Field("all", description="open, won, lost or all (default).")
    sort: DealSort = Field(
        "-id", description="Field, '-' prefix for descending; NULLs last in both directions, id breaks ties."
    )
    page_size: QueryInt = Field(50, ge=1, le=MAX_PAGE_SIZE, description=f"At most {MAX_PAGE_SIZE}.")
    cursor: CursorParam | None = Field(
        None, description="`next_cursor` of the previous page (same sort); omit for the first page."
    )
    format: ExportFormat | None = Field(
        None, description=FORMAT_DESCRIPTION + " CSV holds every matching deal from `cursor` on, in `sort` order."
    )

    @model_validator(mode="after")
    def _cursor_matches_sort(self) -> DealListParams:
        if self.cursor is not None and self.cursor.sort != self.sort:
            raise ValueError(f"cursor: belongs to sort={self.cursor.sort}, not sort={self.sort}")
        return self


class StageListParams(QueryParams):
    pipeline: QueryText | None = Field(None, description="Only this pipeline's stages.")


PeriodGrouping = Literal["none", "region", "owner"]


class _PeriodParams(QueryParams):
    """A forecast period instead of a closing range: the period's days are the closing range."""

    period: QueryPeriod = Field(description="The period: YYYY-MM (a month) or YYYY-Qn (a calendar quarter).")
    owner_id: ZohoIdParam | None = Field(None, description="Zoho user id of the deal owner (a string).")
    group_by: PeriodGrouping = Field("none", description="Also break the figures down by region or by owner.")

    def cache_salt(self) -> Hashable:
        return today_utc()  # "won to date" ends today

    def filters(self) -> DealFilters:
        """The deal filters of the period: closing date within it, and the owner."""
        return DealFilters(
            owner_id=self.owner_id,
            pipeline=getattr(self, "pipeline", None),
            closing_from=self.period.start,
            closing_to=self.period.end,
        )


class ForecastParams(_PeriodParams):
    pipeline: QueryText | None = Field(None, description="Pipeline name (one of /stages' pipelines).")


class AttainmentParams(_PeriodParams):
    pass


AttentionSort = Literal["-amount_at_risk", "amount_at_risk"]


class AttentionParams(DealFilters):
    health: Literal["any", "red", "amber"] = Field(
        "any", description="Which deals: any that breaks a rule (default), red ones or amber ones."
    )
    rule: QueryText | None = Field(None, description="Only deals breaking this rule (a deal_health_rules.rule).")
    sort: AttentionSort = Field("-amount_at_risk", description="By amount at risk, largest first by default.")
    page_size: QueryInt = Field(50, ge=1, le=MAX_PAGE_SIZE, description=f"At most {MAX_PAGE_SIZE}.")
    cursor: CursorParam | None = Field(None, description="`next_cursor` of the previous page (same sort).")

    @model_validator(mode="after")
    def _cursor_matches_sort(self) -> AttentionParams:
        if self.cursor is not None and (self.cursor.sort != self.sort or self.cursor.phase != 0):
            raise ValueError(f"cursor: belongs to sort={self.cursor.sort}, not sort={self.sort}")
        return self


class StageAnalyticsParams(FunnelParams):
    """The funnel's parameters: the pipeline, and the days stays began (`from` / `to`, both optional)."""
