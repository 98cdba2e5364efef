"""Credits, concurrency and the request log, charged as Zoho documents its API limits."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter, deque
from typing import Any

from .clock import SandboxClock
from .config import SandboxConfig

# (method, path regex) -> credits per call; first match wins. Records GETs cost 1 per call of <= 200 records.
CREDIT_RULES: tuple[tuple[str, re.Pattern[str], int], ...] = (
    ("POST", re.compile(r"^/crm/bulk/v8/read$"), 50),
    ("GET", re.compile(r"^/crm/bulk/v8/read/"), 0),
    ("*", re.compile(r"^/crm/v8/"), 1),
)


def credits_for(method: str, path: str) -> int:
    for rule_method, pattern, cost in CREDIT_RULES:
        if rule_method in ("*", method) and pattern.search(path):
            return cost
    return 0


class CreditMeter:
    def __init__(self, config: SandboxConfig, clock: SandboxClock) -> None:
        self.config = config
        self.clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with getattr(self, "_lock", threading.Lock()):
            self.in_flight = 0
            self.max_in_flight = 0
            self.calls = 0
            self.credits_used = 0
            self.credits_today = 0
            self._day = int(self.clock.now() // 86_400)
            self.by_status: Counter[int] = Counter()
            self.by_path: Counter[str] = Counter()
            self.rejected_concurrency = 0
            self.log: deque[dict[str, Any]] = deque(maxlen=self.config.request_log_size)

    def enter(self) -> bool:
        """Admit one API call; False when over the edition's concurrency cap."""
        with self._lock:
            if self.in_flight >= self.config.concurrency_limit:
                self.rejected_concurrency += 1
                return False
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return True

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def allowance_left(self) -> int:
        with self._lock:
            self._roll_day()
            return self.config.credit_allowance - self.credits_today

    def _roll_day(self) -> None:
        day = int(self.clock.now() // 86_400)
        if day != self._day:
            self._day, self.credits_today = day, 0

    def record(self, method: str, path: str, query: str, status: int, started: float) -> int:
        cost = credits_for(method, path) if status < 400 else 0
        with self._lock:
            self._roll_day()
            self.calls += 1
            self.credits_used += cost
            self.credits_today += cost
            self.by_status[status] += 1
            self.by_path[_path_group(path)] += 1
            self.log.append(
                {
                    "time": round(self.clock.now(), 3),
                    "method": method,
                    "path": path,
                    "query": query,
                    "status": status,
                    "credits": cost,
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                }
            )
        return cost

    def snapshot(self, with_log: bool = True) -> dict[str, Any]:
        with self._lock:
            self._roll_day()
            out: dict[str, Any] = {
                "calls": self.calls,
                "credits_used": self.credits_used,
                "credits_today": self.credits_today,
                "credits_remaining_today": self.config.credit_allowance - self.credits_today,
                "daily_allowance": self.config.credit_allowance,
                "concurrency_limit": self.config.concurrency_limit,
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "rejected_concurrency": self.rejected_concurrency,
                "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
                "by_path": dict(sorted(self.by_path.items())),
            }
            if with_log:
                out["requests"] = list(self.log)
            return out


_ID = re.compile(r"/\d{6,}")


def _path_group(path: str) -> str:
    return _ID.sub("/{id}", path)
