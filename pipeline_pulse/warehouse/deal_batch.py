"""The deals rows as one Arrow table per chunk: the columnar form the transform produces and the loader COPYs.

`raw` travels as JSON text (encoded once, by the transform); `batch_rows` / `rows_to_batch` convert to and
from plain dicts for callers and tests that hold rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from pipeline_pulse.services.zoho.deal_columns import DECIMAL, RECORD_TYPES
from pipeline_pulse.services.zoho.deal_fields import DEAL_FIELDS

_MONEY = pa.decimal128(38, 2)
_UTC = pa.timestamp("us", tz="UTC")
# Columns the transform's rules produce (docs/metrics.md defines them); every other data column is copied
# from a field of the field table (pipeline_pulse/services/zoho/deal_fields.py).
DERIVED_COLUMNS: dict[str, pa.DataType] = {
    "stage": pa.string(),
    "forecast_category": pa.string(),
    "forecast_type": pa.string(),
    "deal_status": pa.string(),
    "currency": pa.string(),
    "exchange_rate": DECIMAL,
    "amount_home": _MONEY,
    "weighted_amount_home": _MONEY,
    "region": pa.string(),
    "raw": pa.string(),  # JSON text
}
DEAL_SCHEMA = pa.schema(
    [
        *((field.column, RECORD_TYPES[field.name]) for field in DEAL_FIELDS if field.column is not None),
        *DERIVED_COLUMNS.items(),
    ]
)
# Column widths of the free-text columns: longer values are cut (the full value stays in `raw`).
TEXT_LIMITS: dict[str, int] = {
    **{field.column: field.text_limit for field in DEAL_FIELDS if field.column and field.text_limit},
    "forecast_category": 60,
}
JSON_COLUMNS = ("raw",)
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def batch_rows(batch: pa.Table) -> list[dict[str, Any]]:
    """The rows as dicts of Python values (`raw` decoded)."""
    rows = batch.to_pylist()
    for row in rows:
        for name in JSON_COLUMNS:
            if name in row and isinstance(row[name], str):
                row[name] = json.loads(row[name])
    return rows


def rows_to_batch(rows: Iterable[Mapping[str, Any]], schema: pa.Schema = DEAL_SCHEMA) -> pa.Table:
    """Dict rows (keys = the schema's columns) as a batch; JSON columns are encoded here."""
    out: list[dict[str, Any]] = []
    for row in rows:
        values = dict(row)
        for name in JSON_COLUMNS:
            value = values.get(name)
            if value is not None and not isinstance(value, str):
                values[name] = _encode(value)
        out.append(values)
    return pa.Table.from_pylist(out, schema=schema)
