"""The Zoho port: every Zoho read the pipeline makes, as a typed Protocol.

The assets and `run_deal_sync` depend on this, never on a concrete class. `UnifiedZohoCRMService` (the SDK
against Zoho or the sandbox) implements it; `tests/fakes/zoho.py` is an in-memory implementation for fast
`materialize()` tests. A method added here is added to both (a test checks that they match).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from pipeline_pulse.services.zoho.records import (
    CallCounters,
    CrmUserRecord,
    CurrencyRecord,
    DealPage,
    DeletedDeal,
    StageHistoryRecord,
    StageRecord,
)


@runtime_checkable
class ZohoPort(Protocol):
    """Reads of Zoho CRM as typed records. Errors are `ZohoError`s (auth and budget errors are not retryable)."""

    # Calls, credits, retries, pages and records since the last `reset_counters()`.
    counters: CallCounters

    def reset_counters(self) -> None: ...

    def count_deals(self) -> int:
        """Deals currently in Zoho (not deleted)."""
        ...

    def iter_deals(self, modified_since: datetime | None = None) -> Iterator[DealPage]:
        """Deals modified after `modified_since` minus the overlap (all when None), in (Modified_Time, id)
        order, page by page; each page's `cursor` is the largest key yielded so far."""
        ...

    def get_deals(self, deal_ids: Sequence[int]) -> DealPage:
        """The current version of each of these deals (ids Zoho no longer has are absent), read by id in
        batches; undecodable records are in `rejected`. `cursor` is None: this is no cursor read."""
        ...

    def bulk_read_deals(
        self, modified_since: datetime | None = None, *, page_token: str | None = None
    ) -> Iterator[DealPage]:
        """Every deal (or those modified after `modified_since`) through Bulk Read, one page per result file.
        Each page's `resume_token` passed as `page_token` continues an interrupted read after that page."""
        ...

    def iter_deleted_deals(self, since: datetime | None = None) -> Iterator[DeletedDeal]:
        """Deals deleted after `since` minus the overlap (all when None)."""
        ...

    def list_users(self) -> list[CrmUserRecord]: ...

    def get_stage_metadata(self) -> list[StageRecord]: ...

    def get_currencies(self) -> list[CurrencyRecord]: ...

    def get_stage_history(self, deal_ids: Sequence[int]) -> Iterator[StageHistoryRecord]:
        """Stage_History rows of these deals (one related-list read per deal)."""
        ...
