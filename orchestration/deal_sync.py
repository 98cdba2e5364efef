"""The deal sync itself, free of Dagster so it can be driven and tested directly.

Incremental: read deals changed since the committed cursor page by page; each page is transformed, loaded,
its rejections quarantined and the cursor advanced in ONE transaction, then committed. A crash at any point
loses at most the page in flight, which the next run re-reads (loading is idempotent). Deletions from
/deleted follow, with their own cursor. Full reconcile: read everything (Bulk Read above the threshold),
restore deals present in Zoho, repair drift, and soft-delete live deals Zoho no longer has.
"""

from __future__ import annotations

import logging
import time
from array import array
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, func, select

from orchestration.prefetch import prefetched
from orchestration.transforms.deals import (
    STREAM,
    DealTransformContext,
    load_transform_context,
    records_to_frame,
    transform_deals,
)
from pipeline_pulse.models import Deal, utcnow
from pipeline_pulse.services.zoho.errors import ZohoBadRequestError
from pipeline_pulse.services.zoho.port import ZohoPort
from pipeline_pulse.services.zoho.records import DealPage, DeletedDeal
from pipeline_pulse.warehouse.deal_versions import mark_history_start
from pipeline_pulse.warehouse.deals import analyze_if_substantial, load_deals, soft_delete_deals, soft_delete_missing
from pipeline_pulse.warehouse.load_indexes import build_missing_indexes, prepare_load_indexes
from pipeline_pulse.warehouse.rejected import open_rejected_ids, quarantine, resolve
from pipeline_pulse.warehouse.sync_state import (
    BULK_PROGRESS_STREAM,
    DELETIONS_STREAM,
    StreamCursor,
    advance_cursor,
    read_cursor,
    read_state,
    record_run_finished,
    record_run_started,
    set_cursor_details,
)

RECONCILE_STREAM = "deals_reconcile"
DELETION_BATCH = 500
# Quarantined deals are read again by id on every run until they decode or are superseded (issue 14.2):
# REREAD_BATCH ids per transaction (get_deals reads them 100 per call), at most MAX_REREAD per run.
REREAD_BATCH = 500
MAX_REREAD = 5_000
SyncMode = Literal["incremental", "full"]
log = logging.getLogger(__name__)


@dataclass
class DealSyncReport:
    mode: SyncMode
    extract_path: str = "rest"
    extracted: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    restored_or_missing_deleted: int = 0
    rejected: int = 0
    reread: int = 0
    analyzed: bool = False
    bulk_resumed_at_page: int | None = None
    resolved: int = 0
    unknown_stages: int = 0
    pages: int = 0
    cursor_before: str = "none"
    cursor_after: str = "none"
    zoho_count: int | None = None
    warehouse_count: int | None = None
    api: dict[str, int] = field(default_factory=dict)
    duration_seconds: float = 0.0
    # where the page loop's time went: waiting for the next page (a Bulk chunk is decoded during the previous
    # load: only what did not overlap counts), the transform, the load transactions
    extract_seconds: float = 0.0
    transform_seconds: float = 0.0
    load_seconds: float = 0.0

    def counters(self) -> dict[str, int]:
        return {
            "records_extracted": self.extracted,
            "records_inserted": self.inserted,
            "records_updated": self.updated,
            "records_deleted": self.deleted,
            "records_rejected": self.rejected,
            "api_calls": self.api.get("calls", 0),
            "credits_used": self.api.get("credits", 0),
        }


def _live_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(Deal).where(Deal.deleted_at.is_(None))).scalar_one()
        )


def run_deal_sync(
    engine: Engine,
    service: ZohoPort,
    *,
    mode: SyncMode = "incremental",
    bulk_threshold: int = 50_000,
    home_currency: str | None = None,
    run_id: str | None = None,
) -> DealSyncReport:
    started = time.monotonic()
    started_at = utcnow()
    report = DealSyncReport(mode=mode)
    service.reset_counters()
    with engine.connect() as connection:
        record_run_started(connection, STREAM, run_id)
        connection.commit()
        cursor = read_cursor(connection, STREAM)
        context = load_transform_context(connection, home_currency)
    report.cursor_before = cursor.as_text()
    page_iterator: Iterator[DealPage] | None = None
    try:
        with engine.connect() as connection:
            progress = BulkProgress.read(connection)
        pages, use_bulk = _choose_extract(service, mode, cursor, bulk_threshold, progress, report)
        report.extract_path = "bulk" if use_bulk else "rest"
        # A resumed read did not see the pages committed before the crash: it cannot tell which deals are missing.
        seen = array("q") if mode == "full" and report.bulk_resumed_at_page is None else None
        last_cursor = cursor
        bulk_max = progress.max_cursor if report.bulk_resumed_at_page is not None else None
        # Bulk chunks are decoded (Arrow, GIL released) while the previous chunk's COPY waits on the server.
        page_iterator = prefetched(pages, name="zoho-bulk-chunks") if use_bulk else iter(pages)
        while True:
            tick = time.monotonic()
            page = next(page_iterator, None)
            report.extract_seconds += time.monotonic() - tick
            if page is None:
                break
            report.pages += 1
            if report.pages == 1:
                # Once there is a page to load (a failed first read drops nothing): a first backfill loads
                # without the deal tables' secondary indexes and builds them after its last page.
                with engine.connect() as connection:
                    prepare_load_indexes(connection, resuming_backfill=progress.next_page_token is not None)
                    connection.commit()
            tick = time.monotonic()
            frame = page.frame if page.frame is not None else records_to_frame(page.records)
            result = transform_deals(frame, context)
            report.transform_seconds += time.monotonic() - tick
            tick = time.monotonic()
            with engine.connect() as connection:
                loaded = load_deals(connection, result.batch, present_in_zoho=(mode == "full"))
                rejected = [*page.rejected, *result.rejected]
                quarantine(connection, rejected, run_id=run_id)
                report.resolved += resolve(connection, STREAM, result.cursor_ids)
                if page.cursor is not None and not use_bulk:
                    # Same transaction as the rows: the cursor never runs ahead of (or behind) the data.
                    last_cursor = advance_cursor(connection, STREAM, StreamCursor(*page.cursor), run_id=run_id)
                if use_bulk:
                    if page.cursor is not None:
                        candidate = StreamCursor(*page.cursor)
                        bulk_max = candidate if bulk_max is None or candidate.is_after(bulk_max) else bulk_max
                    if page.more_records:
                        # Where a crash resumes (the page after this one, or the start of this page's result
                        # file; None: from the beginning), with what the read has seen so far.
                        pages_done = (
                            progress.pages_done if report.bulk_resumed_at_page is not None else 0
                        ) + report.pages
                        BulkProgress(page.resume_token, bulk_max, pages_done).save(connection)
                    else:
                        # Bulk Read is not in cursor order: the cursor moves once the last page is committed.
                        BulkProgress.clear(connection)
                        if bulk_max is not None:
                            last_cursor = advance_cursor(connection, STREAM, bulk_max, run_id=run_id)
                connection.commit()
            report.load_seconds += time.monotonic() - tick
            if seen is not None:
                seen.extend(page.ids())
                seen.extend(int(r.zoho_id) for r in page.rejected if r.zoho_id and str(r.zoho_id).isdigit())
                seen.extend(int(r.zoho_id) for r in result.rejected if r.zoho_id and r.zoho_id.isdigit())
            report.extracted += page.size + len(page.rejected)
            report.inserted += loaded.inserted
            report.updated += loaded.updated
            report.unchanged += loaded.unchanged
            report.rejected += len(rejected)
            report.unknown_stages += len(result.unknown_stage_ids)
        with engine.connect() as connection:
            build_missing_indexes(connection)  # before anything reads deal_versions per deal
            connection.commit()
        _reread_rejected(engine, service, context, report, run_id)
        with engine.connect() as connection:
            changed = report.inserted + report.updated
            report.analyzed = analyze_if_substantial(connection, changed, first_load=cursor.modified_time is None)
            connection.commit()
        report.cursor_after = last_cursor.as_text()
        report.deleted = _sync_deletions(engine, service, run_id)
        if mode == "full" and seen is None:
            log.warning("full reconcile resumed a Bulk Read: soft-deleting deals missing from Zoho waits for the next")
        if seen is not None:
            with engine.connect() as connection:
                missing = soft_delete_missing(connection, seen, deleted_at=started_at, not_modified_after=started_at)
                connection.commit()
            report.restored_or_missing_deleted = len(missing)
            report.deleted += len(missing)
            report.zoho_count = int(service.count_deals())
            report.warehouse_count = _live_count(engine)
            with engine.connect() as connection:
                set_cursor_details(
                    connection,
                    RECONCILE_STREAM,
                    {
                        "zoho_count": report.zoho_count,
                        "warehouse_count": report.warehouse_count,
                        "missing_deleted": len(missing),
                        "finished_at": utcnow().isoformat(),
                        "run_id": run_id,
                    },
                )
                record_run_finished(connection, RECONCILE_STREAM, run_id, counters=report.counters())
                connection.commit()
    except BaseException as exc:
        if isinstance(page_iterator, Generator):
            page_iterator.close()  # stops the prefetching thread before the failure is recorded
        report.api = service.counters.as_dict()
        with engine.connect() as connection:
            record_run_finished(
                connection, STREAM, run_id, counters=report.counters(), error=f"{type(exc).__name__}: {exc}"
            )
            connection.commit()
        raise
    report.api = service.counters.as_dict()
    report.duration_seconds = round(time.monotonic() - started, 3)
    with engine.connect() as connection:
        if last_cursor.modified_time is not None:
            # After the first complete run the warehouse has seen every deal as of its cursor: history starts.
            mark_history_start(connection, last_cursor.modified_time)
        record_run_finished(connection, STREAM, run_id, counters=report.counters())
        connection.commit()
    return report


def _reread_rejected(
    engine: Engine, service: ZohoPort, context: DealTransformContext, report: DealSyncReport, run_id: str | None
) -> None:
    """Read every open rejection's deal again by id: a record quarantined by a transient fault must not leave
    an older version in the warehouse once Zoho serves a good one, although the cursor has moved past it.

    In each batch's transaction: the good versions are loaded (the upsert never lets an older version win),
    the open rejections of the ids that did not fail again are resolved - decoded, superseded by a newer load
    or gone from Zoho (the deletion feed handles the deal) - and the failing ones are quarantined again.
    """
    with engine.connect() as connection:
        ids = open_rejected_ids(connection, STREAM, limit=MAX_REREAD)
    for start in range(0, len(ids), REREAD_BATCH):
        batch = ids[start : start + REREAD_BATCH]
        page = service.get_deals(batch)
        result = transform_deals(records_to_frame(page.records), context)
        rejected = [*page.rejected, *result.rejected]
        failing = {r.zoho_id for r in rejected}
        with engine.connect() as connection:
            loaded = load_deals(connection, result.batch)
            report.resolved += resolve(connection, STREAM, [i for i in batch if str(i) not in failing])
            quarantine(connection, rejected, run_id=run_id)
            connection.commit()
        report.reread += len(batch)
        report.inserted += loaded.inserted
        report.updated += loaded.updated
        report.unchanged += loaded.unchanged


def _choose_extract(
    service: ZohoPort,
    mode: SyncMode,
    cursor: StreamCursor,
    bulk_threshold: int,
    progress: BulkProgress,
    report: DealSyncReport,
) -> tuple[Iterable[DealPage], bool]:
    """Resume an interrupted Bulk Read where it stopped; else REST pages since the cursor, or Bulk Read for a
    first backfill or a full read above the threshold."""
    if progress.next_page_token is not None:
        report.bulk_resumed_at_page = progress.pages_done + 1
        return _resumed_bulk(service, progress, report), True
    since = None if mode == "full" else cursor.modified_time
    if since is None and bulk_threshold > 0:
        total = int(service.count_deals())
        if total > bulk_threshold:
            return service.bulk_read_deals(None), True
    return service.iter_deals(modified_since=since), False


def _resumed_bulk(service: ZohoPort, progress: BulkProgress, report: DealSyncReport) -> Iterator[DealPage]:
    """The rest of an interrupted Bulk Read; from the start if Zoho no longer accepts its page token."""
    pages = service.bulk_read_deals(None, page_token=progress.next_page_token)
    try:
        first = next(pages, None)
    except ZohoBadRequestError as error:
        log.warning("cannot resume the Bulk Read (%s); reading from the first page again", error)
        report.bulk_resumed_at_page = None
        yield from service.bulk_read_deals(None)
        return
    if first is not None:
        yield first
        yield from pages


@dataclass(frozen=True)
class BulkProgress:
    """An unfinished Bulk Read, committed with each page: the next page's token, the largest (Modified_Time,
    id) loaded so far and the pages done. Cleared with the last page, in the transaction that moves the cursor."""

    next_page_token: str | None = None
    max_cursor: StreamCursor | None = None
    pages_done: int = 0

    @classmethod
    def read(cls, connection: Connection) -> BulkProgress:
        details = read_cursor(connection, BULK_PROGRESS_STREAM).details or {}
        if not details.get("next_page_token"):
            return cls()
        modified = details.get("max_modified_time")
        max_cursor = (
            StreamCursor(datetime.fromisoformat(modified), int(details["max_id"])) if modified is not None else None
        )
        return cls(str(details["next_page_token"]), max_cursor, int(details.get("pages_done", 0)))

    def save(self, connection: Connection) -> None:
        cursor = self.max_cursor
        set_cursor_details(
            connection,
            BULK_PROGRESS_STREAM,
            {
                "next_page_token": self.next_page_token,
                "max_modified_time": cursor.modified_time.isoformat() if cursor and cursor.modified_time else None,
                "max_id": cursor.id if cursor else None,
                "pages_done": self.pages_done,
            },
        )

    @staticmethod
    def clear(connection: Connection) -> None:
        set_cursor_details(connection, BULK_PROGRESS_STREAM, {})


def _batched(items: Iterable[DeletedDeal], size: int) -> Iterator[list[DeletedDeal]]:
    batch: list[DeletedDeal] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _sync_deletions(engine: Engine, service: ZohoPort, run_id: str | None = None) -> int:
    """Soft-delete from /deleted since its committed cursor. The feed's order is not guaranteed, so the cursor
    moves only after every batch is committed (re-marking a deal is a no-op, so a rerun is harmless). The run's
    outcome and counts go to its own stream (GET /sync/status)."""
    with engine.connect() as connection:
        record_run_started(connection, DELETIONS_STREAM, run_id)
        connection.commit()
        since = read_cursor(connection, DELETIONS_STREAM).modified_time
    calls, credits = service.counters.calls, service.counters.credits
    read = marked = 0
    latest: datetime | None = None

    def finish(error: str | None = None) -> None:
        counters = {
            "records_extracted": read,
            "records_deleted": marked,
            "api_calls": service.counters.calls - calls,
            "credits_used": service.counters.credits - credits,
        }
        with engine.connect() as connection:
            record_run_finished(connection, DELETIONS_STREAM, run_id, counters=counters, error=error)
            connection.commit()

    try:
        for batch in _batched(service.iter_deleted_deals(since=since), DELETION_BATCH):
            read += len(batch)
            newest = max(item.deleted_time for item in batch)
            latest = newest if latest is None or newest > latest else latest
            with engine.connect() as connection:
                marked += soft_delete_deals(connection, batch)
                connection.commit()
        if latest is not None:
            with engine.connect() as connection:
                advance_cursor(connection, DELETIONS_STREAM, StreamCursor(latest, 0))
                connection.commit()
    except BaseException as exc:
        finish(f"{type(exc).__name__}: {exc}")
        raise
    finish()
    return marked


def last_reconcile(engine: Engine) -> dict[str, Any] | None:
    with engine.connect() as connection:
        state = read_state(connection, RECONCILE_STREAM)
    if state is None or not state.cursor:
        return None
    return dict(state.cursor)
