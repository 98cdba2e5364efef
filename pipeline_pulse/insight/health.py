"""Deal health as the rest of the code sees it: the two views that ARE the rule engine (created by migration
0011 from the rules in `deal_health_rules`), described as Core tables, and the counts the Dagster asset reports.

Nothing here evaluates a rule: every reader selects from the views, so the API, analysts and Dagster get the
same answer (definitions: docs/metrics.md, section 12.3). `health_colour` only names the most severe of the
rules the view found broken, for readers that take the reasons alone."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import BigInteger, Connection, Date, Integer, Numeric, String, Text, column, func, select, table

HEALTH_STATUSES = ("green", "amber", "red")

V_DEAL_HEALTH = table(
    "v_deal_health",
    column("deal_id", BigInteger),
    column("deal_name", String),
    column("region", String),
    column("pipeline", String),
    column("stage", String),
    column("deal_status", String),
    column("owner_id", BigInteger),
    column("owner_name", String),
    column("amount_home", Numeric(20, 2)),
    column("closing_date", Date),
    column("health", String),
    column("reasons", Text),
    column("red_rules", Integer),
    column("amber_rules", Integer),
    column("amount_at_risk", Numeric(20, 2)),
)
V_DEAL_HEALTH_REASONS = table(
    "v_deal_health_reasons",
    column("deal_id", BigInteger),
    column("rule", String),
    column("severity", String),
    column("measure", String),
    column("value", Numeric(20, 4)),
    column("comparison", String),
    column("threshold", Numeric(12, 2)),
    column("description", Text),
)


def health_colour(severities: Iterable[str]) -> str:
    """A deal's health from the severities of the rules it breaks (rows of v_deal_health_reasons): red when one
    is red, else amber when there is any, else green. The `health` of v_deal_health says the same in SQL;
    tests/insight/test_health.py holds the two to each other."""
    found = set(severities)
    return "red" if "red" in found else "amber" if found else "green"


@dataclass(frozen=True, slots=True)
class HealthCounts:
    """Open deals per health colour, their amount at risk, and deals per broken rule (with its severity)."""

    by_health: dict[str, int]
    amount_at_risk: Decimal
    by_rule: dict[str, int]
    severity: dict[str, str]


def health_counts(connection: Connection) -> HealthCounts:
    h, r = V_DEAL_HEALTH, V_DEAL_HEALTH_REASONS
    by_health = {status: 0 for status in HEALTH_STATUSES}
    at_risk = Decimal(0)
    for status, count, amount in connection.execute(
        select(h.c.health, func.count(), func.coalesce(func.sum(h.c.amount_at_risk), 0)).group_by(h.c.health)
    ):
        by_health[status] = int(count)
        at_risk += Decimal(str(amount))
    by_rule: dict[str, int] = {}
    severity: dict[str, str] = {}
    for rule, level, count in connection.execute(
        select(r.c.rule, r.c.severity, func.count(func.distinct(r.c.deal_id))).group_by(r.c.rule, r.c.severity)
    ):
        by_rule[rule] = by_rule.get(rule, 0) + int(count)
        severity[rule] = level if severity.get(rule) != "red" else "red"
    return HealthCounts(by_health, at_risk.quantize(Decimal("0.01")), by_rule, severity)
