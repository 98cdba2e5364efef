"""The one table of typed Deal fields (issue 11.6): what each DealRecord attribute is, where it comes from in
Zoho and where it lands in `deals`.

It drives the REST decoder and the Bulk Read decoders (`deal_codec.build_record`, `deal_arrow`), the typed
columns (`deal_columns.RECORD_TYPES`), the transform's validation (a value of an integer, decimal, date or
datetime field that does not parse rejects the record, "unparsable <name>") and its output (a field with a
`column` is copied into that `deals` column, text cut to `text_limit`). Adding a typed field: a row here, the
attribute on `DealRecord` (same position), the column on the `Deal` model, and a migration
(README, "Adding a Deal field").

Every fetched field, typed here or not, is also kept whole in `deals.raw`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# id: the record id; text / integer / decimal / date / datetime: the field's value; lookup_id / lookup_name /
# lookup_email: a lookup's id, name or (user lookups) e-mail.
FieldKind = Literal["id", "text", "integer", "decimal", "date", "datetime", "lookup_id", "lookup_name", "lookup_email"]


@dataclass(frozen=True)
class DealField:
    name: str  # the DealRecord attribute
    api_name: str  # the Zoho Deals field it is read from
    kind: FieldKind
    column: str | None  # the `deals` column it is copied to as is; None: the transform's rules consume it
    text_limit: int | None = None  # the column's width: longer text is cut (the full value stays in raw)
    comment: str = ""  # for analysts: the `deals` column's comment (the data dictionary) when it has a column


DEAL_FIELDS: tuple[DealField, ...] = (  # in DealRecord's attribute order
    DealField("id", "id", "id", "id", comment="Zoho deal id."),
    DealField("deal_name", "Deal_Name", "text", "deal_name", 255, "Deal_Name in Zoho."),
    DealField("account_id", "Account_Name", "lookup_id", "account_id", comment="Zoho id of the deal's account."),
    DealField("account_name", "Account_Name", "lookup_name", "account_name", 255, "Account name."),
    DealField("owner_id", "Owner", "lookup_id", "owner_id", comment="Zoho user id of the deal owner."),
    DealField("owner_name", "Owner", "lookup_name", "owner_name", 255, "Owner's name at the last sync."),
    DealField("owner_email", "Owner", "lookup_email", "owner_email", 255, "Owner's e-mail at the last sync."),
    DealField("stage", "Stage", "text", None, comment="Current stage; stripped, rejected beyond 120 characters."),
    DealField("pipeline", "Pipeline", "text", "pipeline", 120, "Zoho pipeline the deal belongs to."),
    DealField("probability", "Probability", "integer", "probability", comment="Win probability, percent (Zoho Probability)."),
    DealField("amount", "Amount", "decimal", "amount", comment="Amount in the deal's own currency."),
    DealField("currency", "Currency", "text", None, comment="ISO code; upper-cased, the home currency if blank."),
    DealField("exchange_rate", "Exchange_Rate", "decimal", None, comment="The deal's own rate, if Zoho sent one."),
    DealField("closing_date", "Closing_Date", "date", "closing_date", comment="Expected or actual closing date."),
    DealField("created_time", "Created_Time", "datetime", "created_time", comment="Created in Zoho (UTC)."),
    DealField(
        "modified_time", "Modified_Time", "datetime", "modified_time",
        comment="Last modified in Zoho (UTC); drives incremental sync.",
    ),
    DealField(
        "last_activity_time", "Last_Activity_Time", "datetime", "last_activity_time",
        comment="Last activity in Zoho (UTC).",
    ),
    DealField("lead_source", "Lead_Source", "text", "lead_source", 120, "Lead source."),
    DealField("deal_type", "Type", "text", "deal_type", 120, "Zoho Type field (e.g. New Business)."),
    DealField("region", "Region", "text", None, comment="The Region field; the deals column is the resolved region."),
    DealField("country", "Country", "text", "country", 120, "Country field of the deal."),
)  # fmt: skip
FIELDS_BY_NAME = {field.name: field for field in DEAL_FIELDS}
# Metadata data_types each kind can be read from; a file or response with another type for a typed field is
# decoded by deal_codec's reference path.
LOOKUP_TYPES = frozenset({"lookup", "ownerlookup", "userlookup", "layout"})
NUMBER_TYPES = frozenset({"currency", "double", "decimal", "percent", "formula"})
KIND_TYPES: dict[FieldKind, frozenset[str]] = {
    "decimal": NUMBER_TYPES,
    "integer": frozenset({"integer", "bigint"}),
    "date": frozenset({"date"}),
    "datetime": frozenset({"datetime"}),
    "lookup_id": LOOKUP_TYPES,
    "lookup_name": LOOKUP_TYPES,
    "lookup_email": LOOKUP_TYPES,
}


def column_comment(column: str) -> str:
    """The analysts' comment of a `deals` column copied from a field (the model reads it from here)."""
    return next(field.comment for field in DEAL_FIELDS if field.column == column)


def fields_of(api_name: str) -> tuple[DealField, ...]:
    return tuple(field for field in DEAL_FIELDS if field.api_name == api_name)


def api_names(*kinds: FieldKind) -> tuple[str, ...]:
    """The Zoho fields read as one of `kinds`, in table order."""
    return tuple(dict.fromkeys(field.api_name for field in DEAL_FIELDS if field.kind in kinds))
