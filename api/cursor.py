"""The opaque `/deals` keyset cursor: where the previous page ended, in the order it was sorted by.

A cursor is base64url of a short JSON list `[sort, phase, value, id]`: `phase` 0 while the sort column is not
NULL, 1 in the trailing NULLs (NULLs sort last in both directions), `value` the sort column of the last row
(text: decimal, date or ISO timestamp; null in phase 1 or for the id sort), `id` the last row's id. Clients
pass `next_cursor` back unchanged; anything else is a 422 naming `cursor`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from api.scalars import parse_zoho_id

MAX_CURSOR_LENGTH = 200
SORT_KINDS = {
    "id": "id",
    "amount_home": "decimal",
    "closing_date": "date",
    "modified_time": "datetime",
    "amount_at_risk": "decimal",  # /deals/attention
}
SortValue = Decimal | date | datetime | None


@dataclass(frozen=True, slots=True)
class DealCursor:
    sort: str  # as requested, e.g. "-closing_date"
    phase: int
    value: SortValue
    last_id: int

    def encode(self) -> str:
        text = (
            self.value.isoformat() if isinstance(self.value, date) else None if self.value is None else str(self.value)
        )
        raw = json.dumps([self.sort, self.phase, text, str(self.last_id)], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _invalid() -> PydanticCustomError:
    return PydanticCustomError("cursor", "is not a cursor of this API (pass next_cursor back unchanged)")


def _value(kind: str, text: Any) -> SortValue:
    if text is None:
        return None
    if not isinstance(text, str):
        raise _invalid()
    try:
        if kind == "decimal":
            number = Decimal(text)
            if not number.is_finite():
                raise _invalid()
            return number
        if kind == "date":
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            raise _invalid()
        return moment
    except (ValueError, InvalidOperation):
        raise _invalid() from None


def parse_cursor(raw: Any) -> DealCursor:
    if isinstance(raw, DealCursor):
        return raw
    if not isinstance(raw, str) or not 0 < len(raw) <= MAX_CURSOR_LENGTH:
        raise _invalid()
    try:
        decoded = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _invalid() from None
    if not isinstance(decoded, list) or len(decoded) != 4:
        raise _invalid()
    sort, phase, text, last_id = decoded
    kind = SORT_KINDS.get(sort.lstrip("-")) if isinstance(sort, str) else None
    if kind is None or phase not in (0, 1) or (kind == "id" and (phase, text) != (0, None)):
        raise _invalid()
    if (phase == 1) != (text is None) and kind != "id":
        raise _invalid()
    try:
        identifier = parse_zoho_id(last_id)
    except PydanticCustomError:
        raise _invalid() from None
    return DealCursor(sort=sort, phase=phase, value=_value(kind, text), last_id=identifier)


CursorParam = Annotated[
    DealCursor,
    PlainValidator(parse_cursor),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": MAX_CURSOR_LENGTH,
            "pattern": "^[A-Za-z0-9_-]+$",
            "description": "next_cursor of the previous page, unchanged.",
        }
    ),
]
