"""CSV answers (`format=csv` or `Accept: text/csv`): RFC 4180, streamed, safe to open in Excel.

- RFC 4180: a header row, CRLF line ends, fields quoted when they hold a comma, quote or line break, quotes
  doubled. UTF-8 with a byte-order mark, so Excel reads non-ASCII names right (Python: encoding="utf-8-sig").
- Ids (`ZohoId` fields) are written `="4876876000100012985"`: Excel and LibreOffice show the digits as text;
  a plain 19-digit field would become 4.87688E+18 and lose its last digits when saved again.
- Text that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with `'` so a spreadsheet
  never runs a CRM value as a formula (CSV injection).
- Money is the exact decimal, dates ISO 8601, timestamps ISO 8601 in UTC; a missing value is an empty field.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, get_args, get_origin

from fastapi import Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from api.scalars import ID_MARKER

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# OpenAPI: the alternative representation of every route that can answer CSV.
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "JSON, or CSV with `format=csv` / `Accept: text/csv` (RFC 4180, header row, streamed).",
    }
}


def wants_csv(request: Request, format_param: str | None) -> bool:
    """`format=csv`, else an Accept header whose most preferred type is text/csv."""
    if format_param is not None:
        return format_param == "csv"
    best, best_q = None, -1.0
    for part in request.headers.get("accept", "").split(","):
        media, *options = (piece.strip() for piece in part.split(";"))
        q = 1.0
        for option in options:
            name, _, value = option.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media and q > best_q:
            best, best_q = media.lower(), q
    return best == "text/csv"


def _is_id(annotation: Any) -> bool:
    if get_origin(annotation) is Annotated:
        return any(item is ID_MARKER for item in annotation.__metadata__) or _is_id(get_args(annotation)[0])
    return any(_is_id(arg) for arg in get_args(annotation))  # X | None


def id_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(
        name
        for name, field in model.model_fields.items()
        if any(item is ID_MARKER for item in field.metadata) or _is_id(field.annotation)
    )


def _cell(value: Any, is_id: bool) -> str:
    if value is None:
        return ""
    if is_id:
        return f'="{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date | Decimal | int | float):
        return value.isoformat() if isinstance(value, date) else str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


class CsvWriter:
    """Renders rows of one response model's fields; `chunk(rows)` gives the text of those rows."""

    def __init__(self, model: type[BaseModel], columns: Sequence[str] | None = None) -> None:
        self.columns = list(columns or model.model_fields)
        ids = id_fields(model)
        self.id_flags = [column in ids for column in self.columns]
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")

    def _take(self) -> str:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text

    def header(self) -> str:
        self._writer.writerow(self.columns)
        return BOM + self._take()

    def chunk(self, rows: Iterable[Any]) -> str:
        """Rows are mappings or objects with the columns as attributes (Core rows, response models)."""
        writerow, columns, flags = self._writer.writerow, self.columns, self.id_flags
        for row in rows:
            get = row.get if isinstance(row, dict) else row.__getattribute__
            writerow([_cell(get(column), flag) for column, flag in zip(columns, flags, strict=True)])
        return self._take()


def csv_response(body: AsyncIterator[str], filename: str) -> StreamingResponse:
    return StreamingResponse(
        (text.encode() async for text in body),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"},
    )


async def csv_of_models(model: type[BaseModel], items: Sequence[BaseModel]) -> AsyncIterator[str]:
    writer = CsvWriter(model)
    yield writer.header()
    yield writer.chunk(items)
