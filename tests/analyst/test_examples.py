"""The data dictionary's example queries: both forms run, on their backend, and give the same answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, text

from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.models import Deal
from pipeline_pulse.warehouse.metrics_mart import refresh_pipeline_metrics
from tests.fixtures.api import deal_row, seed_reference_warehouse
from tests.fixtures.db import postgres_clone, sqlite_clone
from tools.analyst_examples import EXAMPLES, Example

# Cents that binary floats cannot hold (0.10 + 0.20 != 0.30), and dates relative to today, so the money and
# the `now()` / `current_date` forms are really exercised.
TODAY = datetime.now(UTC).date()
RECENT = datetime.now(UTC) - timedelta(days=2)
EXTRA = [
    deal_row(901, region="EMEA", amount_home="0.10", closing_date=TODAY + timedelta(days=5), modified_time=RECENT),
    deal_row(902, region="EMEA", amount_home="0.20", closing_date=TODAY + timedelta(days=30), modified_time=RECENT),
    deal_row(903, region="EMEA", stage="Closed Won", deal_status="won", amount_home="1234567.33", closing_date=TODAY),
    deal_row(904, region="EMEA", stage="Closed Won", deal_status="won", amount_home="0.01", closing_date=TODAY),
]


def _warehouse(url: str) -> Engine:
    engine = create_sync_engine(url)
    seed_reference_warehouse(engine)
    with engine.begin() as conn:
        conn.execute(insert(Deal), EXTRA)
        refresh_pipeline_metrics(conn)
    return engine


def _normalised(value: Any) -> Any:
    if isinstance(value, float | Decimal):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    if isinstance(value, date | datetime):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return value


def _answer(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(_normalised(v) for v in row) for row in conn.execute(text(sql)).all()]


@pytest.fixture(scope="module")
def engines(
    postgres_base_url: str, postgres_template: str, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Engine]]:
    with postgres_clone(postgres_base_url, postgres_template) as pg_url:
        backends = {
            "postgresql": _warehouse(pg_url),
            "sqlite": _warehouse(sqlite_clone(sqlite_template, tmp_path_factory.mktemp("examples"))),
        }
        yield backends
        for engine in backends.values():
            engine.dispose()


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.question for example in EXAMPLES])
def test_both_forms_give_the_same_answer(engines: dict[str, Engine], example: Example) -> None:
    on_postgres = _answer(engines["postgresql"], example.postgres)
    on_sqlite = _answer(engines["sqlite"], example.sqlite)
    assert on_postgres, "an example that finds nothing proves nothing"
    assert on_postgres == on_sqlite
    assert on_postgres != [(0,)], "the seeded rows must count"


def test_unrounded_sqlite_money_is_why_the_forms_differ(engines: dict[str, Engine]) -> None:
    # The documented reason for ROUND(): the same sum, exact on PostgreSQL, is a binary float on SQLite.
    sql = "SELECT SUM(amount_home) FROM deals WHERE id IN (901, 902)"
    with engines["postgresql"].connect() as conn:
        assert conn.execute(text(sql)).scalar_one() == Decimal("0.30")
    with engines["sqlite"].connect() as conn:
        assert conn.execute(text(sql)).scalar_one() != 0.30  # 0.30000000000000004
