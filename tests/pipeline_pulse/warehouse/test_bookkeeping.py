"""sync_state cursors, the rejected-records quarantine, regions, currencies and snapshots."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Connection, Engine, select

from pipeline_pulse.models import CrmUser, PipelineStage, RejectedRecord, SyncState
from pipeline_pulse.services.zoho.records import QuarantinedRecord, StageRecord
from pipeline_pulse.warehouse.currencies import CurrencyRates, load_currency_rates, to_home
from pipeline_pulse.warehouse.dimensions import load_stages, load_users
from pipeline_pulse.warehouse.regions import load_region_mapper
from pipeline_pulse.warehouse.rejected import quarantine, resolve
from pipeline_pulse.warehouse.sync_state import StreamCursor, advance_cursor, read_cursor, record_run_finished
from tests.orchestration.factories import STAGES, T0, USERS


def test_cursor_advances_only_forward_and_only_with_its_transaction(sync_engine: Engine) -> None:
    later = StreamCursor(T0 + timedelta(hours=1), 5)
    with sync_engine.connect() as conn:
        advance_cursor(conn, "deals", StreamCursor(T0, 9))
        conn.commit()
        advance_cursor(conn, "deals", later)
        conn.rollback()  # a crash before commit: the cursor must not have moved
        assert read_cursor(conn, "deals") == StreamCursor(T0, 9, None)
        advance_cursor(conn, "deals", later)
        assert advance_cursor(conn, "deals", StreamCursor(T0, 99)).modified_time == later.modified_time
        record_run_finished(conn, "deals", "run-1", counters={"records_extracted": 3, "api_calls": 2})
        conn.commit()
        state = conn.execute(select(SyncState.__table__)).one()
        assert (state.cursor_modified_time, state.cursor_id) == (later.modified_time, 5)
        assert (state.records_extracted, state.api_calls, state.last_status) == (3, 2, "success")
        assert state.last_success_at is not None


def test_quarantine_upserts_by_fingerprint_and_resolves(sync_engine: Engine) -> None:
    bad = QuarantinedRecord("deals", "123", "unparsable amount: 'abc'", {"Amount": "abc", "id": "123"})
    with sync_engine.connect() as conn:
        assert quarantine(conn, [bad, bad], run_id="run-1") == 1
        quarantine(conn, [bad], run_id="run-1")  # overlap re-read in the same run
        quarantine(conn, [bad, QuarantinedRecord("deals", None, "missing or invalid id", {"x": 1})], run_id="run-2")
        conn.commit()
        rows = {r.zoho_id: r for r in conn.execute(select(RejectedRecord.__table__)).all()}
        assert len(rows) == 2
        assert rows["123"].occurrences == 2
        assert rows["123"].payload == {"Amount": "abc", "id": "123"}
        assert resolve(conn, "deals", [123]) == 1
        conn.commit()
        assert conn.execute(select(RejectedRecord.resolved_at).where(RejectedRecord.zoho_id == "123")).scalar_one()


def test_region_mapper_is_case_insensitive_with_fallbacks(conn: Connection) -> None:
    mapper = load_region_mapper(conn)
    assert mapper.resolve("apac", "Germany") == "APAC"
    assert mapper.resolve("  emea ", None) == "EMEA"
    assert mapper.resolve("Atlantis", "  united states ") == "Americas"
    assert mapper.resolve(None, "INDIA") == "India"
    assert mapper.resolve("", "Narnia") == "Unassigned"
    assert mapper.resolve(None, None) == "Unassigned"


def test_dated_currency_rates(conn: Connection) -> None:
    from pipeline_pulse.warehouse.currencies import store_currency_rates
    from tests.orchestration.factories import CURRENCIES

    store_currency_rates(
        conn,
        [
            c if c.iso_code != "USD" else c.__class__("USD", "US Dollar", "$", Decimal("0.8"), False, True)
            for c in CURRENCIES
        ],
        date(2025, 3, 1),
    )
    rates = load_currency_rates(conn)
    assert rates.home == "SGD"
    assert rates.rate("usd", date(2025, 2, 1)) == Decimal("0.74")
    assert rates.rate("USD", date(2025, 3, 1)) == Decimal("0.8")
    assert rates.rate("USD", date(2024, 1, 1)) == Decimal("0.74")  # older than any rate: the earliest
    assert rates.rate("SGD") == 1
    assert rates.rate("EUR") is None
    assert to_home(Decimal("100"), Decimal("0.8")) == Decimal("125.00")
    assert load_currency_rates(conn, home_override="usd").rate("USD") == 1
    assert CurrencyRates(home=None).knows(None) is False


def test_dimension_loads(conn: Connection) -> None:
    assert load_users(conn, USERS, load_region_mapper(conn)).inserted == 2
    users = {u.id: u for u in conn.execute(select(CrmUser.__table__)).all()}
    assert users[USERS[1].id].region == "India"
    assert users[USERS[1].id].is_active is False
    result, deactivated = load_stages(
        conn, [*STAGES[:3], StageRecord("Standard", "Closed Won", 3, 100, "Closed Won", "Closed")]
    )
    assert (result.inserted, result.updated, deactivated) == (0, 0, 1)
    inactive = conn.execute(select(PipelineStage.stage).where(PipelineStage.is_active.is_(False))).scalars().all()
    assert inactive == ["Closed Lost"]
