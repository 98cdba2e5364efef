"""Forecast periods: a calendar month `YYYY-MM` or a calendar quarter `YYYY-Qn` (UTC days, both ends inclusive)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

PERIOD_PATTERN = r"^\d{4}-(?:0[1-9]|1[0-2]|Q[1-4])$"
PERIOD_FORMATS = "YYYY-MM (a month) or YYYY-Qn (a quarter, n = 1..4)"
MIN_YEAR, MAX_YEAR = 1970, 2999
_PERIOD = re.compile(r"(\d{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))")


@dataclass(frozen=True, slots=True, order=True)
class Period:
    year: int
    kind: Literal["month", "quarter"]
    number: int  # month 1..12 or quarter 1..4

    @classmethod
    def parse(cls, text: str) -> Period:
        """`YYYY-MM` or `YYYY-Qn`, exactly; ValueError (with the accepted forms) otherwise."""
        match = _PERIOD.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"{text!r} is not a period; use {PERIOD_FORMATS}")
        year = int(match.group(1))
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise ValueError(f"year {year} is outside {MIN_YEAR}..{MAX_YEAR}")
        if match.group(2):
            return cls(year, "month", int(match.group(2)))
        return cls(year, "quarter", int(match.group(3)))

    @property
    def label(self) -> str:
        return f"{self.year}-{self.number:02d}" if self.kind == "month" else f"{self.year}-Q{self.number}"

    @property
    def first_month(self) -> int:
        return self.number if self.kind == "month" else 3 * self.number - 2

    @property
    def start(self) -> date:
        return date(self.year, self.first_month, 1)

    @property
    def end(self) -> date:
        last_month = self.first_month + (0 if self.kind == "month" else 2)
        return date(self.year, last_month, calendar.monthrange(self.year, last_month)[1])

    def months(self) -> tuple[Period, ...]:
        """The calendar months of the period (itself for a month)."""
        if self.kind == "month":
            return (self,)
        return tuple(Period(self.year, "month", self.first_month + i) for i in range(3))

    def __str__(self) -> str:
        return self.label
