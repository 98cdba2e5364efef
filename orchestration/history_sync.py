"""Incremental stage history: fetch Stage_History only for deals loaded or changed since the last history
run, tracked by a (last_synced_at, id) watermark over `deals`. Each chunk commits with its watermark."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, and_, or_, select

from pipeline_pulse.models import Deal
from pipeline_pulse.services.zoho.port import ZohoPort
from pipeline_pulse.warehouse.stage_history import load_stage_history
from pipeline_pulse.warehouse.sync_state import StreamCursor, advance_cursor, read_cursor

HISTORY_STREAM = "deal_stage_history"
HISTORY_CHUNK = 100
# Zoho serves Stage_History one deal per call: cap a run so a first backfill spreads over several runs.
MAX_DEALS_PER_RUN = 2_000


@dataclass
class HistorySyncReport:
    deals: int = 0
    inserted: int = 0
    updated: int = 0
    skipped: int = 0
    cursor_before: str = "none"
    cursor_after: str = "none"


def run_history_sync(
    engine: Engine, service: ZohoPort, *, chunk_size: int = HISTORY_CHUNK, max_deals: int = MAX_DEALS_PER_RUN
) -> HistorySyncReport:
    report = HistorySyncReport()
    with engine.connect() as connection:
        watermark = read_cursor(connection, HISTORY_STREAM)
    report.cursor_before = report.cursor_after = watermark.as_text()
    while report.deals < max_deals:
        with engine.connect() as connection:
            query = (
                select(Deal.id, Deal.last_synced_at)
                .order_by(Deal.last_synced_at, Deal.id)
                .limit(min(chunk_size, max_deals - report.deals))
            )
            if watermark.modified_time is not None:
                query = query.where(
                    or_(
                        Deal.last_synced_at > watermark.modified_time,
                        and_(Deal.last_synced_at == watermark.modified_time, Deal.id > (watermark.id or 0)),
                    )
                )
            chunk = connection.execute(query).all()
            if not chunk:
                return report
            records = list(service.get_stage_history([deal_id for deal_id, _ in chunk]))
            result, skipped = load_stage_history(connection, records)
            last_id, last_synced = chunk[-1]
            watermark = advance_cursor(connection, HISTORY_STREAM, StreamCursor(last_synced, last_id))
            connection.commit()
        report.deals += len(chunk)
        report.inserted += result.inserted
        report.updated += result.updated
        report.skipped += skipped
        report.cursor_after = watermark.as_text()
    return report
