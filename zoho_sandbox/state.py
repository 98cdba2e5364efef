"""Everything one running sandbox holds, wired together (no HTTP here)."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

from .bulk import BulkJobs
from .clock import SandboxClock
from .config import SandboxConfig
from .credits import CreditMeter
from .faults import FaultBook
from .oauth import TokenAuthority
from .store import DealStore, PageQuery


@dataclass
class PageToken:
    signature: str
    cursor: tuple[int, int]
    page: int
    expires_at: float


class PageTokens:
    """next_page_token values: bound to their query's signature and expiring on the sandbox clock."""

    def __init__(self, config: SandboxConfig, clock: SandboxClock) -> None:
        self.config = config
        self.clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, PageToken] = {}

    def issue(self, query: PageQuery, cursor: tuple[int, int], page: int) -> tuple[str, float]:
        token = secrets.token_hex(24)
        expires = self.clock.now() + self.config.page_token_ttl_seconds
        with self._lock:
            self._tokens[token] = PageToken(query.signature(), cursor, page, expires)
        return token, expires

    def get(self, token: str) -> PageToken | None:
        with self._lock:
            return self._tokens.get(token)

    def expire_all(self) -> None:
        with self._lock:
            for tok in self._tokens.values():
                tok.expires_at = 0.0

    def reset(self) -> None:
        with self._lock:
            self._tokens.clear()


class SandboxState:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock = SandboxClock(config.clock_start)
        self.store = DealStore(config, self.clock)
        self.tokens = TokenAuthority(config, self.clock)
        self.credits = CreditMeter(config, self.clock)
        self.faults = FaultBook(config.seed)
        self.page_tokens = PageTokens(config, self.clock)
        self.bulk = BulkJobs(config, self.clock, self.store)
        self.base_url = ""

    def reset(self) -> None:
        self.bulk.reset()  # first: running Bulk Read builds stop before the data is regenerated
        self.clock.reset()
        self.store.reset()
        self.tokens.reset()
        self.credits.reset()
        self.faults.clear()
        self.page_tokens.reset()

    def close(self) -> None:
        self.bulk.close()
        self.store.close()
