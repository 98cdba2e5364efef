"""Deal records -> warehouse rows, as column operations (pyarrow.compute) on one page at a time.

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
  Modified_Time, unparsable amount / exchange rate / dates, probability outside 0..100, unknown currency, an
  amount of 10^18 or more (beyond the warehouse column).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, select

from pipeline_pulse.models import PipelineStage
from pipeline_pulse.services.zoho.deal_columns import (
    OWN_CATEGORY,
    QUOTED,
    RAW_JSON,
    RECORD_FIELDS,
    bad_column,
    records_to_frame,
    text_column,
)
from pipeline_pulse.services.zoho.deal_fields import DEAL_FIELDS
from pipeline_pulse.services.zoho.records import QuarantinedRecord
from pipeline_pulse.warehouse.currencies import CurrencyRates, load_currency_rates
from pipeline_pulse.warehouse.deal_batch import DEAL_SCHEMA, TEXT_LIMITS, batch_rows
from pipeline_pulse.warehouse.regions import RegionMapper, load_region_mapper

__all__ = [
    "STREAM",
    "DealTransformContext",
    "DealTransformResult",
    "StageInfo",
    "load_transform_context",
    "records_to_frame",
    "transform_deals",
]

STREAM = "deals"
# Amounts beyond Numeric(20, 2) would fail the whole load: such a record is rejected instead.
AMOUNT_LIMIT = Decimal(10) ** 18
_STATUS_BY_TYPE = ("open", "won", "lost")


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
    """`batch`: the deals rows as Arrow columns (DEAL_SCHEMA), what the loader COPYs; `rows` the same as dicts."""

    batch: pa.Table
    rejected: list[QuarantinedRecord]
    unknown_stage_ids: list[int]

    @property
    def rows(self) -> list[dict[str, Any]]:
        return batch_rows(self.batch)

    @property
    def cursor_ids(self) -> list[int]:
        return self.batch.column("id").to_pylist()


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


def _map_distinct(columns: Sequence[pa.Array], function: Callable[..., Any], out_type: pa.DataType) -> pa.Array:
    """`function` applied to each distinct combination of the columns' values (a Python call per distinct
    combination, not per row: stages, regions, currencies and days repeat), spread back over the rows."""
    encoded = [pc.dictionary_encode(column, null_encoding="encode") for column in columns]
    code: pa.Array | None = None
    dictionaries = [e.dictionary.to_pylist() for e in encoded]
    for e, dictionary in zip(encoded, dictionaries, strict=True):
        indices = e.indices.cast(pa.int64())
        code = indices if code is None else pc.add(pc.multiply(code, len(dictionary) or 1), indices)
    assert code is not None
    distinct = pc.unique(code)
    values = []
    for key in distinct.to_pylist():
        parts = []
        for dictionary in reversed(dictionaries):
            size = len(dictionary) or 1
            key, index = divmod(key, size)
            parts.append(dictionary[index] if dictionary else None)
        values.append(function(*reversed(parts)))
    return pa.array(values, type=out_type).take(pc.index_in(code, value_set=distinct))


def _column_or_false(table: pa.Table, name: str) -> pa.Array:
    if name in table.column_names:
        return pc.fill_null(table.column(name).combine_chunks(), False)
    return pa.array([False] * table.num_rows, pa.bool_())


def _blank(values: pa.Array) -> pa.Array:
    return pc.fill_null(pc.equal(pc.utf8_trim_whitespace(values), ""), True)


def _currency_code(value: str | None) -> str | None:
    return value.strip().upper() if isinstance(value, str) and value.strip() else None


def _status_fallback_flags(stage: str | None) -> bool:
    """True when a stage unknown to the picklist reads as lost (with probability 0): "lost" in the name or a
    name starting "closed"."""
    name = (stage or "").strip().casefold()
    return "lost" in name or name.startswith("closed")


def _names(*kinds: str) -> list[str]:
    """The field table's typed fields of these kinds, in table order within each kind."""
    return [field.name for kind in kinds for field in DEAL_FIELDS if field.kind == kind]


def _rejection_reasons(table: pa.Table, context: DealTransformContext, currency: pa.Array) -> pa.Array:
    """The first failed rule of each row (null: the row is good), in the documented order."""
    rules: list[tuple[pa.Array, Any]] = []
    ids = table.column("id").combine_chunks()
    rules.append(
        (
            pc.or_(_column_or_false(table, bad_column("id")), pc.fill_null(pc.less_equal(ids, 0), True)),
            "missing or invalid id",
        )
    )
    for name in _names("lookup_id", "integer"):
        rules.append((_column_or_false(table, bad_column(name)), f"unparsable {name}"))
    probability = table.column("probability").combine_chunks()
    outside = pc.or_(pc.less(probability, 0), pc.greater(probability, 100))
    rules.append((pc.fill_null(outside, False), "probability outside 0..100"))
    stage = table.column("stage").combine_chunks()
    rules.append((_blank(stage), "missing stage"))
    rules.append((pc.fill_null(pc.greater(pc.utf8_length(stage), 120), False), "stage name longer than 120 characters"))
    for name in _names("decimal"):
        bad = _column_or_false(table, bad_column(name))
        if name in QUOTED and text_column(name) in table.column_names:
            texts = table.column(text_column(name)).combine_chunks()
            quoted = pa.array(
                [None if t is None else f"unparsable {name}: {t[:60]!r}" for t in texts.filter(bad).to_pylist()]
            )
            reason: Any = pa.array([None] * table.num_rows, pa.string())
            positions = pc.indices_nonzero(bad)
            reason = _scatter(reason, positions, quoted)
            rules.append((bad, reason))
        else:
            rules.append((bad, f"unparsable {name}"))
    amount = table.column("amount").combine_chunks()
    limit = pa.scalar(AMOUNT_LIMIT, amount.type)
    huge = pc.or_(pc.greater_equal(amount, limit), pc.less_equal(amount, pc.negate(limit)))
    rules.append((pc.fill_null(huge, False), "amount outside the warehouse's range (|amount| < 10^18)"))
    rules.append((pc.is_null(table.column("modified_time").combine_chunks()), "missing or unparsable Modified_Time"))
    for name in _names("datetime", "date"):
        if name != "modified_time":  # the cursor field: missing is as bad as unparsable (above)
            rules.append((_column_or_false(table, bad_column(name)), f"unparsable {name}"))
    rules.append((pc.is_null(currency), "no currency and no home currency known"))
    rates = context.rates
    unknown = _map_distinct([currency], lambda code: code is not None and not rates.knows(code), pa.bool_())
    unknown_reason = _map_distinct([currency], lambda code: f"unknown currency {code!r}", pa.string())
    rules.append((unknown, unknown_reason))

    reasons = pa.array([None] * table.num_rows, pa.string())
    for mask, reason in reversed(rules):  # the first rule that fails wins
        value = reason if isinstance(reason, pa.Array) else pa.scalar(reason, pa.string())
        reasons = pc.if_else(mask, value, reasons)
    return reasons


def _scatter(target: pa.Array, positions: pa.Array, values: pa.Array) -> pa.Array:
    """`target` with `values` put at `positions` (rare: only rows with an unparsable quoted value)."""
    out = target.to_pylist()
    for position, value in zip(positions.to_pylist(), values.to_pylist(), strict=True):
        out[position] = value
    return pa.array(out, type=target.type)


def _quarantined(table: pa.Table, reasons: pa.Array, rejected_mask: pa.Array) -> list[QuarantinedRecord]:
    """One QuarantinedRecord per rejected row (its reason and payload: `raw`, else the record's fields)."""
    bad = table.filter(rejected_mask)
    out: list[QuarantinedRecord] = []
    fields = [name for name in RECORD_FIELDS if name != "raw" and name in bad.column_names]
    for row, reason in zip(bad.to_pylist(), reasons.filter(rejected_mask).to_pylist(), strict=True):
        payload = json.loads(row[RAW_JSON]) if row[RAW_JSON] else {}
        if not payload:
            payload = {name: str(row[name]) for name in fields}
        zoho_id = row["id"]
        out.append(
            QuarantinedRecord(
                stream=STREAM, zoho_id=None if zoho_id is None else str(zoho_id), reason=str(reason), payload=payload
            )
        )
    return out


def _newest_per_id(good: pa.Table) -> pa.Table:
    """The newest version of each id, if a page carries one twice (then sorted by (modified_time, position));
    a page of distinct ids - every Bulk Read chunk, nearly every REST page - is returned as it is (no copy)."""
    if pc.count_distinct(good.column("id")).as_py() == good.num_rows:
        return good
    order = pa.array(range(good.num_rows), pa.int64())
    good = good.append_column("_position", order)
    good = good.take(pc.sort_indices(good, sort_keys=[("modified_time", "ascending"), ("_position", "ascending")]))
    good = good.set_column(good.schema.get_field_index("_position"), "_position", order)
    kept = good.group_by("id", use_threads=False).aggregate([("_position", "max")]).column("_position_max")
    good = good.take(pc.take(kept, pc.sort_indices(kept)))
    return good.drop_columns(["_position"])


def _rates_used(good: pa.Table, currency: pa.Array, rates: CurrencyRates) -> pa.Array:
    """The deal's own Exchange_Rate when positive, else its currency's rate in force on its Modified_Time day."""
    own = good.column("exchange_rate").combine_chunks()
    usable = pc.fill_null(pc.greater(own, pa.scalar(Decimal(0), own.type)), False)
    day = pc.cast(good.column("modified_time").combine_chunks(), pa.date32())
    dated = _map_distinct(
        [currency, day], lambda code, on: rates.rate(code, on) if code is not None else None, own.type
    )
    return pc.if_else(usable, own, dated)


def _to_home(amount: pa.Array, rate: pa.Array) -> pa.Array:
    """amount / rate, half away from zero to cents (Zoho's convention); null without amount or positive rate."""
    wide_amount = amount.cast(pa.decimal256(30, 9))
    positive = pc.fill_null(pc.greater(rate, pa.scalar(Decimal(0), rate.type)), False)
    safe_rate = pc.if_else(positive, rate, pa.scalar(Decimal(1), rate.type)).cast(pa.decimal256(20, 9))
    quotient = pc.round(pc.divide(wide_amount, safe_rate), 2, round_mode="half_towards_infinity")
    home = pc.if_else(positive, quotient, pa.scalar(None, quotient.type))
    return home.cast(pa.decimal128(38, 2))


def _weighted(amount_home: pa.Array, probability: pa.Array) -> pa.Array:
    """amount_home x probability / 100, half away from zero to cents."""
    percent = probability.cast(pa.int16()).cast(pa.decimal256(5, 0))  # 0..100, checked before
    product = pc.multiply(amount_home.cast(pa.decimal256(40, 2)), percent)
    share = pc.divide(product, pa.scalar(Decimal(100), pa.decimal256(3, 0)))
    return pc.round(share, 2, round_mode="half_towards_infinity").cast(pa.decimal128(38, 2))


def transform_deals(frame: pa.Table, context: DealTransformContext) -> DealTransformResult:
    """Validate and enrich a frame from `records_to_frame`. Never raises on bad data: bad rows are rejected."""
    if frame.num_rows == 0:
        return DealTransformResult(batch=DEAL_SCHEMA.empty_table(), rejected=[], unknown_stage_ids=[])
    rates = context.rates
    currency = _map_distinct(
        [frame.column("currency").combine_chunks()],
        lambda value: _currency_code(value) or rates.home,
        pa.string(),
    )
    reasons = _rejection_reasons(frame, context, currency)
    rejected_mask = pc.is_valid(reasons)
    rejected = _quarantined(frame, reasons, rejected_mask) if pc.any(rejected_mask).as_py() else []
    if rejected:  # else no copy of the page
        good_mask = pc.invert(rejected_mask)
        good = frame.filter(good_mask).append_column("_currency", currency.filter(good_mask))
    else:
        good = frame.append_column("_currency", currency)
    if good.num_rows == 0:
        return DealTransformResult(batch=DEAL_SCHEMA.empty_table(), rejected=rejected, unknown_stage_ids=[])
    good = _newest_per_id(good)
    currency = good.column("_currency").combine_chunks()
    pipeline = good.column("pipeline").combine_chunks()
    stage = good.column("stage").combine_chunks()
    probability = good.column("probability").combine_chunks()

    infos: list[StageInfo | None] = [None]
    info_index: dict[StageInfo, int] = {}

    def stage_info(pipeline_name: str | None, stage_name: str) -> int:
        info = context.stages.get((pipeline_name, stage_name)) or context.stages_by_name.get(stage_name.casefold())  # type: ignore[arg-type]
        if info is None:
            return 0
        if info not in info_index:
            info_index[info] = len(infos)
            infos.append(info)
        return info_index[info]

    which = _map_distinct([pipeline, stage], stage_info, pa.int64())
    known = pc.greater(which, 0)
    forecast_type = pa.array([i.forecast_type if i else None for i in infos], pa.string()).take(which)
    stage_category = pa.array([i.forecast_category if i else None for i in infos], pa.string()).take(which)
    stage_status = pa.array([i.deal_status if i else None for i in infos], pa.string()).take(which)
    lostish = _map_distinct([stage], _status_fallback_flags, pa.bool_())
    fallback = pc.case_when(
        pc.make_struct(
            pc.fill_null(pc.equal(probability, 100), False),
            pc.fill_null(pc.and_(pc.equal(probability, 0), lostish), False),
        ),
        "won",
        "lost",
        "open",
    )
    deal_status = pc.if_else(known, stage_status, fallback)
    unknown_stage_ids = good.column("id").filter(pc.invert(known)).to_pylist()

    own_category = good.column(OWN_CATEGORY).combine_chunks()
    forecast_category = pc.coalesce(own_category, stage_category)
    region = _map_distinct(
        [good.column("region").combine_chunks(), good.column("country").combine_chunks()],
        context.regions.resolve,
        pa.string(),
    )
    rate = _rates_used(good, currency, rates)
    amount = good.column("amount").combine_chunks()
    amount_home = _to_home(amount, rate)
    columns: dict[str, Any] = {field.column: good.column(field.name) for field in DEAL_FIELDS if field.column}
    columns.update(
        {
            "stage": pc.utf8_trim_whitespace(stage),
            "forecast_category": forecast_category,
            "forecast_type": forecast_type,
            "deal_status": deal_status,
            "currency": currency,
            "exchange_rate": rate,
            "amount_home": amount_home,
            "weighted_amount_home": _weighted(amount_home, probability),
            "region": region,
            "raw": good.column(RAW_JSON),
        }
    )
    for name, limit in TEXT_LIMITS.items():
        columns[name] = pc.utf8_slice_codeunits(columns[name], 0, limit)
    batch = pa.table([pc.cast(columns[f.name], f.type) for f in DEAL_SCHEMA], schema=DEAL_SCHEMA)
    return DealTransformResult(batch=batch, rejected=rejected, unknown_stage_ids=unknown_stage_ids)
