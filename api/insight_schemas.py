"""Response models of the sales-insight endpoints (forecast, attainment, stage analytics, deal health).

Same conventions as api/schemas.py: money in home currency as decimal strings, ratios as numbers, Zoho ids as
strings. Every figure is defined in docs/metrics.md, section 12."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.scalars import ZohoId

Grouping = Literal["none", "region", "owner"]


def _examples(*examples: dict[str, object]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class PeriodInfo(BaseModel):
    period: str = Field(description="The period asked for: YYYY-MM or YYYY-Qn.")
    period_start: date = Field(description="Its first day (UTC).")
    period_end: date = Field(description="Its last day (UTC, inclusive).")
    as_of: date = Field(description="Today (UTC): won to date counts won deals closing up to this day.")


class CategoryFigures(BaseModel):
    category: str | None = Field(description="Forecast category; null for deals without one (docs/metrics.md 12.1).")
    deal_count: int
    amount: Decimal = Field(description="Σ amount_home.")
    weighted_amount: Decimal = Field(description="Σ weighted_amount_home.")


class CountAmount(BaseModel):
    deal_count: int
    amount: Decimal = Field(description="Σ amount_home.")


class ForecastGroup(BaseModel):
    region: str | None = Field(description="The region (group_by=region), else null.")
    owner_id: ZohoId | None = Field(description="The owner (group_by=owner), else null.")
    owner_name: str | None
    categories: list[CategoryFigures] = Field(
        description="Deals closing in the period per forecast category: the five standard categories always "
        "(zeros included), then any other category present, then null (no category) if present."
    )
    won_to_date: CountAmount = Field(description="Won deals closing between the period's start and as_of.")


class Forecast(PeriodInfo):
    model_config = _examples(
        {
            "period": "2026-Q1",
            "period_start": "2026-01-01",
            "period_end": "2026-03-31",
            "as_of": "2026-02-15",
            "group_by": "none",
            "source": "deals",
            "total": {
                "region": None,
                "owner_id": None,
                "owner_name": None,
                "categories": [
                    {"category": "Pipeline", "deal_count": 3, "amount": "3000.00", "weighted_amount": "300.00"},
                    {"category": "Best Case", "deal_count": 1, "amount": "2000.00", "weighted_amount": "1200.00"},
                    {"category": "Committed", "deal_count": 0, "amount": "0.00", "weighted_amount": "0.00"},
                    {"category": "Closed", "deal_count": 2, "amount": "5000.00", "weighted_amount": "5000.00"},
                    {"category": "Omitted", "deal_count": 1, "amount": "700.00", "weighted_amount": "0.00"},
                ],
                "won_to_date": {"deal_count": 2, "amount": "5000.00"},
            },
            "groups": [],
        }
    )
    group_by: Grouping
    source: Literal["deals"] = Field(description="Answered from the deals table (current state).")
    total: ForecastGroup = Field(description="Every deal in scope matching the filters.")
    groups: list[ForecastGroup] = Field(
        description="Per region (by code) or per owner (largest amount first, then id); empty for group_by=none."
    )


class AttainmentFigures(BaseModel):
    region: str | None = Field(description="The region (group_by=region), else null.")
    owner_id: ZohoId | None = Field(description="The owner (group_by=owner, or the owner_id filter), else null.")
    owner_name: str | None
    target: Decimal | None = Field(description="The period's target; null when none is loaded (12.2).")
    won_count: int = Field(description="Won deals closing between the period's start and as_of.")
    won_to_date: Decimal = Field(description="Σ amount_home of those won deals.")
    attainment: float | None = Field(description="won_to_date / target (1.0 = 100%); null without a target > 0.")
    gap: Decimal | None = Field(description="target - won_to_date (negative when exceeded); null without a target.")
    open_count: int = Field(description="Open deals closing in the period.")
    open_pipeline: Decimal = Field(description="Σ amount_home of open deals closing in the period.")
    weighted_pipeline: Decimal = Field(description="Σ weighted_amount_home of those open deals.")
    coverage: float | None = Field(description="open_pipeline / gap; null without a target or when gap <= 0.")


class Attainment(PeriodInfo):
    model_config = _examples(
        {
            "period": "2026-Q1",
            "period_start": "2026-01-01",
            "period_end": "2026-03-31",
            "as_of": "2026-02-15",
            "group_by": "region",
            "source": "deals+sales_targets",
            "total": {
                "region": None,
                "owner_id": None,
                "owner_name": None,
                "target": "10000.00",
                "won_count": 2,
                "won_to_date": "4000.00",
                "attainment": 0.4,
                "gap": "6000.00",
                "open_count": 3,
                "open_pipeline": "9000.00",
                "weighted_pipeline": "3600.00",
                "coverage": 1.5,
            },
            "groups": [],
        }
    )
    group_by: Grouping
    source: Literal["deals+sales_targets"] = Field(description="Deals (current state) and sales_targets.")
    total: AttainmentFigures
    groups: list[AttainmentFigures] = Field(
        description="Per region (by code) or per owner (largest target, then won, then id); empty for group_by=none."
    )


class HealthReason(BaseModel):
    rule: str = Field(description="The rule broken (deal_health_rules.rule).")
    severity: Literal["amber", "red"]
    measure: str = Field(description="What the rule measures (docs/metrics.md 12.3).")
    value: float = Field(description="The deal's measure now, rounded to 2 decimals (days are UTC, fractional).")
    comparison: Literal[">", ">=", "<", "<="]
    threshold: float
    description: str


class DealHealth(BaseModel):
    model_config = _examples(
        {
            "status": "red",
            "reasons": [
                {
                    "rule": "past_close_date",
                    "severity": "red",
                    "measure": "days_past_close",
                    "value": 12.0,
                    "comparison": ">",
                    "threshold": 0.0,
                    "description": "Still open after its closing date (before today, UTC).",
                }
            ],
        }
    )
    status: Literal["green", "amber", "red"] = Field(
        description="red if it breaks a red rule, else amber if it breaks any rule, else green."
    )
    reasons: list[HealthReason] = Field(description="The rules it breaks now: red first, then by rule name.")


class AttentionItem(BaseModel):
    id: ZohoId
    deal_name: str | None
    region: str
    pipeline: str | None
    stage: str
    owner_id: ZohoId | None
    owner_name: str | None
    amount_home: Decimal | None
    closing_date: date | None
    amount_at_risk: Decimal = Field(description="amount_home of the deal (0 when it has none).")
    health: DealHealth


class AttentionPage(BaseModel):
    items: list[AttentionItem] = Field(description="Open deals breaking at least one rule, in the requested order.")
    page_size: int
    has_more: bool
    next_cursor: str | None = Field(description="Pass as `cursor` (with the same sort) for the next page.")


class StageFigures(BaseModel):
    stage: str
    sequence: int | None = Field(description="Position in the pipeline; null for a stage not in it (listed last).")
    deal_status: Literal["open", "won", "lost"] | None = Field(description="What the stage means; null if unknown.")
    entered: int = Field(description="Stays that began in the window (a deal entering twice counts twice).")
    moved_forward: int = Field(description="Of those, the deal's next stage was a later open stage.")
    moved_back: int = Field(description="... an earlier open stage.")
    won: int = Field(description="... a won stage.")
    lost: int = Field(description="... a lost stage.")
    other: int = Field(description="... the same stage again, or a stage not in the pipeline.")
    still_in_stage: int = Field(description="... none yet: the deal is still in the stage.")
    conversion_to_next: float | None = Field(
        description="(moved_forward + won) / (entered - still_in_stage); null when no stay has ended."
    )
    median_days: float | None = Field(description="Median days of the stays that ended (null when none has).")
    p90_days: float | None = Field(description="90th percentile of the same durations.")
    stuck_beyond_sla: int = Field(description="Open deals in the stage now that break the stage_sla rule.")
    closing_date_slips: int = Field(description="Closing-date pushes made while in the stage, within the window.")


class StageAnalytics(BaseModel):
    model_config = _examples(
        {
            "pipeline": "Standard",
            "from_date": "2026-01-01",
            "to_date": "2026-03-31",
            "source": "deal_stage_history+deal_versions+v_deal_health",
            "stages": [
                {
                    "stage": "Qualification",
                    "sequence": 1,
                    "deal_status": "open",
                    "entered": 10,
                    "moved_forward": 6,
                    "moved_back": 0,
                    "won": 0,
                    "lost": 2,
                    "other": 0,
                    "still_in_stage": 2,
                    "conversion_to_next": 0.75,
                    "median_days": 6.5,
                    "p90_days": 14.2,
                    "stuck_beyond_sla": 1,
                    "closing_date_slips": 3,
                }
            ],
        }
    )
    pipeline: str
    from_date: date | None = Field(description="Window start (UTC day, the `from` parameter); null = no start.")
    to_date: date | None = Field(description="Window end (UTC day, inclusive; the `to` parameter); null = no end.")
    source: Literal["deal_stage_history+deal_versions+v_deal_health"]
    stages: list[StageFigures] = Field(description="The pipeline's stages in sequence, then any other stage entered.")
