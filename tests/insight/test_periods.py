"""Forecast periods: exact formats, calendar bounds, clear errors."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline_pulse.insight.periods import Period


@pytest.mark.parametrize(
    ("text", "start", "end", "months"),
    [
        ("2026-02", date(2026, 2, 1), date(2026, 2, 28), 1),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29), 1),  # leap year
        ("2026-12", date(2026, 12, 1), date(2026, 12, 31), 1),
        ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), 3),
        ("2026-Q2", date(2026, 4, 1), date(2026, 6, 30), 3),
        ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31), 3),
    ],
)
def test_bounds(text: str, start: date, end: date, months: int) -> None:
    period = Period.parse(text)
    assert (period.start, period.end, period.label, len(period.months())) == (start, end, text, months)
    assert period.months()[0].start == start
    assert period.months()[-1].end == end


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-00", "2026-Q5", "2026-Q0", "2026-q1", "2026-1", "26-01", "2026-01-01", "", "Q1-2026"]
)
def test_other_forms_are_refused_with_the_accepted_ones(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        Period.parse(text)


def test_years_are_range_checked() -> None:
    with pytest.raises(ValueError, match="outside"):
        Period.parse("0001-Q1")
