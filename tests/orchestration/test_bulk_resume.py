"""A Bulk Read backfill that fails on page k resumes at page k on the next run (issue 11.5), on the in-memory
port; against the sandbox and the real SDK: test_bulk_resume_sandbox.py."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, func, select

from orchestration.deal_sync import BulkProgress, run_deal_sync
from pipeline_pulse.models import Deal
from pipeline_pulse.services.zoho.errors import ZohoBadRequestError, ZohoServerError
from pipeline_pulse.warehouse.currencies import store_currency_rates
from pipeline_pulse.warehouse.dimensions import load_stages
from pipeline_pulse.warehouse.sync_state import read_cursor
from tests.fakes.zoho import InMemoryZoho
from tests.orchestration.factories import CURRENCIES, STAGES, T0, make_deal

BULK = "POST bulk read"


def _zoho(engine: Engine) -> InMemoryZoho:
    with engine.connect() as connection:
        load_stages(connection, STAGES)
        store_currency_rates(connection, CURRENCIES, date(2025, 1, 1))
        connection.commit()
    # modified times run against the ids, so Bulk pages (by id) are not in cursor order
    deals = [make_deal(i, modified_time=T0 + timedelta(minutes=20 - i)) for i in range(12)]
    return InMemoryZoho(deals=deals, bulk_page_size=3)


def _loaded(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Deal)).scalar_one())


def test_a_backfill_that_crashes_on_page_3_of_4_resumes_at_page_3(sync_engine: Engine) -> None:
    zoho = _zoho(sync_engine)
    zoho.fail(BULK, ZohoServerError("INTERNAL_ERROR", "Zoho had a bad day"), after=2)
    with pytest.raises(ZohoServerError):
        run_deal_sync(sync_engine, zoho, bulk_threshold=5)
    assert _loaded(sync_engine) == 6
    with sync_engine.connect() as connection:
        assert read_cursor(connection, "deals").modified_time is None  # not before the whole read is in
        assert BulkProgress.read(connection).pages_done == 2

    zoho.heal()
    calls_before = zoho.operations.count(BULK)
    report = run_deal_sync(sync_engine, zoho, bulk_threshold=5)
    assert report.bulk_resumed_at_page == 3
    assert zoho.operations.count(BULK) - calls_before == 2  # pages 3 and 4 only
    assert (report.extract_path, report.inserted) == ("bulk", 6)
    assert _loaded(sync_engine) == 12
    with sync_engine.connect() as connection:
        assert read_cursor(connection, "deals").modified_time == T0 + timedelta(minutes=20)  # deal 0, on page 1
        assert BulkProgress.read(connection).next_page_token is None

    after = run_deal_sync(sync_engine, zoho, bulk_threshold=5)
    assert (after.extract_path, after.bulk_resumed_at_page) == ("rest", None)


def test_a_resume_token_zoho_no_longer_accepts_starts_the_read_over(sync_engine: Engine) -> None:
    zoho = _zoho(sync_engine)
    zoho.fail(BULK, ZohoServerError("INTERNAL_ERROR", "down"), after=1)
    with pytest.raises(ZohoServerError):
        run_deal_sync(sync_engine, zoho, bulk_threshold=5)
    zoho.fail(BULK, ZohoBadRequestError("INVALID_DATA", "invalid page_token"))
    original = zoho.bulk_read_deals

    def refuse_tokens(modified_since=None, *, page_token=None):  # type: ignore[no-untyped-def]
        if page_token is None:
            zoho.heal()
        return original(modified_since, page_token=page_token)

    zoho.bulk_read_deals = refuse_tokens  # type: ignore[method-assign]
    report = run_deal_sync(sync_engine, zoho, bulk_threshold=5)
    assert report.bulk_resumed_at_page is None
    assert _loaded(sync_engine) == 12
