"""Deal records -> warehouse rows, with pandas.

Rules (documented for analysts in the `deals` asset description too):
- times become UTC (naive values are taken as UTC), closing dates plain dates;
- amount_home = amount / exchange_rate, where the rate is the deal's own Exchange_Rate when Zoho sent one, else
  the currency's rate in force on the deal's Modified_Time day (latest rate dated on or before it); a deal
  without a currency is in the home currency; the rate used is stored in `exchange_rate`;
- weighted_amount_home = amount_home x probability / 100;
- deal_status from the stage's forecast type in `pipeline_stages` (matched on pipeline + stage, else on the
  stage name alone). A stage unknown to the picklist falls back to Zoho's probability: 100 -> won, 0 with
  "lost" in the name or a name starting "closed" -> lost, anything else -> open (the `deals_stages_known`
  check flags such deals);
- forecast_category = the deal's own Forecast_Category__s (Zoho's per-deal value, a rep's override on open
  deals) when set, else the stage's category from `pipeline_stages`; NULL when neither is known;
- region = the Region field if it is a known region code, else the Country's region, else Unassigned
  (case-insensitive);
- rejected (with reason and payload, never loaded): missing id, missing stage, missing or unparsable
  Modified_Time, unparsable amount / exchange rate / dates, probability outside 0..100, unknown currency.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
from sqlalchemy import Connection, select

from pipeline_pulse.models import PipelineStage
from pipeline_pulse.services.zoho.records import DealRecord, QuarantinedRecord
from pipeline_pulse.warehouse.currencies import CurrencyRates, load_currency_rates, to_home, weighted
from pipeline_pulse.warehouse.regions import RegionMapper, load_region_mapper

STREAM = "deals"
_INVALID = object()
RECORD_FIELDS: tuple[str, ...] = tuple(DealRecord.__dataclass_fields__)
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
CATEGORY_FIELD = "Forecast_Category__s"


@dataclass(frozen=True)
class StageInfo:
    forecast_type: str | None
    forecast_category: str | None
    deal_status: str


@dataclass(frozen=True)
class DealTransformContext:
    """Everything the transform looks up, read once per run from the dimension tables."""

    rates: CurrencyRates
    regions: RegionMapper
    stages: Mapping[tuple[str, str], StageInfo] = field(default_factory=dict)
    stages_by_name: Mapping[str, StageInfo] = field(default_factory=dict)


@dataclass
class DealTransformResult:
    rows: list[dict[str, Any]]
    rejected: list[QuarantinedRecord]
    unknown_stage_ids: list[int]

    @property
    def cursor_ids(self) -> list[int]:
        return [row["id"] for row in self.rows]


def load_transform_context(connection: Connection, home_currency: str | None = None) -> DealTransformContext:
    stages: dict[tuple[str, str], StageInfo] = {}
    by_name: dict[str, StageInfo] = {}
    rows = connection.execute(
        select(
            PipelineStage.pipeline,
            PipelineStage.stage,
            PipelineStage.forecast_type,
            PipelineStage.forecast_category,
            PipelineStage.deal_status,
            PipelineStage.is_active,
        ).order_by(PipelineStage.is_active, PipelineStage.sequence)
    ).all()
    for pipeline, stage, forecast_type, category, status, _active in rows:
        info = StageInfo(forecast_type, category, status)
        stages[(pipeline, stage)] = info
        by_name[stage.casefold()] = info  # active stages sort last, so they win
    return DealTransformContext(
        rates=load_currency_rates(connection, home_currency),
        regions=load_region_mapper(connection),
        stages=stages,
        stages_by_name=by_name,
    )


def records_to_frame(records: Sequence[DealRecord]) -> pd.DataFrame:
    """One row per record, every column object-typed (19-digit ids must not pass through float)."""
    data = {name: [getattr(record, name, None) for record in records] for name in RECORD_FIELDS}
    return pd.DataFrame(data, dtype=object)


def _map_obj(series: pd.Series, function: Any) -> pd.Series:
    """Element-wise map that stays object-typed (Series.map would infer float and round 19-digit ids)."""
    return pd.Series([function(value) for value in series], index=series.index, dtype=object)


def _to_int(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, bool):
        return _INVALID
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        try:
            as_decimal = Decimal(str(value).strip())
        except InvalidOperation:
            return _INVALID
        if as_decimal != as_decimal.to_integral_value():
            return _INVALID
        number = int(as_decimal)
    return number


def _to_decimal(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else _INVALID
    if isinstance(value, bool):
        return _INVALID
    text = str(value).strip().replace(",", "")
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return _INVALID
    return number if number.is_finite() else _INVALID


def _utc_times(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(UTC timestamps, mask of values that were present but unparsable)."""
    present = series.map(
        lambda v: (
            v is not None and not (isinstance(v, str) and not v.strip()) and not (isinstance(v, float) and pd.isna(v))
        )
    )
    parsed = pd.to_datetime(series.where(present, None), utc=True, errors="coerce", format="ISO8601")
    return parsed, present & parsed.isna()


def _dates(series: pd.Series) -> tuple[list[date | None], pd.Series]:
    values: list[date | None] = []
    bad: list[bool] = []
    for value in series:
        if (
            value is None
            or (isinstance(value, float) and pd.isna(value))
            or (isinstance(value, str) and not value.strip())
        ):
            values.append(None)
            bad.append(False)
        elif isinstance(value, datetime):
            values.append(value.date())
            bad.append(False)
        elif isinstance(value, date):
            values.append(value)
            bad.append(False)
        else:
            try:
                values.append(date.fromisoformat(str(value).strip()[:10]))
                bad.append(False)
            except ValueError:
                values.append(None)
                bad.append(True)
    return values, pd.Series(bad, index=series.index, dtype=bool)


def _status_fallback(stage: str, probability: int | None) -> str:
    name = stage.strip().casefold()
    if probability == 100:
        return "won"
    if probability == 0 and ("lost" in name or name.startswith("closed")):
        return "lost"
    return "open"


def _json_safe(raw: Any) -> dict[str, Any]:
    if not raw:
        return {}
    return json.loads(json.dumps(dict(raw), default=str, ensure_ascii=False))


def _own_category(raw: Any) -> str | None:
    """The deal's Forecast_Category__s; blank (a CSV cell) and Zoho's "-None-" mean unset."""
    value = raw.get(CATEGORY_FIELD) if raw else None
    if isinstance(value, dict):  # a picklist sent as {"name": ..., "id": ...}
        value = value.get("name")
    if not isinstance(value, str) or not value.strip() or value.strip() == "-None-":
        return None
    return value.strip()


def _pydatetime(value: Any) -> datetime | None:
    return None if pd.isna(value) else value.to_pydatetime()


def transform_deals(frame: pd.DataFrame, context: DealTransformContext) -> DealTransformResult:
    """Validate and enrich a frame from `records_to_frame`. Never raises on bad data: bad rows are rejected."""
    if frame.empty:
        return DealTransformResult(rows=[], rejected=[], unknown_stage_ids=[])
    df = frame.copy()
    reasons = pd.Series([None] * len(df), index=df.index, dtype=object)

    def reject(mask: pd.Series, reason: Any) -> None:
        nonlocal reasons
        target = mask & reasons.isna()
        if target.any():
            reasons = reasons.where(~target, reason if isinstance(reason, str) else reason[target])

    df["id"] = _map_obj(df["id"], _to_int)
    reject(
        df["id"].map(lambda v: v is None or v is _INVALID or (isinstance(v, int) and v <= 0)), "missing or invalid id"
    )
    for name in ("account_id", "owner_id", "probability"):
        df[name] = _map_obj(df[name], _to_int)
        reject(df[name].map(lambda v: v is _INVALID), f"unparsable {name}")
    reject(df["probability"].map(lambda v: isinstance(v, int) and not 0 <= v <= 100), "probability outside 0..100")

    reject(df["stage"].map(lambda v: not isinstance(v, str) or not v.strip()), "missing stage")
    reject(df["stage"].map(lambda v: isinstance(v, str) and len(v) > 120), "stage name longer than 120 characters")

    for name in ("amount", "exchange_rate"):
        original = df[name]
        df[name] = _map_obj(original, _to_decimal)
        bad = df[name].map(lambda v: v is _INVALID)
        reject(bad, original.map(lambda v, n=name: f"unparsable {n}: {str(v)[:60]!r}"))

    modified, _ = _utc_times(df["modified_time"])
    reject(modified.isna(), "missing or unparsable Modified_Time")
    for name in ("created_time", "last_activity_time"):
        parsed, bad = _utc_times(df[name])
        df[name] = parsed
        reject(bad, f"unparsable {name}")
    df["modified_time"] = modified
    closing, bad_closing = _dates(df["closing_date"])
    df["closing_date"] = pd.Series(closing, index=df.index, dtype=object)
    reject(bad_closing, "unparsable closing_date")

    rates = context.rates
    currency = _map_obj(df["currency"], lambda v: v.strip().upper() if isinstance(v, str) and v.strip() else None)
    df["currency"] = _map_obj(currency, lambda v: v if v is not None else rates.home)
    reject(df["currency"].isna(), "no currency and no home currency known")
    reject(
        df["currency"].map(lambda v: v is not None and not rates.knows(v)),
        df["currency"].map(lambda v: f"unknown currency {v!r}"),
    )

    rejected_mask = reasons.notna()
    rejected = [
        QuarantinedRecord(
            stream=STREAM,
            zoho_id=None if frame.at[index, "id"] is None else str(frame.at[index, "id"]),
            reason=str(reasons[index]),
            payload=_json_safe(frame.at[index, "raw"])
            or {k: str(frame.at[index, k]) for k in RECORD_FIELDS if k != "raw"},
        )
        for index in df.index[rejected_mask]
    ]
    good = df[~rejected_mask].copy()
    if good.empty:
        return DealTransformResult(rows=[], rejected=rejected, unknown_stage_ids=[])

    # Newest version of each id wins if a page carries one twice.
    good = good.sort_values("modified_time", kind="stable").drop_duplicates("id", keep="last")

    stage_infos: list[StageInfo | None] = [
        context.stages.get((pipeline, stage)) or context.stages_by_name.get(stage.casefold())
        for pipeline, stage in zip(good["pipeline"], good["stage"], strict=True)
    ]
    good["region_code"] = [
        context.regions.resolve(region, country)
        for region, country in zip(good["region"], good["country"], strict=True)
    ]

    categories = [_own_category(raw) for raw in good["raw"]]

    rows: list[dict[str, Any]] = []
    unknown_stage_ids: list[int] = []
    # Plain dicts, not iterrows(): a Series per row and its __getitem__ were 40% of the transform.
    for deal, info, own_category in zip(good.to_dict("records"), stage_infos, categories, strict=True):
        modified_at: datetime = deal["modified_time"].to_pydatetime()
        rate = deal["exchange_rate"] if deal["exchange_rate"] is not None and deal["exchange_rate"] > 0 else None
        if rate is None:
            rate = rates.rate(deal["currency"], modified_at.date())
        amount_home = to_home(deal["amount"], rate)
        if info is None:
            unknown_stage_ids.append(deal["id"])
            status = _status_fallback(deal["stage"], deal["probability"])
        else:
            status = info.deal_status
        row = {
            "id": deal["id"],
            "deal_name": deal["deal_name"],
            "account_id": deal["account_id"],
            "account_name": deal["account_name"],
            "owner_id": deal["owner_id"],
            "owner_name": deal["owner_name"],
            "owner_email": deal["owner_email"],
            "stage": deal["stage"].strip(),
            "pipeline": deal["pipeline"],
            "probability": deal["probability"],
            "forecast_category": own_category or (info.forecast_category if info else None),
            "forecast_type": info.forecast_type if info else None,
            "deal_status": status,
            "amount": deal["amount"],
            "currency": deal["currency"],
            "exchange_rate": rate,
            "amount_home": amount_home,
            "weighted_amount_home": weighted(amount_home, deal["probability"]),
            "closing_date": deal["closing_date"],
            "created_time": _pydatetime(deal["created_time"]),
            "modified_time": modified_at,
            "last_activity_time": _pydatetime(deal["last_activity_time"]),
            "lead_source": deal["lead_source"],
            "deal_type": deal["deal_type"],
            "country": deal["country"],
            "region": deal["region_code"],
            "raw": _json_safe(deal["raw"]),
        }
        for name, limit in TEXT_LIMITS.items():
            value = row[name]
            row[name] = value[:limit] if isinstance(value, str) else (None if value is None else str(value)[:limit])
        rows.append(row)
    return DealTransformResult(rows=rows, rejected=rejected, unknown_stage_ids=unknown_stage_ids)
