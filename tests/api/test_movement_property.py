"""Property: over random version histories, windows, scopes, filters and closing periods, the movement statement
classifies every deal exactly as docs/metrics.md 7.3 says (an independent Python reading of the definition is
the oracle), the bridge identity holds exactly, and Postgres and SQLite give the same figures."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, delete, insert

from api.filters import DealFilters
from api.queries.movement import OUTCOMES, Window, per_deal, totals_statement
from api.queries.versions import money_of
from api.scope import RegionScope
from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.models import Deal, DealVersion
from pipeline_pulse.warehouse.history import end_of_day
from tests.fixtures.api import deal_row
from tests.fixtures.property_budget import examples

BASE = datetime(2026, 1, 1, tzinfo=UTC)
REGIONS = ("APAC", "EMEA")
AMOUNTS = (None, "0.00", "100.00", "250.50", "999.99", "1234.56")
CHANGED = ("still_open", "won", "lost", "pushed_out")


@dataclass(frozen=True)
class V:
    deal_id: int
    valid_from: datetime
    valid_to: datetime | None
    deleted: bool
    deal_status: str
    region: str
    owner_id: int
    pipeline: str
    stage: str
    amount: Decimal | None
    closing_date: date | None


@st.composite
def histories(draw: Any) -> list[V]:
    rows: list[V] = []
    for deal_id in range(1, draw(st.integers(1, 7)) + 1):
        # Hours since BASE, non-decreasing: equal neighbours make zero-length versions; multiples of 24 are midnights.
        starts = sorted(draw(st.lists(st.integers(0, 24 * 12), min_size=1, max_size=5)))
        for index, hour in enumerate(starts):
            status = draw(st.sampled_from(("open", "open", "won", "lost")))
            amount = draw(st.sampled_from(AMOUNTS))
            closing = draw(st.one_of(st.none(), st.integers(0, 40).map(lambda n: BASE.date() + timedelta(days=n))))
            ends = starts[index + 1] if index + 1 < len(starts) else None
            rows.append(
                V(
                    deal_id=deal_id,
                    valid_from=BASE + timedelta(hours=hour),
                    valid_to=None if ends is None else BASE + timedelta(hours=ends),
                    deleted=index > 0 and draw(st.booleans()) and draw(st.booleans()),
                    deal_status=status,
                    region=draw(st.sampled_from(REGIONS)),
                    owner_id=draw(st.sampled_from((1, 2))),
                    pipeline=draw(st.sampled_from(("P1", "P2"))),
                    stage=draw(st.sampled_from(("S1", "S2", "Closed"))),
                    amount=None if amount is None else Decimal(amount),
                    closing_date=closing,
                )
            )
    return rows


@st.composite
def questions(draw: Any) -> tuple[RegionScope, DealFilters, Window]:
    regions = draw(st.one_of(st.none(), st.sets(st.sampled_from(REGIONS), min_size=1)))
    closing = sorted(draw(st.lists(st.integers(0, 40), min_size=2, max_size=2)))
    period = draw(st.sampled_from(("none", "both", "from", "to")))
    filters = DealFilters(
        owner_id=draw(st.sampled_from((None, 1, 2))),
        pipeline=draw(st.sampled_from((None, "P1"))),
        stage=draw(st.sampled_from((None, None, "S1"))),
        closing_from=BASE.date() + timedelta(days=closing[0]) if period in ("both", "from") else None,
        closing_to=BASE.date() + timedelta(days=closing[1]) if period in ("both", "to") else None,
    )
    days = sorted(draw(st.lists(st.integers(0, 13), min_size=2, max_size=2)))
    start, end = (BASE.date() + timedelta(days=n) for n in days)
    current = draw(st.booleans())
    window = Window(start, end, end_of_day(start), None if current else end_of_day(end))
    return RegionScope(None if regions is None else frozenset(regions)), filters, window


# --- the oracle: docs/metrics.md 7.3 read literally, in Python ---


def _state(versions: list[V], at: datetime | None) -> V | None:
    for v in versions:
        if (at is None and v.valid_to is None) or (
            at is not None and v.valid_from <= at and (v.valid_to is None or v.valid_to > at)
        ):
            return v
    return None


def _in_scope(v: V, scope: RegionScope, f: DealFilters, *, stage: bool = True) -> bool:
    return (
        scope.allows(v.region)
        and (f.owner_id is None or v.owner_id == f.owner_id)
        and (f.pipeline is None or v.pipeline == f.pipeline)
        and (not stage or f.stage is None or v.stage == f.stage)
    )


def _in_period(v: V, f: DealFilters) -> bool:
    if f.closing_from is None and f.closing_to is None:
        return True
    return (
        v.closing_date is not None
        and (f.closing_from is None or v.closing_date >= f.closing_from)
        and (f.closing_to is None or v.closing_date <= f.closing_to)
    )


def _open_scope(v: V | None, scope: RegionScope, f: DealFilters) -> bool:
    return v is not None and not v.deleted and v.deal_status == "open" and _in_scope(v, scope, f)


def oracle(rows: list[V], scope: RegionScope, f: DealFilters, w: Window) -> dict[int, tuple[str, Any, Any, Any]]:
    period = f.closing_from is not None or f.closing_to is not None
    out: dict[int, tuple[str, Any, Any, Any]] = {}
    for deal_id in sorted({v.deal_id for v in rows}):
        versions = [v for v in rows if v.deal_id == deal_id]
        a, b = _state(versions, w.a), _state(versions, w.b)
        in_a = _open_scope(a, scope, f) and _in_period(a, f)  # type: ignore[arg-type]
        in_b = _open_scope(b, scope, f) and _in_period(b, f)  # type: ignore[arg-type]
        if not (in_a or in_b):
            continue
        closes = [
            v
            for v in versions
            if v.valid_from > w.a
            and (w.b is None or v.valid_from <= w.b)
            and not v.deleted
            and v.deal_status in ("won", "lost")
            and (v.valid_to is None or v.valid_to > v.valid_from)
            and _in_scope(v, scope, f, stage=False)
        ]
        closing = closes[-1] if closes else None  # versions are in (valid_from, id) order
        if in_a and in_b:
            outcome = "still_open"
        elif in_b:
            outcome = "pulled_in" if period and _open_scope(a, scope, f) else "new"
        elif closing is not None:
            outcome = closing.deal_status
        elif period and _open_scope(b, scope, f):
            outcome = "pushed_out"
        else:
            outcome = "removed"

        def amount(v: V | None) -> Decimal:
            return (v.amount if v is not None and v.amount is not None else Decimal(0)).quantize(Decimal("0.01"))

        a_amount = amount(a) if in_a else None
        if outcome in ("still_open", "new", "pulled_in", "pushed_out"):
            outcome_amount: Decimal | None = amount(b)
        elif outcome in ("won", "lost"):
            outcome_amount = amount(closing)
        else:
            outcome_amount = None
        change = outcome_amount - a_amount if outcome in CHANGED else Decimal(0)  # type: ignore[operator]
        out[deal_id] = (outcome, a_amount, outcome_amount, change.quantize(Decimal("0.01")))
    return out


def _load(conn: Connection, rows: list[V]) -> None:
    conn.execute(delete(DealVersion))
    conn.execute(delete(Deal))
    deal_ids = sorted({v.deal_id for v in rows})
    conn.execute(insert(Deal), [deal_row(deal_id) for deal_id in deal_ids])
    conn.execute(
        insert(DealVersion),
        [
            {
                "deal_id": v.deal_id,
                "valid_from": v.valid_from,
                "valid_to": v.valid_to,
                "produced_by": "deletion" if v.deleted else "sync",
                "deleted": v.deleted,
                "stage": v.stage,
                "pipeline": v.pipeline,
                "deal_status": v.deal_status,
                "amount_home": v.amount,
                "closing_date": v.closing_date,
                "owner_id": v.owner_id,
                "region": v.region,
                "recorded_at": v.valid_from,
            }
            for v in rows
        ],
    )
    conn.commit()


def _answer(conn: Connection, scope: RegionScope, f: DealFilters, w: Window) -> tuple[dict, dict]:
    dialect = conn.dialect.name
    d = per_deal(w, scope, f, dialect)

    def money(value: Any) -> Decimal | None:
        return None if value is None else money_of(value, dialect)

    from sqlalchemy import select

    rows = conn.execute(select(d.c.deal_id, d.c.outcome, d.c.a_amount, d.c.outcome_amount, d.c.change)).all()
    deals: dict[int, tuple[str, Any, Any, Any]] = {}
    for deal_id, outcome, a_amount, outcome_amount, change in rows:
        assert deal_id not in deals, f"deal {deal_id} in two outcomes"
        deals[deal_id] = (outcome, money(a_amount), money(outcome_amount), money(change))
    totals = conn.execute(totals_statement(w, scope, f, dialect)).mappings().one()
    figures = {
        key: money_of(value, dialect) if not key.startswith("n_") else int(value) for key, value in totals.items()
    }
    return deals, figures


def _check(deals: dict, figures: dict, expected: dict) -> None:
    assert deals == expected
    f = figures
    assert (
        f["start"]
        + f["new"]
        + f["pulled_in"]
        + f["increased"]
        - f["decreased"]
        - f["pushed_out"]
        - f["won"]
        - f["lost"]
        - f["removed"]
        == f["end"]
    )
    assert sum(f[f"n_{name}"] for name in OUTCOMES) == len(expected)
    assert f["start"] == sum((a for _, a, _, _ in expected.values() if a is not None), Decimal("0.00"))
    for name in ("won", "lost", "new", "pulled_in", "pushed_out"):
        assert f[name] == sum((o for k, _, o, _ in expected.values() if k == name), Decimal("0.00"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_sync_engine(db_url)
    yield engine
    engine.dispose()


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=histories(), question=questions())
def test_movement_matches_its_definition(
    engine: Engine, rows: list[V], question: tuple[RegionScope, DealFilters, Window]
) -> None:
    scope, filters, window = question
    with engine.connect() as conn:
        _load(conn, rows)
        deals, figures = _answer(conn, scope, filters, window)
    _check(deals, figures, oracle(rows, scope, filters, window))


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=histories(), question=questions())
def test_postgres_and_sqlite_agree(
    fresh_sqlite_url: str, fresh_postgres_url: str, rows: list[V], question: tuple[RegionScope, DealFilters, Window]
) -> None:
    scope, filters, window = question
    answers = []
    for url in (fresh_sqlite_url, fresh_postgres_url):
        engine = create_sync_engine(url)
        try:
            with engine.connect() as conn:
                _load(conn, rows)
                answers.append(_answer(conn, scope, filters, window))
        finally:
            engine.dispose()
    assert answers[0] == answers[1]
