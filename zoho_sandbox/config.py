"""Sandbox configuration: one frozen dataclass shared by the CLI, the server and the tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

# Zoho's documented per-edition limits: concurrent API calls and the daily credit allowance
# (base allowance before per-user additions; see docs/sandbox.md).
EDITIONS: dict[str, tuple[int, int]] = {
    "free": (5, 5_000),
    "standard": (10, 100_000),
    "professional": (15, 3_000_000),
    "enterprise": (20, 5_000_000),
    "ultimate": (25, 5_000_000),
}

DEFAULT_CLOCK_START = datetime(2025, 7, 1, 0, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class SandboxConfig:
    """Everything that shapes one sandbox instance. Same config + seed => same data."""

    deals: int = 1000
    seed: int = 42
    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"
    refresh_token: str = "sandbox-refresh-token"
    redirect_uri: str = "http://127.0.0.1/callback"
    grant_codes: tuple[str, ...] = ("sandbox-grant-code",)
    token_ttl_seconds: int = 3600
    page_token_ttl_seconds: int = 86400
    bulk_delay_seconds: float = 0.5
    edition: str = "enterprise"
    max_concurrency: int | None = None  # None = the edition's limit
    daily_credits: int | None = None  # None = the edition's allowance
    state_file: str | None = None  # SQLite file; None = private temporary database
    clock_start: datetime = field(default=DEFAULT_CLOCK_START)
    # Share of deals generated with awkward values (null amount, unknown region, ...), 0..1.
    awkward_share: float = 0.02
    # Share of closings (won / lost; generated past and mutations) that leave Closing_Date at the planned
    # date instead of the close day, as careless reps do, 0..1.
    stale_close_share: float = 0.15
    # Share of generated deals whose past includes a reopen, and of mutation edits that reopen a closed deal, 0..1.
    reopen_share: float = 0.04
    bulk_page_size: int = 200_000
    request_log_size: int = 10_000

    def __post_init__(self) -> None:
        for name in ("awkward_share", "stale_close_share", "reopen_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within 0..1, got {value!r}")

    @property
    def concurrency_limit(self) -> int:
        return self.max_concurrency if self.max_concurrency is not None else EDITIONS[self.edition][0]

    @property
    def credit_allowance(self) -> int:
        return self.daily_credits if self.daily_credits is not None else EDITIONS[self.edition][1]
