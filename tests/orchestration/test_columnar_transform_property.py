"""The columnar transform equals the row-wise one it replaced (tests/orchestration/rowwise_transform.py) on
generated pages: the same rows, the same rejections with the same reasons, the same unknown stages."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestration.transforms.deals import DealTransformContext, StageInfo, records_to_frame, transform_deals
from pipeline_pulse.warehouse.currencies import CurrencyRates
from pipeline_pulse.warehouse.regions import RegionMapper
from tests.fixtures.property_budget import examples
from tests.orchestration.factories import BASE_ID, T0, make_deal
from tests.orchestration.rowwise_transform import rowwise_frame, rowwise_transform


def _context() -> DealTransformContext:
    rates = CurrencyRates(home="SGD")
    rates.add("USD", date(2025, 1, 1), Decimal("0.75"))
    rates.add("USD", date(2025, 6, 1), Decimal("0.80"))
    rates.add("INR", date(2025, 3, 1), Decimal("62.5"))
    open_ = StageInfo("Open", "Pipeline", "open")
    return DealTransformContext(
        rates=rates,
        regions=RegionMapper(
            region_codes={"apac": "APAC", "emea": "EMEA", "unassigned": "Unassigned"},
            country_regions={"germany": "EMEA", "singapore": "APAC"},
        ),
        stages={
            ("Standard", "Qualification"): open_,
            ("Standard", "Closed Won"): StageInfo("Closed Won", "Closed", "won"),
        },
        stages_by_name={"qualification": open_, "closed lost": StageInfo("Closed Lost", "Omitted", "lost")},
    )


CONTEXT = _context()
amounts = st.one_of(
    st.none(),
    st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
    st.sampled_from(["1,234.50", "12,0x", "", "7"]),
)
deal = st.fixed_dictionaries(
    {
        "index": st.integers(0, 12),  # repeats: duplicate ids in a page
        "amount": amounts,
        "currency": st.sampled_from(["SGD", "usd", " INR ", None, "", "XYZ"]),
        "exchange_rate": st.one_of(st.none(), st.sampled_from([Decimal("0.5"), Decimal(0), Decimal("-1"), "abc"])),
        "probability": st.one_of(st.none(), st.integers(-5, 105), st.sampled_from(["40", "4x"])),
        "stage": st.sampled_from(["Qualification", "Closed Won", "closed lost", "Legacy", "Closed - Dead", " ", None]),
        "pipeline": st.sampled_from(["Standard", "Other", None]),
        "region": st.sampled_from(["apac", "EMEA ", "Mars", None]),
        "country": st.sampled_from(["Germany", "singapore", "Narnia", None]),
        "minutes": st.one_of(st.none(), st.integers(0, 400 * 24 * 60)),
        "closing_date": st.sampled_from([date(2025, 9, 30), "2025-10-01", "31/02/2025", None]),
        "deal_name": st.sampled_from(["Deal", "x" * 300, "naïve ünïcode " * 30, None]),
        "category": st.sampled_from([None, "Best Case", "", "-None-", {"name": "Committed", "id": "1"}]),
    }
)


def _record(spec: dict[str, Any]) -> Any:
    minutes = spec["minutes"]
    modified = None if minutes is None else datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    values = {k: spec[k] for k in ("amount", "currency", "exchange_rate", "probability", "stage", "pipeline")}
    values.update(region=spec["region"], country=spec["country"], closing_date=spec["closing_date"])
    record = make_deal(spec["index"], modified_time=modified, deal_name=spec["deal_name"], **values)
    raw = {**record.raw, "Forecast_Category__s": spec["category"]}
    return make_deal(spec["index"], modified_time=modified, deal_name=spec["deal_name"], raw=raw, **values)


def _by_id(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {row["id"]: row for row in rows}


@settings(max_examples=examples(150), deadline=None)
@given(st.lists(deal, min_size=1, max_size=25))
def test_columnar_transform_equals_the_rowwise_one(specs: list[dict[str, Any]]) -> None:
    records = [_record(spec) for spec in specs]
    old = rowwise_transform(rowwise_frame(records), CONTEXT)
    new = transform_deals(records_to_frame(records), CONTEXT)
    assert _by_id(new.rows) == _by_id(old.rows)
    assert len(new.rows) == len(old.rows)
    assert sorted((r.zoho_id or "", r.reason) for r in new.rejected) == sorted(
        (r.zoho_id or "", r.reason) for r in old.rejected
    )
    assert sorted(new.unknown_stage_ids) == sorted(old.unknown_stage_ids)


def test_the_reference_is_what_main_had() -> None:
    # a sanity check that the reference still runs as the old transform did on the factories' deal
    old = rowwise_transform(rowwise_frame([make_deal(0)]), CONTEXT)
    assert old.rows[0]["id"] == BASE_ID
    assert old.rows[0]["modified_time"] == T0
