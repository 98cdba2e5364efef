"""Deal health: the rules (declarative rows the data team edits) and the stage durations they read."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Integer, Numeric, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from pipeline_pulse.models.base import Base, SurrogateKey, UTCDateTime, utcnow

# What a rule can measure (pipeline_pulse/insight/health.py defines each; docs/metrics.md 12.3 too).
HEALTH_MEASURES = (
    "days_past_close",
    "days_since_touch",
    "days_in_stage",
    "days_over_stage_median",
    "probability_gap",
    "amount_missing",
    "closing_date_pushes",
)
HEALTH_COMPARISONS = (">", ">=", "<", "<=")
HEALTH_SEVERITIES = ("amber", "red")
ANY = "*"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class DealHealthRule(Base):
    __tablename__ = "deal_health_rules"
    __table_args__ = (
        UniqueConstraint("rule", "pipeline", "stage"),
        CheckConstraint(_in("measure", HEALTH_MEASURES), name="measure_values"),
        CheckConstraint(_in("comparison", HEALTH_COMPARISONS), name="comparison_values"),
        CheckConstraint(_in("severity", HEALTH_SEVERITIES), name="severity_values"),
        {
            "comment": "Deal health rules: an open deal breaks a rule when its measure compares true with the "
            "threshold. Per rule, the most specific enabled-or-not row for the deal's pipeline and stage applies "
            "(stage beats pipeline beats '*'). Read by v_deal_health_reasons / v_deal_health and the API."
        },
    )

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True, comment="Row id.")
    rule: Mapped[str] = mapped_column(String(60), comment="Rule name, e.g. past_close_date; reported as a reason.")
    pipeline: Mapped[str] = mapped_column(
        String(120), server_default=ANY, comment="Pipeline the row applies to, '*' for every pipeline."
    )
    stage: Mapped[str] = mapped_column(
        String(120), server_default=ANY, comment="Stage the row applies to, '*' for every stage."
    )
    measure: Mapped[str] = mapped_column(
        String(40), comment="What is measured: " + ", ".join(HEALTH_MEASURES) + " (docs/metrics.md 12.3)."
    )
    comparison: Mapped[str] = mapped_column(String(2), comment="How the measure is compared: >, >=, < or <=.")
    threshold: Mapped[Decimal] = mapped_column(Numeric(12, 2), comment="The threshold the measure is compared with.")
    severity: Mapped[str] = mapped_column(String(8), comment="amber or red: the deal's health when it breaks the rule.")
    enabled: Mapped[bool] = mapped_column(
        Boolean, server_default=true(), comment="False turns the rule off where this row applies."
    )
    description: Mapped[str] = mapped_column(Text, comment="What breaking the rule means, for people.")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, comment="Last change (UTC).")


class StageDuration(Base):
    __tablename__ = "stage_durations"
    __table_args__ = {
        "comment": "Days deals spend in each stage of each pipeline (completed stays in deal_stage_history of live "
        "deals), rebuilt by the deal_health asset; the stage_sla rule's default threshold is the median."
    }

    pipeline: Mapped[str] = mapped_column(String(120), primary_key=True, comment="Pipeline (the deal's current one).")
    stage: Mapped[str] = mapped_column(String(120), primary_key=True, comment="Stage.")
    completed_stays: Mapped[int] = mapped_column(Integer, comment="Stays that ended (left_at set).")
    median_days: Mapped[Decimal] = mapped_column(Numeric(12, 4), comment="Median of their duration_days.")
    p90_days: Mapped[Decimal] = mapped_column(Numeric(12, 4), comment="90th percentile (linear interpolation).")
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, comment="When rebuilt (UTC).")
