"""Typed results of the Zoho service layer: plain values (UTC datetimes, Decimal amounts, int ids), never SDK
objects. These are the contract between the service layer and its callers (the Dagster assets)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa


@dataclass(frozen=True, slots=True)
class DealRecord:
    """One Zoho deal. `raw` holds every fetched field as JSON-safe values (ids as str, dates ISO)."""

    id: int
    deal_name: str | None
    account_id: int | None
    account_name: str | None
    owner_id: int | None
    owner_name: str | None
    owner_email: str | None
    stage: str | None
    pipeline: str | None
    probability: int | None
    amount: Decimal | None
    currency: str | None
    exchange_rate: Decimal | None
    closing_date: date | None
    created_time: datetime | None
    modified_time: datetime | None
    last_activity_time: datetime | None
    lead_source: str | None
    deal_type: str | None
    region: str | None
    country: str | None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QuarantinedRecord:
    """A record Zoho returned that could not be parsed; goes to `rejected_records`, never dropped silently."""

    stream: str
    zoho_id: str | None
    reason: str
    payload: Any


@dataclass(frozen=True, slots=True)
class DealPage:
    """One page of changed deals, in (Modified_Time, id) order. `cursor` is the last record's key. A Bulk Read
    page carries `resume_token`: where a read interrupted after this page continues (None after the last).

    The deals are either `records` or, decoded straight into columns (Bulk Read), `frame`: an Arrow table
    with the columns of `deal_columns.records_to_frame`, in file order (then `records` is empty; `cursor` is
    still the page's largest key)."""

    records: list[DealRecord]
    rejected: list[QuarantinedRecord]
    cursor: tuple[datetime, int] | None
    more_records: bool
    resume_token: str | None = None
    frame: pa.Table | None = None

    @property
    def size(self) -> int:
        """Deals on the page (not counting rejected ones)."""
        return self.frame.num_rows if self.frame is not None else len(self.records)

    def ids(self) -> list[int]:
        if self.frame is not None:
            return self.frame.column("id").to_pylist()
        return [record.id for record in self.records]


@dataclass(frozen=True, slots=True)
class DeletedDeal:
    id: int
    deleted_time: datetime
    deletion_type: str  # "recycle" or "permanent"
    display_name: str | None = None
    deleted_by_id: int | None = None


@dataclass(frozen=True, slots=True)
class CrmUserRecord:
    id: int
    full_name: str | None
    email: str | None
    role_name: str | None
    profile_name: str | None
    status: str | None
    country: str | None
    modified_time: datetime | None


@dataclass(frozen=True, slots=True)
class StageRecord:
    """A stage of a pipeline with Zoho's probability and forecast settings."""

    pipeline: str
    stage: str
    sequence: int
    probability: int
    forecast_type: str  # Open / Closed Won / Closed Lost
    forecast_category: str | None
    zoho_stage_id: int | None = None
    is_active: bool = True


@dataclass(frozen=True, slots=True)
class CurrencyRecord:
    iso_code: str
    name: str | None
    symbol: str | None
    exchange_rate: Decimal  # units of this currency per 1 home-currency unit
    is_home: bool
    is_active: bool


@dataclass(frozen=True, slots=True)
class StageHistoryRecord:
    id: int
    deal_id: int
    stage: str
    entered_at: datetime
    amount: Decimal | None
    probability: int | None
    expected_revenue: Decimal | None
    closing_date: date | None
    duration_days: Decimal | None
    changed_by_id: int | None
    changed_by_name: str | None


@dataclass
class CallCounters:
    """Per-run counters for the pipeline's run metadata."""

    calls: int = 0
    credits: int = 0
    retries: int = 0
    pages: int = 0
    records: int = 0
    rejected: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
