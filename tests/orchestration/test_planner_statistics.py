"""A fresh warehouse has planner statistics after its first load (issue 11.3): ANALYZE after the first load
and after loads that change a substantial share of the deals, not after small incremental runs."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Connection, Engine, text

from orchestration.deal_sync import run_deal_sync
from pipeline_pulse.warehouse.currencies import store_currency_rates
from pipeline_pulse.warehouse.dimensions import load_stages
from tests.fakes.zoho import InMemoryZoho
from tests.orchestration.factories import CURRENCIES, STAGES, T0, make_deal


def planner_rows(connection: Connection) -> float:
    """Rows of `deals` the planner knows of: -1 / 0 until the first ANALYZE."""
    if connection.dialect.name == "postgresql":
        return float(connection.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'deals'")).scalar_one())
    has_stats = connection.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")).scalar()
    if not has_stats:
        return -1
    stat = connection.execute(text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'deals' LIMIT 1")).scalar()
    return float(str(stat).split()[0]) if stat else -1


def test_first_load_and_large_changes_analyze_small_ones_do_not(sync_engine: Engine) -> None:
    with sync_engine.connect() as connection:
        load_stages(connection, STAGES)
        store_currency_rates(connection, CURRENCIES, date(2025, 1, 1))
        connection.commit()
        assert planner_rows(connection) <= 0
    zoho = InMemoryZoho(deals=[make_deal(i, modified_time=T0 + timedelta(minutes=i)) for i in range(1_200)])
    assert run_deal_sync(sync_engine, zoho, bulk_threshold=0).analyzed
    with sync_engine.connect() as connection:
        assert planner_rows(connection) == 1_200

    zoho.put(make_deal(2_000, modified_time=T0 + timedelta(days=1)))
    assert not run_deal_sync(sync_engine, zoho, bulk_threshold=0).analyzed  # 1 change in 1,201

    zoho.put(*(make_deal(3_000 + i, modified_time=T0 + timedelta(days=2, seconds=i)) for i in range(1_000)))
    assert run_deal_sync(sync_engine, zoho, bulk_threshold=0).analyzed  # 1,000 new: over 10% and the minimum
    with sync_engine.connect() as connection:
        assert planner_rows(connection) == 2_201
