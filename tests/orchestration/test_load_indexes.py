"""A first backfill loads without the deal tables' secondary indexes and ends with every one of them exactly as
the migrations define it, also after a crash and a resume (pipeline_pulse/warehouse/load_indexes.py); a
warehouse that already holds deals never loses an index. Both backends, on the in-memory port."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from orchestration.deal_sync import run_deal_sync
from pipeline_pulse.services.zoho.errors import ZohoServerError
from pipeline_pulse.warehouse.currencies import store_currency_rates
from pipeline_pulse.warehouse.dimensions import load_stages
from pipeline_pulse.warehouse.load_indexes import missing_indexes, prepare_load_indexes
from tests.fakes.zoho import InMemoryZoho
from tests.orchestration.factories import CURRENCIES, STAGES, T0, make_deal

BULK = "POST bulk read"
TABLES = ("deals", "deal_versions")


def _index_definitions(engine: Engine) -> dict[str, str]:
    """Every index of the deal tables with its full definition, as the database reports it."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            rows = connection.execute(
                text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('deals', 'deal_versions')")
            )
        else:
            rows = connection.execute(
                text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                    "AND tbl_name IN ('deals', 'deal_versions')"
                )
            )
        return {str(name): str(definition) for name, definition in rows}


@pytest.fixture
def engine(sync_engine: Engine) -> Engine:
    with sync_engine.connect() as connection:
        load_stages(connection, STAGES)
        store_currency_rates(connection, CURRENCIES, date(2025, 1, 1))
        connection.commit()
    # A test that leaves indexes missing: the scratch reset restores them (tests/fixtures/db.py).
    return sync_engine


def _zoho() -> InMemoryZoho:
    deals = [make_deal(i, modified_time=T0 + timedelta(minutes=20 - i)) for i in range(12)]
    return InMemoryZoho(deals=deals, bulk_page_size=3)


def test_a_first_backfill_drops_the_indexes_and_ends_with_all_of_them_as_migrated(engine: Engine) -> None:
    migrated = _index_definitions(engine)
    assert len(migrated) >= 12  # deals' nine secondary indexes, deal_versions' three (and the primary keys)
    zoho = _zoho()
    seen_during_load: list[int] = []
    original = zoho.bulk_read_deals

    def watching(modified_since=None, *, page_token=None):  # type: ignore[no-untyped-def]
        for page in original(modified_since, page_token=page_token):
            seen_during_load.append(len(_index_definitions(engine)))
            yield page

    zoho.bulk_read_deals = watching  # type: ignore[method-assign]
    report = run_deal_sync(engine, zoho, bulk_threshold=5)
    assert (report.extract_path, report.inserted) == ("bulk", 12)
    assert len(seen_during_load) == 4
    # Dropped once page 1 was in hand. Bulk chunks are produced one ahead (orchestration.prefetch): page 2 may be
    # made while page 1 is dropping them, pages 3-4 only after page 2 was taken, so they must see them gone.
    assert max(seen_during_load[2:]) < len(migrated)
    assert _index_definitions(engine) == migrated


def test_a_backfill_that_crashes_keeps_them_off_until_its_resume_builds_them(engine: Engine) -> None:
    migrated = _index_definitions(engine)
    zoho = _zoho()
    zoho.fail(BULK, ZohoServerError("INTERNAL_ERROR", "Zoho had a bad day"), after=2)
    with pytest.raises(ZohoServerError):
        run_deal_sync(engine, zoho, bulk_threshold=5)
    with engine.connect() as connection:
        assert missing_indexes(connection)  # the crash left the backfill unfinished: still off
    zoho.heal()
    report = run_deal_sync(engine, zoho, bulk_threshold=5)
    assert (report.bulk_resumed_at_page, report.inserted) == (3, 6)
    assert _index_definitions(engine) == migrated
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT count(*) FROM deal_versions WHERE valid_to IS NULL")).scalar_one()
    assert versions == 12


def test_a_run_that_is_no_resume_builds_missing_indexes_before_it_loads(engine: Engine) -> None:
    migrated = _index_definitions(engine)
    zoho = _zoho()
    zoho.fail(BULK, ZohoServerError("INTERNAL_ERROR", "down"), after=1)
    with pytest.raises(ZohoServerError):
        run_deal_sync(engine, zoho, bulk_threshold=5)
    with engine.connect() as connection:
        # e.g. the Bulk progress was lost: the next run is an ordinary one, with deals in the warehouse
        assert prepare_load_indexes(connection, resuming_backfill=False) is False
        connection.commit()
    assert _index_definitions(engine) == migrated


def test_a_warehouse_with_deals_never_drops_an_index(engine: Engine) -> None:
    zoho = _zoho()
    run_deal_sync(engine, zoho, bulk_threshold=5)
    loaded = _index_definitions(engine)
    zoho.edit(make_deal(1).id, T0 + timedelta(hours=3), amount=Decimal(5))
    zoho.fail("GET /Deals page", ZohoServerError("INTERNAL_ERROR", "down"))
    with pytest.raises(ZohoServerError):
        run_deal_sync(engine, zoho, bulk_threshold=5)
    assert _index_definitions(engine) == loaded


def test_a_first_run_that_fails_before_its_first_page_drops_nothing(engine: Engine) -> None:
    migrated = _index_definitions(engine)
    zoho = _zoho()
    zoho.fail(BULK, ZohoServerError("INTERNAL_ERROR", "down"))
    with pytest.raises(ZohoServerError):
        run_deal_sync(engine, zoho, bulk_threshold=5)
    assert _index_definitions(engine) == migrated
