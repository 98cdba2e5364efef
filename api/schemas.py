"""Response models. Money is home currency as a decimal string (exact); rates are floats in [0, 1]; every
Zoho id (64-bit) is a decimal string (`ZohoId`), since a JSON number above 2^53 loses digits in a browser."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.insight_schemas import DealHealth
from api.scalars import ID_EXAMPLE, ZohoId

Source = Literal["mart", "mart_daily", "mart+mart_daily", "deals", "mart+deals"]


def _examples(*examples: dict[str, object]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable error code, e.g. unauthorized, forbidden, validation_error.")
    message: str = Field(description="What went wrong, for humans.")


class ErrorBody(BaseModel):
    model_config = _examples({"error": {"code": "forbidden", "message": "region 'EMEA' is outside your region scope"}})
    error: ErrorDetail


class Summary(BaseModel):
    model_config = _examples(
        {
            "source": "mart",
            "as_of": "2026-03-01",
            "open_deal_count": 2,
            "open_pipeline": "400.00",
            "weighted_pipeline": "40.00",
            "won_count": 1,
            "won_amount": "1000.00",
            "lost_count": 1,
            "lost_amount": "500.00",
            "win_rate_by_count": 0.5,
            "win_rate_by_amount": 0.6667,
            "average_won_deal_size": "1000.00",
            "average_sales_cycle_days": 30.0,
            "sales_velocity_per_day": "33.33",
            "stale_open_deals": 1,
            "stale_after_days": 30,
        }
    )
    source: Source = Field(
        description="Tables that answered: mart = pipeline_metrics (closing months), mart_daily = "
        "pipeline_metrics_daily (closing days), deals = the deals table; joined by + (docs/metrics.md section 4)."
    )
    as_of: date = Field(
        description="Reference day for staleness (UTC): the as_of parameter, else the day the mart was refreshed."
    )
    open_deal_count: int
    open_pipeline: Decimal = Field(description="Σ amount_home of open deals.")
    weighted_pipeline: Decimal = Field(description="Σ amount_home × probability / 100 of open deals.")
    won_count: int = Field(description="Won deals (closing date within the closing range, if given).")
    won_amount: Decimal
    lost_count: int
    lost_amount: Decimal
    win_rate_by_count: float | None = Field(description="won / (won + lost) by count; null without closed deals.")
    win_rate_by_amount: float | None = Field(description="won amount / (won + lost amount).")
    average_won_deal_size: Decimal | None = Field(description="won amount / won count.")
    average_sales_cycle_days: float | None = Field(
        description="Mean of (closing date - UTC created date) in days over won deals having both dates."
    )
    sales_velocity_per_day: Decimal | None = Field(
        description="open deals × average won deal size × win rate by count / average sales cycle days."
    )
    stale_open_deals: int = Field(
        description="Open deals not modified for more than stale_after_days before as_of, or closing before as_of."
    )
    stale_after_days: int


class GroupFigures(BaseModel):
    deal_count: int
    amount: Decimal = Field(description="Σ amount_home.")
    weighted_amount: Decimal = Field(description="Σ weighted_amount_home.")


class StageGroup(GroupFigures):
    pipeline: str | None
    stage: str
    sequence: int | None = Field(description="Position in the pipeline (null for stages unknown to pipeline_stages).")


class RegionGroup(GroupFigures):
    region: str


class OwnerGroup(GroupFigures):
    owner_id: ZohoId | None
    owner_name: str | None


class StageGroups(BaseModel):
    model_config = _examples(
        {
            "source": "mart",
            "deal_status": "open",
            "items": [
                {
                    "pipeline": "Standard",
                    "stage": "Qualification",
                    "sequence": 1,
                    "deal_count": 2,
                    "amount": "400.00",
                    "weighted_amount": "40.00",
                }
            ],
        }
    )
    source: Source
    deal_status: str
    items: list[StageGroup]


class RegionGroups(BaseModel):
    model_config = _examples(
        {
            "source": "mart",
            "deal_status": "open",
            "items": [{"region": "APAC", "deal_count": 2, "amount": "400.00", "weighted_amount": "40.00"}],
        }
    )
    source: Source
    deal_status: str
    items: list[RegionGroup]


class OwnerGroups(BaseModel):
    model_config = _examples(
        {
            "source": "mart",
            "deal_status": "open",
            "items": [
                {
                    "owner_id": "4876876000000224001",
                    "owner_name": "Ana",
                    "deal_count": 2,
                    "amount": "400.00",
                    "weighted_amount": "40.00",
                }
            ],
        }
    )
    source: Source
    deal_status: str
    items: list[OwnerGroup]


TrendState = Literal["end_of_day", "current", "unknown", "future"]


class TrendPoint(BaseModel):
    period_start: date
    period_end: date = Field(description="Last day of the period, clipped to `to`.")
    state: TrendState = Field(
        description="end_of_day: the state at the end of period_end; current: the current state (the period "
        "reaches today); unknown: before the history start; future: the period starts after today."
    )
    as_of_day: date | None = Field(description="The day whose end-state is shown (today for current); else null.")
    open_deal_count: int | None = Field(description="Open live deals in scope at that time; null if not known.")
    open_pipeline: Decimal | None = Field(description="Σ amount_home of those deals.")
    weighted_pipeline: Decimal | None = Field(description="Σ weighted_amount_home of those deals.")

    @classmethod
    def unknown(cls, period_start: date, period_end: date, state: TrendState) -> TrendPoint:
        return cls(
            period_start=period_start,
            period_end=period_end,
            state=state,
            as_of_day=None,
            open_deal_count=None,
            open_pipeline=None,
            weighted_pipeline=None,
        )


class Trend(BaseModel):
    model_config = _examples(
        {
            "source": "deal_versions",
            "interval": "month",
            "items": [
                {
                    "period_start": "2026-01-01",
                    "period_end": "2026-01-31",
                    "state": "end_of_day",
                    "as_of_day": "2026-01-31",
                    "open_deal_count": 2,
                    "open_pipeline": "400.00",
                    "weighted_pipeline": "40.00",
                }
            ],
        }
    )
    source: str = Field(description="Tables that answered (docs/metrics.md section 4).")
    interval: str
    items: list[TrendPoint]


class FunnelStep(BaseModel):
    stage: str
    sequence: int
    reached: int = Field(description="Deals whose history reached this stage or a later open/won stage.")
    conversion_to_next: float | None = Field(description="reached(next stage) / reached(this stage).")


class Funnel(BaseModel):
    model_config = _examples(
        {
            "pipeline": "Standard",
            "steps": [
                {"stage": "Qualification", "sequence": 1, "reached": 4, "conversion_to_next": 0.5},
                {"stage": "Closed Won", "sequence": 5, "reached": 2, "conversion_to_next": None},
            ],
            "source": "deal_stage_history",
        }
    )
    pipeline: str
    steps: list[FunnelStep]
    source: Literal["deal_stage_history"] = Field(
        default="deal_stage_history",
        description="Tables that answered: the stage timeline (docs/metrics.md sections 4 and 8), joined to deals "
        "and pipeline_stages.",
    )


class MovementCounts(BaseModel):
    """Deals per outcome: every deal open in scope at `from` or at `to` is in exactly one."""

    still_open: int
    new: int
    pulled_in: int
    won: int
    lost: int
    pushed_out: int
    removed: int


class Movement(BaseModel):
    model_config = _examples(
        {
            "source": "deal_versions",
            "from_date": "2026-01-01",
            "to_date": "2026-02-01",
            "to_current": False,
            "closing_from": None,
            "closing_to": None,
            "start": "1000.00",
            "new": "200.00",
            "pulled_in": "0.00",
            "increased": "50.00",
            "decreased": "20.00",
            "pushed_out": "0.00",
            "won": "300.00",
            "lost": "100.00",
            "removed": "30.00",
            "end": "800.00",
            "deal_counts": {
                "still_open": 4,
                "new": 1,
                "pulled_in": 0,
                "won": 1,
                "lost": 1,
                "pushed_out": 0,
                "removed": 1,
            },
        }
    )
    source: str = Field(description="Tables that answered (docs/metrics.md section 4).")
    from_date: date = Field(description="A = the end of this UTC day.")
    to_date: date = Field(description="B = the end of this UTC day, or the current state (to_current).")
    to_current: bool = Field(description="True when to_date is today or later: B is the current state.")
    closing_from: date | None = Field(description="Start of the closing period (null: open-ended or none).")
    closing_to: date | None = Field(description="End of the closing period (null: open-ended or none).")
    start: Decimal = Field(description="Σ amount_home at A of deals open in scope (and in the closing period) at A.")
    new: Decimal = Field(description="Σ amount at B of deals in the pipeline at B but not at A (not pulled in).")
    pulled_in: Decimal = Field(
        description="Σ amount at B of deals open in scope at A with a closing date outside the period, inside at B."
    )
    increased: Decimal = Field(
        description="Σ rises of amount between A and the outcome (still open, won, lost, pushed out)."
    )
    decreased: Decimal = Field(description="Σ falls of amount between A and the outcome.")
    pushed_out: Decimal = Field(
        description="Σ amount at B of deals in the pipeline at A, open in scope at B with a closing date outside "
        "the period (and not closed in the window)."
    )
    won: Decimal = Field(description="Σ won amount of deals in the pipeline at A that were won inside the window.")
    lost: Decimal = Field(description="Σ lost amount of deals in the pipeline at A that were lost inside the window.")
    removed: Decimal = Field(
        description="Σ amount at A of deals in the pipeline at A, not at B, neither closed nor pushed out: deleted, "
        "or moved out of the scope (region, owner, pipeline, stage)."
    )
    end: Decimal = Field(description="Σ amount_home at B of deals open in scope (and in the closing period) at B.")
    deal_counts: MovementCounts


class MovementDeal(BaseModel):
    deal_id: ZohoId = Field(description="Zoho deal id.")
    deal_name: str | None
    outcome: str = Field(description="still_open, new, pulled_in, won, lost, pushed_out or removed.")
    amount: Decimal = Field(description="What the deal contributes to the requested component.")
    from_amount: Decimal | None = Field(description="amount_home at A when in the pipeline at A, else null.")
    to_amount: Decimal | None = Field(
        description="The outcome amount (at B, or the won / lost amount); null when removed."
    )
    from_stage: str | None = Field(description="Stage at A (null: no state at A).")
    to_stage: str | None = Field(description="Stage at B (the last stage if deleted; null: no state at B).")
    to_status: str | None = Field(description="open, won, lost or deleted at B; null: no state at B.")
    from_closing_date: date | None
    to_closing_date: date | None


class MovementDeals(BaseModel):
    model_config = _examples(
        {
            "source": "deal_versions",
            "component": "won",
            "items": [
                {
                    "deal_id": "4876876000100012985",
                    "deal_name": "Acme renewal",
                    "outcome": "won",
                    "amount": "300.00",
                    "from_amount": "250.00",
                    "to_amount": "300.00",
                    "from_stage": "Negotiation",
                    "to_stage": "Closed Won",
                    "to_status": "won",
                    "from_closing_date": "2026-01-31",
                    "to_closing_date": "2026-01-20",
                }
            ],
            "next_cursor": None,
        }
    )
    source: str
    component: str
    items: list[MovementDeal]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class DealOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: ZohoId
    deal_name: str | None
    account_name: str | None
    owner_id: ZohoId | None
    owner_name: str | None
    stage: str
    pipeline: str | None
    deal_status: str
    probability: int | None
    amount: Decimal | None = Field(description="In the deal's own currency.")
    currency: str | None
    amount_home: Decimal | None
    weighted_amount_home: Decimal | None
    closing_date: date | None
    created_time: datetime | None
    modified_time: datetime | None
    region: str
    health: DealHealth | None = Field(
        None, description="Open deals: green / amber / red with the rules broken (v_deal_health); null when closed."
    )


# The fields of a deal row (the `deals` columns the API serves); `health` comes from the health views.
DEAL_ROW_FIELDS = tuple(name for name in DealOut.model_fields if name != "health")


class DealPage(BaseModel):
    model_config = _examples(
        {
            "items": [
                {
                    "id": ID_EXAMPLE,
                    "deal_name": "Acme renewal",
                    "account_name": "Acme",
                    "owner_id": "4876876000000224001",
                    "owner_name": "Ana",
                    "stage": "Qualification",
                    "pipeline": "Standard",
                    "deal_status": "open",
                    "probability": 10,
                    "amount": "100.00",
                    "currency": "USD",
                    "amount_home": "100.00",
                    "weighted_amount_home": "10.00",
                    "closing_date": "2026-03-05",
                    "created_time": "2026-01-10T23:30:00Z",
                    "modified_time": "2026-02-01T10:00:00Z",
                    "region": "APAC",
                }
            ],
            "page_size": 50,
            "has_more": True,
            "next_cursor": "WyItaWQiLDAsbnVsbCwiNDg3Njg3NjAwMDEwMDAxMjk4NSJd",
        }
    )
    items: list[DealOut]
    page_size: int
    has_more: bool
    next_cursor: str | None = Field(description="Pass as `cursor` (same filters and sort) for the next page.")


class StageHistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: ZohoId
    stage: str
    entered_at: datetime
    left_at: datetime | None
    duration_days: Decimal | None
    amount: Decimal | None
    probability: int | None
    closing_date: date | None
    changed_by_name: str | None
    source: str = Field(
        description="zoho: from Zoho's Stage_History (before the pipeline first saw the deal); versions: a stage "
        "change the pipeline observed (docs/metrics.md, section 8)."
    )


class DealDetail(DealOut):
    stage_history: list[StageHistoryOut]


class RegionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    description: str | None


class StageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    pipeline: str
    stage: str
    sequence: int
    probability: int
    forecast_type: str
    forecast_category: str | None
    deal_status: str
    is_active: bool


_ORG_WIDE = "Org-wide count of the last run; null unless your token sees all regions (and no `region` narrows it)."


class SyncStream(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    stream: str
    last_status: str | None
    last_success_at: datetime | None
    last_run_finished_at: datetime | None
    # Org-wide counts of the last run: null for a token limited to some regions (they would reveal the volume of
    # regions it may not see). Every counter of a stream is named records_* (api/queries/reference.py).
    records_extracted: int | None = Field(description=_ORG_WIDE)
    records_inserted: int | None = Field(description=_ORG_WIDE)
    records_updated: int | None = Field(description=_ORG_WIDE)
    records_deleted: int | None = Field(description=_ORG_WIDE)
    records_rejected: int | None = Field(description=_ORG_WIDE)


class SyncStatus(BaseModel):
    model_config = _examples(
        {
            "last_success_at": "2026-03-01T10:00:00Z",
            "freshness_seconds": 120.5,
            "live_deals": 1520,
            "mart_refreshed_at": "2026-03-01T10:00:01Z",
            "history_starts_at": "2026-01-01T00:00:00Z",
            "streams": [],
        }
    )
    last_success_at: datetime | None = Field(description="Latest successful run over all streams.")
    freshness_seconds: float | None = Field(description="Seconds since last_success_at.")
    live_deals: int = Field(description="Deals in your regions that are not deleted.")
    mart_refreshed_at: datetime | None
    history_starts_at: datetime | None = Field(
        description="From this instant the warehouse has observed every deal change; states before it are "
        "unknown (docs/metrics.md section 3). Null before the first complete deals sync."
    )
    streams: list[SyncStream]


class Health(BaseModel):
    status: str = "ok"


class Ready(BaseModel):
    status: str = "ready"
    database: str = "reachable"
