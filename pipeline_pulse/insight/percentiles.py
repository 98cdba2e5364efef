"""Percentiles in SQL, the same on PostgreSQL and SQLite (which has no percentile function).

Linear interpolation between closest ranks (PostgreSQL's percentile_cont): for n sorted values v_1..v_n and
p in [0, 1], position = 1 + p (n - 1); the percentile is v_lo + (position - lo) (v_hi - v_lo) with lo / hi the
position rounded down / up. p is given in whole percent so the position is exact integer arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Float, Select, case, cast, func, select
from sqlalchemy.sql import Subquery


def percentiles(source: Subquery, groups: Sequence[str], value: str, percents: Sequence[int]) -> Select[Any]:
    """SELECT <groups>, n, p<percent>... FROM source GROUP BY <groups>: one row per group with its values."""
    keys = [source.c[name] for name in groups]
    ranked = select(
        *keys,
        source.c[value].label("v"),
        func.row_number().over(partition_by=keys, order_by=source.c[value]).label("rn"),
        func.count().over(partition_by=keys).label("n"),
    ).subquery("ranked")
    rn, n, v = ranked.c.rn, ranked.c.n, ranked.c.v
    columns: list[ColumnElement[Any]] = []
    for percent in percents:
        steps = (n - 1) * percent  # position - 1, in hundredths
        low = 1 + steps // 100
        high = low + case((steps % 100 > 0, 1), else_=0)
        fraction = cast(func.max(steps % 100), Float) / 100.0
        low_value = func.max(case((rn == low, v)))
        high_value = func.max(case((rn == high, v)))
        columns.append((low_value + fraction * (high_value - low_value)).label(f"p{percent}"))
    group_keys = [ranked.c[name] for name in groups]
    return select(*group_keys, func.max(n).label("n"), *columns).group_by(*group_keys)
