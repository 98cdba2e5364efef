"""The row-wise deal transform as it was before the columnar rewrite (main at b4b73ac, verbatim apart from
names): the reference `test_columnar_transform_property` compares the vectorised transform against."""

# ruff: noqa
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from orchestration.transforms.deals import DealTransformContext, StageInfo
from pipeline_pulse.services.zoho.records import DealRecord, QuarantinedRecord
from pipeline_pulse.warehouse.currencies import to_home, weighted

STREAM = "deals"
_INVALID = object()
RECORD_FIELDS: tuple[str, ...] = tuple(DealRecord.__dataclass_fields__)
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


@dataclass
class RowwiseResult:
    rows: list[dict[str, Any]]
    rejected: list[QuarantinedRecord]
    unknown_stage_ids: list[int]


def rowwise_frame(records: Sequence[DealRecord]) -> pd.DataFrame:
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


def rowwise_transform(frame: pd.DataFrame, context: DealTransformContext) -> RowwiseResult:
    """The row-wise transform as it was before the columnar one (main at b4b73ac), kept as the reference."""
    if frame.empty:
        return RowwiseResult(rows=[], rejected=[], unknown_stage_ids=[])
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
        return RowwiseResult(rows=[], rejected=rejected, unknown_stage_ids=[])

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
    return RowwiseResult(rows=rows, rejected=rejected, unknown_stage_ids=unknown_stage_ids)
