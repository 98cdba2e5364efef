"""Idempotent bulk upsert over a model's table, in bounded chunks, from dict rows (`upsert`) or an Arrow
table (`upsert_batch`, the columnar deals load).

PostgreSQL: COPY the chunk into a temporary table, then one INSERT ... SELECT ... ON CONFLICT DO UPDATE. An
Arrow chunk becomes COPY CSV in C (pyarrow.csv.write_csv), never a Python value per cell.
SQLite: an executemany INSERT ... ON CONFLICT DO UPDATE. Both skip rows whose compared columns are unchanged,
so re-reading a page (Zoho's overlap window) or rerunning a job writes nothing and counts nothing as updated.
"""

from __future__ import annotations

import csv
import io
import json
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    MetaData,
    Table,
    Text,
    and_,
    any_,
    cast,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.sql import sqltypes

DEFAULT_CHUNK_SIZE = 5_000
# Rows per COPY + upsert statement of an Arrow batch (one Bulk Read chunk is one statement).
DEFAULT_BATCH_CHUNK = 50_000


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
    by_key = dict(zip(map(operator.itemgetter(*key), chunk), chunk, strict=True))
    if len(by_key) == len(chunk):
        return chunk
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
    stage: _PostgresStage | None = None
    for raw_chunk in _chunks(rows, chunk_size):
        chunk = _dedupe(raw_chunk, spec.key)
        if postgres:
            columns = list(chunk[0].keys())
            if stage is None or stage.columns != columns:
                if stage is not None:
                    stage.close()
                stage = _PostgresStage(connection, spec, columns)
            existing, written = stage.write(chunk)
        else:
            existing = _count_existing(connection, spec, chunk)
            written = _upsert_sqlite(connection, spec, chunk)
        inserted = len(chunk) - existing
        updated = max(written - inserted, 0)
        result += UpsertResult(inserted=inserted, updated=updated, unchanged=len(chunk) - inserted - updated)
    if stage is not None:
        stage.close()
    return result


def _count_existing(connection: Connection, spec: UpsertSpec, chunk: list[Mapping[str, Any]]) -> int:
    table = spec.table
    if len(spec.key) == 1:
        name = spec.key[0]
        condition: ColumnElement[bool] = table.c[name].in_([row[name] for row in chunk])
    else:
        condition = tuple_(*(table.c[k] for k in spec.key)).in_([tuple(row[k] for k in spec.key) for row in chunk])
    return int(connection.execute(select(func.count()).select_from(table).where(condition)).scalar_one())


_POSTGRES = postgresql.dialect()


def _is_json_text(column: Any) -> bool:
    # Postgres `json` (not jsonb): no equality operator (models/base.py, JSONText).
    kind = column.type
    return isinstance(kind, sqltypes.JSON) and not isinstance(kind.dialect_impl(_POSTGRES), JSONB)


def _distinct(current: Any, new: Any, postgres: bool) -> ColumnElement[bool]:
    if not (postgres and _is_json_text(current)):
        return current.is_distinct_from(new)
    # Same bytes (the usual unchanged row: one encoder wrote both) end it at a memcmp; other text is compared
    # as jsonb, so key order or spacing (e.g. rows migrated from jsonb) is no change.
    return and_(
        cast(current, Text).is_distinct_from(cast(new, Text)), cast(current, JSONB).is_distinct_from(cast(new, JSONB))
    )


def _changed(table: Table, excluded: Any, columns: Sequence[str], postgres: bool = False) -> ColumnElement[bool]:
    # Large JSON documents last: an earlier differing column settles the row without reading them.
    ordered = sorted(columns, key=lambda name: _is_json_text(table.c[name]))
    return or_(*(_distinct(table.c[name], excluded[name], postgres) for name in ordered))


def _on_conflict(stmt: Any, spec: UpsertSpec, postgres: bool = False) -> Any:
    excluded = stmt.excluded
    set_: dict[str, Any] = {name: excluded[name] for name in spec.update}
    if spec.extra_set is not None:
        set_.update(spec.extra_set(spec.table, excluded))
    where = _changed(spec.table, excluded, spec.compare, postgres)
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


def upsert_batch(
    connection: Connection,
    spec: UpsertSpec,
    batch: pa.Table,
    *,
    chunk_size: int = DEFAULT_BATCH_CHUNK,
) -> UpsertResult:
    """`upsert` for an Arrow table whose columns are (a subset of) the target's: one COPY and one upsert
    statement per chunk on Postgres. JSON columns hold JSON text. Runs in the caller's transaction."""
    result = UpsertResult()
    if batch.num_rows == 0:
        return result
    postgres = connection.dialect.name == "postgresql"
    columns = list(batch.column_names)
    stage = _PostgresStage(connection, spec, columns, encode=_arrow_csv) if postgres else None
    sqlite_spec = None if postgres else replace(spec, table=_json_as_text(spec.table))
    try:
        for start in range(0, batch.num_rows, chunk_size):
            chunk = _dedupe_batch(batch.slice(start, chunk_size), spec.key)
            if stage is not None and _none_exist(connection, spec, chunk):
                # Every key is new (a backfill): COPY straight into the target, no staging table, no upsert.
                _copy(connection, spec.table.name, columns, chunk)
                existing, written = 0, chunk.num_rows
            elif stage is not None:
                existing, written = stage.write(chunk)
            else:
                assert sqlite_spec is not None
                rows = chunk.to_pylist()
                existing = _count_existing(connection, spec, rows)
                written = _upsert_sqlite(connection, sqlite_spec, rows)
            inserted = chunk.num_rows - existing
            updated = max(written - inserted, 0)
            result += UpsertResult(inserted=inserted, updated=updated, unchanged=chunk.num_rows - inserted - updated)
    finally:
        if stage is not None:
            stage.close()
    return result


_CSV_OPTIONS = pa_csv.WriteOptions(include_header=False, quoting_style="needed")


def _none_exist(connection: Connection, spec: UpsertSpec, chunk: pa.Table) -> bool:
    """No key of the chunk is in the target yet (one index probe per key, bound as one array)."""
    if len(spec.key) != 1:
        return False
    column = spec.table.c[spec.key[0]]
    keys = chunk.column(spec.key[0]).to_pylist()
    probe = select(column).where(column == any_(literal(keys, ARRAY(column.type)))).limit(1)
    return connection.execute(probe).first() is None


def _copy(connection: Connection, table_name: str, columns: Sequence[str], chunk: pa.Table) -> None:
    # Raw SQL on purpose: COPY has no SQLAlchemy construct. Names come from the model, not from input.
    column_list = ", ".join(f'"{name}"' for name in columns)
    dbapi_cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        dbapi_cursor.copy_expert(
            f'COPY "{table_name}" ({column_list}) FROM STDIN WITH (FORMAT csv)', _ArrowCsvSource(chunk), size=_COPY_READ
        )
    finally:
        dbapi_cursor.close()


_COPY_READ = 1 << 20
_CSV_SLICE_ROWS = 2_000


def _arrow_csv(buffer: io.BytesIO, chunk: pa.Table) -> None:
    """COPY CSV in C: strings quoted ("" is the empty string), nulls bare and empty (NULL), numbers, dates and
    timestamps ("...Z") as Postgres reads them."""
    pa_csv.write_csv(chunk, buffer, _CSV_OPTIONS)


class _ArrowCsvSource:
    """The file COPY reads a chunk from: its CSV is written by pyarrow a slice of rows at a time, as COPY asks
    for more, so the encoded form never holds more than one slice (not the whole chunk)."""

    def __init__(self, chunk: pa.Table) -> None:
        self.chunk = chunk
        self.offset = 0
        self.data = b""
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        if self.position >= len(self.data):
            if self.offset >= self.chunk.num_rows:
                return b""
            sink = io.BytesIO()
            _arrow_csv(sink, self.chunk.slice(self.offset, _CSV_SLICE_ROWS))
            self.offset += _CSV_SLICE_ROWS
            self.data, self.position = sink.getvalue(), 0
        end = len(self.data) if size < 0 else self.position + size
        piece = self.data[self.position : end]
        self.position += len(piece)
        return piece


def _dedupe_batch(chunk: pa.Table, key: Sequence[str]) -> pa.Table:
    # ON CONFLICT cannot touch one row twice in a statement; the last version of a key wins.
    if len(key) == 1 and pc.count_distinct(chunk.column(key[0])).as_py() == chunk.num_rows:
        return chunk
    positions = pa.array(range(chunk.num_rows), pa.int64())
    last = (
        chunk.select(list(key))
        .append_column("_position", positions)
        .group_by(list(key), use_threads=False)
        .aggregate([("_position", "max")])
        .column("_position_max")
    )
    return chunk.take(pc.take(last, pc.sort_indices(last)))


def _json_as_text(table: Table) -> Table:
    """A twin of `table` whose JSON columns bind text as it is (the batch carries JSON already encoded)."""
    return Table(
        table.name,
        MetaData(),
        *(
            Column(c.name, Text() if isinstance(c.type, sqltypes.JSON) else c.type, primary_key=c.primary_key)
            for c in table.columns
        ),
    )


class _PostgresStage:
    """The temporary staging table (ON COMMIT DROP) of one upsert call, plus everything that depends only on
    the column list - COPY statement, CSV encoder, compiled upsert and existing-key count - built once per call
    instead of once per chunk. Between chunks the table is dropped and re-created with SQLAlchemy DDL (cheaper
    than DELETE, whose dead rows a temporary table never vacuums; TRUNCATE would be a second raw statement for
    no measurable gain). Dropped at the end of the call, so a later upsert in the same transaction starts clean."""

    def __init__(
        self,
        connection: Connection,
        spec: UpsertSpec,
        columns: Sequence[str],
        encode: Callable[[Any, Any], None] | None = None,
    ) -> None:
        self.connection = connection
        self.spec = spec
        self.columns = list(columns)
        self.table = _staging_table(spec, self.columns)
        self.table.drop(connection, checkfirst=True)
        self.table.create(connection)
        self.filled = False
        self.encode = encode or _csv_encoder(spec.table, self.columns)
        self.binary = encode is not None
        column_list = ", ".join(f'"{name}"' for name in self.columns)
        self.copy_sql = f"COPY {self.table.name} ({column_list}) FROM STDIN WITH (FORMAT csv)"
        key_match = and_(*(spec.table.c[k] == self.table.c[k] for k in spec.key))
        self.count_existing = select(func.count()).select_from(self.table.join(spec.table, key_match))
        insert = postgresql.insert(spec.table).from_select(
            self.columns, select(*(self.table.c[name] for name in self.columns))
        )
        self.upsert = _on_conflict(insert, spec, postgres=True)

    def write(self, chunk: Any) -> tuple[int, int]:
        """(rows of the chunk already in the target, rows the upsert inserted or updated)."""
        connection = self.connection
        if self.filled:
            self.table.drop(connection)
            self.table.create(connection)
        source: Any
        if self.binary:
            source = _ArrowCsvSource(chunk)
        else:
            source = io.StringIO()
            self.encode(source, chunk)
            source.seek(0)
        # Raw SQL on purpose: COPY has no SQLAlchemy construct, and it is the fastest way to ship a chunk to the
        # server (one round trip, no per-row parameter binding). Column names come from the model, not from input.
        dbapi_cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            dbapi_cursor.copy_expert(self.copy_sql, source, size=_COPY_READ)
        finally:
            dbapi_cursor.close()
        self.filled = True
        existing = int(connection.execute(self.count_existing).scalar_one())
        return existing, connection.execute(self.upsert).rowcount

    def close(self) -> None:
        self.table.drop(self.connection)


class _Null(int):
    """Written bare (unquoted, empty) by csv.QUOTE_NONNUMERIC, which quotes every str: COPY's CSV format reads
    an unquoted empty field as NULL and a quoted one ("") as the empty string. (QUOTE_NOTNULL is Python 3.12+.)"""

    def __str__(self) -> str:
        return ""

    __repr__ = __str__


_NULL = _Null()
_json_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def _csv_encoder(table: Table, columns: Sequence[str]) -> Any:
    """Chunk -> COPY CSV text, with the per-column work decided once: only JSON columns need a Python step
    (json encoding); everything else goes straight to the C csv writer (str() of numbers, dates and datetimes
    is what Postgres parses; QUOTE_NONNUMERIC leaves numbers and booleans bare, quotes and escapes the rest)."""
    get = operator.itemgetter(*columns)
    single = len(columns) == 1
    json_positions = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, sqltypes.JSON)]

    def values(row: Mapping[str, Any]) -> list[Any]:
        got = get(row)
        out = [_NULL if v is None else v for v in ((got,) if single else got)]
        for i in json_positions:
            value = out[i]
            if isinstance(value, dict | list):
                out[i] = _json_encode(value)
        return out

    def encode(buffer: io.StringIO, chunk: list[Mapping[str, Any]]) -> None:
        csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n").writerows(map(values, chunk))

    return encode
