"""Deal loading on both backends: idempotent upsert, change detection, soft delete, restore, reconcile."""

from __future__ import annotations

from array import array
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import Connection, delete, func, select, text

from orchestration.transforms.deals import load_transform_context, records_to_frame, transform_deals
from pipeline_pulse.models import Deal, DealVersion
from pipeline_pulse.services.zoho.records import DealRecord, DeletedDeal
from pipeline_pulse.warehouse.deal_versions import record_versions
from pipeline_pulse.warehouse.deals import load_deals, soft_delete_deals, soft_delete_missing
from tests.orchestration.factories import BASE_ID, T0, make_deal


def _rows(conn: Connection, records: list[DealRecord]) -> list[dict]:
    result = transform_deals(records_to_frame(records), load_transform_context(conn))
    assert not result.rejected, result.rejected
    return result.rows


def _table(conn: Connection) -> list[tuple]:
    return [tuple(row) for row in conn.execute(select(Deal).order_by(Deal.id)).all()]


def test_upsert_inserts_then_is_idempotent_then_updates_only_changes(conn: Connection) -> None:
    records = [make_deal(i) for i in range(5)]
    first = load_deals(conn, _rows(conn, records))
    conn.commit()
    assert (first.inserted, first.updated, first.unchanged) == (5, 0, 0)
    before = _table(conn)

    again = load_deals(conn, _rows(conn, records))
    conn.commit()
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 5)
    assert _table(conn) == before  # not even last_synced_at moves

    changed = [make_deal(2, amount=Decimal("2500.50"), modified_time=T0 + timedelta(hours=1)), make_deal(7)]
    third = load_deals(conn, _rows(conn, changed))
    conn.commit()
    assert (third.inserted, third.updated, third.unchanged) == (1, 1, 0)
    assert conn.execute(select(Deal.amount_home).where(Deal.id == BASE_ID + 2)).scalar_one() == Decimal("2500.50")
    assert conn.execute(select(func.count()).select_from(Deal)).scalar_one() == 6


def test_formula_drift_without_modified_time_is_repaired(conn: Connection) -> None:
    load_deals(conn, _rows(conn, [make_deal(0, probability=10)]))
    drifted = load_deals(conn, _rows(conn, [make_deal(0, probability=40)]))  # same Modified_Time
    conn.commit()
    assert drifted.updated == 1
    assert conn.execute(select(Deal.probability)).scalar_one() == 40


def test_older_version_never_overwrites_newer(conn: Connection) -> None:
    load_deals(conn, _rows(conn, [make_deal(0, amount=Decimal(5), modified_time=T0 + timedelta(hours=2))]))
    stale = load_deals(conn, _rows(conn, [make_deal(0, amount=Decimal(1), modified_time=T0)]))
    conn.commit()
    assert stale.updated == 0
    assert conn.execute(select(Deal.amount)).scalar_one() == Decimal(5)


def test_text_needing_copy_escapes_round_trips(conn: Connection) -> None:
    name = "Tab\there\nnewline \\ back-slash \\N Ölüdeniz — “quoted”"
    load_deals(conn, _rows(conn, [make_deal(0, deal_name=name, raw={"Deal_Name": name, "nested": {"a": [1, None]}})]))
    conn.commit()
    stored_name, raw = conn.execute(select(Deal.deal_name, Deal.raw)).one()
    assert stored_name == name
    assert raw == {"Deal_Name": name, "nested": {"a": [1, None]}}


def test_null_empty_and_csv_special_text_round_trip(conn: Connection) -> None:
    # The Postgres path ships chunks as COPY CSV: NULL must stay NULL, "" must stay "", and quotes, commas,
    # a literal \N and line breaks are data. Two loads in one transaction reuse/re-create the staging table.
    specials = ['"quoted", with comma', "\\N", "", "line\r\nbreak", "trailing space "]
    rows = _rows(conn, [make_deal(i, deal_name=name) for i, name in enumerate(specials)])
    rows[0] = {**rows[0], "country": None, "lead_source": ""}
    load_deals(conn, rows[:2])
    load_deals(conn, rows[2:])
    conn.commit()
    stored = dict(conn.execute(select(Deal.id, Deal.deal_name).order_by(Deal.id)).all())
    assert list(stored.values()) == [row["deal_name"] for row in rows]
    assert conn.execute(select(Deal.country, Deal.lead_source).where(Deal.id == BASE_ID)).one() == (None, "")
    again = load_deals(conn, rows)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 5)


def test_soft_delete_and_restore_rules(conn: Connection) -> None:
    load_deals(conn, _rows(conn, [make_deal(0), make_deal(1), make_deal(2)]))
    deleted_time = T0 + timedelta(minutes=5)
    unknown = BASE_ID + 99  # created and deleted between syncs: nothing to mark
    marked = soft_delete_deals(
        conn,
        [
            DeletedDeal(BASE_ID, deleted_time, "recycle"),
            DeletedDeal(BASE_ID + 1, deleted_time, "permanent"),
            DeletedDeal(unknown, deleted_time, "recycle"),
        ],
    )
    conn.commit()
    assert marked == 2
    assert soft_delete_deals(conn, [DeletedDeal(BASE_ID, deleted_time, "recycle")]) == 0  # already deleted

    # The overlap window re-reads deal 0 with its old Modified_Time: it stays deleted.
    load_deals(conn, _rows(conn, [make_deal(0)]))
    # Deal 1 comes back with a later Modified_Time (restored from the recycle bin): restored.
    load_deals(conn, _rows(conn, [make_deal(1, modified_time=deleted_time + timedelta(seconds=1))]))
    conn.commit()
    states = dict(conn.execute(select(Deal.id, Deal.deleted_at)).all())
    assert states[BASE_ID] == deleted_time
    assert states[BASE_ID + 1] is None
    assert states[BASE_ID + 2] is None

    # A deletion older than the deal's last modification (it was restored since) does not delete it again.
    assert soft_delete_deals(conn, [DeletedDeal(BASE_ID + 1, deleted_time, "recycle")]) == 0


def test_full_reconcile_restores_present_and_deletes_missing(conn: Connection) -> None:
    load_deals(conn, _rows(conn, [make_deal(i) for i in range(4)]))
    soft_delete_deals(conn, [DeletedDeal(BASE_ID, T0 + timedelta(hours=1), "recycle")])
    conn.commit()
    present = [make_deal(0), make_deal(1), make_deal(3)]
    result = load_deals(conn, _rows(conn, present), present_in_zoho=True)
    assert result.updated == 1  # only the restore of deal 0 is a change
    seen = array("q", [BASE_ID + 3, BASE_ID, BASE_ID + 1])
    started = T0 + timedelta(days=1)
    missing = soft_delete_missing(conn, seen, deleted_at=started, not_modified_after=started)
    conn.commit()
    assert missing == [BASE_ID + 2]
    states = dict(conn.execute(select(Deal.id, Deal.deleted_at)).all())
    assert states == {BASE_ID: None, BASE_ID + 1: None, BASE_ID + 2: started, BASE_ID + 3: None}


def test_chunks_are_bounded_and_counts_add_up(conn: Connection) -> None:
    rows = _rows(conn, [make_deal(i) for i in range(23)])
    result = load_deals(conn, rows, chunk_size=5)
    conn.commit()
    assert (result.inserted, result.updated, result.unchanged) == (23, 0, 0)
    again = load_deals(conn, rows[:7] + rows[:3], chunk_size=4)  # duplicates across chunks are harmless
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 10)


def test_raw_is_compared_by_value_not_by_its_text(conn: Connection) -> None:
    # deals.raw is Postgres `json` (text as received): a reload of the same record is no change even when the
    # stored text is spelled differently (rows cast from jsonb by migration 0016), a changed value is one.
    rows = _rows(conn, [make_deal(0, raw={"Deal_Name": "A", "Amount": "10", "nested": {"b": 1, "a": 2}})])
    load_deals(conn, rows)
    conn.commit()
    if conn.dialect.name == "postgresql":
        conn.execute(text("UPDATE deals SET raw = CAST(CAST(raw AS jsonb) AS json)"))  # jsonb's spacing and order
        assert conn.execute(text("SELECT raw->>'Deal_Name' FROM deals")).scalar_one() == "A"  # analysts' ->>
        conn.commit()
    again = load_deals(conn, rows)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
    changed = [{**rows[0], "raw": {**rows[0]["raw"], "Description": "new"}}]
    assert load_deals(conn, changed).updated == 1
    conn.commit()
    assert conn.execute(select(Deal.raw)).scalar_one()["Description"] == "new"


def test_first_versions_of_new_deals_equal_the_general_writer(conn: Connection) -> None:
    # load_deals writes a batch of new deals' versions without probing deal_versions (record_versions(new=True));
    # the general writer must produce the same rows from the same deals.
    records = [make_deal(i, stage="Closed Won" if i % 2 else "Qualification") for i in range(6)]
    load_deals(conn, _rows(conn, records))
    conn.commit()
    columns = [c for c in DealVersion.__table__.columns if c.name not in ("id", "recorded_at")]
    fast = conn.execute(select(*columns).order_by(DealVersion.deal_id)).all()
    assert len(fast) == 6
    conn.execute(delete(DealVersion))
    record_versions(conn, [r.id for r in records], mode="sync")
    conn.commit()
    assert conn.execute(select(*columns).order_by(DealVersion.deal_id)).all() == fast
