"""The Stage_History import: Zoho's stage history of deals that existed before the history start (the only
stage changes the warehouse did not observe itself), at most a configured share of the daily credit budget.

Resumable by construction: each chunk of deals commits its rows, its import markers and the rebuilt timelines
in one transaction, and the backlog is "live deals created before the history start without a marker". Open
deals come first, then closed ones by most recent change (recently closed first). Deals created after the
history start are never read: their stage changes come from deal_versions (docs/metrics.md, section 8).

The import keeps its own daily ledger row (`IMPORT_LEDGER_KEY`) next to the client's, charged before each
deal's read, so it stops before passing its share; the client's own ledger still counts every call against the
org's budget. Free of Dagster: the asset in orchestration/assets/stage_history.py wraps it."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, Engine, case, exists, func, or_, select

from pipeline_pulse.models import Deal, StageHistoryImport
from pipeline_pulse.services.zoho.credit_ledger import CreditLedger
from pipeline_pulse.services.zoho.errors import ZohoBudgetExhaustedError
from pipeline_pulse.services.zoho.port import ZohoPort
from pipeline_pulse.warehouse.deal_versions import history_start
from pipeline_pulse.warehouse.stage_history import load_imported_stage_history
from pipeline_pulse.warehouse.sync_state import record_run_finished, record_run_started

IMPORT_STREAM = "stage_history_import"
IMPORT_LEDGER_KEY = "stage_history_import"
IMPORT_CHUNK = 50
# Zoho serves Stage_History one deal per call (200 rows a page): a call per deal, a credit per call.
CREDITS_PER_DEAL = 1
StopReason = Literal["backlog_empty", "budget", "max_deals", "no_history_start"]


@dataclass
class ImportReport:
    history_start: str = "none"
    backlog_before: int = 0
    backlog_after: int = 0
    open_backlog_after: int = 0
    deals: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    timeline_rows: int = 0
    budget_credits: int = 0
    spent_today_credits: int = 0
    stopped: StopReason = "backlog_empty"
    duration_seconds: float = 0.0

    def as_metadata(self) -> dict[str, object]:
        return asdict(self)


def _backlog_filter(start: datetime) -> list:  # type: ignore[type-arg]
    imported = exists().where(StageHistoryImport.deal_id == Deal.id)
    return [
        Deal.deleted_at.is_(None),
        or_(Deal.created_time.is_(None), Deal.created_time <= start),
        ~imported,
    ]


def backlog_size(connection: Connection, start: datetime, *, open_only: bool = False) -> int:
    conditions = _backlog_filter(start)
    if open_only:
        conditions.append(Deal.deal_status == "open")
    return int(connection.execute(select(func.count()).select_from(Deal).where(*conditions)).scalar_one())


def next_deals(connection: Connection, start: datetime, limit: int) -> list[int]:
    """The next deals to import: open ones first, then by most recent change."""
    query = (
        select(Deal.id)
        .where(*_backlog_filter(start))
        .order_by(case((Deal.deal_status == "open", 0), else_=1), Deal.modified_time.desc(), Deal.id)
        .limit(limit)
    )
    return list(connection.execute(query).scalars())


def run_stage_history_import(
    engine: Engine,
    service: ZohoPort,
    *,
    budget_credits: int,
    max_deals: int,
    run_id: str | None = None,
    chunk_size: int = IMPORT_CHUNK,
    ledger: CreditLedger | None = None,
) -> ImportReport:
    """Import Stage_History for up to `max_deals` backlog deals while today's import spend stays within
    `budget_credits`. Records the run on the `stage_history_import` stream (GET /sync/status)."""
    started = time.monotonic()
    ledger = ledger or CreditLedger(IMPORT_LEDGER_KEY, engine)
    report = ImportReport(budget_credits=budget_credits)
    with engine.connect() as connection:
        record_run_started(connection, IMPORT_STREAM, run_id)
        connection.commit()
        start = history_start(connection)
    error: str | None = None
    try:
        if start is None:
            report.stopped = "no_history_start"
        else:
            report.history_start = start.isoformat()
            with engine.connect() as connection:
                report.backlog_before = backlog_size(connection, start)
            _import(engine, service, ledger, start, report, budget_credits, max_deals, chunk_size)
            with engine.connect() as connection:
                report.backlog_after = backlog_size(connection, start)
                report.open_backlog_after = backlog_size(connection, start, open_only=True)
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        report.spent_today_credits = ledger.spent_today()
        report.duration_seconds = round(time.monotonic() - started, 3)
        counters = service.counters.as_dict()
        with engine.connect() as connection:
            record_run_finished(
                connection,
                IMPORT_STREAM,
                run_id,
                counters={
                    "records_extracted": report.rows_inserted + report.rows_updated,
                    "records_inserted": report.rows_inserted,
                    "records_updated": report.rows_updated,
                    "api_calls": counters.get("calls", 0),
                    "credits_used": counters.get("credits", 0),
                },
                error=error,
            )
            connection.commit()
    return report


def _import(
    engine: Engine,
    service: ZohoPort,
    ledger: CreditLedger,
    start: datetime,
    report: ImportReport,
    budget_credits: int,
    max_deals: int,
    chunk_size: int,
) -> None:
    while True:
        if report.deals >= max_deals:
            report.stopped = "max_deals"
            return
        with engine.connect() as connection:
            chunk = next_deals(connection, start, min(chunk_size, max_deals - report.deals))
        if not chunk:
            report.stopped = "backlog_empty"
            return
        read: list[int] = []
        records = []
        try:
            for deal_id in chunk:
                ledger.reserve(CREDITS_PER_DEAL, budget_credits)
                before = service.counters.credits
                try:
                    history = list(service.get_stage_history([deal_id]))
                except BaseException:
                    if service.counters.credits == before:  # Zoho charged nothing: neither do we
                        ledger.refund(CREDITS_PER_DEAL)
                    raise
                extra = service.counters.credits - before - CREDITS_PER_DEAL
                if extra > 0:  # more than one page of history: record what it really cost
                    ledger.reserve(extra, budget_credits + extra)
                records.extend(history)
                read.append(deal_id)
        except ZohoBudgetExhaustedError:  # the import's share, or the org's budget (the client's ledger)
            report.stopped = "budget"
        if read:
            with engine.connect() as connection:
                result = load_imported_stage_history(connection, read, records)
                connection.commit()
            report.deals += result.deals
            report.rows_inserted += result.rows_inserted
            report.rows_updated += result.rows_updated
            report.timeline_rows += result.timeline_rows
        if report.stopped == "budget":
            return
