"""Scalar types of the API contract: 64-bit ids as strings, query text, calendar dates.

Output: `ZohoId` serializes a bigint as a JSON string (a browser's Number loses digits above 2^53).
Input: `ZohoIdParam`, `QueryInt`, `QueryText`, `QueryDate` parse query / path strings strictly; a value they refuse is a 422
that names the parameter (never a database error). Every limit is stated in the OpenAPI schema.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from pipeline_pulse.insight.periods import PERIOD_FORMATS, PERIOD_PATTERN, Period

ZOHO_ID_MAX = 2**63 - 1  # bigint columns
ID_EXAMPLE = "4876876000100012985"
ID_PATTERN = "^[1-9][0-9]{0,18}$"
_ID_DIGITS = re.compile("[1-9][0-9]{0,18}")

# Dates outside these bounds are not CRM data and would overflow date arithmetic (as_of - N days, period ends).
MIN_QUERY_DATE = date(1900, 1, 1)
MAX_QUERY_DATE = date(2999, 12, 31)
_ISO_DATE = re.compile("[0-9]{4}-[0-9]{2}-[0-9]{2}")
# C0 and C1 control characters (NUL, newline, escape, ...): never part of a name, and NUL breaks Postgres.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
MAX_TEXT_LENGTH = 120  # the width of the name columns (pipeline, stage)


def _id_to_json(value: int) -> str:
    return str(value)


class _IdMarker:
    """Tags ZohoId fields (CSV export writes them Excel-safe: api/csv_export.py)."""


ID_MARKER = _IdMarker()

ZohoId = Annotated[
    int,
    ID_MARKER,
    PlainSerializer(_id_to_json, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[0-9]{1,19}$",
            "examples": [ID_EXAMPLE],
            "description": "Zoho id (64-bit integer) as a decimal string.",
        }
    ),
]


def parse_zoho_id(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        candidate = value
    elif isinstance(value, str) and _ID_DIGITS.fullmatch(value):
        candidate = int(value)
    else:
        raise PydanticCustomError(
            "zoho_id", "must be a Zoho id: 1 to 19 decimal digits, no sign, no leading zero, no spaces"
        )
    if not 1 <= candidate <= ZOHO_ID_MAX:
        raise PydanticCustomError("zoho_id", "must be a Zoho id between 1 and {maximum}", {"maximum": ZOHO_ID_MAX})
    return candidate


ZohoIdParam = Annotated[
    int,
    PlainValidator(parse_zoho_id),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": ID_PATTERN,
            "examples": [ID_EXAMPLE],
            "description": f"Zoho id as a decimal string, 1 to {ZOHO_ID_MAX}.",
        }
    ),
]


_INTEGER = re.compile("-?[0-9]+")


def reject_lax_integer(value: Any) -> Any:
    """Query integers are decimal digits only: pydantic's lax int would take ' 1', '+1', '1_000' and '1.0'."""
    if isinstance(value, str) and not _INTEGER.fullmatch(value):
        raise PydanticCustomError(
            "int_format", "must be a whole number in decimal digits (no spaces, '+', separators or decimals)"
        )
    return value


# Bounds stay on the field (Field(ge=..., le=...)), so they are in the OpenAPI schema and named in the 422.
QueryInt = Annotated[int, BeforeValidator(reject_lax_integer)]


def reject_control_characters(value: str) -> str:
    if _CONTROL.search(value):
        raise PydanticCustomError("control_character", "must not contain control characters (NUL, newline, ...)")
    return value


QueryText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_TEXT_LENGTH),
    AfterValidator(reject_control_characters),
    Field(json_schema_extra={"pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]+$"}),
]


def parse_query_date(value: Any) -> date:
    if isinstance(value, date):
        day = value
    elif isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("date_value", "is not a calendar date (YYYY-MM-DD)") from None
    else:
        raise PydanticCustomError("date_format", "must be a date written YYYY-MM-DD")
    if not MIN_QUERY_DATE <= day <= MAX_QUERY_DATE:
        raise PydanticCustomError(
            "date_range",
            "must be between {low} and {high}",
            {"low": MIN_QUERY_DATE.isoformat(), "high": MAX_QUERY_DATE.isoformat()},
        )
    return day


QueryDate = Annotated[
    date,
    PlainValidator(parse_query_date),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            "examples": ["2026-03-31"],
            "description": f"YYYY-MM-DD, between {MIN_QUERY_DATE} and {MAX_QUERY_DATE}.",
        }
    ),
]


def parse_query_period(value: Any) -> Period:
    if isinstance(value, Period):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("period_format", "must be a period: " + PERIOD_FORMATS)
    try:
        return Period.parse(value)
    except ValueError as exc:
        raise PydanticCustomError("period_format", str(exc)) from None


QueryPeriod = Annotated[
    Period,
    PlainValidator(parse_query_period),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": PERIOD_PATTERN,
            "examples": ["2026-Q1", "2026-03"],
            "description": f"A calendar month or quarter: {PERIOD_FORMATS}.",
        }
    ),
]
