"""A quarantined deal never leaves an older version behind (issue 14.2), on the in-memory port: open rejections
are read again by id on every run until they decode, are superseded or are gone. The same against the sandbox's
bad_record fault: tests/reliability/test_no_lost_version.py."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Engine, select

from orchestration.deal_sync import run_deal_sync
from pipeline_pulse.models import Deal, RejectedRecord
from pipeline_pulse.warehouse.currencies import store_currency_rates
from pipeline_pulse.warehouse.dimensions import load_stages
from tests.fakes.zoho import InMemoryZoho
from tests.orchestration.factories import CURRENCIES, STAGES, T0, make_deal


def _zoho(engine: Engine) -> InMemoryZoho:
    with engine.connect() as connection:
        load_stages(connection, STAGES)
        store_currency_rates(connection, CURRENCIES, date(2025, 1, 1))
        connection.commit()
    return InMemoryZoho(deals=[make_deal(i, modified_time=T0 + timedelta(minutes=i)) for i in range(12)], per_page=5)


def _warehouse(engine: Engine) -> dict[int, tuple[object, object]]:
    with engine.connect() as connection:
        return {row.id: (row.closing_date, row.modified_time) for row in connection.execute(select(Deal))}


def _open_rejections(engine: Engine) -> list[str | None]:
    with engine.connect() as connection:
        return list(
            connection.execute(select(RejectedRecord.zoho_id).where(RejectedRecord.resolved_at.is_(None))).scalars()
        )


def test_a_transient_bad_record_is_read_again_in_the_same_run(sync_engine: Engine) -> None:
    zoho = _zoho(sync_engine)
    run_deal_sync(sync_engine, zoho, bulk_threshold=0)
    later = T0 + timedelta(hours=1)
    target = make_deal(5).id
    zoho.edit(target, later, closing_date=date(2025, 12, 24))
    zoho.edit(make_deal(6).id, later + timedelta(seconds=1), closing_date=date(2025, 12, 25))
    zoho.break_record(target, later, reads=1)  # the page read sees garbage once
    report = run_deal_sync(sync_engine, zoho, bulk_threshold=0)
    assert (report.rejected, report.reread, report.resolved) == (1, 1, 1)
    assert _warehouse(sync_engine)[target] == (date(2025, 12, 24), later)
    assert _open_rejections(sync_engine) == []


def test_a_rejection_past_the_cursor_is_retried_on_every_run_until_zoho_serves_a_good_version(
    sync_engine: Engine,
) -> None:
    zoho = _zoho(sync_engine)
    run_deal_sync(sync_engine, zoho, bulk_threshold=0)
    target, gone = make_deal(2).id, make_deal(3).id
    before = _warehouse(sync_engine)[target]
    later = T0 + timedelta(hours=1)
    zoho.break_record(target, later)  # bad until Zoho serves another version
    zoho.break_record(gone, later)
    zoho.edit(make_deal(9).id, later + timedelta(minutes=5), deal_name="moves the cursor past both")
    first = run_deal_sync(sync_engine, zoho, bulk_threshold=0)
    assert (first.rejected, first.reread, first.resolved) == (2, 2, 0)
    assert _warehouse(sync_engine)[target] == before  # nothing better was served
    assert sorted(_open_rejections(sync_engine)) == sorted([str(target), str(gone)])

    second = run_deal_sync(sync_engine, zoho, bulk_threshold=0)  # still bad: stays open, nothing lost
    assert (second.reread, second.resolved) == (2, 0)

    # Zoho serves the version again (same Modified_Time, before the cursor) and the other deal is deleted.
    zoho.put(make_deal(2, modified_time=later, closing_date=date(2026, 1, 31)))
    zoho.deals.pop(gone)
    zoho.broken.pop(gone)
    third = run_deal_sync(sync_engine, zoho, bulk_threshold=0)
    assert (third.reread, third.resolved) == (2, 2)
    assert _warehouse(sync_engine)[target] == (date(2026, 1, 31), later)
    assert _open_rejections(sync_engine) == []
    assert run_deal_sync(sync_engine, zoho, bulk_threshold=0).reread == 0  # nothing left to re-read


def test_an_older_reread_never_overwrites_a_newer_loaded_version(sync_engine: Engine) -> None:
    zoho = _zoho(sync_engine)
    run_deal_sync(sync_engine, zoho, bulk_threshold=0)
    target = make_deal(4).id
    later = T0 + timedelta(hours=1)
    zoho.break_record(target, later)
    run_deal_sync(sync_engine, zoho, bulk_threshold=0)
    # A newer good version arrives through the incremental read: loaded, the rejection superseded.
    zoho.put(make_deal(4, modified_time=later + timedelta(hours=1), closing_date=date(2027, 3, 1)))
    report = run_deal_sync(sync_engine, zoho, bulk_threshold=0)
    assert report.resolved == 1
    assert _warehouse(sync_engine)[target] == (date(2027, 3, 1), later + timedelta(hours=1))
    assert _open_rejections(sync_engine) == []
