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


CSV_TYPES = {
    **TYPES,
    "Created_Time": "datetime",
    "Last_Activity_Time": "datetime",
    "Created_By": "ownerlookup",
    "Layout": "layout",
    "Deal_Age_Days": "formula",
}
CSV_HEADER = (
    "id", "Owner", "Deal_Name", "Account_Name", "Amount", "Exchange_Rate", "Closing_Date", "Created_Time",
    "Modified_Time", "Last_Activity_Time", "Probability", "Renewal", "Stage", "Tags", "Created_By", "Layout",
    "Deal_Age_Days", "Not_In_Metadata",
)  # fmt: skip


def csv_row(**overrides: str) -> list[str]:
    cells = {
        "id": "4876876000100000001", "Owner": "4876876000000200001", "Deal_Name": "Big deal",
        "Account_Name": "4876876000001000001", "Amount": "1234.50", "Exchange_Rate": "0.74",
        "Closing_Date": "2025-03-31", "Created_Time": "2024-01-02T03:04:05+00:00",
        "Modified_Time": "2025-03-01T10:00:00+05:30", "Last_Activity_Time": "", "Probability": "40",
        "Renewal": "false", "Stage": "Closed Won", "Tags": "a;b", "Created_By": "4876876000000200009",
        "Layout": "4876876000000091055", "Deal_Age_Days": "-3", "Not_In_Metadata": "x",
    }  # fmt: skip
    cells.update(overrides)
    return [cells[key] for key in CSV_HEADER]


BAD_CELLS = [
    ("id", "48x"), ("Owner", "ana"), ("Account_Name", "Acme"), ("Amount", "12,5"), ("Amount", "NaN"),
    ("Exchange_Rate", "inf"), ("Closing_Date", "31/03/2025"), ("Closing_Date", "2025-02-30"),
    ("Created_Time", "2024-01-02T03:04:05"), ("Modified_Time", "yesterday"), ("Probability", "40.5"),
    ("Renewal", "yes"), ("Created_By", "-1"), ("Layout", "1.5"), ("Deal_Age_Days", "-inf"),
]  # fmt: skip
GOOD_CELLS = [
    ("Amount", "7"), ("Amount", "-7"), ("Amount", "1e3"), ("Exchange_Rate", ""), ("Modified_Time", "2025-03-01T10:00:00Z"),
    ("Created_Time", "2024-01-02T03:04:05.250000+00:00"), ("Renewal", "TRUE"), ("Owner", ""), ("Account_Name", ""),
    ("Closing_Date", ""), ("Deal_Age_Days", "-3.5"), ("Owner", "4876876000000299999"),
]  # fmt: skip


def test_fast_csv_path_equals_the_reference_path_row_by_row() -> None:
    users = {"4876876000000200001": ("Ana", "ana@example.com"), "4876876000000200009": ("Bo", None)}
    rows = [csv_row()] + [csv_row(**{k: v}) for k, v in GOOD_CELLS + BAD_CELLS] + [csv_row()[:-1]]
    reference = DealCsvDecoder(CSV_TYPES, users)
    expected, expected_bad = [], []
    for row in rows:
        try:
            expected.append(build_record(*reference.normalise_row_with_times(CSV_HEADER, row)))
        except RecordDecodeError as exc:
            expected_bad.append((row[0], str(exc)))
    records, rejected = DealCsvDecoder(CSV_TYPES, users).decode_rows(CSV_HEADER, iter(rows))
    assert records == expected
    assert len(records) == 1 + len(GOOD_CELLS)
    assert [(bad.zoho_id, bad.reason) for bad in rejected] == expected_bad
    assert len(rejected) == len(BAD_CELLS) + 1
    for bad, (field, _value) in zip(rejected, BAD_CELLS, strict=False):
        assert bad.reason.startswith(field)
        assert bad.payload == dict(zip(CSV_HEADER, bad.payload.values(), strict=True))
    for deal in records:
        assert json.loads(json.dumps(deal.raw, allow_nan=False)) == deal.raw
        assert deal.modified_time is not None
        assert deal.modified_time.tzinfo is UTC
        assert type(deal.id) is int
        assert isinstance(deal.amount, Decimal | None)
    first = records[0]
    assert (first.owner_name, first.owner_email, first.amount) == ("Ana", "ana@example.com", Decimal("1234.50"))
    assert first.raw["Created_By"] == {"id": "4876876000000200009", "name": "Bo", "email": None}
    assert first.raw["Modified_Time"] == "2025-03-01T04:30:00+00:00"
    assert first.raw["Deal_Age_Days"] == -3
    assert first.raw["Tags"] == ["a", "b"]
    assert first.raw["Owner"] is not records[1].raw["Owner"]  # no shared mutable lookups between records


def test_fast_csv_path_falls_back_on_unusual_metadata() -> None:
    types = {**CSV_TYPES, "Amount": "text"}
    row = csv_row()
    reference = build_record(*DealCsvDecoder(types, {}).normalise_row_with_times(CSV_HEADER, row))
    records, rejected = DealCsvDecoder(types, {}).decode_rows(CSV_HEADER, [row])
    assert records == [reference]
    assert not rejected


def test_fast_record_factory_builds_the_same_frozen_dealrecord() -> None:
    from dataclasses import FrozenInstanceError, fields

    from pipeline_pulse.services.zoho.deal_codec import _make_record
    from pipeline_pulse.services.zoho.records import DealRecord

    values = [f"v{i}" for i in range(len(fields(DealRecord)) - 1)] + [{"id": "1"}]
    made, reference = _make_record(*values), DealRecord(*values)
    assert type(made) is DealRecord
    assert made == reference
    assert repr(made) == repr(reference)
    with pytest.raises(FrozenInstanceError):
        made.id = 5  # type: ignore[misc]
