"""deal_versions on both backends: written with the deals upsert, only on tracked changes, idempotent, with the
time rules of docs/metrics.md ("Deal history"), contiguous, exactly one current version per deal."""

from __future__ import annotations

from array import array
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from sqlalchemy import Connection, insert, select, text
from sqlalchemy.exc import IntegrityError

from orchestration.transforms.deals import load_transform_context, records_to_frame, transform_deals
from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.core.migrate import downgrade, upgrade
from pipeline_pulse.models import DealVersion, utcnow
from pipeline_pulse.services.zoho.records import DealRecord, DeletedDeal
from pipeline_pulse.warehouse.deal_versions import history_start, mark_history_start, record_versions
from pipeline_pulse.warehouse.deals import load_deals, soft_delete_deals, soft_delete_missing
from tests.orchestration.factories import BASE_ID, T0, make_deal


def _rows(conn: Connection, records: list[DealRecord]) -> list[dict]:
    result = transform_deals(records_to_frame(records), load_transform_context(conn))
    assert not result.rejected, result.rejected
    return result.rows


def _versions(conn: Connection, index: int = 0) -> list[DealVersion]:
    rows = conn.execute(
        select(DealVersion.__table__)
        .where(DealVersion.deal_id == BASE_ID + index)
        .order_by(DealVersion.valid_from, DealVersion.id)
    ).mappings()
    return [DealVersion(**row) for row in rows]


def _assert_contiguous(conn: Connection) -> None:
    """Per deal: versions chain without gaps or overlaps and exactly the last one is current."""
    rows = conn.execute(
        select(DealVersion.deal_id, DealVersion.valid_from, DealVersion.valid_to).order_by(
            DealVersion.deal_id, DealVersion.valid_from, DealVersion.id
        )
    ).all()
    by_deal: dict[int, list[tuple[datetime, datetime | None]]] = {}
    for deal_id, start, end in rows:
        by_deal.setdefault(deal_id, []).append((start, end))
    for deal_id, chain in by_deal.items():
        assert [end is None for _, end in chain] == [False] * (len(chain) - 1) + [True], deal_id
        for (_, end), (start, _) in pairwise(chain):
            assert end == start, deal_id


def test_first_load_opens_one_version_per_deal_and_rerun_adds_nothing(conn: Connection) -> None:
    records = [make_deal(i) for i in range(3)]
    load_deals(conn, _rows(conn, records))
    conn.commit()
    for i in range(3):
        (version,) = _versions(conn, i)
        assert version.valid_from == records[i].modified_time
        assert version.valid_to is None
        assert (version.produced_by, version.deleted, version.stage, version.amount_home) == (
            "sync",
            False,
            "Qualification",
            Decimal("1000.00"),
        )
    load_deals(conn, _rows(conn, records))  # a re-read page
    assert record_versions(conn, [BASE_ID + i for i in range(3)], mode="sync").opened == 0  # a rerun writer
    conn.commit()
    assert sum(len(_versions(conn, i)) for i in range(3)) == 3


def test_tracked_change_closes_at_the_new_modified_time_untracked_change_adds_nothing(conn: Connection) -> None:
    load_deals(conn, _rows(conn, [make_deal(0)]))
    later = T0 + timedelta(hours=2)
    load_deals(conn, _rows(conn, [make_deal(0, deal_name="Renamed", modified_time=later - timedelta(hours=1))]))
    assert len(_versions(conn)) == 1  # deal_name is not tracked
    load_deals(conn, _rows(conn, [make_deal(0, stage="Negotiation/Review", probability=90, modified_time=later)]))
    conn.commit()
    first, second = _versions(conn)
    assert (first.valid_to, second.valid_from, second.valid_to) == (later, later, None)
    assert (first.stage, second.stage, second.weighted_amount_home) == (
        "Qualification",
        "Negotiation/Review",
        Decimal("900.00"),
    )
    assert second.modified_time == later
    _assert_contiguous(conn)


def test_drift_without_newer_modified_time_starts_at_the_observed_time(conn: Connection) -> None:
    load_deals(conn, _rows(conn, [make_deal(0, probability=10)]))
    before = utcnow()
    load_deals(conn, _rows(conn, [make_deal(0, probability=40)]), present_in_zoho=True)  # reconcile repairs drift
    after = utcnow()
    conn.commit()
    first, second = _versions(conn)
    assert second.produced_by == "reconcile"
    assert before <= second.valid_from <= after
    assert first.valid_to == second.valid_from
    assert second.probability == 40


def test_deletion_closes_and_opens_a_tombstone_restore_opens_a_live_version(conn: Connection) -> None:
    load_deals(conn, _rows(conn, [make_deal(0), make_deal(1)]))
    deleted_time = T0 + timedelta(minutes=5)
    soft_delete_deals(conn, [DeletedDeal(BASE_ID, deleted_time, "recycle")])
    assert soft_delete_deals(conn, [DeletedDeal(BASE_ID, deleted_time, "recycle")]) == 0
    live, tombstone = _versions(conn)
    assert (live.valid_to, tombstone.valid_from, tombstone.valid_to) == (deleted_time, deleted_time, None)
    assert (tombstone.produced_by, tombstone.deleted, tombstone.stage) == ("deletion", True, "Qualification")

    load_deals(conn, _rows(conn, [make_deal(0)]))  # the overlap window re-reads the old state: nothing
    assert len(_versions(conn)) == 2
    restored_at = deleted_time + timedelta(seconds=1)
    load_deals(conn, _rows(conn, [make_deal(0, modified_time=restored_at)]))
    conn.commit()
    *_, tombstone, restored = _versions(conn)
    assert (tombstone.valid_to, restored.valid_from, restored.produced_by, restored.deleted) == (
        restored_at,
        restored_at,
        "restore",
        False,
    )
    assert len(_versions(conn, 1)) == 1
    _assert_contiguous(conn)


def test_reconcile_restore_and_missing_deletion(conn: Connection) -> None:
    load_deals(conn, _rows(conn, [make_deal(i) for i in range(3)]))
    soft_delete_deals(conn, [DeletedDeal(BASE_ID, T0 + timedelta(hours=1), "recycle")])
    conn.commit()
    before = utcnow()
    load_deals(conn, _rows(conn, [make_deal(0), make_deal(1)]), present_in_zoho=True)
    started = T0 + timedelta(days=1)
    soft_delete_missing(conn, array("q", [BASE_ID, BASE_ID + 1]), deleted_at=started, not_modified_after=started)
    conn.commit()
    restored = _versions(conn, 0)[-1]
    assert (restored.produced_by, restored.deleted) == ("restore", False)
    assert restored.valid_from >= before  # same Modified_Time as before the deletion: the observed time
    gone = _versions(conn, 2)[-1]
    assert (gone.produced_by, gone.deleted, gone.valid_from) == ("deletion", True, started)
    assert len(_versions(conn, 1)) == 1
    _assert_contiguous(conn)


def test_a_second_current_version_is_refused(conn: Connection) -> None:
    load_deals(conn, _rows(conn, [make_deal(0)]))
    conn.commit()
    (version,) = _versions(conn)
    values = {c.name: getattr(version, c.name) for c in DealVersion.__table__.columns if c.name != "id"}
    with pytest.raises(IntegrityError):
        conn.execute(insert(DealVersion).values(**values))
    conn.rollback()


def test_history_start_is_set_once(conn: Connection) -> None:
    assert history_start(conn) is None
    assert mark_history_start(conn, T0)
    assert not mark_history_start(conn, T0 + timedelta(days=1))
    conn.commit()
    assert history_start(conn) == T0


@pytest.mark.changes_schema
def test_migration_backfills_versions_of_an_existing_warehouse(db_url: str) -> None:
    downgrade(db_url, "0006")
    engine = create_sync_engine(db_url)
    deleted_at = T0 + timedelta(days=2)
    try:
        with engine.begin() as conn:
            for i, gone in ((0, None), (1, deleted_at)):
                conn.execute(
                    text(
                        "INSERT INTO deals (id, stage, deal_status, region, raw, amount_home, modified_time, "
                        "deleted_at, first_seen_at, last_synced_at) VALUES (:id, 'Qualification', 'open', 'APAC', "
                        "'{}', 100, :modified, :deleted, :modified, :modified)"
                    ).bindparams(id=BASE_ID + i, modified=_stored(engine, T0), deleted=_stored(engine, gone))
                )
        upgrade(db_url)
        with engine.connect() as conn:
            assert [(v.produced_by, v.deleted, v.valid_from, v.valid_to) for v in _versions(conn, 0)] == [
                ("sync", False, T0, None)
            ]
            assert [(v.produced_by, v.deleted, v.valid_from, v.valid_to) for v in _versions(conn, 1)] == [
                ("sync", False, T0, deleted_at),
                ("deletion", True, deleted_at, None),
            ]
            assert history_start(conn) == T0
            _assert_contiguous(conn)
    finally:
        engine.dispose()


def _stored(engine: object, value: datetime | None) -> object:
    """A UTC datetime as each backend stores it (naive text on SQLite)."""
    if value is None or getattr(engine, "dialect").name == "postgresql":  # noqa: B009
        return value
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
