"""UnifiedZohoCRMService: every Zoho read the pipeline needs, as typed records (never SDK objects).

All calls go through ImprovedZohoSDKManager (retries, token repair, credit budget, concurrency cap) and the
SDK's own request machinery. Incremental semantics agreed with the ETL side:

* the caller passes its committed cursor's Modified_Time as `modified_since`; we send
  If-Modified-Since = modified_since - overlap, sort_by=Modified_Time asc, and yield pages in
  (Modified_Time, id) order whose `cursor` is the largest key yielded so far;
* records inside the overlap may repeat across runs (the loader upserts), but within one call an id is only
  yielded again with a strictly newer Modified_Time (it changed while we read; the later version wins);
* pagination: `page_token` whenever Zoho gives one (keyset, so edits during the read cannot shift records
  past us); an expired page_token restarts the query from the last yielded cursor minus the overlap;
* a record that does not decode is reported as a QuarantinedRecord (id, reason, raw payload), its page-mates
  are yielded; an unreadable page is retried and then fails with a typed error - never a silent gap.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from operator import attrgetter
from typing import Any

from sqlalchemy import Engine
from zohocrmsdk.src.com.zoho.crm.api.bulk_read import BodyWrapper, BulkReadOperations, Criteria, Query
from zohocrmsdk.src.com.zoho.crm.api.fields import MinifiedField
from zohocrmsdk.src.com.zoho.crm.api.modules import MinifiedModule
from zohocrmsdk.src.com.zoho.crm.api.util.choice import Choice

from pipeline_pulse.core.config import Settings
from pipeline_pulse.services.zoho.deal_arrow import DealArrowDecoder, iter_chunks, largest_key, read_header
from pipeline_pulse.services.zoho.deal_codec import DealCsvDecoder, DealJsonDecoder, RecordDecodeError
from pipeline_pulse.services.zoho.errors import (
    ZohoBadRequestError,
    ZohoError,
    ZohoPageTokenExpiredError,
    ZohoServerError,
)
from pipeline_pulse.services.zoho.records import (
    CallCounters,
    CrmUserRecord,
    CurrencyRecord,
    DealPage,
    DealRecord,
    DeletedDeal,
    QuarantinedRecord,
    StageHistoryRecord,
    StageRecord,
)
from pipeline_pulse.services.zoho.sdk_manager import BULK_READ_CREATE_CREDITS, ImprovedZohoSDKManager
from pipeline_pulse.services.zoho.sdk_requests import body_of, get_json, if_modified_since, streamed_response

logger = logging.getLogger(__name__)

DEALS = "Deals"
MAX_FIELDS_PER_CALL = 50
MAX_PER_PAGE = 200
MAX_IDS_PER_CALL = 100
# Deals lookups whose names Bulk Read's CSV lacks (it carries ids): read from their modules by Bulk Read, so a
# backfill names them exactly as REST does. Owner comes from the users list.
LOOKUP_MODULES = {
    "Account_Name": ("Accounts", "Account_Name"),
    "Contact_Name": ("Contacts", "Full_Name"),
    "Campaign_Source": ("Campaigns", "Campaign_Name"),
}  # GET /Deals?ids=...: Zoho's limit of records read by id in one call
DOWNLOAD_BLOCK_BYTES = 1 << 20  # a Bulk Read result is copied to disk this much at a time
DISCRETE_PAGE_LIMIT = 2000  # records reachable with `page`; beyond that only page_token works
DEFAULT_OVERLAP = timedelta(seconds=30)
MAX_RESTARTS = 20
KEY_FIELDS = ("Modified_Time",)
# v8 related-list reads take an explicit field list.
STAGE_HISTORY_FIELDS = (
    "Stage,Amount,Probability,Expected_Revenue,Closing_Date,Modified_Time,Modified_By,Stage_Duration_Calendar_Days"
)


def _parse_utc(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _int_or_none(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


def _decimal_or_none(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))


def _name_of(value: Any) -> str | None:
    return value.get("name") if isinstance(value, dict) else None


def _is_page_token_error(error: ZohoError) -> bool:
    if isinstance(error, ZohoPageTokenExpiredError):
        return True
    return isinstance(error, ZohoBadRequestError) and error.details.get("param") == "page_token"


class _PageSource:
    """One paged records query (one batch of fields), following page_token and restarting on expiry."""

    def __init__(self, service: UnifiedZohoCRMService, fields: Sequence[str], per_page: int) -> None:
        self.service = service
        self.fields = ",".join(fields)
        self.per_page = per_page
        self.page_token: str | None = None
        self.page_no = 1
        self.last_info: dict[str, Any] = {}

    def restart(self) -> None:
        self.page_token, self.page_no = None, 1

    def fetch(self, since: datetime | None) -> dict[str, Any] | None:
        params: dict[str, Any] = {
            "fields": self.fields,
            "per_page": self.per_page,
            "sort_by": "Modified_Time",
            "sort_order": "asc",
        }
        if self.page_token:
            params["page_token"] = self.page_token
        else:
            params["page"] = self.page_no
        headers = {"If-Modified-Since": if_modified_since(since)} if since is not None else None
        body = self.service._get(f"GET /{DEALS} page", f"/crm/v8/{DEALS}", params, headers)
        self.last_info = (body or {}).get("info") or {}
        return body

    def advance(self, info: dict[str, Any]) -> bool:
        """Move to the next page; False when the discrete-page limit forces a restart from the cursor."""
        token = info.get("next_page_token")
        if token:
            self.page_token = str(token)
            return True
        self.page_token = None
        self.page_no += 1
        return (self.page_no - 1) * self.per_page < DISCRETE_PAGE_LIMIT


class _IdsSource(_PageSource):
    """One field batch of a read by ids (same merge as the paged read's extra batches)."""

    def __init__(self, service: UnifiedZohoCRMService, fields: Sequence[str], ids: str) -> None:
        super().__init__(service, fields, MAX_IDS_PER_CALL)
        self.ids = ids

    def fetch(self, since: datetime | None) -> dict[str, Any] | None:
        return self.service._get(f"GET /{DEALS} by ids", f"/crm/v8/{DEALS}", {"ids": self.ids, "fields": self.fields})


class UnifiedZohoCRMService:
    """The Zoho CRM reads of the pipeline, typed, resilient and credit-aware."""

    def __init__(
        self,
        manager: ImprovedZohoSDKManager,
        *,
        overlap: timedelta = DEFAULT_OVERLAP,
        field_batch_size: int = MAX_FIELDS_PER_CALL,
        bulk_poll_timeout: float = 600.0,
        bulk_chunk_rows: int = 10_000,
        sleep: Any = time.sleep,
    ) -> None:
        if not 1 <= field_batch_size <= MAX_FIELDS_PER_CALL:
            raise ValueError(f"field_batch_size must be 1..{MAX_FIELDS_PER_CALL}")
        self.manager = manager
        self.overlap = overlap
        self.field_batch_size = field_batch_size
        self.bulk_poll_timeout = bulk_poll_timeout
        self.bulk_chunk_rows = bulk_chunk_rows
        self._sleep = sleep
        self.counters = CallCounters()
        self._deal_fields: dict[str, dict[str, Any]] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine | None = None) -> UnifiedZohoCRMService:
        """A service for `settings`; the token store lives in `engine` (default: the warehouse)."""
        return cls(
            ImprovedZohoSDKManager.from_settings(settings, engine),
            overlap=timedelta(seconds=settings.zoho_incremental_overlap_seconds),
            bulk_poll_timeout=settings.zoho_bulk_poll_timeout_seconds,
            bulk_chunk_rows=settings.zoho_bulk_chunk_rows,
        )

    def reset_counters(self) -> None:
        self.counters = CallCounters()

    # -- plumbing -----------------------------------------------------------------------------------------
    def _get(
        self,
        operation: str,
        api_path: str,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        *,
        credits: int = 1,
    ) -> dict[str, Any] | None:
        response = self.manager.call(
            operation, lambda: get_json(api_path, params, headers), credits=credits, counters=self.counters
        )
        return body_of(response)

    def deal_fields(self) -> dict[str, dict[str, Any]]:
        """Deals field metadata by api_name (fetched once per service)."""
        if self._deal_fields is None:
            body = self._get("GET fields", "/crm/v8/settings/fields", {"module": DEALS}) or {}
            self._deal_fields = {f["api_name"]: f for f in body.get("fields", []) if f.get("api_name")}
            if not self._deal_fields:
                raise ZohoServerError("NO_FIELD_METADATA", "Zoho returned no field metadata for Deals")
        return self._deal_fields

    def _field_types(self) -> dict[str, str]:
        return {name: str(meta.get("data_type") or "") for name, meta in self.deal_fields().items()}

    def _field_batches(self, fields: Sequence[str] | None) -> list[list[str]]:
        known = self.deal_fields()
        wanted = [f for f in (fields or list(known)) if f != "id"]
        unknown = [f for f in wanted if f not in known]
        if unknown:
            raise ZohoBadRequestError("INVALID_FIELD", f"unknown Deals field(s): {', '.join(unknown)}")
        rest = [f for f in dict.fromkeys(wanted) if f not in KEY_FIELDS]
        size = self.field_batch_size
        first = [*KEY_FIELDS, *rest[: size - len(KEY_FIELDS)]]
        batches = [first]
        remaining = rest[size - len(KEY_FIELDS) :]
        for start in range(0, len(remaining), size - len(KEY_FIELDS)):
            batches.append([*KEY_FIELDS, *remaining[start : start + size - len(KEY_FIELDS)]])
        return batches

    # -- deals (REST) -------------------------------------------------------------------------------------
    def iter_deals(
        self,
        modified_since: datetime | None = None,
        *,
        fields: Sequence[str] | None = None,
        per_page: int = MAX_PER_PAGE,
    ) -> Iterator[DealPage]:
        """Deals changed after `modified_since` (all when None), page by page in (Modified_Time, id) order."""
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be 1..{MAX_PER_PAGE}")
        if modified_since is not None and modified_since.tzinfo is None:
            raise ValueError("modified_since must be timezone-aware")
        batches = self._field_batches(fields)
        decoder = DealJsonDecoder(self._field_types())
        sources = [_PageSource(self, batch, per_page) for batch in batches]
        since = modified_since - self.overlap if modified_since is not None else None
        cursor: tuple[datetime, int] | None = None
        yielded: dict[int, datetime] = {}  # id -> Modified_Time already yielded in this call
        reported: set[tuple[str | None, str]] = set()  # quarantined (id, reason) already reported
        restarts = 0
        while True:
            try:
                body = sources[0].fetch(since)
                if body is None:
                    return  # 304 Not Modified / 204 No Content
                data = body.get("data") or []
                info = body.get("info") or {}
                if len(sources) > 1:
                    data = self._merge_batches(data, sources[1:], since)
            except ZohoError as error:
                if not _is_page_token_error(error) or sources[0].page_token is None:
                    raise
                restarts += 1
                if restarts > MAX_RESTARTS:
                    raise
                anchor = cursor[0] if cursor is not None else modified_since
                since = anchor - self.overlap if anchor is not None else None
                logger.warning("Zoho page_token expired; restarting the Deals read from %s", since)
                self.counters.retries += 1
                for source in sources:
                    source.restart()
                continue
            records, rejected = self._decode_page(decoder, data)
            rejected = [r for r in rejected if (r.zoho_id, repr(r.reason)) not in reported]  # once per call
            reported.update((r.zoho_id, repr(r.reason)) for r in rejected)
            fresh: list[DealRecord] = []
            for record in records:
                seen = yielded.get(record.id)
                if seen is not None and record.modified_time is not None and record.modified_time <= seen:
                    continue  # overlap re-read of a version we already yielded
                fresh.append(record)
            for record in fresh:
                if record.modified_time is not None:
                    yielded[record.id] = record.modified_time
                    key = (record.modified_time, record.id)
                    if cursor is None or key > cursor:
                        cursor = key
            more = bool(info.get("more_records"))
            self.counters.pages += 1
            self.counters.records += len(fresh)
            self.counters.rejected += len(rejected)
            if fresh or rejected or not more:
                yield DealPage(records=fresh, rejected=rejected, cursor=cursor, more_records=more)
            if not more:
                return
            if not all([source.advance(source.last_info) for source in sources]):
                # Past the discrete-page limit without a page_token: continue by time from the cursor.
                next_since = cursor[0] - self.overlap if cursor else None
                if next_since is None or (since is not None and next_since <= since):
                    raise ZohoServerError(
                        "NO_PAGE_TOKEN",
                        "Zoho gave no page_token and more than 2,000 records share the overlap window; "
                        "cannot page further without skipping records",
                    )
                since = next_since
                for source in sources:
                    source.restart()
            self._prune(yielded, cursor)

    def _prune(self, yielded: dict[int, datetime], cursor: tuple[datetime, int] | None) -> None:
        """Forget ids whose yielded version is older than any restart could re-read."""
        if cursor is None or len(yielded) < 50_000:
            return
        horizon = cursor[0] - self.overlap - timedelta(seconds=1)
        for deal_id in [i for i, t in yielded.items() if t < horizon]:
            del yielded[deal_id]

    @staticmethod
    def _decode_page(decoder: DealJsonDecoder, data: list[Any]) -> tuple[list[DealRecord], list[QuarantinedRecord]]:
        records: list[DealRecord] = []
        rejected: list[QuarantinedRecord] = []
        for raw in data:
            try:
                records.append(decoder.decode(raw))
            except (RecordDecodeError, ValueError, TypeError, KeyError) as exc:
                zoho_id = str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") is not None else None
                rejected.append(QuarantinedRecord(stream="deals", zoho_id=zoho_id, reason=str(exc), payload=raw))
                logger.warning("quarantined Zoho deal %s: %s", zoho_id, exc)
        records.sort(key=lambda r: (r.modified_time or datetime.min.replace(tzinfo=UTC), r.id))
        return records, rejected

    def _merge_batches(
        self, data: list[dict[str, Any]], others: Sequence[_PageSource], since: datetime | None
    ) -> list[dict[str, Any]]:
        """Fields beyond the first 50 come from the same query per batch, merged by id.

        Batches page in lockstep; an id missing from another batch's page (it changed between the two calls)
        is fetched on its own, and its newer Modified_Time wins.
        """
        merged = {str(raw.get("id")): dict(raw) for raw in data}
        for source in others:
            body = source.fetch(since) or {}
            by_id = {str(raw.get("id")): raw for raw in body.get("data") or []}
            for deal_id, raw in merged.items():
                extra = by_id.get(deal_id)
                if extra is None or extra.get("Modified_Time") != raw.get("Modified_Time"):
                    extra = self._get_one_deal(deal_id)
                    if extra is None:
                        continue  # deleted meanwhile: keep what the first batch saw
                    raw["Modified_Time"] = extra.get("Modified_Time", raw.get("Modified_Time"))
                for name in source.fields.split(","):
                    if name in extra:
                        raw[name] = extra[name]
        return list(merged.values())

    def _get_one_deal(self, deal_id: str) -> dict[str, Any] | None:
        body = self._get(f"GET /{DEALS}/id", f"/crm/v8/{DEALS}/{deal_id}")
        rows = (body or {}).get("data") or []
        return rows[0] if rows else None

    def get_deals(self, deal_ids: Sequence[int]) -> DealPage:
        """The current version of these deals, read by id (100 per call and field batch); absent ids are gone
        from Zoho. Undecodable records come back in `rejected`, like in `iter_deals`."""
        ids = list(dict.fromkeys(int(deal_id) for deal_id in deal_ids))
        if not ids:
            return DealPage(records=[], rejected=[], cursor=None, more_records=False)
        batches = self._field_batches(None)
        decoder = DealJsonDecoder(self._field_types())
        records: list[DealRecord] = []
        rejected: list[QuarantinedRecord] = []
        for start in range(0, len(ids), MAX_IDS_PER_CALL):
            chunk = ",".join(str(deal_id) for deal_id in ids[start : start + MAX_IDS_PER_CALL])
            body = self._get(f"GET /{DEALS} by ids", f"/crm/v8/{DEALS}", {"ids": chunk, "fields": ",".join(batches[0])})
            data = (body or {}).get("data") or []
            if data and len(batches) > 1:
                data = self._merge_batches(data, [_IdsSource(self, batch, chunk) for batch in batches[1:]], None)
            self.counters.pages += 1
            page_records, page_rejected = self._decode_page(decoder, data)
            records.extend(page_records)
            rejected.extend(page_rejected)
        self.counters.records += len(records)
        self.counters.rejected += len(rejected)
        return DealPage(records=records, rejected=rejected, cursor=None, more_records=False)

    def count_deals(self) -> int:
        body = self._get("GET count", f"/crm/v8/{DEALS}/actions/count") or {}
        return int(body.get("count", 0))

    # -- deletions ----------------------------------------------------------------------------------------
    def iter_deleted_deals(self, since: datetime | None = None) -> Iterator[DeletedDeal]:
        if since is not None and since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        headers = {"If-Modified-Since": if_modified_since(since - self.overlap)} if since is not None else None
        page = 1
        while True:
            body = self._get(
                "GET deleted",
                f"/crm/v8/{DEALS}/deleted",
                {"type": "all", "page": page, "per_page": MAX_PER_PAGE},
                headers,
            )
            if body is None:
                return
            self.counters.pages += 1
            for row in body.get("data") or []:
                deleted_by = row.get("deleted_by")
                self.counters.records += 1
                yield DeletedDeal(
                    id=int(row["id"]),
                    deleted_time=_parse_utc(row.get("deleted_time")) or datetime.now(UTC),
                    deletion_type=str(row.get("type") or "recycle"),
                    display_name=row.get("display_name"),
                    deleted_by_id=_int_or_none(deleted_by.get("id")) if isinstance(deleted_by, dict) else None,
                )
            if not (body.get("info") or {}).get("more_records"):
                return
            page += 1

    # -- users, stages, currencies, history -------------------------------------------------------------
    def list_users(self) -> list[CrmUserRecord]:
        users: list[CrmUserRecord] = []
        page = 1
        while True:
            body = self._get("GET users", "/crm/v8/users", {"type": "AllUsers", "page": page, "per_page": 200})
            if body is None:
                break
            for row in body.get("users") or []:
                users.append(
                    CrmUserRecord(
                        id=int(row["id"]),
                        full_name=row.get("full_name"),
                        email=row.get("email"),
                        role_name=_name_of(row.get("role")),
                        profile_name=_name_of(row.get("profile")),
                        status=row.get("status"),
                        country=row.get("country"),
                        modified_time=_parse_utc(row.get("Modified_Time")),
                    )
                )
            if not (body.get("info") or {}).get("more_records"):
                break
            page += 1
        return users

    def get_stage_metadata(self) -> list[StageRecord]:
        """Stages per pipeline, with probability / forecast settings from the Stage picklist."""
        stage_field = self.deal_fields().get("Stage") or {}
        by_value: dict[str, dict[str, Any]] = {}
        for value in stage_field.get("pick_list_values") or []:
            by_value[str(value.get("actual_value") or value.get("display_value"))] = value
        layouts = self._get("GET layouts", "/crm/v8/settings/layouts", {"module": DEALS}) or {}
        stages: list[StageRecord] = []
        seen: set[tuple[str, str]] = set()
        for layout in layouts.get("layouts") or []:
            body = self._get("GET pipeline", "/crm/v8/settings/pipeline", {"layout_id": layout["id"]}) or {}
            for pipeline in body.get("pipeline") or []:
                name = str(pipeline.get("display_value") or pipeline.get("actual_value"))
                for item in pipeline.get("maps") or []:
                    stage = str(item.get("actual_value") or item.get("display_value"))
                    if (name, stage) in seen:
                        continue
                    seen.add((name, stage))
                    pick = by_value.get(stage, {})
                    category = item.get("forecast_category") or pick.get("forecast_category")
                    stages.append(
                        StageRecord(
                            pipeline=name,
                            stage=stage,
                            sequence=int(item.get("sequence_number") or pick.get("sequence_number") or 0),
                            probability=int(pick.get("probability") or item.get("probability") or 0),
                            forecast_type=str(item.get("forecast_type") or pick.get("forecast_type") or "Open"),
                            forecast_category=_name_of(category) if isinstance(category, dict) else category,
                            zoho_stage_id=_int_or_none(pick.get("id") or item.get("id")),
                            is_active=str(item.get("type") or "used") != "unused",
                        )
                    )
        return stages

    def get_currencies(self) -> list[CurrencyRecord]:
        body = self._get("GET currencies", "/crm/v8/org/currencies") or {}
        return [
            CurrencyRecord(
                iso_code=str(row["iso_code"]),
                name=row.get("name"),
                symbol=row.get("symbol"),
                exchange_rate=Decimal(str(row.get("exchange_rate") or "1")),
                is_home=bool(row.get("is_base")),
                is_active=bool(row.get("is_active", True)),
            )
            for row in body.get("currencies") or []
        ]

    def get_stage_history(self, deal_ids: Sequence[int]) -> Iterator[StageHistoryRecord]:
        for deal_id in deal_ids:
            page = 1
            while True:
                body = self._get(
                    "GET stage history",
                    f"/crm/v8/{DEALS}/{int(deal_id)}/Stage_History",
                    {"fields": STAGE_HISTORY_FIELDS, "page": page, "per_page": MAX_PER_PAGE},
                )
                if body is None:
                    break
                for row in body.get("data") or []:
                    changed_by = row.get("Modified_By") or {}
                    closing = row.get("Closing_Date")
                    yield StageHistoryRecord(
                        id=int(row["id"]),
                        deal_id=int(deal_id),
                        stage=str(row.get("Stage")),
                        entered_at=_parse_utc(row.get("Modified_Time")) or datetime.now(UTC),
                        amount=_decimal_or_none(row.get("Amount")),
                        probability=_int_or_none(row.get("Probability")),
                        expected_revenue=_decimal_or_none(row.get("Expected_Revenue")),
                        closing_date=date.fromisoformat(closing) if closing else None,
                        duration_days=_decimal_or_none(row.get("Stage_Duration_Calendar_Days")),
                        changed_by_id=_int_or_none(changed_by.get("id")),
                        changed_by_name=changed_by.get("name"),
                    )
                if not (body.get("info") or {}).get("more_records"):
                    break
                page += 1

    # -- Bulk Read ----------------------------------------------------------------------------------------
    def bulk_read_deals(
        self, modified_since: datetime | None = None, *, page_token: str | None = None
    ) -> Iterator[DealPage]:
        """A backfill through the Bulk Read API: one job per result page (<= 200,000 rows), CSV decoded.

        Each result file is streamed through in chunks of `bulk_chunk_rows` (one DealPage each), so memory
        holds one chunk of records, not a file. A chunk's `resume_token` is where a crash after it resumes: the
        start of its own file (None for the first file) until the file's last chunk, which points at the next.

        Lookups arrive as ids in the CSV; they are named as REST names them: owner name and e-mail from
        `list_users()`, accounts, contacts and campaigns from one Bulk Read of each module, layouts from the
        layout metadata (tests/orchestration/test_bulk_vs_rest.py compares the two paths row by row). Pages are
        yielded in (Modified_Time, id) order within each result page. While a page is decoded (CPU), the next
        page's job is created, polled and downloaded in a background thread (network and Zoho's work).
        `page_token` (a page's `resume_token`) starts at that result page: a crashed backfill resumes there.
        """
        if modified_since is not None and modified_since.tzinfo is None:
            raise ValueError("modified_since must be timezone-aware")
        field_types = self._field_types()
        users = {str(u.id): (u.full_name, u.email) for u in self.list_users()}
        operations = BulkReadOperations()
        lookups = self._lookup_names(operations, field_types)
        if field_types.get("Layout") == "layout":
            layouts = self._get("GET layouts", "/crm/v8/settings/layouts", {"module": DEALS}) or {}
            lookups["Layout"] = {str(item["id"]): item.get("name") for item in layouts.get("layouts") or []}
        decoder = DealCsvDecoder(field_types, users, lookups)
        columnar = DealArrowDecoder(field_types, users, lookups)
        fields = list(field_types)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zoho-bulk-prefetch")
        try:
            pending = pool.submit(self._fetch_bulk_page, operations, fields, modified_since, page_token)
            while pending is not None:
                result, bulk_file = pending.result()
                more = bool(result.get("more_records"))
                token = str(result["next_page_token"]) if more and result.get("next_page_token") else None
                pending = (
                    pool.submit(self._fetch_bulk_page, operations, fields, modified_since, token) if token else None
                )
                yield from self._decode_bulk_file(columnar, decoder, bulk_file, more, page_token, token)
                page_token = token
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _lookup_names(
        self, operations: BulkReadOperations, field_types: dict[str, str]
    ) -> dict[str, dict[str, str | None]]:
        """{lookup field: {record id: name}} for the LOOKUP_MODULES the Deals metadata has: one Bulk Read job
        per module (all created first, so Zoho prepares them together), following next_page_token."""
        wanted = {field: spec for field, spec in LOOKUP_MODULES.items() if field_types.get(field) == "lookup"}
        jobs = {
            field: self._create_bulk_job(operations, [name], None, None, module=module)
            for field, (module, name) in wanted.items()
        }
        names: dict[str, dict[str, str | None]] = {}
        for field, job_id in jobs.items():
            module, name = wanted[field]
            mapping: dict[str, str | None] = {}
            while True:
                result = self._wait_for_bulk_job(job_id)
                rows = self._download_bulk_rows(operations, job_id)
                header = next(rows, None)
                position = header.index(name) if header is not None and name in header else None
                for row in rows:
                    mapping[row[0]] = (row[position] or None) if position is not None else None
                token = result.get("next_page_token") if result.get("more_records") else None
                if not token:
                    break
                job_id = self._create_bulk_job(operations, [name], None, str(token), module=module)
            names[field] = mapping
        return names

    def _fetch_bulk_page(
        self, operations: BulkReadOperations, fields: list[str], modified_since: datetime | None, token: str | None
    ) -> tuple[dict[str, Any], tuple[zipfile.ZipFile, str]]:
        job_id = self._create_bulk_job(operations, fields, modified_since, token)
        result = self._wait_for_bulk_job(job_id)
        return result, self._download_bulk_file(operations, job_id)

    def _decode_bulk_file(
        self,
        columnar: DealArrowDecoder,
        decoder: DealCsvDecoder,
        bulk_file: tuple[zipfile.ZipFile, str],
        more_files: bool,
        this_file: str | None,
        next_file: str | None,
    ) -> Iterator[DealPage]:
        """One result file as DealPages of `bulk_chunk_rows` rows: decoded into Arrow columns in C when its
        header allows (deal_arrow), else record by record (deal_codec)."""
        archive, name = bulk_file
        with archive.open(name) as member:
            header = read_header(member)
        if header is None or not columnar.usable(header):
            if header is not None:
                logger.info("Bulk Read file with an unusual header: decoding it record by record")
            yield from self._decode_bulk_chunks(
                decoder, self._csv_rows(archive, name), more_files, this_file, next_file
            )
            return
        invalid: list[list[str]] = []
        with archive.open(name) as member:
            for chunk, last in iter_chunks(member, header, self.bulk_chunk_rows, invalid):
                frame, rejected = columnar.decode(header, chunk)
                for row in invalid:  # rows of the wrong width: the reference path names the problem
                    extra, bad = decoder.decode_rows(header, [row])
                    rejected.extend(bad)
                    if extra:
                        logger.warning("a Bulk Read row of the wrong width decoded: %s", extra[0].id)
                invalid.clear()
                more, token = (more_files, next_file) if last else (True, this_file)
                yield self._bulk_frame_page(frame, rejected, more, token)

    def _bulk_frame_page(
        self, frame: Any, rejected: list[QuarantinedRecord], more: bool, resume_token: str | None
    ) -> DealPage:
        for bad in rejected:
            logger.warning("quarantined Zoho deal %s from Bulk Read: %s", bad.zoho_id, bad.reason)
        cursor = largest_key(frame) if frame.num_rows else None
        self.counters.pages += 1
        self.counters.records += frame.num_rows
        self.counters.rejected += len(rejected)
        return DealPage(
            records=[], rejected=rejected, cursor=cursor, more_records=more, resume_token=resume_token, frame=frame
        )

    def _decode_bulk_chunks(
        self,
        decoder: DealCsvDecoder,
        rows: Iterator[list[str]],
        more_files: bool,
        this_file: str | None,
        next_file: str | None,
    ) -> Iterator[DealPage]:
        header = next(rows, None)
        if header is None:
            yield self._bulk_page(decoder, (), [], more_files, next_file)
            return
        header_key = tuple(header)
        chunk = list(itertools.islice(rows, self.bulk_chunk_rows))
        while True:
            following = list(itertools.islice(rows, self.bulk_chunk_rows))
            if following:
                yield self._bulk_page(decoder, header_key, chunk, True, this_file)
                chunk = following
                continue
            yield self._bulk_page(decoder, header_key, chunk, more_files, next_file)
            return

    def _bulk_page(
        self,
        decoder: DealCsvDecoder,
        header: tuple[str, ...],
        rows: list[list[str]],
        more: bool,
        resume_token: str | None,
    ) -> DealPage:
        records: list[DealRecord] = []
        rejected: list[QuarantinedRecord] = []
        if rows:
            records, rejected = decoder.decode_rows(header, rows)
            for bad in rejected:
                logger.warning("quarantined Zoho deal %s from Bulk Read: %s", bad.zoho_id, bad.reason)
        if all(r.modified_time is not None for r in records):
            records.sort(key=attrgetter("modified_time", "id"))  # C-level key, no lambda per record
        else:
            records.sort(key=lambda r: (r.modified_time or datetime.min.replace(tzinfo=UTC), r.id))
        last = records[-1] if records else None
        cursor = (last.modified_time, last.id) if last is not None and last.modified_time is not None else None
        self.counters.pages += 1
        self.counters.records += len(records)
        self.counters.rejected += len(rejected)
        return DealPage(records=records, rejected=rejected, cursor=cursor, more_records=more, resume_token=resume_token)

    def _create_bulk_job(
        self,
        operations: BulkReadOperations,
        fields: list[str],
        modified_since: datetime | None,
        page_token: str | None,
        *,
        module: str = DEALS,
    ) -> str:
        query = Query()
        minified = MinifiedModule()
        minified.set_api_name(module)
        query.set_module(minified)
        query.set_fields([f for f in fields if f != "id"])
        if page_token:
            query.set_page_token(page_token)
        if modified_since is not None:
            criteria = Criteria()
            field = MinifiedField()
            field.set_api_name("Modified_Time")
            criteria.set_field(field)
            criteria.set_comparator(Choice("greater_than"))
            criteria.set_value(if_modified_since(modified_since - self.overlap))
            query.set_criteria(criteria)
        body = BodyWrapper()
        body.set_query(query)
        body.set_file_type("csv")
        response = self.manager.call(
            "POST bulk read",
            lambda: operations.create_bulk_read_job(body),
            credits=BULK_READ_CREATE_CREDITS,
            counters=self.counters,
        )
        payload = response.get_response_json() or {}
        try:
            return str(payload["data"][0]["details"]["id"])
        except (KeyError, IndexError, TypeError) as exc:
            raise ZohoServerError("BULK_READ_NO_JOB", "Zoho accepted the Bulk Read job but returned no job id") from exc

    def _wait_for_bulk_job(self, job_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.bulk_poll_timeout
        delay = 0.1
        while True:
            body = self._get("GET bulk read job", f"/crm/bulk/v8/read/{job_id}", credits=0) or {}
            detail = (body.get("data") or [{}])[0]
            state = str(detail.get("state") or "")
            if state == "COMPLETED" and detail.get("result"):
                return dict(detail["result"])
            if state in ("FAILURE", "FAILED"):
                raise ZohoServerError("BULK_READ_FAILED", f"Bulk Read job {job_id} failed on Zoho's side")
            if time.monotonic() + delay > deadline:
                raise ZohoServerError("BULK_READ_TIMEOUT", f"Bulk Read job {job_id} not completed in time")
            self._sleep(delay)
            delay = min(delay * 2, 5.0)

    def _download_bulk_rows(self, operations: BulkReadOperations, job_id: str) -> Iterator[list[str]]:
        return self._csv_rows(*self._download_bulk_file(operations, job_id))

    @staticmethod
    def _csv_rows(archive: zipfile.ZipFile, name: str) -> Iterator[list[str]]:
        text = io.TextIOWrapper(archive.open(name), encoding="utf-8", newline="")
        return iter(csv.reader(text))

    def _download_bulk_file(self, operations: BulkReadOperations, job_id: str) -> tuple[zipfile.ZipFile, str]:
        """The result's zip and the name of its CSV file. The body is copied from the socket to an anonymous
        temporary file in DOWNLOAD_BLOCK_BYTES blocks inside the retried call (a dropped download is retried
        like a failed call), so neither the download nor a prefetched page waiting for its turn is in memory;
        the CSV is then inflated from the file block by block."""
        spool = tempfile.TemporaryFile(prefix="zoho-bulk-", suffix=".zip")  # noqa: SIM115 - unlinked; lives as long as the archive
        written = 0

        def download() -> Any:
            nonlocal written
            spool.seek(0)
            spool.truncate()
            with streamed_response():
                response = operations.download_result(int(job_id))
            wrapper = response.get_object()
            body = wrapper.get_file().get_stream() if wrapper is not None and hasattr(wrapper, "get_file") else None
            blocks = body.iter_content(DOWNLOAD_BLOCK_BYTES) if hasattr(body, "iter_content") else ()
            written = sum(spool.write(block) for block in blocks if block)
            return response

        self.manager.call("GET bulk read result", download, credits=0, counters=self.counters)
        if not written:
            spool.close()
            raise ZohoServerError("BULK_READ_EMPTY", f"Bulk Read job {job_id}: the result download was empty")
        spool.seek(0)
        archive = zipfile.ZipFile(spool)
        names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
        if not names:
            raise ZohoServerError("BULK_READ_NO_CSV", f"Bulk Read job {job_id}: the result has no CSV file")
        return archive, names[0]
