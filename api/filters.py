"""Filters shared by metrics and deal listings, already narrowed to the caller's scope."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Literal

DealStatusFilter = Literal["open", "won", "lost", "all"]


@dataclass(frozen=True, slots=True)
class DealFilters:
    owner_id: int | None = None
    pipeline: str | None = None
    stage: str | None = None
    closing_from: date | None = None
    closing_to: date | None = None

    @property
    def month_aligned(self) -> bool:
        """True when the closing range is whole calendar months, so the mart's closing_month can answer it."""
        starts_ok = self.closing_from is None or self.closing_from.day == 1
        ends_ok = self.closing_to is None or (
            self.closing_to.day == calendar.monthrange(self.closing_to.year, self.closing_to.month)[1]
        )
        return starts_ok and ends_ok

    def cache_key(self) -> str:
        return f"{self.owner_id}|{self.pipeline}|{self.stage}|{self.closing_from}|{self.closing_to}"
