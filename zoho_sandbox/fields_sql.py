"""API field name -> SQL expression producing that field's JSON value for one ``deals d`` row.

SQLite's json_object() builds each record in C, which is what makes paging fast enough (no per-record
Python dicts on the hot path).
"""

# SQL is assembled only from whitelisted column/field names (DEAL_FIELD_SQL, SORT_COLUMNS); values are bound.
# ruff: noqa: S608

from __future__ import annotations

from . import reference as ref


def _dt(column: str) -> str:
    return f"strftime('%Y-%m-%dT%H:%M:%S+00:00', {column}, 'unixepoch')"


def _user(column: str) -> str:
    return f"json((SELECT ref FROM users WHERE id = {column}))"


def _bool(column: str) -> str:
    return f"json(CASE WHEN {column} THEN 'true' ELSE 'false' END)"


_LAYOUT = f'{{"name":"Standard","id":"{ref.LAYOUT_ID}"}}'

# Order = the order Zoho's field metadata lists them (metadata.py builds from the same names).
DEAL_FIELD_SQL: dict[str, str] = {
    "Owner": _user("d.owner_id"),
    "Deal_Name": "d.deal_name",
    "Account_Name": "json((SELECT ref FROM accounts WHERE id = d.account_id))",
    "Contact_Name": "json((SELECT ref FROM contacts WHERE id = d.contact_id))",
    "Campaign_Source": "json((SELECT ref FROM campaigns WHERE id = d.campaign_id))",
    "Amount": "d.amount",
    "Currency": "d.currency",
    "Exchange_Rate": "d.exchange_rate",
    "Closing_Date": "d.closing_date",
    "Stage": "d.stage",
    "Pipeline": "d.pipeline",
    "Probability": "d.probability",
    "Expected_Revenue": "d.expected_revenue",
    "Forecast_Category__s": "d.forecast_category",
    "Type": "d.type",
    "Lead_Source": "d.lead_source",
    "Next_Step": "d.next_step",
    "Description": "d.description",
    "Created_By": _user("d.created_by"),
    "Modified_By": _user("d.modified_by"),
    "Created_Time": _dt("d.created_time"),
    "Modified_Time": _dt("d.modified_time"),
    "Last_Activity_Time": _dt("d.last_activity_time"),
    "Reason_For_Loss__s": "d.reason_for_loss",
    "Sales_Cycle_Duration": "d.sales_cycle_duration",
    "Overall_Sales_Duration": "d.overall_sales_duration",
    "Lead_Conversion_Time": "d.lead_conversion_time",
    "Region": "d.region",
    "Country": "d.country",
    "Solution_Type": "d.solution_type",
    "Product_Line": "d.product_line",
    "Deal_Age_Days": "d.deal_age_days",
    "Contract_Term_Months": "d.contract_term_months",
    "Renewal": _bool("d.renewal"),
    "Partner_Name": "d.partner_name",
    "Competitor": "d.competitor",
    "Locked__s": _bool("d.locked"),
    "Layout": f"json('{_LAYOUT}')",
}
# Sortable API fields -> column.
SORT_COLUMNS = {"id": "d.id", "Created_Time": "d.created_time", "Modified_Time": "d.modified_time"}
# Bulk Read CSV: lookups export as their id, like Zoho's bulk export.
CSV_FIELD_SQL: dict[str, str] = {
    **DEAL_FIELD_SQL,
    "Owner": "CAST(d.owner_id AS TEXT)",
    "Account_Name": "CAST(d.account_id AS TEXT)",
    "Contact_Name": "CAST(d.contact_id AS TEXT)",
    "Campaign_Source": "CAST(d.campaign_id AS TEXT)",
    "Created_By": "CAST(d.created_by AS TEXT)",
    "Modified_By": "CAST(d.modified_by AS TEXT)",
    "Renewal": "CASE WHEN d.renewal THEN 'true' ELSE 'false' END",
    "Locked__s": "CASE WHEN d.locked THEN 'true' ELSE 'false' END",
    "Layout": f"'{ref.LAYOUT_ID}'",
}


def record_select(fields: list[str]) -> str:
    """SQL expression for one record holding ``id`` plus the requested API fields."""
    parts = ["'id'", "CAST(d.id AS TEXT)"]
    for name in fields:
        if name == "id":
            continue
        parts.append(f"'{name}'")
        parts.append(DEAL_FIELD_SQL[name])
    return "json_object(" + ", ".join(parts) + ")"


# Expressions that never need CSV quoting: ids, datetimes, booleans, literals and numeric columns.
_CSV_SAFE_PREFIXES = ("CAST(", "CASE ", "strftime(", "'")
NUMERIC_COLUMNS = frozenset(
    {
        "d.amount",
        "d.exchange_rate",
        "d.probability",
        "d.expected_revenue",
        "d.sales_cycle_duration",
        "d.overall_sales_duration",
        "d.lead_conversion_time",
        "d.deal_age_days",
        "d.contract_term_months",
    }
)


def _csv_cell(expr: str) -> tuple[str, str]:
    """printf() conversion and argument for one CSV cell: numbers, ids, datetimes and booleans bare (%s prints
    NULL as ''), text always double-quoted with inner quotes doubled (%w), which any CSV reader parses back."""
    if expr.startswith(_CSV_SAFE_PREFIXES) or expr in NUMERIC_COLUMNS:
        return "%s", expr
    return '"%w"', f"ifnull({expr}, '')"


def csv_line_select(fields: list[str]) -> str:
    """SQL expression for one Bulk Read CSV line (no terminator): id, then ``fields`` (``id`` skipped).

    One printf() per row, built in C by SQLite: a result page costs one Python string per row and no csv
    module work.
    """
    cells = [("%s", "d.id"), *(_csv_cell(CSV_FIELD_SQL[f]) for f in fields if f != "id")]
    return "printf('" + ",".join(c for c, _ in cells) + "', " + ", ".join(a for _, a in cells) + ")"
