"""The sandbox's own clock: starts at a fixed instant (deterministic data), runs in real time, can jump."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class SandboxClock:
    def __init__(self, start: datetime) -> None:
        self._start = start.timestamp()
        self._mono0 = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def start_epoch(self) -> int:
        return int(self._start)

    def now(self) -> float:
        with self._lock:
            return self._start + (time.monotonic() - self._mono0) + self._offset

    def now_int(self) -> int:
        return int(self.now())

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._offset += seconds
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._mono0 = time.monotonic()
            self._offset = 0.0

    def isoformat(self, epoch: float | None = None) -> str:
        return iso(self.now() if epoch is None else epoch)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def parse_iso(value: str) -> float:
    """Parse Zoho-style ISO-8601 (with offset; a trailing Z or no offset are read as UTC)."""
    text = value.strip().replace("Z", "+00:00")
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()
