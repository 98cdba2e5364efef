"""Deal records -> typed Arrow columns, once per page: the input of the columnar transform
(orchestration/transforms/deals.py), also produced directly from Bulk Read CSV by `deal_arrow.py`.

A column whose values already have its type (what the service layer's decoders produce) is converted by
Arrow in C. A column that does not (hand-built records, a string where a number belongs) is parsed value by
value with the rules below, once: unparsable values become null and are flagged in a `_bad_<column>`
boolean column (with the original text in `_text_<column>` where the rejection reason quotes it), so the
transform rejects them with their reason. `raw` is JSON-encoded here, exactly once per record.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from pipeline_pulse.services.zoho.deal_fields import DEAL_FIELDS
from pipeline_pulse.services.zoho.records import DealRecord

# Arrow types of the DealRecord columns. Amounts and rates keep 9 decimal places (the warehouse's rate
# precision; amounts are rounded to cents by the column itself).
DECIMAL = pa.decimal128(38, 9)
UTC_TIME = pa.timestamp("us", tz="UTC")
_KIND_TYPES: dict[str, pa.DataType] = {
    "id": pa.int64(),
    "lookup_id": pa.int64(),
    "integer": pa.int64(),
    "decimal": DECIMAL,
    "date": pa.date32(),
    "datetime": UTC_TIME,
}
# One typed column per row of the field table, in its order.
RECORD_TYPES: dict[str, pa.DataType] = {field.name: _KIND_TYPES.get(field.kind, pa.string()) for field in DEAL_FIELDS}
RECORD_FIELDS: tuple[str, ...] = tuple(DealRecord.__dataclass_fields__)
if (*RECORD_TYPES, "raw") != RECORD_FIELDS:  # the record factory and the frame rely on one order
    raise RuntimeError("DealRecord's attributes must be the field table's names, in its order, then raw")
CATEGORY_FIELD = "Forecast_Category__s"
OWN_CATEGORY = "own_category"
RAW_JSON = "raw"
# Columns whose rejection reason quotes the unparsable value.
QUOTED = frozenset(field.name for field in DEAL_FIELDS if field.kind == "decimal")
_INVALID = object()
encode_json: Callable[[Any], str] = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def bad_column(name: str) -> str:
    return f"_bad_{name}"


def text_column(name: str) -> str:
    return f"_text_{name}"


def _is_blank(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or (isinstance(value, str) and not value.strip())
    )


def _to_int(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        try:
            as_decimal = Decimal(str(value).strip())
        except InvalidOperation:
            return _INVALID
        if not as_decimal.is_finite() or as_decimal != as_decimal.to_integral_value():
            return _INVALID
        return int(as_decimal)


def _to_decimal(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, Decimal):
        number = value
    else:
        text = str(value).strip().replace(",", "")
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            return _INVALID
    if not number.is_finite():
        return _INVALID
    return number.quantize(Decimal("1e-9")) if number.as_tuple().exponent < -9 else number  # type: ignore[operator]


def _to_time(value: Any) -> Any:
    if _is_blank(value):
        return None
    if isinstance(value, datetime):  # what the decoders hand over: no parsing
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    import pandas as pd  # only for texts (dict rows): the Bulk backfill never loads pandas (~40 MB)

    parsed = pd.to_datetime(value, utc=True, errors="coerce", format="ISO8601")
    return _INVALID if pd.isna(parsed) else parsed.to_pydatetime()


def _to_date(value: Any) -> Any:
    if _is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return _INVALID


def _to_text(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else str(value)


def _parser(arrow_type: pa.DataType) -> Callable[[Any], Any]:
    if arrow_type == pa.int64():
        return _to_int
    if arrow_type == DECIMAL:
        return _to_decimal
    if arrow_type == UTC_TIME:
        return _to_time
    if arrow_type == pa.date32():
        return _to_date
    return _to_text


def _column(name: str, values: list[Any], columns: dict[str, pa.Array]) -> None:
    """Arrow converts a column of well-typed values in C; anything else is parsed here value by value."""
    arrow_type = RECORD_TYPES[name]
    try:
        columns[name] = pa.array(values, type=arrow_type)
        return
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
        pass
    parse = _parser(arrow_type)
    parsed = [parse(value) for value in values]
    bad = [value is _INVALID for value in parsed]
    if arrow_type == pa.int64():  # 64-bit overflow is unparsable too
        parsed = [_INVALID if isinstance(v, int) and not -(2**63) <= v < 2**63 else v for v in parsed]
        bad = [value is _INVALID for value in parsed]
    columns[name] = pa.array([None if value is _INVALID else value for value in parsed], type=arrow_type)
    if any(bad):
        columns[bad_column(name)] = pa.array(bad, type=pa.bool_())
        if name in QUOTED:
            columns[text_column(name)] = pa.array([None if v is None else str(v) for v in values], type=pa.string())


def _own_category(raw: Any) -> str | None:
    """The deal's Forecast_Category__s; blank (a CSV cell) and Zoho's "-None-" mean unset."""
    value = raw.get(CATEGORY_FIELD) if raw else None
    if isinstance(value, dict):  # a picklist sent as {"name": ..., "id": ...}
        value = value.get("name")
    if not isinstance(value, str) or not value.strip() or value.strip() == "-None-":
        return None
    return value.strip()


def _raw_json(raw: Mapping[str, Any] | None) -> str:
    if not raw:
        return "{}"
    return encode_json(raw if isinstance(raw, dict) else dict(raw))


def records_to_frame(records: Sequence[DealRecord]) -> pa.Table:
    """One row per record: the typed RECORD_TYPES columns, `own_category`, `raw` as JSON text, and the
    `_bad_*` / `_text_*` columns of any column that held unparsable values."""
    columns: dict[str, pa.Array] = {}
    for name in RECORD_TYPES:
        _column(name, [getattr(record, name, None) for record in records], columns)
    raws = [getattr(record, "raw", None) for record in records]
    columns[OWN_CATEGORY] = pa.array([_own_category(raw) for raw in raws], type=pa.string())
    columns[RAW_JSON] = pa.array([_raw_json(raw) for raw in raws], type=pa.string())
    return pa.table(columns)
