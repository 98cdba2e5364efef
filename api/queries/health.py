"""Deal health from the rule-engine views (pipeline_pulse/insight/health.py): the attention list and the
`health` of deals on /deals and /deals/{id}. Each answer is ONE statement (deals and their reasons together),
so every figure of it is evaluated at the same instant."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import cache
from typing import Any, TypedDict

from sqlalchemy import BigInteger, ColumnElement, Select, any_, bindparam, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from api.cursor import DealCursor
from api.errors import ApiError
from api.insight_schemas import AttentionItem, AttentionPage, DealHealth
from api.params import AttentionParams
from api.queries.conditions import FilterColumns, where
from api.scope import RegionScope
from pipeline_pulse.insight.health import V_DEAL_HEALTH as H
from pipeline_pulse.insight.health import V_DEAL_HEALTH_REASONS as R
from pipeline_pulse.insight.health import health_colour
from pipeline_pulse.models import DealHealthRule

HEALTH = FilterColumns(
    name="v_deal_health",
    region=H.c.region,
    owner_id=H.c.owner_id,
    pipeline=H.c.pipeline,
    stage=H.c.stage,
    deal_status=H.c.deal_status,
    closing=H.c.closing_date,
)
_REASON_COLUMNS = (R.c.rule, R.c.severity, R.c.measure, R.c.value, R.c.comparison, R.c.threshold, R.c.description)
_SEVERITY_ORDER = {"red": 0, "amber": 1}


def _with_reasons(page: Select[Any], descending: bool = False) -> Select[Any]:
    """The page's rows in (amount at risk, id) order, each joined to its reasons (one row per reason; a deal
    without any once)."""
    deals = page.subquery("page")
    statement = select(deals, *(c.label(f"reason_{c.key}") for c in _REASON_COLUMNS)).outerjoin(
        R, R.c.deal_id == deals.c.deal_id
    )
    if "amount_at_risk" not in deals.c:
        return statement
    keys = (deals.c.amount_at_risk, deals.c.deal_id)
    return statement.order_by(*(key.desc() if descending else key for key in keys))


class HealthReasonValues(TypedDict):
    rule: str
    severity: str
    measure: str
    value: float
    comparison: str
    threshold: float
    description: str


class HealthValues(TypedDict):
    """A DealHealth as plain values: the response model that holds it (DealOut, DealDetail, AttentionItem)
    validates it in pydantic-core, ~4x cheaper than building the models in Python (even with model_construct:
    1.3 ms against 0.3 ms for a page's 35 open deals)."""

    status: str
    reasons: list[HealthReasonValues]


def _reasons(rows: Iterable[Any]) -> list[HealthReasonValues]:
    """A deal's reasons from its rows, whose last columns are the reasons' (`_REASON_COLUMNS` order; read by
    position: a /deals page has ~100 of them, and a Row's attribute lookup costs 4x its unpacking)."""
    reasons: list[HealthReasonValues] = []
    for row in rows:
        rule, severity, measure, value, comparison, threshold, description = row[-len(_REASON_COLUMNS) :]
        if rule is not None:
            reasons.append(
                {
                    "rule": rule,
                    "severity": severity,
                    "measure": measure,
                    "value": round(float(value), 2),
                    "comparison": comparison,
                    "threshold": float(threshold),
                    "description": description,
                }
            )
    reasons.sort(key=lambda reason: (_SEVERITY_ORDER[reason["severity"]], reason["rule"]))
    return reasons


def _grouped(rows: Sequence[Any]) -> dict[int, list[Any]]:
    by_deal: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_deal[int(row.deal_id)].append(row)
    return by_deal


@cache
def _reasons_statement(postgres: bool) -> Select[Any]:
    """The broken rules of any number of deals, one statement. On Postgres `deal_id = ANY(:deal_ids)` (one array
    parameter): an IN list of N parameters is a different prepared statement for every N, each planned anew (the
    views make planning cost ~25 ms, more than running the query)."""
    ids = bindparam("deal_ids", type_=ARRAY(BigInteger)) if postgres else bindparam("deal_ids", expanding=True)
    match = R.c.deal_id == any_(ids) if postgres else R.c.deal_id.in_(ids)
    return select(R.c.deal_id, *(c.label(f"reason_{c.key}") for c in _REASON_COLUMNS)).where(match)


async def health_of(connection: AsyncConnection, open_deal_ids: Iterable[int]) -> dict[int, HealthValues]:
    """The health of these open deals: the rules each breaks (v_deal_health_reasons) and the colour they give.
    Not joined to v_deal_health, which evaluates the same reasons again for the colour (twice the statement's
    cost, half of a /deals page's); the colour is `health_colour` of the reasons, as in that view."""
    ids = sorted(set(open_deal_ids))
    if not ids:
        return {}
    postgres = connection.dialect.name == "postgresql"
    by_deal = _grouped((await connection.execute(_reasons_statement(postgres), {"deal_ids": ids})).all())
    health: dict[int, HealthValues] = {}
    for deal_id in ids:
        reasons = _reasons(by_deal.get(deal_id, ()))
        health[deal_id] = {"status": health_colour(reason["severity"] for reason in reasons), "reasons": reasons}
    return health


async def _known_rules(connection: AsyncConnection) -> list[str]:
    return list((await connection.scalars(select(DealHealthRule.rule).distinct().order_by(DealHealthRule.rule))).all())


async def attention(connection: AsyncConnection, scope: RegionScope, params: AttentionParams) -> AttentionPage:
    """Open deals in scope that break a rule, by amount at risk (then id), one keyset page."""
    conditions: list[ColumnElement[bool]] = [where(HEALTH, scope, params.only_filters())]
    conditions.append(H.c.health != "green" if params.health == "any" else H.c.health == params.health)
    if params.rule is not None:
        known = await _known_rules(connection)
        if params.rule not in known:
            raise ApiError(422, "validation_error", f"rule: unknown rule {params.rule!r}; known: {', '.join(known)}")
        conditions.append(H.c.deal_id.in_(select(R.c.deal_id).where(R.c.rule == params.rule)))
    descending = params.sort.startswith("-")
    position = tuple_(H.c.amount_at_risk, H.c.deal_id)
    if params.cursor is not None:
        mark = tuple_(params.cursor.value, params.cursor.last_id)  # type: ignore[arg-type]
        conditions.append(position < mark if descending else position > mark)
    order = [H.c.amount_at_risk.desc(), H.c.deal_id.desc()] if descending else [H.c.amount_at_risk, H.c.deal_id]
    page = select(H).where(*conditions).order_by(*order).limit(params.page_size + 1)
    rows = (await connection.execute(_with_reasons(page, descending))).all()
    grouped = _grouped(rows)
    items = [
        AttentionItem(
            id=deal_id,
            deal_name=group[0].deal_name,
            region=group[0].region,
            pipeline=group[0].pipeline,
            stage=group[0].stage,
            owner_id=group[0].owner_id,
            owner_name=group[0].owner_name,
            amount_home=group[0].amount_home,
            closing_date=group[0].closing_date,
            amount_at_risk=Decimal(str(group[0].amount_at_risk)).quantize(Decimal("0.01")),
            health=DealHealth.model_validate({"status": group[0].health, "reasons": _reasons(group)}),
        )
        for deal_id, group in grouped.items()
    ]
    more = len(items) > params.page_size
    items = items[: params.page_size]
    next_cursor = (
        DealCursor(params.sort, 0, items[-1].amount_at_risk, int(items[-1].id)).encode() if more and items else None
    )
    return AttentionPage(items=items, page_size=params.page_size, has_more=more, next_cursor=next_cursor)
