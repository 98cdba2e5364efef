"""Bulk Read CSV -> typed Arrow deal columns, in C: the backfill's decoder (issue 11.1).

`pyarrow.csv` streams a result file in blocks (every cell text, empty = null). Each chunk of rows is checked
and converted column by column with `pyarrow.compute` against the Deals metadata, never a Python call per
row: the typed DealRecord columns (ids, lookups named from the users list and the lookup modules, Decimal
amounts, UTC times, dates) and `raw` as JSON text built from the columns - the values `deal_codec` puts in
its dicts (ids as str, lookups {id, name[, email]}, numbers, booleans, UTC ISO datetimes). The output has the
columns of `deal_columns.records_to_frame`, so the transform cannot tell the two apart.

This path is never more lenient than `deal_codec.DealCsvDecoder`: a row with any cell outside the strict
forms checked here (or with a control character in a text) goes through that decoder (the reference
path), which accepts it or names the field that rejects it. Files whose header or metadata this path does
not handle (a duplicate column, a DealRecord column of an unusual type) are decoded by
the reference path entirely (`DealArrowDecoder.usable`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from pipeline_pulse.services.zoho.deal_codec import (
    _CSV_CONVERTERS,
    _CSV_LOOKUP,
    _ROW_ERRORS,
    _USER_LOOKUPS,
    DealCsvDecoder,
    _quarantine,
    build_record,
)
from pipeline_pulse.services.zoho.deal_columns import DECIMAL, OWN_CATEGORY, RAW_JSON, RECORD_TYPES, records_to_frame
from pipeline_pulse.services.zoho.deal_fields import DEAL_FIELDS, fields_of
from pipeline_pulse.services.zoho.records import QuarantinedRecord

FRAME_SCHEMA = pa.schema([*RECORD_TYPES.items(), (OWN_CATEGORY, pa.string()), (RAW_JSON, pa.string())])
_TEXT, _NUMBER, _INTEGER, _BOOLEAN, _DATETIME, _DATE, _LOOKUP, _USER, _ID, _MULTI = range(10)
_KINDS = {
    "currency": _NUMBER,
    "double": _NUMBER,
    "decimal": _NUMBER,
    "percent": _NUMBER,
    "formula": _NUMBER,
    "integer": _INTEGER,
    "bigint": _INTEGER,
    "boolean": _BOOLEAN,
    "datetime": _DATETIME,
    "date": _DATE,
    "multiselectpicklist": _MULTI,
}
# The strict forms; anything else (exponents, leading zeros, '+', spaces, fractions of seconds) is the
# reference path's to judge.
_NUMBER_RE = r"^-?(0|[1-9][0-9]{0,19})(\.[0-9]{1,9})?$"
_INTEGER_RE = r"^-?(0|[1-9][0-9]{0,17})$"
_ID_RE = r"^[1-9][0-9]{0,18}$"
_BOOLEAN_RE = r"^(true|false)$"
_DATETIME_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})$"
_DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_CONTROL_RE = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"  # escaped by json in Python only (rare)
_INT64_MAX = "9223372036854775807"
_UTC_ISO = "%Y-%m-%dT%H:%M:%S+00:00"
# The CSV kinds each field-table kind can be read from (else the file goes to the reference path).
_READABLE = {
    "id": {_ID},
    "text": {_TEXT},
    "integer": {_INTEGER},
    "decimal": {_NUMBER},
    "date": {_DATE},
    "datetime": {_DATETIME},
    "lookup_id": {_LOOKUP, _USER},
    "lookup_name": {_LOOKUP, _USER},
    "lookup_email": {_USER},
}
CATEGORY_FIELD = "Forecast_Category__s"
# Bytes of CSV text the reader parses at a time (~500 deals). Arrow's streaming CSV reader reads up to 32
# blocks ahead in a background thread whatever the caller consumes, so the block size, not the chunk, bounds
# what it buffers: 4 MiB blocks held up to 128 MiB of text (a whole 200k-row result file). Measured on a
# 100k-row file in 10k-row chunks (decode only, jemalloc): peak +90 MB over the imports with 1 MiB blocks,
# +58 MB with 256 KiB, +54 MB with 128 KiB (slower); bench/RESULTS.md.
CSV_BLOCK_BYTES = 256 << 10
READAHEAD_BLOCKS = 32  # Arrow's (MakeBackgroundGenerator's queue); not an option of pyarrow.csv


def _matches(values: pa.Array, pattern: str) -> pa.Array:
    return pc.fill_null(pc.match_substring_regex(values, pattern), False)


def _quote(values: pa.Array) -> pa.Array:
    """JSON string literals (null stays null); callers send texts with other control characters elsewhere."""
    escaped = values
    for char, escape in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        escaped = pc.replace_substring(escaped, char, escape)
    return pc.binary_join_element_wise('"', escaped, '"', "")


def _lookup_values(ids: pa.Array, keys: pa.Array, values: pa.Array) -> pa.Array:
    return values.take(pc.index_in(ids, value_set=keys))


class DealArrowDecoder:
    """Bulk Read CSV chunks (Arrow tables of text columns named by the header) -> deal frames."""

    def __init__(
        self,
        field_types: Mapping[str, str],
        users: Mapping[str, tuple[str | None, str | None]],
        lookups: Mapping[str, Mapping[str, str | None]] | None = None,
    ) -> None:
        self._types = dict(field_types)
        self.reference = DealCsvDecoder(field_types, users, lookups)
        user_ids = [key for key in users if key.isdigit()]
        self._user_ids = pa.array(user_ids, pa.string())
        self._user_names = pa.array([users[key][0] for key in user_ids], pa.string())
        self._user_emails = pa.array([users[key][1] for key in user_ids], pa.string())
        self._lookups = {
            field: (pa.array(list(names), pa.string()), pa.array(list(names.values()), pa.string()))
            for field, names in (lookups or {}).items()
        }

    def _kind(self, key: str) -> int | None:
        if key == "id":
            return _ID
        if key in _USER_LOOKUPS:
            return _USER
        converter = _CSV_CONVERTERS.get(self._types.get(key, ""))
        if converter is None:
            return _TEXT
        if converter is _CSV_LOOKUP:
            return _LOOKUP
        return _KINDS.get(self._types.get(key, ""))  # None: a kind this path does not build (lists)

    def usable(self, header: tuple[str, ...]) -> bool:
        if "id" not in header or len(set(header)) != len(header):
            return False
        kinds = {key: self._kind(key) for key in header}
        if any(kind is None for kind in kinds.values()):
            return False
        return all(kinds[f.api_name] in _READABLE[f.kind] for f in DEAL_FIELDS if f.api_name in kinds)

    # -- one chunk ------------------------------------------------------------------------------------------
    def decode(
        self, header: tuple[str, ...], chunk: pa.Table, stream: str = "deals"
    ) -> tuple[pa.Table, list[QuarantinedRecord]]:
        """(frame in file order, quarantined rows) of one chunk of a usable header."""
        n = chunk.num_rows
        odd = pa.array([False] * n, pa.bool_())
        parts: list[Any] = ["{"]
        typed: dict[str, pa.Array] = {}
        for index, key in enumerate(header):
            cells = chunk.column(index).combine_chunks()
            if cells.type != pa.string():
                cells = cells.cast(pa.string())
            ok, value = self._column(key, cells, typed)
            odd = pc.or_(odd, pc.invert(ok))
            parts.extend([("," if index else "") + json.dumps(key) + ":", pc.fill_null(value, "null")])
        parts.append("}")
        good_mask = pc.invert(odd)
        raw = pc.binary_join_element_wise(*parts, "")
        columns: dict[str, pa.Array] = {}
        for name, arrow_type in RECORD_TYPES.items():
            column = typed.get(name)
            columns[name] = (
                pa.nulls(n, arrow_type)
                if column is None
                else pc.if_else(good_mask, column, pa.scalar(None, arrow_type))
            )
        columns[OWN_CATEGORY] = typed.get(OWN_CATEGORY, pa.nulls(n, pa.string()))
        columns[RAW_JSON] = raw
        frame = pa.table(columns, schema=FRAME_SCHEMA)
        rejected: list[QuarantinedRecord] = []
        if pc.any(odd).as_py():
            frame, rejected = self._reference(header, chunk.filter(odd), frame.filter(good_mask), stream)
        return frame, rejected

    def _reference(
        self, header: tuple[str, ...], odd: pa.Table, frame: pa.Table, stream: str
    ) -> tuple[pa.Table, list[QuarantinedRecord]]:
        """The rows this path does not vouch for, through deal_codec's reference path, appended to `frame`."""
        records = []
        rejected: list[QuarantinedRecord] = []
        for values in zip(*(odd.column(i).to_pylist() for i in range(len(header))), strict=True):
            row = ["" if value is None else value for value in values]
            try:
                records.append(build_record(*self.reference.normalise_row_with_times(header, row)))
            except _ROW_ERRORS as exc:
                rejected.append(_quarantine(stream, header, row, exc))
        if records:
            # the reference rows keep their _bad_* flags (e.g. an id beyond 64 bits), so the transform rejects them
            frame = pa.concat_tables([frame, records_to_frame(records)], promote_options="default")
        return frame, rejected

    def _column(self, key: str, cells: pa.Array, typed: dict[str, pa.Array]) -> tuple[pa.Array, pa.Array]:
        """(cell accepted - nulls are, the JSON value) of one column; its DealRecord columns go to `typed`."""
        kind = self._kind(key)
        present = pc.is_valid(cells)
        if kind == _ID:
            fits = pc.or_(pc.less(pc.utf8_length(cells), 19), pc.less_equal(cells, _INT64_MAX))
            ok = pc.and_(_matches(cells, _ID_RE), pc.fill_null(fits, False))
            _put(typed, key, id=pc.if_else(ok, cells, pa.scalar(None, pa.string())).cast(pa.int64()))
            return ok, _quote(cells)
        if kind == _TEXT:
            ok = pc.invert(_matches(cells, _CONTROL_RE))
            _put(typed, key, text=cells)
            if key == CATEGORY_FIELD:
                trimmed = pc.utf8_trim_whitespace(cells)
                unset = pc.fill_null(pc.or_(pc.equal(trimmed, ""), pc.equal(trimmed, "-None-")), True)
                typed[OWN_CATEGORY] = pc.if_else(unset, pa.scalar(None, pa.string()), trimmed)
            return ok, _quote(cells)
        if kind in (_NUMBER, _INTEGER, _BOOLEAN):
            pattern = {_NUMBER: _NUMBER_RE, _INTEGER: _INTEGER_RE, _BOOLEAN: _BOOLEAN_RE}[kind]
            ok = pc.or_(pc.invert(present), _matches(cells, pattern))
            clean = pc.if_else(ok, cells, pa.scalar(None, pa.string()))
            if kind == _NUMBER:
                _put(typed, key, decimal=lambda: clean.cast(DECIMAL))
            elif kind == _INTEGER:
                _put(typed, key, integer=lambda: clean.cast(pa.int64()))
            return ok, clean
        if kind == _DATETIME:
            shaped = _matches(cells, _DATETIME_RE)
            local = pc.utf8_slice_codeunits(cells, 0, 19)
            naive = pc.strptime(local, format="%Y-%m-%dT%H:%M:%S", unit="s", error_is_null=True)
            # strptime rolls 30 February over to March: a real date prints back as it was written
            real = pc.fill_null(pc.equal(pc.strftime(naive, format="%Y-%m-%dT%H:%M:%S"), local), False)
            ok = pc.or_(pc.invert(present), pc.and_(shaped, real))
            clean = pc.if_else(ok, cells, pa.scalar(None, pa.string()))
            instant = pc.strptime(clean, format="%Y-%m-%dT%H:%M:%S%z", unit="us", error_is_null=True)
            instant = instant.cast(pa.timestamp("us", tz="UTC"))
            _put(typed, key, datetime=instant)
            seconds = instant.cast(pa.timestamp("s", tz="UTC"))  # strftime's %S prints fractions of finer units
            return ok, _quote(pc.strftime(seconds, format=_UTC_ISO))
        if kind == _MULTI:  # "a;;b;" -> ["a","b"], like deal_codec's _csv_multi (a value never holds ';')
            ok = pc.invert(_matches(cells, _CONTROL_RE))
            parts = pc.utf8_trim(pc.replace_substring_regex(cells, ";+", ";"), characters=";")
            inner = pc.replace_substring(_quote(parts), ";", '","')
            listed = pc.binary_join_element_wise("[", inner, "]", "")
            return ok, pc.if_else(pc.fill_null(pc.equal(parts, ""), False), "[]", listed)
        if kind == _DATE:
            parsed = pc.strptime(cells, format="%Y-%m-%d", unit="s", error_is_null=True)
            real = pc.fill_null(pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), cells), False)
            ok = pc.or_(pc.invert(present), pc.and_(_matches(cells, _DATE_RE), real))
            _put(typed, key, date=lambda: pc.if_else(ok, parsed, pa.scalar(None, parsed.type)).cast(pa.date32()))
            return ok, _quote(cells)
        # lookups: a numeric id, named like REST names it
        ok = pc.or_(pc.invert(present), _matches(cells, r"^[0-9]+$"))
        ids = pc.if_else(ok, cells, pa.scalar(None, pa.string()))
        if kind == _USER:
            names = _lookup_values(ids, self._user_ids, self._user_names)
            emails = _lookup_values(ids, self._user_ids, self._user_emails)
            value = pc.binary_join_element_wise(
                '{"id":', _quote(ids), ',"name":', pc.fill_null(_quote(names), "null"),
                ',"email":', pc.fill_null(_quote(emails), "null"), "}", "",
            )  # fmt: skip
            _put(typed, key, lookup_id=lambda: pc.cast(ids, pa.int64()), lookup_name=names, lookup_email=emails)
        else:
            known = self._lookups.get(key)
            names = _lookup_values(ids, *known) if known is not None else pa.nulls(len(ids), pa.string())
            value = pc.binary_join_element_wise(
                '{"id":', _quote(ids), ',"name":', pc.fill_null(_quote(names), "null"), "}", ""
            )
            _put(typed, key, lookup_id=lambda: pc.cast(ids, pa.int64()), lookup_name=names)
        # a control character in a looked-up name is json's to escape: such rows take the reference path
        ok = pc.and_(ok, pc.invert(_matches(names, _CONTROL_RE)))
        if kind == _USER:
            ok = pc.and_(ok, pc.invert(_matches(emails, _CONTROL_RE)))
        return ok, value


def largest_key(frame: pa.Table) -> tuple[Any, int] | None:
    """The largest (Modified_Time, id) of a frame (None without a Modified_Time): a Bulk page's cursor."""
    modified = frame.column("modified_time")
    latest = pc.max(modified)
    if not latest.is_valid:
        return None
    ids = frame.column("id").filter(pc.fill_null(pc.equal(modified, latest), False))
    return latest.as_py(), pc.max(ids).as_py()


def _put(typed: dict[str, pa.Array], api_name: str, **by_kind: Any) -> None:
    """The typed DealRecord columns the field table reads from `api_name`; a value may be a thunk (built only
    when some field wants it)."""
    for field in fields_of(api_name):
        value = by_kind.get(field.kind)
        if value is not None:
            typed[field.name] = value() if callable(value) else value


def read_header(member: IO[bytes]) -> tuple[str, ...] | None:
    """The first CSV row of a result file (None when the file is empty)."""
    text = io.TextIOWrapper(member, encoding="utf-8", newline="")
    first = next(csv.reader(text), None)
    return tuple(first) if first is not None else None


def iter_chunks(
    member: IO[bytes], header: tuple[str, ...], rows_per_chunk: int, invalid: list[list[str]]
) -> Iterator[tuple[pa.Table, bool]]:
    """(chunk of rows_per_chunk rows (fewer at the end), is the file's last) of text columns. Rows of the
    wrong width are skipped here and collected in `invalid` (their cells) for quarantine."""

    def on_invalid(row: Any) -> str:
        invalid.append(next(csv.reader([row.text]), []))
        return "skip"

    reader = pa_csv.open_csv(
        member,
        # parsed on the consuming thread: parallel block parsing only multiplies the buffers of one chunk
        read_options=pa_csv.ReadOptions(
            column_names=list(header), skip_rows=1, block_size=CSV_BLOCK_BYTES, use_threads=False
        ),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )
    buffer = pa.table({key: pa.array([], pa.string()) for key in header})
    produced = False
    batch = _next_batch(reader)
    while batch is not None:
        following = _next_batch(reader)  # one block of lookahead: is this chunk the file's last?
        buffer = pa.concat_tables([buffer, pa.Table.from_batches([batch])])
        while buffer.num_rows >= rows_per_chunk:
            head, buffer = buffer.slice(0, rows_per_chunk), buffer.slice(rows_per_chunk)
            produced = True
            yield head, following is None and buffer.num_rows == 0
        if following is None and buffer.num_rows:
            produced = True
            yield buffer, True
        batch = following
    if not produced:  # a file with its header only: one empty chunk, so the read still moves on
        yield buffer, True


def _next_batch(reader: pa_csv.CSVStreamingReader) -> pa.RecordBatch | None:
    try:
        return reader.read_next_batch()
    except StopIteration:
        return None
