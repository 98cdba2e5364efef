"""The pandas deal transform, on hand-built records (no database, no Zoho)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from orchestration.transforms.deals import DealTransformContext, StageInfo, records_to_frame, transform_deals
from pipeline_pulse.warehouse.currencies import CurrencyRates
from pipeline_pulse.warehouse.regions import RegionMapper
from tests.orchestration.factories import BASE_ID, T0, make_deal


@pytest.fixture
def context() -> DealTransformContext:
    rates = CurrencyRates(home="SGD")
    rates.add("USD", date(2025, 1, 1), Decimal("0.75"))
    rates.add("USD", date(2025, 6, 1), Decimal("0.80"))
    rates.add("INR", date(2025, 1, 1), Decimal("62"))
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


def _one(context: DealTransformContext, **overrides: object) -> dict:
    result = transform_deals(records_to_frame([make_deal(0, **overrides)]), context)
    assert not result.rejected, result.rejected
    return result.rows[0]


def test_amounts_use_the_deals_rate_or_the_dated_currency_rate(context: DealTransformContext) -> None:
    own = _one(context, currency="USD", exchange_rate=Decimal("0.5"), amount=Decimal("100"), probability=10)
    assert (own["exchange_rate"], own["amount_home"], own["weighted_amount_home"]) == (
        Decimal("0.5"),
        Decimal("200.00"),
        Decimal("20.00"),
    )
    dated = _one(
        context,
        currency="usd",
        exchange_rate=None,
        amount=Decimal("100"),
        modified_time=datetime(2025, 3, 1, tzinfo=UTC),
    )
    assert (dated["currency"], dated["exchange_rate"], dated["amount_home"]) == (
        "USD",
        Decimal("0.75"),
        Decimal("133.33"),
    )
    later = _one(
        context,
        currency="USD",
        exchange_rate=None,
        amount=Decimal("100"),
        modified_time=datetime(2025, 7, 1, tzinfo=UTC),
    )
    assert later["amount_home"] == Decimal("125.00")
    home = _one(context, currency=None, exchange_rate=None, amount=Decimal("7.5"))
    assert (home["currency"], home["exchange_rate"], home["amount_home"]) == ("SGD", Decimal(1), Decimal("7.50"))
    none = _one(context, amount=None)
    assert (none["amount_home"], none["weighted_amount_home"]) == (None, None)


def test_times_become_utc_and_ids_keep_19_digits(context: DealTransformContext) -> None:
    plus8 = timezone(timedelta(hours=8))
    row = _one(
        context,
        modified_time=datetime(2025, 6, 1, 20, 0, tzinfo=plus8),
        created_time="2025-05-01T10:00:00+05:30",
        account_id=None,
    )
    assert row["modified_time"] == datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    assert row["modified_time"].tzinfo is not None
    assert row["created_time"] == datetime(2025, 5, 1, 4, 30, tzinfo=UTC)
    assert row["id"] == BASE_ID
    assert isinstance(row["id"], int)
    assert row["account_id"] is None


def test_status_from_forecast_type_with_documented_fallback(context: DealTransformContext) -> None:
    assert _one(context, stage="Closed Won", probability=100)["deal_status"] == "won"
    assert _one(context, stage="Closed Lost", pipeline="Other", probability=0)["deal_status"] == "lost"  # by name
    assert _one(context, stage="Closed Lost")["forecast_type"] == "Closed Lost"
    result = transform_deals(
        records_to_frame(
            [
                make_deal(1, stage="Legacy Evaluation", probability=30),
                make_deal(2, stage="Legacy Signed", probability=100),
                make_deal(3, stage="Closed - Dead", probability=0),
                make_deal(4, stage="Parked", probability=0),
            ]
        ),
        context,
    )
    assert [row["deal_status"] for row in result.rows] == ["open", "won", "lost", "open"]
    assert sorted(result.unknown_stage_ids) == [BASE_ID + i for i in (1, 2, 3, 4)]
    assert all(row["forecast_type"] is None for row in result.rows)


@pytest.mark.parametrize(
    ("region", "country", "expected"),
    [
        ("apac", "Germany", "APAC"),
        (None, "GERMANY ", "EMEA"),
        ("Mars", "singapore", "APAC"),
        ("Mars", "Narnia", "Unassigned"),
        (None, None, "Unassigned"),
    ],
)
def test_region_rules(context: DealTransformContext, region: str | None, country: str | None, expected: str) -> None:
    assert _one(context, region=region, country=country)["region"] == expected


def test_bad_records_are_rejected_with_reason_and_the_rest_load(context: DealTransformContext) -> None:
    records = [
        make_deal(0),
        make_deal(1, id=None),
        make_deal(2, amount="12,0x"),
        make_deal(3, closing_date="31/02/2025"),
        make_deal(4, currency="XYZ", exchange_rate=None),
        make_deal(5, modified_time=None),
        make_deal(6, stage=None),
        make_deal(7, probability=140),
        make_deal(8, created_time="yesterday"),
        make_deal(9, amount="1,234.50"),
    ]
    result = transform_deals(records_to_frame(records), context)
    assert [row["id"] for row in result.rows] == [BASE_ID, BASE_ID + 9]
    assert result.rows[1]["amount"] == Decimal("1234.50")
    reasons = {r.zoho_id: r.reason for r in result.rejected}
    assert reasons == {
        None: "missing or invalid id",
        str(BASE_ID + 2): "unparsable amount: '12,0x'",
        str(BASE_ID + 3): "unparsable closing_date",
        str(BASE_ID + 4): "unknown currency 'XYZ'",
        str(BASE_ID + 5): "missing or unparsable Modified_Time",
        str(BASE_ID + 6): "missing stage",
        str(BASE_ID + 7): "probability outside 0..100",
        str(BASE_ID + 8): "unparsable created_time",
    }
    assert all(r.stream == "deals" and r.payload for r in result.rejected)


def test_duplicate_ids_keep_the_newest_and_text_is_cut_to_column_width(context: DealTransformContext) -> None:
    records = [
        make_deal(0, amount=Decimal(2), modified_time=T0 + timedelta(1)),
        make_deal(0, amount=Decimal(1)),
        make_deal(1, deal_name="x" * 400),
    ]
    rows = transform_deals(records_to_frame(records), context).rows
    assert [(r["id"], r["amount"]) for r in rows if r["id"] == BASE_ID] == [(BASE_ID, Decimal(2))]
    assert len(next(r for r in rows if r["id"] == BASE_ID + 1)["deal_name"]) == 255


def test_empty_frame(context: DealTransformContext) -> None:
    result = transform_deals(records_to_frame([]), context)
    assert (result.rows, result.rejected) == ([], [])


@pytest.mark.parametrize(
    ("stage", "own", "expected"),
    [
        ("Qualification", None, "Pipeline"),  # no per-deal value: the stage's category
        ("Qualification", "Best Case", "Best Case"),  # a rep's override wins
        ("Qualification", {"name": "Committed", "id": "1"}, "Committed"),
        ("Qualification", "", "Pipeline"),  # a blank CSV cell is unset
        ("Qualification", "-None-", "Pipeline"),
        ("Legacy Stage", None, None),  # unknown stage, no value: no category
        ("Legacy Stage", "Omitted", "Omitted"),
    ],
)
def test_forecast_category_is_the_deals_own_else_the_stages(
    context: DealTransformContext, stage: str, own: object, expected: str | None
) -> None:
    raw = {"id": str(BASE_ID), "Stage": stage, "Forecast_Category__s": own}
    assert _one(context, stage=stage, raw=raw)["forecast_category"] == expected
