"""Strict, fast decoding of Zoho Deals (REST JSON and Bulk Read CSV rows) into `DealRecord`s.

Every field is checked against its `data_type` from the module's field metadata, as strictly as the SDK's own
converter (a value the SDK cannot parse, e.g. `"Closing_Date": ""`, is rejected here too) but per record:
one bad record is reported with its id, the reason and its raw payload, and never costs the rest of its page.
`DealRecord.raw` holds JSON-safe values: ids as str, dates and UTC datetimes as ISO strings, numbers as JSON
numbers, picklists as their value, lookups as {"id", "name"} (+ "email" for users).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pipeline_pulse.services.zoho.records import DealRecord

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


def _utc(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _lookup_part(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def build_record(raw: dict[str, Any]) -> DealRecord:
    """A DealRecord from an already normalised raw dict (REST or Bulk Read)."""
    owner = raw.get("Owner")
    account = raw.get("Account_Name")
    closing = raw.get("Closing_Date")
    owner_id = _lookup_part(owner, "id")
    account_id = _lookup_part(account, "id")
    return DealRecord(
        id=int(raw["id"]),
        deal_name=raw.get("Deal_Name"),
        account_id=int(account_id) if account_id else None,
        account_name=_lookup_part(account, "name"),
        owner_id=int(owner_id) if owner_id else None,
        owner_name=_lookup_part(owner, "name"),
        owner_email=_lookup_part(owner, "email"),
        stage=raw.get("Stage"),
        pipeline=raw.get("Pipeline"),
        probability=raw.get("Probability"),
        amount=_decimal(raw.get("Amount")),
        currency=raw.get("Currency"),
        exchange_rate=_decimal(raw.get("Exchange_Rate")),
        closing_date=date.fromisoformat(closing) if closing else None,
        created_time=_utc(raw.get("Created_Time")),
        modified_time=_utc(raw.get("Modified_Time")),
        last_activity_time=_utc(raw.get("Last_Activity_Time")),
        lead_source=raw.get("Lead_Source"),
        deal_type=raw.get("Type"),
        region=raw.get("Region"),
        country=raw.get("Country"),
        raw=raw,
    )


class DealJsonDecoder:
    """REST JSON record -> DealRecord, checked field by field against the Deals metadata."""

    def __init__(self, field_types: Mapping[str, str]) -> None:
        self._converters: dict[str, tuple[Converter, str]] = {"id": (_id_text, "a numeric id")}
        for api_name, data_type in field_types.items():
            if api_name != "id":
                self._converters[api_name] = JSON_CONVERTERS.get(data_type, (_json_safe, "a JSON value"))

    def normalise(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """JSON-safe raw dict; raises RecordDecodeError naming the first bad field."""
        converters = self._converters
        out: dict[str, Any] = {}
        for key, value in record.items():
            if value is None:
                out[key] = None
                continue
            converter, expected = converters.get(key, (_json_safe, "a JSON value"))
            try:
                out[key] = converter(value)
            except (ValueError, TypeError) as exc:
                raise _fail(key, value, expected) from exc
        if "id" not in out or out["id"] is None:
            raise RecordDecodeError("id", "record has no id")
        return out

    def decode(self, record: Mapping[str, Any]) -> DealRecord:
        return build_record(self.normalise(record))


def _csv_converters(field_types: Mapping[str, str]) -> dict[str, Callable[[str], Any]]:
    """Bulk Read CSV cells are text; empty means null. Lookups arrive as bare ids."""

    def number(text: str) -> int | float:
        value = float(text)
        return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value

    def integer(text: str) -> int:
        return int(text)

    def boolean(text: str) -> bool:
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise ValueError("not a boolean")
        return lowered == "true"

    def lookup(text: str) -> dict[str, Any]:
        return {"id": _id_text(text), "name": None}

    def multi(text: str) -> list[str]:
        return [part for part in text.split(";") if part]

    table: dict[str, Callable[[str], Any]] = {
        "datetime": _datetime_iso,
        "date": _date_iso,
        "currency": number,
        "double": number,
        "decimal": number,
        "percent": number,
        "formula": number,
        "integer": integer,
        "bigint": integer,
        "boolean": boolean,
        "lookup": lookup,
        "ownerlookup": lookup,
        "userlookup": lookup,
        "layout": lookup,
        "multiselectpicklist": multi,
    }
    out: dict[str, Callable[[str], Any]] = {"id": _id_text}
    for api_name, data_type in field_types.items():
        if api_name != "id":
            out[api_name] = table.get(data_type, str)
    return out


class DealCsvDecoder:
    """Bulk Read CSV row -> DealRecord; owner lookups are completed from the users list (CSV has ids only)."""

    def __init__(self, field_types: Mapping[str, str], users: Mapping[str, tuple[str | None, str | None]]) -> None:
        self._converters = _csv_converters(field_types)
        self._users = users

    def normalise_row(self, header: Iterable[str], row: Iterable[str]) -> dict[str, Any]:
        converters = self._converters
        out: dict[str, Any] = {}
        for key, text in zip(header, row, strict=True):
            if text == "":
                out[key] = None
                continue
            try:
                out[key] = converters.get(key, str)(text)
            except (ValueError, TypeError) as exc:
                raise _fail(key, text, "a value of the field's type") from exc
        for key in ("Owner", "Created_By", "Modified_By"):
            value = out.get(key)
            if isinstance(value, dict):
                name, email = self._users.get(value["id"], (None, None))
                value["name"] = name
                value["email"] = email
        if out.get("id") is None:
            raise RecordDecodeError("id", "row has no id")
        return out
