"""An in-memory `ZohoPort`: Zoho as plain Python collections, for fast `materialize()` tests of the assets.

It keeps the port's contract (paging in (Modified_Time, id) order with the overlap window, a cursor per page,
undecodable records reported as rejections, ids read in batches, deletions since a time) but no wire format:
the sandbox tests cover the SDK and HTTP. `revoke()` makes every call fail like a revoked refresh token.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline_pulse.services.zoho.errors import ZohoAuthError
from pipeline_pulse.services.zoho.port import ZohoPort
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

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class InMemoryZoho:
    """Deals, deletions, users, stages, currencies and stage history held in memory."""

    def __init__(
        self,
        *,
        deals: Iterable[DealRecord] = (),
        users: Iterable[CrmUserRecord] = (),
        stages: Iterable[StageRecord] = (),
        currencies: Iterable[CurrencyRecord] = (),
        per_page: int = 200,
        ids_per_call: int = 100,
        bulk_page_size: int = 200_000,
        overlap: timedelta = timedelta(seconds=30),
    ) -> None:
        self.deals: dict[int, DealRecord] = {deal.id: deal for deal in deals}
        # id -> (Modified_Time, what the pipeline gets instead of the record, reads left or None = for good)
        self.broken: dict[int, tuple[datetime, QuarantinedRecord, int | None]] = {}
        self.deleted: list[DeletedDeal] = []
        self.users = list(users)
        self.stages = list(stages)
        self.currencies = list(currencies)
        self.history: dict[int, list[StageHistoryRecord]] = {}
        self.per_page = per_page
        self.ids_per_call = ids_per_call
        self.bulk_page_size = bulk_page_size
        self.overlap = overlap
        self.revoked = False
        self.counters = CallCounters()
        self.operations: list[str] = []  # every call, in order (tests count them)
        self._failures: dict[str, tuple[int, Exception]] = {}

    # -- changing "Zoho" ------------------------------------------------------------------------------------
    def put(self, *records: DealRecord) -> None:
        for record in records:
            self.deals[record.id] = record
            self.broken.pop(record.id, None)

    def edit(self, deal_id: int, modified_time: datetime, **changes: Any) -> DealRecord:
        record = replace(self.deals[deal_id], modified_time=modified_time, **changes)
        self.put(record)
        return record

    def break_record(
        self, deal_id: int, modified_time: datetime, *, reads: int | None = None, reason: str = "Closing_Date: bad"
    ) -> None:
        """The deal's version at `modified_time` does not decode for the next `reads` reads (None: until it is
        replaced), like the sandbox's bad_record fault. For a transient fault put the good version first."""
        payload = {"id": str(deal_id), "Modified_Time": modified_time.isoformat(), "Closing_Date": ""}
        self.broken[deal_id] = (modified_time, QuarantinedRecord("deals", str(deal_id), reason, payload), reads)

    def _serve_broken(self, deal_id: int) -> QuarantinedRecord:
        when, rejected, reads = self.broken[deal_id]
        if reads is not None:
            if reads <= 1:
                del self.broken[deal_id]
            else:
                self.broken[deal_id] = (when, rejected, reads - 1)
        return rejected

    def delete(self, deal_id: int, when: datetime) -> None:
        self.deals.pop(deal_id, None)
        self.broken.pop(deal_id, None)
        self.deleted.append(DeletedDeal(id=deal_id, deleted_time=when, deletion_type="recycle"))

    def revoke(self) -> None:
        self.revoked = True

    def fail(self, operation: str, error: Exception, *, after: int = 0) -> None:
        """Calls of `operation` raise `error` once `after` more of them have succeeded (until `heal()`)."""
        self._failures[operation] = (self.operations.count(operation) + after, error)

    def heal(self) -> None:
        self._failures.clear()

    # -- the port ---------------------------------------------------------------------------------------------
    def _call(self, operation: str, credits: int = 1) -> None:
        if self.revoked:
            raise ZohoAuthError("INVALID_OAUTH_GRANT", "Zoho refused the OAuth token request: invalid_code", status=400)
        failure = self._failures.get(operation)
        if failure is not None and self.operations.count(operation) >= failure[0]:
            raise failure[1]
        self.operations.append(operation)
        self.counters.calls += 1
        self.counters.credits += credits

    def reset_counters(self) -> None:
        self.counters = CallCounters()

    def count_deals(self) -> int:
        self._call("count")
        return len(self.deals) + len(self.broken.keys() - self.deals.keys())

    def _current(self, since: datetime | None) -> list[tuple[datetime, int, DealRecord | QuarantinedRecord]]:
        rows: list[tuple[datetime, int, DealRecord | QuarantinedRecord]] = []
        for deal_id, record in self.deals.items():
            if deal_id not in self.broken:
                rows.append((record.modified_time or _EPOCH, deal_id, record))
        rows.extend((when, deal_id, bad) for deal_id, (when, bad, _) in self.broken.items())
        if since is not None:
            rows = [row for row in rows if row[0] > since - self.overlap]
        for _, deal_id, item in rows:
            if isinstance(item, QuarantinedRecord):
                self._serve_broken(deal_id)
        return sorted(rows, key=lambda row: (row[0], row[1]))

    def iter_deals(self, modified_since: datetime | None = None) -> Iterator[DealPage]:
        rows = self._current(modified_since)
        cursor: tuple[datetime, int] | None = None
        for start in range(0, max(len(rows), 1), self.per_page):
            self._call("GET /Deals page")
            chunk = rows[start : start + self.per_page]
            records = [item for _, _, item in chunk if isinstance(item, DealRecord)]
            rejected = [item for _, _, item in chunk if isinstance(item, QuarantinedRecord)]
            for when, deal_id, item in chunk:
                if isinstance(item, DealRecord):
                    cursor = (when, deal_id)
            self.counters.pages += 1
            self.counters.records += len(records)
            self.counters.rejected += len(rejected)
            if chunk:
                yield DealPage(records, rejected, cursor, more_records=start + self.per_page < len(rows))

    def get_deals(self, deal_ids: Sequence[int]) -> DealPage:
        ids = list(dict.fromkeys(int(deal_id) for deal_id in deal_ids))
        records: list[DealRecord] = []
        rejected: list[QuarantinedRecord] = []
        for start in range(0, len(ids), self.ids_per_call):
            self._call("GET /Deals by ids")
            for deal_id in ids[start : start + self.ids_per_call]:
                if deal_id in self.broken:
                    rejected.append(self._serve_broken(deal_id))
                elif deal_id in self.deals:
                    records.append(self.deals[deal_id])
        return DealPage(records, rejected, cursor=None, more_records=False)

    def bulk_read_deals(
        self, modified_since: datetime | None = None, *, page_token: str | None = None
    ) -> Iterator[DealPage]:
        rows = sorted(self._current(modified_since), key=lambda row: row[1])  # result files go by id
        size = self.bulk_page_size
        start = int(page_token.removeprefix("page-")) * size if page_token else 0
        while True:
            self._call("POST bulk read", credits=50)
            chunk = rows[start : start + size]
            start += size
            more = start < len(rows)
            records = sorted((item for _, _, item in chunk if isinstance(item, DealRecord)), key=_key)
            rejected = [item for _, _, item in chunk if isinstance(item, QuarantinedRecord)]
            cursor = _key(records[-1]) if records else None
            yield DealPage(records, rejected, cursor, more, f"page-{start // size}" if more else None)
            if not more:
                return

    def iter_deleted_deals(self, since: datetime | None = None) -> Iterator[DeletedDeal]:
        self._call("GET deleted")
        for item in self.deleted:
            if since is None or item.deleted_time > since - self.overlap:
                yield item

    def list_users(self) -> list[CrmUserRecord]:
        self._call("GET users")
        return list(self.users)

    def get_stage_metadata(self) -> list[StageRecord]:
        self._call("GET layouts")
        return list(self.stages)

    def get_currencies(self) -> list[CurrencyRecord]:
        self._call("GET currencies")
        return list(self.currencies)

    def get_stage_history(self, deal_ids: Sequence[int]) -> Iterator[StageHistoryRecord]:
        for deal_id in deal_ids:
            self._call("GET stage history")
            yield from self.history.get(int(deal_id), [])


def _key(record: DealRecord) -> tuple[datetime, int]:
    return (record.modified_time or _EPOCH, record.id)


def _conforms(port: ZohoPort) -> ZohoPort:  # mypy checks the fake against the Protocol here
    return port


_conforms(InMemoryZoho())
