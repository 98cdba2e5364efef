"""Deals described by the facts the health rules read (ages relative to now), loaded into a warehouse, and an
oracle that applies the written rule definitions (docs/metrics.md 12.3) to the descriptions in plain Python.

Ages are whole days + 0.5 and thresholds whole numbers, so the few seconds between loading, the API's clock and
the oracle's never flip a comparison; `today` is taken around the calls and a test retries if midnight passed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, delete, insert, text

from pipeline_pulse.models import Deal, DealHealthRule, DealStageHistory, DealVersion, PipelineStage, StageDuration
from tests.fixtures.api import deal_row

BASE = 4_876_876_000_200_000_000
STAGE_PROBABILITY = {"Qualification": 10, "Proposal": 50, "Negotiation": 80}
PIPELINES = ("Standard", "Renewals")
CLOSED_STAGES = (
    ("Closed Won", 4, 100, "Closed Won", "Closed", "won"),
    ("Closed Lost", 5, 0, "Closed Lost", "Omitted", "lost"),
)
DEFAULT_RULES = {  # rule -> (measure, comparison, threshold, severity): the seeded defaults of migration 0011
    "past_close_date": ("days_past_close", ">", 0, "red"),
    "no_activity": ("days_since_touch", ">", 30, "amber"),
    "stage_sla": ("days_over_stage_median", ">", 0, "amber"),
    "probability_mismatch": ("probability_gap", ">", 20, "amber"),
    "amount_missing": ("amount_missing", ">", 0, "amber"),
    "closing_date_pushed": ("closing_date_pushes", ">", 2, "amber"),
}


@dataclass(frozen=True)
class HealthDeal:
    n: int
    stage: str = "Qualification"
    pipeline: str | None = "Standard"
    region: str = "APAC"
    status: str = "open"
    probability: int | None = 10
    amount: str | None = "1000.00"
    closing_in_days: int | None = 30  # closing date = today + this
    modified_days_ago: float = 1.5
    activity_days_ago: float | None = None
    stage_entered_days_ago: float | None = 2.5  # latest stage-history entry; None = no history
    created_days_ago: float = 100.5
    closing_dates: tuple[int, ...] = ()  # the versions' closing dates (days from today), oldest first
    deleted: bool = False

    @property
    def id(self) -> int:
        return BASE + self.n


@dataclass(frozen=True)
class RuleRow:
    rule: str
    measure: str
    comparison: str
    threshold: int
    severity: str
    pipeline: str = "*"
    stage: str = "*"
    enabled: bool = True


@dataclass
class HealthWorld:
    deals: list[HealthDeal]
    rules: list[RuleRow] = field(default_factory=lambda: [RuleRow(r, *v) for r, v in DEFAULT_RULES.items()])
    medians: dict[tuple[str, str], int] = field(default_factory=dict)


def _closing(today: date, days: int | None) -> date | None:
    return None if days is None else today + timedelta(days=days)


def load(engine: Engine, world: HealthWorld, now: datetime) -> None:
    """Replace the warehouse's deals, versions, history, stages, rules and stage durations with `world`."""
    today = now.date()
    ago = lambda days: now - timedelta(days=days)  # noqa: E731
    with engine.begin() as connection:
        for model in (DealVersion, DealStageHistory, Deal, DealHealthRule, StageDuration, PipelineStage):
            connection.execute(delete(model))
        connection.execute(
            insert(PipelineStage),
            [
                {
                    "pipeline": pipeline,
                    "stage": stage,
                    "sequence": sequence,
                    "probability": probability,
                    "forecast_type": "Open",
                    "forecast_category": "Pipeline",
                    "deal_status": "open",
                    "is_active": True,
                }
                for pipeline in PIPELINES
                for sequence, (stage, probability) in enumerate(STAGE_PROBABILITY.items(), 1)
            ]
            + [
                {
                    "pipeline": pipeline,
                    "stage": stage,
                    "sequence": sequence,
                    "probability": probability,
                    "forecast_type": forecast_type,
                    "forecast_category": category,
                    "deal_status": status,
                    "is_active": True,
                }
                for pipeline in PIPELINES
                for stage, sequence, probability, forecast_type, category, status in CLOSED_STAGES
            ],
        )
        deals = [
            deal_row(
                d.id,
                region=d.region,
                stage=d.stage,
                pipeline=d.pipeline,
                deal_status=d.status,
                amount_home=d.amount,
                probability=d.probability,
                closing_date=_closing(today, d.closing_in_days),
                created_time=ago(d.created_days_ago),
                modified_time=ago(d.modified_days_ago),
                last_activity_time=None if d.activity_days_ago is None else ago(d.activity_days_ago),
                deleted_at=ago(0.5) if d.deleted else None,
            )
            for d in world.deals
        ]
        if deals:
            connection.execute(insert(Deal), deals)
        history = [
            {"id": d.id, "deal_id": d.id, "stage": d.stage, "entered_at": ago(d.stage_entered_days_ago)}
            for d in world.deals
            if d.stage_entered_days_ago is not None
        ]
        if history:
            connection.execute(insert(DealStageHistory), history)
        versions = []
        for d in world.deals:
            count = len(d.closing_dates)
            for i, days in enumerate(d.closing_dates):
                start = ago(d.created_days_ago - i)
                versions.append(
                    {
                        "deal_id": d.id,
                        "valid_from": start,
                        "valid_to": None if i == count - 1 else ago(d.created_days_ago - i - 1),
                        "produced_by": "sync",
                        "deleted": False,
                        "stage": d.stage,
                        "pipeline": d.pipeline,
                        "deal_status": d.status,
                        "closing_date": _closing(today, days),
                        "region": d.region,
                        "recorded_at": start,
                    }
                )
        for version in versions:  # one by one: ids grow in chain order
            connection.execute(insert(DealVersion), version)
        connection.execute(
            insert(DealHealthRule),
            [
                {
                    "rule": r.rule,
                    "pipeline": r.pipeline,
                    "stage": r.stage,
                    "measure": r.measure,
                    "comparison": r.comparison,
                    "threshold": Decimal(r.threshold),
                    "severity": r.severity,
                    "enabled": r.enabled,
                    "description": f"{r.rule} test rule",
                    "updated_at": now,
                }
                for r in world.rules
            ],
        )
        if world.medians:
            connection.execute(
                insert(StageDuration),
                [
                    {
                        "pipeline": pipeline,
                        "stage": stage,
                        "completed_stays": 5,
                        "median_days": Decimal(median),
                        "p90_days": Decimal(median * 2),
                        "refreshed_at": now,
                    }
                    for (pipeline, stage), median in world.medians.items()
                ],
            )
        connection.execute(text("UPDATE warehouse_data_version SET version = version + 1"))


# --- the oracle --------------------------------------------------------------------------------------------


def measures(d: HealthDeal, world: HealthWorld, today: date) -> dict[str, float | None]:
    touched = d.modified_days_ago
    if d.activity_days_ago is not None and d.activity_days_ago < d.modified_days_ago:
        touched = d.activity_days_ago
    in_stage = d.stage_entered_days_ago if d.stage_entered_days_ago is not None else d.created_days_ago
    median = world.medians.get((d.pipeline, d.stage)) if d.pipeline is not None else None
    stage_probability = STAGE_PROBABILITY.get(d.stage) if d.pipeline in PIPELINES else None
    closing = _closing(today, d.closing_in_days)
    pushes = sum(later > earlier for earlier, later in zip(d.closing_dates, d.closing_dates[1:], strict=False))
    return {
        "days_past_close": None if closing is None else (today - closing).days,
        "days_since_touch": touched,
        "days_in_stage": in_stage,
        "days_over_stage_median": None if median is None else in_stage - median,
        "probability_gap": (
            None if d.probability is None or stage_probability is None else abs(d.probability - stage_probability)
        ),
        "amount_missing": 1 if d.amount is None or Decimal(d.amount) == 0 else 0,
        "closing_date_pushes": pushes,
    }


def _compare(value: float, comparison: str, threshold: int) -> bool:
    return {">": value > threshold, ">=": value >= threshold, "<": value < threshold, "<=": value <= threshold}[
        comparison
    ]


def expected_health(world: HealthWorld, today: date) -> dict[int, tuple[str, frozenset[str]]]:
    """deal id -> (status, broken rules) for every live open deal."""
    out: dict[int, tuple[str, frozenset[str]]] = {}
    for d in world.deals:
        if d.deleted or d.status != "open":
            continue
        values = measures(d, world, today)
        broken: dict[str, str] = {}
        for rule in {r.rule for r in world.rules}:
            rows = [
                r
                for r in world.rules
                if r.rule == rule and r.pipeline in ("*", d.pipeline) and r.stage in ("*", d.stage)
            ]
            if not rows:
                continue
            row = max(rows, key=lambda r: (r.stage != "*") * 2 + (r.pipeline != "*"))
            value = values[row.measure]
            if row.enabled and value is not None and _compare(value, row.comparison, row.threshold):
                broken[rule] = row.severity
        status = "red" if "red" in broken.values() else "amber" if broken else "green"
        out[d.id] = (status, frozenset(broken))
    return out


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_dict(page_items: list[dict[str, Any]]) -> dict[int, tuple[str, frozenset[str]]]:
    return {
        int(item["id"]): (item["health"]["status"], frozenset(r["rule"] for r in item["health"]["reasons"]))
        for item in page_items
    }
