"""Strict, fast decoding of Zoho Deals (REST JSON and Bulk Read CSV rows) into `DealRecord`s.

Every field is checked against its `data_type` from the module's field metadata, as strictly as the SDK's own
converter (a value the SDK cannot parse, e.g. `"Closing_Date": ""`, is rejected here too) but per record:
one bad record is reported with its id, the reason and its raw payload, and never costs the rest of its page.
`DealRecord.raw` holds JSON-safe values: ids as str, dates and UTC datetimes as ISO strings, numbers as JSON
numbers, picklists as their value, lookups as {"id", "name"} (+ "email" for users).
"""

from __future__ import annotations

import dataclasses
import gc
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, NamedTuple

from pipeline_pulse.services.zoho.deal_fields import DEAL_FIELDS, KIND_TYPES, api_names
from pipeline_pulse.services.zoho.records import DealRecord, QuarantinedRecord

Converter = Callable[[Any], Any]


class RecordDecodeError(ValueError):
    """One field of one record does not match its metadata type."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _fail(field: str, value: Any, expected: str) -> RecordDecodeError:
    shown = repr(value)
    return RecordDecodeError(field, f"expected {expected}, got {shown[:80]}")


def _id_text(value: Any) -> str:
    if isinstance(value, str) and value.isdigit():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError("not an id")


def _datetime_iso(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("not a string")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("datetime without offset")
    if parsed.utcoffset():
        parsed = parsed.astimezone(UTC)
    return parsed.replace(tzinfo=UTC).isoformat()


def _date_iso(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("not a YYYY-MM-DD date")
    return date.fromisoformat(value).isoformat()


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("not a number")
    return value


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not an integer")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("not a boolean")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value


def _lookup(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or "id" not in value:
        raise ValueError("not a lookup object with an id")
    out: dict[str, Any] = {"id": _id_text(value["id"]), "name": value.get("name")}
    if "email" in value:
        out["email"] = value["email"]
    return out


def _multi(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("not a list of strings")
    return value


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    raise ValueError("not JSON")


JSON_CONVERTERS: dict[str, tuple[Converter, str]] = {
    "datetime": (_datetime_iso, "an ISO datetime with offset"),
    "date": (_date_iso, "an ISO date"),
    "currency": (_number, "a number"),
    "double": (_number, "a number"),
    "decimal": (_number, "a number"),
    "percent": (_number, "a number"),
    "formula": (_number, "a number"),
    "rollup_summary": (_number, "a number"),
    "integer": (_integer, "an integer"),
    "bigint": (_integer, "an integer"),
    "autonumber": (_text, "a string"),
    "boolean": (_boolean, "a boolean"),
    "text": (_text, "a string"),
    "textarea": (_text, "a string"),
    "email": (_text, "a string"),
    "phone": (_text, "a string"),
    "website": (_text, "a string"),
    "picklist": (_text, "a picklist value"),
    "multiselectpicklist": (_multi, "a list of picklist values"),
    "lookup": (_lookup, "a lookup {id, name}"),
    "ownerlookup": (_lookup, "a user lookup {id, name}"),
    "userlookup": (_lookup, "a user lookup {id, name}"),
    "layout": (_lookup, "a layout {id, name}"),
}


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation as exc:
        raise ValueError("not a decimal") from exc


def _utc(value: str | None, parsed: datetime | None) -> datetime | None:
    if parsed is not None:
        return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)
    return datetime.fromisoformat(value).astimezone(UTC) if value is not None else None


def build_record(raw: dict[str, Any], parsed: Mapping[str, Any] | None = None) -> DealRecord:
    """A DealRecord from a normalised raw dict (REST or Bulk Read), one attribute per row of the field table.

    `parsed` holds values the decoder already parsed while checking them (datetimes, dates, Decimals), so
    nothing is parsed twice.
    """
    parsed = parsed or {}
    values: list[Any] = []
    append = values.append
    for api_name, kind in _FIELD_PLAN:
        if kind == "id":
            append(int(raw["id"]))
        elif kind == "text" or kind == "integer":
            append(raw.get(api_name))
        elif kind == "datetime":
            append(_utc(raw.get(api_name), parsed.get(api_name)))
        elif kind == "decimal":
            number = parsed.get(api_name)
            append(number if number is not None else _decimal(raw.get(api_name)))
        elif kind == "date":
            day = parsed.get(api_name)
            append(day if day is not None or not raw.get(api_name) else date.fromisoformat(raw[api_name]))
        else:  # a lookup's id, name or e-mail
            lookup = raw.get(api_name)
            lookup_id = lookup.get("id") if type(lookup) is dict else None
            if not lookup_id:
                append(None)
            else:
                assert isinstance(lookup, dict)
                append(
                    int(lookup_id) if kind == "lookup_id" else lookup.get("name" if kind == "lookup_name" else "email")
                )
    return _make_record(*values, raw)


_FIELD_PLAN: tuple[tuple[str, str], ...] = tuple((field.api_name, field.kind) for field in DEAL_FIELDS)


# Field kinds of the fast path; anything else goes through JSON_CONVERTERS.
_TEXT, _NUMBER, _INTEGER, _BOOLEAN, _DATETIME, _DATE, _LOOKUP, _OTHER = range(8)
_KIND_OF_TYPE = {
    "text": _TEXT,
    "textarea": _TEXT,
    "email": _TEXT,
    "phone": _TEXT,
    "website": _TEXT,
    "picklist": _TEXT,
    "autonumber": _TEXT,
    "currency": _NUMBER,
    "double": _NUMBER,
    "decimal": _NUMBER,
    "percent": _NUMBER,
    "formula": _NUMBER,
    "rollup_summary": _NUMBER,
    "integer": _INTEGER,
    "bigint": _INTEGER,
    "boolean": _BOOLEAN,
    "datetime": _DATETIME,
    "date": _DATE,
    "lookup": _LOOKUP,
    "ownerlookup": _LOOKUP,
    "userlookup": _LOOKUP,
    "layout": _LOOKUP,
}
_UTC_SUFFIX = "+00:00"


class DealJsonDecoder:
    """REST JSON record -> DealRecord, checked field by field against the Deals metadata.

    One pass per record with type checks inline (this loop is the service's per-record cost); the parsed
    JSON dict becomes `raw` after normalisation in place (it is ours: one parse per response).
    """

    def __init__(self, field_types: Mapping[str, str]) -> None:
        self._kinds: dict[str, int] = {"id": _OTHER}
        self._others: dict[str, tuple[Converter, str]] = {"id": (_id_text, "a numeric id")}
        for api_name, data_type in field_types.items():
            if api_name == "id":
                continue
            kind = _KIND_OF_TYPE.get(data_type, _OTHER)
            self._kinds[api_name] = kind
            if kind == _OTHER:
                self._others[api_name] = JSON_CONVERTERS.get(data_type, (_json_safe, "a JSON value"))
        self._checks: list[tuple[str, int]] = [(name, kind) for name, kind in self._kinds.items() if kind != _TEXT]

    def normalise(self, record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The record made JSON-safe in place, plus its parsed datetimes; RecordDecodeError on a bad field.

        Text and picklist values need no check: they came out of a JSON parse, so they are JSON already, and
        the SDK itself accepts any JSON scalar there. Everything the SDK would parse (dates, datetimes,
        numbers, lookups, booleans) is checked.
        """
        times: dict[str, Any] = {}  # values parsed while checking, for build_record
        get = record.get
        for key, kind in self._checks:
            value = get(key)
            if value is None:
                continue
            vtype = type(value)
            if kind == _DATETIME:
                if vtype is not str:
                    raise _fail(key, value, "an ISO datetime with offset")
                try:
                    parsed = datetime.fromisoformat(value)
                except ValueError as exc:
                    raise _fail(key, value, "an ISO datetime with offset") from exc
                if parsed.tzinfo is None:
                    raise _fail(key, value, "an ISO datetime with offset")
                if not value.endswith(_UTC_SUFFIX):
                    parsed = parsed.astimezone(UTC)
                    record[key] = parsed.isoformat()
                times[key] = parsed
            elif kind == _NUMBER:
                if vtype is not float and vtype is not int:
                    raise _fail(key, value, "a number")
            elif kind == _LOOKUP:
                lookup_id = value.get("id") if vtype is dict else None
                if type(lookup_id) is not str or not lookup_id.isdigit():
                    if type(lookup_id) is int:
                        value["id"] = str(lookup_id)
                    else:
                        raise _fail(key, value, "a lookup {id, name}")
            elif kind == _INTEGER:
                if vtype is not int:
                    raise _fail(key, value, "an integer")
            elif kind == _DATE:
                if vtype is not str or len(value) != 10:
                    raise _fail(key, value, "an ISO date")
                try:
                    times[key] = date.fromisoformat(value)
                except ValueError as exc:
                    raise _fail(key, value, "an ISO date") from exc
            elif kind == _BOOLEAN:
                if vtype is not bool:
                    raise _fail(key, value, "a boolean")
            else:
                converter, expected = self._others[key]
                try:
                    record[key] = converter(value)
                except (ValueError, TypeError) as exc:
                    raise _fail(key, value, expected) from exc
        if get("id") is None:
            raise RecordDecodeError("id", "record has no id")
        return record, times

    def decode(self, record: dict[str, Any]) -> DealRecord:
        raw, times = self.normalise(record)
        return build_record(raw, times)


def _csv_number(text: str) -> int | float:
    if text.isdigit() or (text[:1] == "-" and text[1:].isdigit()):
        return int(text)
    number = float(text)
    if not math.isfinite(number):  # NaN / Infinity are not JSON numbers
        raise ValueError("not a finite number")
    return number


@lru_cache(maxsize=8192)
def _csv_date(text: str) -> date:
    """A strict YYYY-MM-DD date; cached because closing dates repeat a lot within a file."""
    if len(text) != 10:
        raise ValueError("not a YYYY-MM-DD date")
    return date.fromisoformat(text)


def _csv_boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise ValueError("not a boolean")
    return lowered == "true"


def _csv_multi(text: str) -> list[str]:
    return [part for part in text.split(";") if part]


_CSV_LOOKUP = object()  # marker: lookups arrive as bare ids
_CSV_CONVERTERS: dict[str, Any] = {
    "datetime": _datetime_iso,
    "date": _date_iso,
    "currency": _csv_number,
    "double": _csv_number,
    "decimal": _csv_number,
    "percent": _csv_number,
    "formula": _csv_number,
    "integer": int,
    "bigint": int,
    "boolean": _csv_boolean,
    "lookup": _CSV_LOOKUP,
    "ownerlookup": _CSV_LOOKUP,
    "userlookup": _CSV_LOOKUP,
    "layout": _CSV_LOOKUP,
    "multiselectpicklist": _csv_multi,
}
_USER_LOOKUPS = ("Owner", "Created_By", "Modified_By")
_DECIMAL_FIELDS = api_names("decimal")


class DealCsvDecoder:
    """Bulk Read CSV row -> DealRecord; user lookups are completed from the users list (CSV has ids only).

    Cells are text and empty means null; text columns pass through, every other column is converted by its
    metadata type (a cell that does not convert rejects the row, like a bad REST value).
    """

    def __init__(
        self,
        field_types: Mapping[str, str],
        users: Mapping[str, tuple[str | None, str | None]],
        lookups: Mapping[str, Mapping[str, str | None]] | None = None,
    ) -> None:
        self._types = dict(field_types)
        self._users = users
        self._lookups = dict(lookups or {})  # lookup field -> {record id: name}, e.g. Account_Name
        self._plan_for: tuple[str, ...] | None = None
        self._plan: list[tuple[str, Any]] = []
        self._fast_for: tuple[str, ...] | None = None
        self._fast: _FastPlan | None = None

    def _plan_columns(self, header: tuple[str, ...]) -> list[tuple[str, Any]]:
        if self._plan_for != header:
            plan: list[tuple[str, Any]] = []
            for key in header:
                converter = _CSV_LOOKUP if key == "id" else _CSV_CONVERTERS.get(self._types.get(key, ""))
                if converter is not None:
                    plan.append((key, converter))
            self._plan_for, self._plan = header, plan
        return self._plan

    def normalise_row(self, header: Iterable[str], row: Iterable[str]) -> dict[str, Any]:
        return self.normalise_row_with_times(header, row)[0]

    def normalise_row_with_times(
        self, header: Iterable[str], row: Iterable[str]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        header = header if isinstance(header, tuple) else tuple(header)
        row = row if isinstance(row, list) else list(row)
        if len(row) != len(header):
            raise RecordDecodeError("row", f"expected {len(header)} cells, got {len(row)}")
        out: dict[str, Any] = {key: (text if text != "" else None) for key, text in zip(header, row, strict=True)}
        times: dict[str, Any] = {}  # values parsed while checking, for build_record
        for key, converter in self._plan_columns(header):
            text = out[key]
            if text is None:
                continue
            if converter is _datetime_iso:
                try:
                    parsed = datetime.fromisoformat(text)
                except ValueError as exc:
                    raise _fail(key, text, "an ISO datetime with offset") from exc
                if parsed.tzinfo is None:
                    raise _fail(key, text, "an ISO datetime with offset")
                if not text.endswith(_UTC_SUFFIX):
                    parsed = parsed.astimezone(UTC)
                    out[key] = parsed.isoformat()
                times[key] = parsed
                continue
            if converter is _date_iso:
                if len(text) != 10:
                    raise _fail(key, text, "an ISO date")
                try:
                    times[key] = date.fromisoformat(text)
                except ValueError as exc:
                    raise _fail(key, text, "an ISO date") from exc
                continue
            if converter is _CSV_LOOKUP:
                if not text.isdigit():
                    raise _fail(key, text, "a numeric id")
                if key == "id":
                    continue
                if key in _USER_LOOKUPS:
                    name, email = self._users.get(text, (None, None))
                    out[key] = {"id": text, "name": name, "email": email}
                else:
                    out[key] = {"id": text, "name": self._lookups.get(key, {}).get(text)}
                continue
            try:
                out[key] = converter(text)
            except (ValueError, TypeError) as exc:
                raise _fail(key, text, "a value of the field's type") from exc
            if key in _DECIMAL_FIELDS:
                times[key] = Decimal(text)  # exact, straight from the text
        if out.get("id") is None:
            raise RecordDecodeError("id", "row has no id")
        return out, times

    # -- fast path: a whole result file -------------------------------------------------------------------
    def _fast_plan(self, header: tuple[str, ...]) -> _FastPlan | None:
        """The compiled plan for one header, or None when a DealRecord column has unusual metadata."""
        if self._fast_for == header:
            return self._fast
        plan: _FastPlan | None = None
        types = self._types
        usable = "id" in header and len(set(header)) == len(header)
        for key, kinds in _RECORD_COLUMN_TYPES.items():
            if key in header and types.get(key, "") not in kinds:
                usable = False
        if usable:
            position = {key: index for index, key in enumerate(header)}
            plan = _FastPlan(
                build_raw=self._compile_raw_builder(header),
                id_index=position["id"],
                times=tuple((position[key], key) for key in _RECORD_TIMES if key in position),
                parsed_cells=tuple(
                    (key, position[key], _csv_date if key in _RECORD_DATES else Decimal)
                    for key in (*_RECORD_DATES, *_DECIMAL_FIELDS)
                    if key in position
                ),
            )
        self._fast_for, self._fast = header, plan
        return plan

    def _compile_raw_builder(self, header: tuple[str, ...]) -> Callable[[list[str]], dict[str, Any]]:
        """`row -> raw dict` for one header: one straight-line expression per column, compiled once.

        The generated source holds only column positions and the fixed templates of `_CELL_TEMPLATES`, never
        a header name or a cell (the names reach the function as the tuple `K`), so a hostile header cannot
        inject code. A cell that does not convert raises (ValueError, KeyError, ...), and so does a row of the
        wrong width (the unpacking).
        """
        users = {
            key: {"id": key, "name": name, "email": email}
            for key, (name, email) in self._users.items()
            if key.isdigit()
        }
        namespace: dict[str, Any] = {
            "K": header,
            "_dict": dict,
            "_zip": zip,
            "_int": int,
            "_num": _csv_number,
            "_float": float,
            "_bool": _BOOLEANS,
            "_users": users,
            "_user": _unknown_user,
            "_bad": _bad_id,
        }
        cells: list[str] = []
        for index, key in enumerate(header):
            converter = None if key in _RECORD_PARSED else _CSV_CONVERTERS.get(self._types.get(key, ""))
            if converter is _CSV_LOOKUP and key in self._lookups and key not in _USER_LOOKUPS:
                template = "named"
                namespace[f"_n{index}"] = self._lookups[key]
            elif converter is _CSV_LOOKUP:
                template = "user" if key in _USER_LOOKUPS else "lookup"
            elif converter is None:
                template = "text"  # text passes through; record columns are parsed while the record is built
            elif converter in _CELL_TEMPLATES:
                template = _CELL_TEMPLATES[converter]
            else:
                template = "other"
                namespace[f"_c{index}"] = _CELL_CONVERTERS.get(converter, converter)
            cells.append(_TEMPLATE_SOURCE[template].format(i=index))
        names = ", ".join(f"c{index}" for index in range(len(header)))
        source = f"def build_raw(row):\n    {names}, = row\n    return _dict(_zip(K, ({', '.join(cells)},)))\n"
        exec(compile(source, "<deal_codec.build_raw>", "exec"), namespace)  # noqa: S102 - see the docstring
        return namespace["build_raw"]

    def decode_rows(
        self, header: Iterable[str], rows: Iterable[list[str]], stream: str = "deals"
    ) -> tuple[list[DealRecord], list[QuarantinedRecord]]:
        """Every row of one result file -> (DealRecords, quarantined rows), in file order.

        The per-header plan is compiled once: (index, key, converter) for the columns that are not plain text,
        and the indexes of the DealRecord columns that need parsing (id, datetimes, closing date, decimals),
        each parsed exactly once. A row that fails anywhere is decoded again by `normalise_row_with_times`
        (the reference path) for its field-naming reason and quarantined with its raw cells; the fast path is
        never more lenient than the reference path (tests/pipeline_pulse/services/test_deal_codec.py checks
        both paths on the same rows).

        Python's cyclic GC is paused while the file is decoded (and restored after): the loop allocates ~10
        containers per row, all acyclic and freed by reference counting, and the collector's repeated scans
        of the growing record list cost as much as the decoding itself (measured: ~1.5x faster paused).
        """
        header = header if isinstance(header, tuple) else tuple(header)
        plan = self._fast_plan(header)
        records: list[DealRecord] = []
        rejected: list[QuarantinedRecord] = []
        append = records.append
        if plan is None:  # unusual metadata for a DealRecord column: the reference path for every row
            for row in rows:
                try:
                    append(build_record(*self.normalise_row_with_times(header, row)))
                except _ROW_ERRORS as exc:
                    rejected.append(_quarantine(stream, header, row, exc))
            return records, rejected
        build_raw, timed, i_id, parsed_cells = plan.build_raw, plan.times, plan.id_index, plan.parsed_cells
        gc_was_enabled = gc.isenabled()
        gc.disable()  # see the docstring: only acyclic objects are allocated below
        try:
            for row in rows:
                try:
                    raw = build_raw(row)
                    deal_id = row[i_id]
                    if not deal_id.isdigit():
                        raise ValueError("id")
                    times: list[datetime | None] = [None] * len(timed)
                    for slot, (index, key) in enumerate(timed):
                        cell = row[index]
                        if cell:
                            parsed = datetime.fromisoformat(cell)
                            if parsed.tzinfo is not UTC:
                                if parsed.tzinfo is None:
                                    raise ValueError("datetime without offset")
                                parsed = parsed.astimezone(UTC)
                                raw[key] = parsed.isoformat()
                            elif not cell.endswith(_UTC_SUFFIX):  # "Z": same instant, normalised text
                                raw[key] = parsed.isoformat()
                            times[slot] = parsed
                    parsed: dict[str, Any] = {key: times[slot] for slot, (_index, key) in enumerate(timed)}
                    for key, index, parse in parsed_cells:
                        cell = row[index]
                        if cell:
                            parsed[key] = parse(cell)
                    append(build_record(raw, parsed))
                except _ROW_ERRORS:
                    try:  # the reference path names the field (and decodes the row if it accepts it)
                        append(build_record(*self.normalise_row_with_times(header, row)))
                    except _ROW_ERRORS as exc:
                        rejected.append(_quarantine(stream, header, row, exc))
        finally:
            if gc_was_enabled:
                gc.enable()
        return records, rejected


def _compile_record_factory() -> Callable[..., DealRecord]:
    """A positional DealRecord constructor ~3x cheaper than the frozen dataclass's `__init__`.

    The generated `__init__` of a frozen dataclass sets each of the 22 fields with `object.__setattr__`
    (~4.3 us per record, a quarter of the whole Bulk Read decode). This factory does the same thing through
    the slots' own descriptors: the same object, equal to one built by `DealRecord(...)` (the tests compare
    both). Used only while DealRecord is a plain slots dataclass without `__post_init__`; otherwise it is the
    class itself.
    """
    names = [f.name for f in dataclasses.fields(DealRecord)]
    if getattr(DealRecord, "__slots__", None) != tuple(names) or hasattr(DealRecord, "__post_init__"):
        return DealRecord
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": DealRecord}
    lines = ["def make_record(" + ", ".join(f"a{i}" for i in range(len(names))) + "):", "    o = _new(_cls)"]
    for i, name in enumerate(names):
        namespace[f"_s{i}"] = getattr(DealRecord, name).__set__
        lines.append(f"    _s{i}(o, a{i})")
    lines.append("    return o")
    exec(compile("\n".join(lines) + "\n", "<deal_codec.make_record>", "exec"), namespace)  # noqa: S102
    return namespace["make_record"]


_make_record = _compile_record_factory()


class _FastPlan(NamedTuple):
    """One header compiled: the raw-dict builder and the positions of the DealRecord columns parsed here."""

    build_raw: Callable[[list[str]], dict[str, Any]]
    id_index: int
    times: tuple[tuple[int, str], ...]
    parsed_cells: tuple[tuple[str, int, Callable[[str], Any]], ...]  # dates and decimals, parsed from the cell


_BOOLEANS = {"true": True, "false": False}
_ROW_ERRORS = (ValueError, TypeError, KeyError, IndexError, ArithmeticError)
_NO_USER: tuple[None, None] = (None, None)
_RECORD_TIMES = api_names("datetime")
_RECORD_DATES = api_names("date")
# DealRecord columns the fast path reads with a fixed meaning: their metadata type must be one of these.
_RECORD_COLUMN_TYPES: dict[str, frozenset[str]] = {
    field.api_name: KIND_TYPES[field.kind]
    for field in DEAL_FIELDS
    if field.kind in KIND_TYPES and field.kind != "integer"  # an integer read as a number still decodes
}
_RECORD_PARSED = frozenset({"id", *_RECORD_DATES, *_RECORD_TIMES})


# How a cell of each kind becomes its raw value (c{i}: the cell text; "" is null). Lookups are checked ids;
# user lookups are completed from the users list (a fresh dict per record); booleans not spelled like Zoho's
# raise KeyError and the row goes to the reference path, which accepts any case.
_CELL_TEMPLATES: dict[Any, str] = {int: "int", _csv_number: "number", _csv_boolean: "bool"}
_TEMPLATE_SOURCE = {
    "text": "c{i} or None",
    "int": "_int(c{i}) if c{i} else None",
    # finite positive floats inline (f - f == 0 is False for NaN and infinities); the rest through _num
    "number": "(_int(c{i}) if c{i}.isdigit() else f if (f := _float(c{i})) - f == 0 and c{i}[0] != '-' "
    "else _num(c{i})) if c{i} else None",
    "bool": "_bool[c{i}] if c{i} else None",
    "lookup": '({{"id": c{i}, "name": None}} if c{i}.isdigit() else _bad(c{i})) if c{i} else None',
    "named": '({{"id": c{i}, "name": _n{i}.get(c{i})}} if c{i}.isdigit() else _bad(c{i})) if c{i} else None',
    "user": "(_users[c{i}].copy() if c{i} in _users else _user(c{i})) if c{i} else None",
    "other": "_c{i}(c{i}) if c{i} else None",
}


def _bad_id(text: str) -> Any:
    raise ValueError(f"not a numeric id: {text[:40]!r}")


def _unknown_user(text: str) -> dict[str, Any]:
    if not text.isdigit():
        _bad_id(text)
    return {"id": text, "name": None, "email": None}


def _datetime_cell(text: str) -> str:
    """A datetime cell as the reference path keeps it: the text when UTC, else normalised to UTC."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError("datetime without offset")
    return text if text.endswith(_UTC_SUFFIX) else parsed.astimezone(UTC).isoformat()


def _date_cell(text: str) -> str:
    _csv_date(text)  # validates
    return text


_CELL_CONVERTERS: dict[Any, Callable[[str], Any]] = {_datetime_iso: _datetime_cell, _date_iso: _date_cell}


def _quarantine(stream: str, header: tuple[str, ...], row: list[str], exc: BaseException) -> QuarantinedRecord:
    payload = dict(zip(header, row, strict=False))
    return QuarantinedRecord(stream=stream, zoho_id=payload.get("id"), reason=str(exc), payload=payload)
