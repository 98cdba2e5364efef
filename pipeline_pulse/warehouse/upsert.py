"""Idempotent bulk upsert over a model's table, in bounded chunks.

PostgreSQL: COPY the chunk into a temporary table, then one INSERT ... SELECT ... ON CONFLICT DO UPDATE.
SQLite: an executemany INSERT ... ON CONFLICT DO UPDATE. Both skip rows whose compared columns are unchanged,
so re-reading a page (Zoho's overlap window) or rerunning a job writes nothing and counts nothing as updated.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, ColumnElement, Connection, MetaData, Table, and_, func, or_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

DEFAULT_CHUNK_SIZE = 5_000


@dataclass
class UpsertResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: UpsertResult) -> UpsertResult:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


@dataclass(frozen=True)
class UpsertSpec:
    """What to write: the target table, its conflict key, the columns to overwrite, and which of those count
    as a change. `extra_set` builds further SET expressions from (target table, excluded) — e.g. restore logic."""

    table: Table
    key: tuple[str, ...]
    update: tuple[str, ...]
    compare: tuple[str, ...]
    extra_set: Any = None  # Callable[[Table, Any], dict[str, ColumnElement]] | None
    only_if: Any = None  # Callable[[Table, Any], ColumnElement[bool]] | None: extra guard on updates


def _chunks(rows: Iterable[Mapping[str, Any]], size: int) -> Iterable[list[Mapping[str, Any]]]:
    chunk: list[Mapping[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _dedupe(chunk: list[Mapping[str, Any]], key: Sequence[str]) -> list[Mapping[str, Any]]:
    # ON CONFLICT cannot touch one row twice in a statement; the last version of a key wins.
    by_key: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    for row in chunk:
        by_key[tuple(row[k] for k in key)] = row
    return list(by_key.values())


def upsert(
    connection: Connection,
    spec: UpsertSpec,
    rows: Iterable[Mapping[str, Any]],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> UpsertResult:
    """Insert new keys, update changed rows, leave identical rows alone. Runs in the caller's transaction."""
    result = UpsertResult()
    postgres = connection.dialect.name == "postgresql"
    for raw_chunk in _chunks(rows, chunk_size):
        chunk = _dedupe(raw_chunk, spec.key)
        existing = _count_existing(connection, spec, chunk)
        written = _upsert_postgres(connection, spec, chunk) if postgres else _upsert_sqlite(connection, spec, chunk)
        inserted = len(chunk) - existing
        updated = max(written - inserted, 0)
        result += UpsertResult(inserted=inserted, updated=updated, unchanged=len(chunk) - inserted - updated)
    return result


def _count_existing(connection: Connection, spec: UpsertSpec, chunk: list[Mapping[str, Any]]) -> int:
    table = spec.table
    if len(spec.key) == 1:
        name = spec.key[0]
        condition: ColumnElement[bool] = table.c[name].in_([row[name] for row in chunk])
    else:
        condition = tuple_(*(table.c[k] for k in spec.key)).in_([tuple(row[k] for k in spec.key) for row in chunk])
    return int(connection.execute(select(func.count()).select_from(table).where(condition)).scalar_one())


def _changed(table: Table, excluded: Any, columns: Sequence[str]) -> ColumnElement[bool]:
    return or_(*(table.c[name].is_distinct_from(excluded[name]) for name in columns))


def _on_conflict(stmt: Any, spec: UpsertSpec) -> Any:
    excluded = stmt.excluded
    set_: dict[str, Any] = {name: excluded[name] for name in spec.update}
    if spec.extra_set is not None:
        set_.update(spec.extra_set(spec.table, excluded))
    where = _changed(spec.table, excluded, spec.compare)
    if spec.only_if is not None:
        where = and_(where, spec.only_if(spec.table, excluded))
    return stmt.on_conflict_do_update(index_elements=list(spec.key), set_=set_, where=where)


def _upsert_sqlite(connection: Connection, spec: UpsertSpec, chunk: list[Mapping[str, Any]]) -> int:
    stmt = _on_conflict(sqlite.insert(spec.table), spec)
    # executemany: sqlite3 sums the changed-row counts of every execution into rowcount.
    return connection.execute(stmt, [dict(row) for row in chunk]).rowcount


def _staging_table(spec: UpsertSpec, columns: Sequence[str]) -> Table:
    return Table(
        f"_stage_{spec.table.name}",
        MetaData(),
        *(Column(name, spec.table.c[name].type) for name in columns),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )


def _upsert_postgres(connection: Connection, spec: UpsertSpec, chunk: list[Mapping[str, Any]]) -> int:
    columns = list(chunk[0].keys())
    staging = _staging_table(spec, columns)
    staging.drop(connection, checkfirst=True)
    staging.create(connection)
    buffer = io.StringIO()
    for row in chunk:
        buffer.write("\t".join(_copy_text(row[name]) for name in columns))
        buffer.write("\n")
    buffer.seek(0)
    # Raw SQL on purpose: COPY has no SQLAlchemy construct, and it is the fastest way to ship a chunk to the
    # server (one round trip, no per-row parameter binding). Column names come from the model, not from input.
    column_list = ", ".join(f'"{name}"' for name in columns)
    dbapi_cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        dbapi_cursor.copy_expert(f"COPY {staging.name} ({column_list}) FROM STDIN", buffer)
    finally:
        dbapi_cursor.close()
    insert = postgresql.insert(spec.table).from_select(columns, select(*(staging.c[name] for name in columns)))
    written = connection.execute(_on_conflict(insert, spec)).rowcount
    staging.drop(connection)
    return written


def _copy_text(value: Any) -> str:
    """One value in COPY's text format (tab-separated, \\N for NULL, backslash escapes)."""
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        text = value.isoformat()
    elif isinstance(value, int | float | Decimal):
        text = str(value)
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
