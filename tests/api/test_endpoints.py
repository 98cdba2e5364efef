"""Every endpoint's numbers on the reference warehouse (tests/fixtures/api.py), worked out by hand here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.fixtures.api import DEAL_ROWS, ApiClient

V1 = "/api/v1"
ADMIN = {"regions": [], "role": "admin"}


def d(value: str) -> Decimal:
    return Decimal(value)


def test_summary_apac_from_mart(reference_api: ApiClient) -> None:
    body = reference_api.get(f"{V1}/metrics/summary", params={"as_of": "2026-03-01"}).json()
    # APAC live deals: 1 open 1000 p10, 2 open 2000 p50, 3 won 3000 (cycle Jan 1 -> Feb 10 = 40 days), 4 lost 500.
    # Deal 8 is soft-deleted. Deal 2 was last modified Jan 1, before Mar 1 - 30 days = Jan 30: stale.
    assert body["source"] == "mart"
    assert body["open_deal_count"] == 2
    assert d(body["open_pipeline"]) == d("1000") + d("2000")
    assert d(body["weighted_pipeline"]) == d("100") + d("1000")
    assert (body["won_count"], d(body["won_amount"])) == (1, d("3000"))
    assert (body["lost_count"], d(body["lost_amount"])) == (1, d("500"))
    assert body["win_rate_by_count"] == 0.5
    assert body["win_rate_by_amount"] == round(3000 / 3500, 6)
    assert d(body["average_won_deal_size"]) == d("3000")
    assert body["average_sales_cycle_days"] == 40
    assert d(body["sales_velocity_per_day"]) == d("75.00")  # 2 x 3000 x 0.5 / 40
    assert body["stale_open_deals"] == 1


def test_summary_staleness_from_mart_matches_deals_table(reference_api: ApiClient) -> None:
    from_mart = reference_api.get(f"{V1}/metrics/summary", **ADMIN).json()
    today = datetime.now(UTC).date()
    assert from_mart["as_of"] == today.isoformat()  # the mart was refreshed today, by the fixture
    counted = reference_api.get(f"{V1}/metrics/summary", params={"as_of": today.isoformat()}, **ADMIN).json()
    cutoff = datetime.combine(today - timedelta(days=30), datetime.min.time(), tzinfo=UTC)
    expected = sum(
        row["deal_status"] == "open"
        and row["deleted_at"] is None
        and (row["modified_time"] < cutoff or row["closing_date"] < today)
        for row in DEAL_ROWS
    )
    assert from_mart["stale_open_deals"] == counted["stale_open_deals"] == expected
    lenient = reference_api.get(
        f"{V1}/metrics/summary", params={"as_of": "2026-03-01", "stale_after_days": 90}, **ADMIN
    )
    assert lenient.json()["stale_open_deals"] == 1  # only deal 5, past its closing date


def test_summary_all_regions(reference_api: ApiClient) -> None:
    body = reference_api.get(f"{V1}/metrics/summary", params={"as_of": "2026-03-01"}, **ADMIN).json()
    assert body["open_deal_count"] == 4  # 1, 2, 5, 7
    assert d(body["open_pipeline"]) == d("1000") + d("2000") + d("4000") + d("700")
    assert d(body["weighted_pipeline"]) == d("100") + d("1000") + d("3200") + d("70")
    assert (body["won_count"], d(body["won_amount"])) == (2, d("4000"))
    assert body["win_rate_by_count"] == round(2 / 3, 6)
    assert d(body["average_won_deal_size"]) == d("2000")
    assert body["average_sales_cycle_days"] == (40 + 30) / 2  # deal 6: Feb 3 -> Mar 5 = 30 days
    assert d(body["sales_velocity_per_day"]) == (4 * d("2000") * d(2) / d(3) / d(35)).quantize(d("0.01"))
    # Deal 2 (not modified since Jan 1) and deal 5 (closing Feb 25, before as_of).
    assert body["stale_open_deals"] == 2


def test_summary_partial_month_range_reads_deals_table(reference_api: ApiClient) -> None:
    params = {"closing_from": "2026-02-15", "closing_to": "2026-03-10", "as_of": "2026-03-01"}
    body = reference_api.get(f"{V1}/metrics/summary", params=params, **ADMIN).json()
    # Closing in [Feb 15, Mar 10]: 4 lost 500 (Feb 20), 5 open 4000 (Feb 25), 6 won 1000 (Mar 5).
    assert body["source"] == "deals"
    assert (body["open_deal_count"], d(body["open_pipeline"]), d(body["weighted_pipeline"])) == (
        1,
        d("4000"),
        d("3200"),
    )
    assert (body["won_count"], d(body["won_amount"]), body["lost_count"]) == (1, d("1000"), 1)
    assert body["average_sales_cycle_days"] == 30


def test_summary_whole_month_range_reads_mart(reference_api: ApiClient) -> None:
    params = {"closing_from": "2026-02-01", "closing_to": "2026-03-31", "as_of": "2026-03-01"}
    body = reference_api.get(f"{V1}/metrics/summary", params=params, **ADMIN).json()
    # Closing in Feb-Mar: 1 open 1000 (Mar 15), 3 won 3000, 4 lost 500, 5 open 4000, 6 won 1000.
    assert body["source"] == "mart"
    assert (body["open_deal_count"], d(body["open_pipeline"])) == (2, d("5000"))
    assert (body["won_count"], d(body["won_amount"]), body["lost_count"]) == (2, d("4000"), 1)


def test_by_stage_in_sequence(reference_api: ApiClient) -> None:
    body = reference_api.get(f"{V1}/metrics/by-stage", params={"deal_status": "all"}, **ADMIN).json()
    got = [(i["stage"], i["sequence"], i["deal_count"], d(i["amount"]), d(i["weighted_amount"])) for i in body["items"]]
    assert got == [
        ("Qualification", 1, 2, d("1700"), d("170")),  # deals 1 and 7
        ("Proposal", 2, 1, d("2000"), d("1000")),
        ("Negotiation", 3, 1, d("4000"), d("3200")),
        ("Closed Won", 4, 2, d("4000"), d("4000")),
        ("Closed Lost", 5, 1, d("500"), d("0")),
    ]
    apac_open = reference_api.get(f"{V1}/metrics/by-stage").json()
    assert [(i["stage"], i["deal_count"]) for i in apac_open["items"]] == [("Qualification", 1), ("Proposal", 1)]


def test_by_region_and_by_owner(reference_api: ApiClient) -> None:
    regions = reference_api.get(f"{V1}/metrics/by-region", **ADMIN).json()["items"]
    assert {i["region"]: (i["deal_count"], d(i["amount"]), d(i["weighted_amount"])) for i in regions} == {
        "APAC": (2, d("3000"), d("1100")),
        "EMEA": (1, d("4000"), d("3200")),
        "Americas": (1, d("700"), d("70")),
    }
    owners = reference_api.get(f"{V1}/metrics/by-owner", **ADMIN).json()["items"]
    assert [(int(i["owner_id"]), i["owner_name"], d(i["amount"])) for i in owners] == [
        (200, "Ben", d("4000")),
        (100, "Ana", d("3000")),
        (300, "Chloe", d("700")),
    ]
    won = reference_api.get(f"{V1}/metrics/by-owner", params={"deal_status": "won", "owner_id": 200}, **ADMIN).json()
    assert [(i["owner_id"], i["deal_count"], d(i["amount"])) for i in won["items"]] == [("200", 1, d("1000"))]


def test_trend_by_month_and_day(reference_api: ApiClient) -> None:
    monthly = reference_api.get(
        f"{V1}/metrics/trend", params={"from": "2026-01-01", "to": "2026-02-28", "interval": "month"}
    ).json()["items"]
    # APAC open on Jan 31: 1000 + 2000 + 2500 + 500 + 300; weighted 100 + 1000 + 1250 + 50 + 30.
    # On Feb 28: 1200 + 1500 + 800 open (3 won, 4 lost, 9 gone); weighted 120 + 750 + 80.
    assert [(p["period_start"], p["snapshot_date"], p["open_deal_count"]) for p in monthly] == [
        ("2026-01-01", "2026-01-31", 5),
        ("2026-02-01", "2026-02-28", 3),
    ]
    assert [(d(p["open_pipeline"]), d(p["weighted_pipeline"])) for p in monthly] == [
        (d("6300"), d("2430")),
        (d("3500"), d("950")),
    ]
    daily = reference_api.get(
        f"{V1}/metrics/trend", params={"from": "2026-02-14", "to": "2026-02-16", "interval": "day"}
    ).json()["items"]
    assert [p["snapshot_date"] for p in daily] == [None, "2026-02-15", None]
    assert d(daily[1]["open_pipeline"]) == d("1000") + d("2000") + d("3000") + d("500") + d("300")
    weekly = reference_api.get(
        f"{V1}/metrics/trend", params={"from": "2026-02-11", "to": "2026-02-28", "interval": "week"}
    ).json()["items"]
    # Feb 11 2026 is a Wednesday: weeks end on Sundays Feb 15 and Feb 22, then Feb 28 (clipped).
    assert [(p["period_start"], p["period_end"], p["snapshot_date"]) for p in weekly] == [
        ("2026-02-11", "2026-02-15", "2026-02-15"),
        ("2026-02-16", "2026-02-22", None),
        ("2026-02-23", "2026-02-28", "2026-02-28"),
    ]


def test_movement_components_and_identity(reference_api: ApiClient) -> None:
    body = reference_api.get(f"{V1}/metrics/movement", params={"from": "2026-01-31", "to": "2026-02-28"}).json()
    figures = {key: d(body[key]) for key in ("start", "new", "increased", "decreased", "won", "lost", "removed", "end")}
    assert figures == {
        "start": d("6300"),  # 1000 + 2000 + 2500 + 500 + 300
        "new": d("800"),  # deal 10
        "increased": d("200"),  # deal 1: 1000 -> 1200
        "decreased": d("500"),  # deal 2: 2000 -> 1500
        "won": d("2500"),  # deal 3 at its start amount
        "lost": d("500"),  # deal 4
        "removed": d("300"),  # deal 9 vanished
        "end": d("3500"),  # 1200 + 1500 + 800
    }
    f = figures
    assert f["start"] + f["new"] + f["increased"] - f["decreased"] - f["won"] - f["lost"] - f["removed"] == f["end"]
    # Narrowing by owner moves EMEA's deal 5 out of both ends; all regions adds it to both.
    admin = reference_api.get(
        f"{V1}/metrics/movement", params={"from": "2026-01-31", "to": "2026-02-28"}, **ADMIN
    ).json()
    assert (d(admin["start"]), d(admin["end"])) == (d("10300"), d("7500"))
    missing = reference_api.get(f"{V1}/metrics/movement", params={"from": "2026-01-30", "to": "2026-02-28"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_funnel(reference_api: ApiClient) -> None:
    apac = reference_api.get(f"{V1}/metrics/funnel", params={"pipeline": "Standard"}).json()["steps"]
    # Furthest open/won stage: deal 1 Qualification, 2 Proposal, 3 Closed Won, 4 Qualification (lost is no step).
    assert [(s["stage"], s["reached"], s["conversion_to_next"]) for s in apac] == [
        ("Qualification", 4, 0.5),
        ("Proposal", 2, 0.5),
        ("Negotiation", 1, 1.0),
        ("Closed Won", 1, None),
    ]
    everyone = reference_api.get(f"{V1}/metrics/funnel", params={"pipeline": "Standard"}, **ADMIN).json()["steps"]
    # Plus deal 5 (Negotiation, skipped Proposal) and deal 6 (Closed Won, skipped Qualification).
    assert [s["reached"] for s in everyone] == [6, 4, 3, 2]
    february = reference_api.get(
        f"{V1}/metrics/funnel", params={"pipeline": "Standard", "from": "2026-02-01", "to": "2026-02-28"}, **ADMIN
    ).json()["steps"]
    # History entered in February: deal 3 Closed Won, 5 Negotiation, 6 Proposal (deal 4 only Closed Lost).
    assert [s["reached"] for s in february] == [3, 3, 2, 1]


def test_deals_listing_pages_and_sorting(reference_api: ApiClient) -> None:
    first = reference_api.get(f"{V1}/deals", params={"page_size": 2}).json()
    assert ([i["id"] for i in first["items"]], first["has_more"]) == (["4", "3"], True)
    second = reference_api.get(f"{V1}/deals", params={"page_size": 2, "cursor": first["next_cursor"]}).json()
    assert ([i["id"] for i in second["items"]], second["has_more"], second["next_cursor"]) == (["2", "1"], False, None)
    by_amount = reference_api.get(f"{V1}/deals", params={"sort": "amount_home"}).json()
    assert [i["id"] for i in by_amount["items"]] == ["4", "1", "2", "3"]
    open_emea = reference_api.get(f"{V1}/deals", params={"deal_status": "open"}, regions=["EMEA", "Americas"]).json()
    assert sorted(i["id"] for i in open_emea["items"]) == ["5", "7"]
    too_big = reference_api.get(f"{V1}/deals", params={"page_size": 500})
    assert too_big.status_code == 422
    assert "page_size" in too_big.json()["error"]["message"]


def test_deal_detail_and_scope(reference_api: ApiClient) -> None:
    deal = reference_api.get(f"{V1}/deals/3").json()
    assert (deal["id"], deal["region"], d(deal["amount_home"])) == ("3", "APAC", d("3000"))
    assert [h["stage"] for h in deal["stage_history"]] == ["Qualification", "Proposal", "Negotiation", "Closed Won"]
    hidden = reference_api.get(f"{V1}/deals/5")  # EMEA: exists, but not for an APAC token
    absent = reference_api.get(f"{V1}/deals/999")
    deleted = reference_api.get(f"{V1}/deals/8")
    assert hidden.status_code == absent.status_code == deleted.status_code == 404
    assert hidden.json()["error"]["message"] == "deal 5 not found"


def test_explicit_region_outside_scope_is_forbidden(reference_api: ApiClient) -> None:
    refused = reference_api.get(f"{V1}/metrics/summary", params={"region": "EMEA"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    narrowed = reference_api.get(f"{V1}/metrics/by-region", params={"region": "EMEA"}, **ADMIN).json()["items"]
    assert [i["region"] for i in narrowed] == ["EMEA"]


def test_regions_stages_sync_status(reference_api: ApiClient) -> None:
    regions = reference_api.get(f"{V1}/regions", regions=["APAC", "Mars", "EMEA"]).json()
    assert [r["code"] for r in regions] == ["APAC", "EMEA"]
    unusable = reference_api.get(f"{V1}/regions", regions=["Mars"])
    assert unusable.status_code == 403
    assert reference_api.get(f"{V1}/regions", regions="APAC").status_code == 403  # a bare string is not a list
    stages = reference_api.get(f"{V1}/stages").json()
    assert [s["stage"] for s in stages] == ["Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]
    status = reference_api.get(f"{V1}/sync/status").json()
    assert status["live_deals"] == 4  # APAC deals 1-4; 8 is deleted
    assert status["last_success_at"].startswith("2026-03-01T10:00:00")
    assert status["freshness_seconds"] > 0
    assert status["mart_refreshed_at"] is not None
    assert [s["stream"] for s in status["streams"]] == ["deals"]


def test_etag_gives_304(reference_api: ApiClient) -> None:
    first = reference_api.get(f"{V1}/metrics/by-stage")
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("private")
    cached = reference_api.get(f"{V1}/metrics/by-stage", headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    other_scope = reference_api.get(f"{V1}/metrics/by-stage", regions=["EMEA"], headers={"If-None-Match": etag})
    assert other_scope.status_code == 200


def test_errors_validation_health_ready(reference_api: ApiClient) -> None:
    bad_date = reference_api.get(f"{V1}/metrics/summary", params={"closing_from": "yesterday"})
    assert bad_date.status_code == 422
    assert "closing_from" in bad_date.json()["error"]["message"]
    reversed_range = reference_api.get(
        f"{V1}/metrics/summary", params={"closing_from": "2026-03-01", "closing_to": "2026-02-01"}
    )
    assert reversed_range.status_code == 400
    assert reversed_range.json()["error"] == {
        "code": "bad_request",
        "message": "closing_from must not be after closing_to",
    }
    unknown = reference_api.client.get(f"{V1}/nowhere")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    assert reference_api.client.get("/health").json() == {"status": "ok"}
    ready = reference_api.client.get("/ready")
    assert ready.status_code == 200
    assert ready.headers["x-request-id"]
    echoed = reference_api.client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
