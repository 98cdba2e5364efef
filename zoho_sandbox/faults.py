"""Scripted, deterministic fault injection matched by path pattern, count and probability."""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

FAULT_KINDS = (
    "429",
    "500",
    "502",
    "503-html",
    "latency",
    "timeout",
    "reset",
    "revoke_token",
    "expire_page_token",
    "bad_record",
    "truncated_json",
    "hold",
)
HOLD_CHECK_SECONDS = 0.05


@dataclass
class FaultRule:
    kind: str
    path: str = "*"  # fnmatch pattern on the URL path, e.g. "/crm/v8/Deals*"
    method: str = "*"
    count: int | None = 1  # how many times it fires; None = unlimited
    probability: float = 1.0
    seconds: float = 0.0  # latency / timeout duration
    skip: int = 0  # let this many matching calls pass first
    fired: int = field(default=0)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if self.kind == "timeout" and not self.seconds:
            self.seconds = 30.0
        if self.kind == "hold" and not self.seconds:
            self.seconds = 600.0  # a cap, so a forgotten hold cannot wedge the server


class FaultBook:
    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._rng = random.Random(seed)

    def add(self, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rules = [FaultRule(**{k: v for k, v in spec.items() if k != "fired"}) for spec in specs]
        with self._lock:
            self._rules.extend(rules)
            return [asdict(r) for r in self._rules]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._rng = random.Random(self._seed)

    def is_active(self, rule: FaultRule) -> bool:
        """Whether `rule` is still in the book (a hold waits until it is cleared)."""
        with self._lock:
            return any(r is rule for r in self._rules)

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(r) for r in self._rules]

    def match(self, method: str, path: str) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.count is not None and rule.fired >= rule.count:
                    continue
                if rule.method not in ("*", method) or not fnmatch.fnmatchcase(path, rule.path):
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                return rule
        return None
