"""The stage timeline (deal_stage_history) on both backends: Zoho's Stage_History up to the first observation,
deal_versions after it, one entry per stage change, no duplicates at the seam (docs/metrics.md, section 8)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection, select

from orchestration.transforms.deals import load_transform_context, records_to_frame, transform_deals
from pipeline_pulse.models import DealStageHistory, StageHistoryImport, ZohoStageHistory
from pipeline_pulse.services.zoho.records import DealRecord, StageHistoryRecord
from pipeline_pulse.warehouse.deal_versions import mark_history_start
from pipeline_pulse.warehouse.deals import load_deals
from pipeline_pulse.warehouse.stage_history import load_imported_stage_history
from tests.orchestration.factories import BASE_ID, T0, USERS, make_deal

START = T0 + timedelta(minutes=5)  # the history start: after the first load of the factories' deals


def _load(conn: Connection, records: list[DealRecord]) -> None:
    result = transform_deals(records_to_frame(records), load_transform_context(conn))
    assert not result.rejected, result.rejected
    load_deals(conn, result.rows)
    conn.commit()


ZOHO_ID = 4_876_876_000_200_000_000  # Zoho record ids are 19 digits; deal_versions ids are far below


def _zoho(entry_id: int, stage: str, at: datetime, deal: int = 0) -> StageHistoryRecord:
    return StageHistoryRecord(
        ZOHO_ID + entry_id,
        BASE_ID + deal,
        stage,
        at,
        Decimal(1000),
        10,
        None,
        None,
        None,
        USERS[0].id,
        USERS[0].full_name,
    )


def _timeline(conn: Connection, deal: int = 0) -> list[tuple[str, datetime, datetime | None, Decimal | None, str]]:
    h = DealStageHistory
    rows = conn.execute(
        select(h.stage, h.entered_at, h.left_at, h.duration_days, h.source)
        .where(h.deal_id == BASE_ID + deal)
        .order_by(h.entered_at, h.id)
    ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _first_backfill(conn: Connection) -> None:
    """Deal 0 exists before the pipeline (created 30 days before T0), first seen at T0; the history starts."""
    _load(conn, [make_deal(0)])
    mark_history_start(conn, START)
    conn.commit()


def test_a_deal_older_than_the_history_start_has_no_invented_entry(conn: Connection) -> None:
    _first_backfill(conn)
    assert _timeline(conn) == []  # when it entered Qualification is unknown until Stage_History says
    _load(conn, [make_deal(0, amount=Decimal(2000), modified_time=T0 + timedelta(hours=1))])
    assert _timeline(conn) == []  # an amount change is not a stage change
    moved = T0 + timedelta(hours=2)
    _load(conn, [make_deal(0, stage="Negotiation/Review", probability=90, modified_time=moved)])
    assert _timeline(conn) == [("Negotiation/Review", moved, None, None, "versions")]


def test_import_fills_the_past_and_the_seam_has_no_duplicate(conn: Connection) -> None:
    _first_backfill(conn)
    moved = T0 + timedelta(days=1)
    _load(conn, [make_deal(0, stage="Negotiation/Review", probability=90, modified_time=moved)])
    entered = T0 - timedelta(days=3)
    history = [
        _zoho(1, "Qualification", T0 - timedelta(days=30)),  # created
        _zoho(2, "Qualification", entered - timedelta(days=1)),  # an amount change: same stage
        _zoho(3, "Negotiation/Review", entered - timedelta(hours=12)),
        _zoho(4, "Qualification", entered),  # moved back: the stage it was in when first observed (T0)
        _zoho(5, "Negotiation/Review", moved),  # after the first observation: the versions already have it
        _zoho(6, "Qualification", T0 - timedelta(days=2), deal=9),  # a deal the warehouse does not have
    ]
    result = load_imported_stage_history(conn, [BASE_ID, BASE_ID + 9], history)
    conn.commit()
    assert (result.deals, result.rows_inserted, result.skipped_unknown_deals) == (1, 5, 1)
    day = Decimal("1.0000")
    assert _timeline(conn) == [
        ("Qualification", T0 - timedelta(days=30), entered - timedelta(hours=12), Decimal("26.5000"), "zoho"),
        ("Negotiation/Review", entered - timedelta(hours=12), entered, Decimal("0.5000"), "zoho"),
        ("Qualification", entered, moved, 4 * day, "zoho"),
        ("Negotiation/Review", moved, None, None, "versions"),
    ]
    marker = conn.execute(select(StageHistoryImport.entries).where(StageHistoryImport.deal_id == BASE_ID)).scalar()
    assert marker == 5
    # Idempotent: importing again and reloading the same deal change nothing.
    again = load_imported_stage_history(conn, [BASE_ID], history[:5])
    _load(conn, [make_deal(0, stage="Negotiation/Review", probability=90, modified_time=moved)])
    assert (again.rows_inserted, again.rows_updated) == (0, 0)
    assert len(_timeline(conn)) == 4
    assert conn.execute(select(ZohoStageHistory.id).order_by(ZohoStageHistory.id)).scalars().all() == [
        ZOHO_ID + i for i in range(1, 6)
    ]
    # A later change continues the timeline from the versions.
    won = moved + timedelta(days=2)
    _load(conn, [make_deal(0, stage="Closed Won", probability=100, modified_time=won)])
    assert _timeline(conn)[-2:] == [
        ("Negotiation/Review", moved, won, 2 * day, "versions"),
        ("Closed Won", won, None, None, "versions"),
    ]


def test_a_deal_created_after_the_history_start_is_observed_from_its_creation(conn: Connection) -> None:
    _first_backfill(conn)
    born = START + timedelta(hours=1)
    _load(conn, [make_deal(1, created_time=born, modified_time=born)])
    assert _timeline(conn, 1) == [("Qualification", born, None, None, "versions")]
    moved = born + timedelta(hours=6)
    _load(conn, [make_deal(1, created_time=born, modified_time=moved, stage="Negotiation/Review", probability=90)])
    assert _timeline(conn, 1) == [
        ("Qualification", born, moved, Decimal("0.2500"), "versions"),
        ("Negotiation/Review", moved, None, None, "versions"),
    ]
