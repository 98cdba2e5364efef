"""Sets of deal ids in one statement: a bound array on PostgreSQL, JSON text on SQLite, so a chunk of tens of
thousands of ids is one parameter (never one placeholder per id), and the chunk size only bounds memory."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, any_, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY

ID_CHUNK = 50_000


def id_chunks(ids: Iterable[int], size: int = ID_CHUNK) -> Iterable[list[int]]:
    chunk: list[int] = []
    for deal_id in ids:
        chunk.append(int(deal_id))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def in_ids(column: Any, ids: list[int], dialect: str) -> ColumnElement[bool]:
    """`column IN ids` as one bound value."""
    if dialect == "postgresql":
        return column == any_(literal(ids, ARRAY(BigInteger)))
    values = func.json_each(json.dumps(ids)).table_valued("value")
    return column.in_(select(values.c.value))
