"""The deals rows as one Arrow table per chunk: the columnar form the transform produces and the loader COPYs.

`raw` travels as JSON text (encoded once, by the transform); `batch_rows` / `rows_to_batch` convert to and
from plain dicts for callers and tests that hold rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

_MONEY = pa.decimal128(38, 2)
_AMOUNT = pa.decimal128(38, 9)  # the deal's own amount and rate, rounded by the column (Numeric(20, 2) / (20, 9))
_UTC = pa.timestamp("us", tz="UTC")
DEAL_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("deal_name", pa.string()),
        ("account_id", pa.int64()),
        ("account_name", pa.string()),
        ("owner_id", pa.int64()),
        ("owner_name", pa.string()),
        ("owner_email", pa.string()),
        ("stage", pa.string()),
        ("pipeline", pa.string()),
        ("probability", pa.int32()),
        ("forecast_category", pa.string()),
        ("forecast_type", pa.string()),
        ("deal_status", pa.string()),
        ("amount", _AMOUNT),
        ("currency", pa.string()),
        ("exchange_rate", _AMOUNT),
        ("amount_home", _MONEY),
        ("weighted_amount_home", _MONEY),
        ("closing_date", pa.date32()),
        ("created_time", _UTC),
        ("modified_time", _UTC),
        ("last_activity_time", _UTC),
        ("lead_source", pa.string()),
        ("deal_type", pa.string()),
        ("country", pa.string()),
        ("region", pa.string()),
        ("raw", pa.string()),
    ]
)
# Column widths of the free-text columns: longer values are cut (the full value stays in `raw`).
TEXT_LIMITS = {
    "deal_name": 255,
    "account_name": 255,
    "owner_name": 255,
    "owner_email": 255,
    "pipeline": 120,
    "lead_source": 120,
    "deal_type": 120,
    "country": 120,
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
