"""The field table (issue 11.6) agrees with everything it drives: DealRecord, the Deal model, the typed
Arrow columns, the deals batch schema and both decoders."""

from __future__ import annotations

from dataclasses import fields

from sqlalchemy import String

from pipeline_pulse.models import Deal
from pipeline_pulse.services.zoho.deal_codec import DealCsvDecoder, DealJsonDecoder
from pipeline_pulse.services.zoho.deal_columns import RECORD_TYPES
from pipeline_pulse.services.zoho.deal_fields import DEAL_FIELDS, column_comment
from pipeline_pulse.services.zoho.records import DealRecord
from pipeline_pulse.warehouse.deal_batch import DEAL_SCHEMA, TEXT_LIMITS
from pipeline_pulse.warehouse.deals import DEAL_DATA_COLUMNS


def test_the_record_has_one_attribute_per_row_in_table_order() -> None:
    assert [f.name for f in fields(DealRecord)] == [*(field.name for field in DEAL_FIELDS), "raw"]
    assert list(RECORD_TYPES) == [field.name for field in DEAL_FIELDS]


def test_copied_columns_exist_with_the_tables_width_and_comment() -> None:
    table = Deal.__table__
    for field in DEAL_FIELDS:
        if field.column is None:
            continue
        column = table.c[field.column]
        assert column.comment == field.comment == column_comment(field.column)
        if isinstance(column.type, String) and column.type.length:
            assert field.text_limit == column.type.length, field
            assert TEXT_LIMITS[field.column] == column.type.length
    assert set(DEAL_SCHEMA.names) == set(DEAL_DATA_COLUMNS)


def test_both_decoders_fill_every_field_from_its_api_name() -> None:
    types = {"Deal_Name": "text", "Owner": "ownerlookup", "Account_Name": "lookup", "Amount": "currency",
             "Exchange_Rate": "double", "Closing_Date": "date", "Created_Time": "datetime",
             "Modified_Time": "datetime", "Last_Activity_Time": "datetime", "Probability": "integer",
             "Stage": "picklist", "Pipeline": "picklist", "Currency": "picklist", "Lead_Source": "picklist",
             "Type": "picklist", "Region": "picklist", "Country": "picklist"}  # fmt: skip
    rest = {
        "id": "4876876000100000001", "Deal_Name": "D", "Owner": {"id": "7", "name": "Ana", "email": "a@x"},
        "Account_Name": {"id": "8", "name": "Acme"}, "Amount": 10.5, "Exchange_Rate": 2, "Closing_Date": "2025-01-31",
        "Created_Time": "2025-01-01T00:00:00+00:00", "Modified_Time": "2025-01-02T00:00:00+00:00",
        "Last_Activity_Time": "2025-01-03T00:00:00+00:00", "Probability": 40, "Stage": "S", "Pipeline": "P",
        "Currency": "USD", "Lead_Source": "Web", "Type": "New", "Region": "APAC", "Country": "Japan",
    }  # fmt: skip
    from_rest = DealJsonDecoder(types).decode(dict(rest))
    header = tuple(rest)
    cells = [v["id"] if isinstance(v, dict) else str(v) for v in rest.values()]
    [from_csv], rejected = DealCsvDecoder(types, {"7": ("Ana", "a@x")}, {"Account_Name": {"8": "Acme"}}).decode_rows(
        header, [cells]
    )
    assert not rejected
    for field in DEAL_FIELDS:
        assert getattr(from_rest, field.name) is not None, field
        assert getattr(from_rest, field.name) == getattr(from_csv, field.name), field
