"""The strict decoders: JSON-safe raw values, UTC datetimes, exact decimals, clear reasons for bad values."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from pipeline_pulse.services.zoho.deal_codec import DealCsvDecoder, DealJsonDecoder, RecordDecodeError, build_record

TYPES = {
    "Deal_Name": "text",
    "Owner": "ownerlookup",
    "Account_Name": "lookup",
    "Amount": "currency",
    "Exchange_Rate": "double",
    "Closing_Date": "date",
    "Modified_Time": "datetime",
    "Probability": "integer",
    "Renewal": "boolean",
    "Stage": "picklist",
    "Tags": "multiselectpicklist",
}


def json_record(**overrides: object) -> dict[str, object]:
    record: dict[str, object] = {
        "id": "4876876000100000001",
        "Deal_Name": "Big deal",
        "Owner": {"id": "4876876000000200001", "name": "Ana", "email": "ana@example.com"},
        "Account_Name": {"id": "4876876000001000001", "name": "Acme"},
        "Amount": 1234.5,
        "Exchange_Rate": 0.74,
        "Closing_Date": "2025-03-31",
        "Modified_Time": "2025-03-01T10:00:00+05:30",
        "Probability": 40,
        "Renewal": False,
        "Stage": "Negotiation/Review",
        "Tags": ["a", "b"],
        "Unknown_Custom": {"nested": [1, 2]},
    }
    record.update(overrides)
    return record


def test_json_record_decodes_to_typed_values_and_json_safe_raw() -> None:
    deal = DealJsonDecoder(TYPES).decode(json_record())
    assert deal.id == 4876876000100000001
    assert deal.owner_id == 4876876000000200001
    assert (deal.owner_name, deal.owner_email, deal.account_name) == ("Ana", "ana@example.com", "Acme")
    assert deal.amount == Decimal("1234.5")
    assert deal.exchange_rate == Decimal("0.74")
    assert deal.closing_date == date(2025, 3, 31)
    assert deal.modified_time == datetime(2025, 3, 1, 4, 30, tzinfo=UTC)
    assert deal.raw["Modified_Time"] == "2025-03-01T04:30:00+00:00"  # normalised to UTC
    assert json.loads(json.dumps(deal.raw)) == deal.raw


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Closing_Date", ""),
        ("Closing_Date", "31/03/2025"),
        ("Modified_Time", "2025-03-01T10:00:00"),  # no offset
        ("Modified_Time", 1700000000),
        ("Amount", "1234.5"),
        ("Probability", 40.5),
        ("Renewal", "false"),
        ("Owner", {"name": "no id"}),
        ("Account_Name", "Acme"),
    ],
)
def test_json_bad_values_name_the_field(field: str, value: object) -> None:
    with pytest.raises(RecordDecodeError) as caught:
        DealJsonDecoder(TYPES).decode(json_record(**{field: value}))
    assert caught.value.field == field


def test_csv_row_decodes_like_the_rest_record() -> None:
    users = {"4876876000000200001": ("Ana", "ana@example.com")}
    decoder = DealCsvDecoder(TYPES, users)
    header = ("id", "Owner", "Account_Name", "Amount", "Exchange_Rate", "Closing_Date", "Modified_Time", "Probability")
    row = ["4876876000100000001", "4876876000000200001", "4876876000001000001", "1234.50", "0.74", "2025-03-31"]
    row += ["2025-03-01T04:30:00+00:00", "40"]
    raw, parsed = decoder.normalise_row_with_times(header, row)
    deal = build_record(raw, parsed)
    assert deal.owner_name == "Ana"
    assert deal.account_id == 4876876000001000001
    assert deal.account_name is None  # the CSV carries lookup ids only
    assert deal.amount == Decimal("1234.50")
    assert raw["Probability"] == 40
    assert deal.modified_time == datetime(2025, 3, 1, 4, 30, tzinfo=UTC)
    with pytest.raises(RecordDecodeError, match="Probability"):
        decoder.normalise_row(header, [*row[:-1], "forty"])
    with pytest.raises(RecordDecodeError, match="cells"):
        decoder.normalise_row(header, row[:-1])
