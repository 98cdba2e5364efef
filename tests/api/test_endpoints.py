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


def test_summary_partial_month_range_reads_day_mart(reference_api: ApiClient) -> None:
    params = {"closing_from": "2026-02-15", "closing_to": "2026-03-10", "as_of": "2026-03-01"}
    body = reference_api.get(f"{V1}/metrics/summary", params=params, **ADMIN).json()
    # Closing in [Feb 15, Mar 10]: 4 lost 500 (Feb 20), 5 open 4000 (Feb 25), 6 won 1000 (Mar 5).
    assert body["source"] == "mart_daily"
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


def test_trend_reads_the_versions_at_each_period_end(reference_api: ApiClient) -> None:
    monthly = reference_api.get(
        f"{V1}/metrics/trend", params={"from": "2025-12-01", "to": "2026-02-28", "interval": "month"}
    ).json()
    assert monthly["source"] == "deal_versions"
    # December is before the history start (Jan 1): unknown, not zero.
    # APAC open at the end of Jan 31: deal 1 at 800 (p10), 2 at 2000 (p50), 3 in Negotiation at 3000 (p80),
    # 4 at 500 (p10), 8 at 9999 (p10, deleted Feb 1). At the end of Feb 28: deal 1 at 1000 and deal 2.
    assert [(p["period_start"], p["state"], p["as_of_day"], p["open_deal_count"]) for p in monthly["items"]] == [
        ("2025-12-01", "unknown", None, None),
        ("2026-01-01", "end_of_day", "2026-01-31", 5),
        ("2026-02-01", "end_of_day", "2026-02-28", 2),
    ]
    assert [(p["open_pipeline"], p["weighted_pipeline"]) for p in monthly["items"]] == [
        (None, None),
        ("16299.00", "4529.90"),
        ("3000.00", "1100.00"),
    ]
    daily = reference_api.get(
        f"{V1}/metrics/trend", params={"from": "2026-02-09", "to": "2026-02-11", "interval": "day"}
    ).json()["items"]
    # Deal 3 is won on Feb 10 and leaves the open pipeline at the end of that day; deal 8 left on Feb 1.
    assert [(p["as_of_day"], d(p["open_pipeline"])) for p in daily] == [
        ("2026-02-09", d("800") + d("2000") + d("3000") + d("500")),
        ("2026-02-10", d("3300")),
        ("2026-02-11", d("3300")),
    ]
    weekly = reference_api.get(
        f"{V1}/metrics/trend", params={"from": "2026-02-11", "to": "2026-02-28", "interval": "week"}
    ).json()["items"]
    # Feb 11 2026 is a Wednesday: weeks end on Sundays Feb 15 and Feb 22, then Feb 28 (clipped).
    assert [(p["period_start"], p["period_end"], p["open_pipeline"]) for p in weekly] == [
        ("2026-02-11", "2026-02-15", "3300.00"),
        ("2026-02-16", "2026-02-22", "3000.00"),  # Feb 20: deal 1 raised to 1000, deal 4 lost
        ("2026-02-23", "2026-02-28", "3000.00"),
    ]


def test_trend_up_to_now_and_into_the_future(reference_api: ApiClient) -> None:
    today = datetime.now(UTC).date()
    body = reference_api.get(
        f"{V1}/metrics/trend",
        params={
            "from": (today - timedelta(days=1)).isoformat(),
            "to": (today + timedelta(days=1)).isoformat(),
            "interval": "day",
        },
        **ADMIN,
    ).json()["items"]
    # The current state: deals 1, 2 (APAC), 5 (EMEA), 7 (Americas) are open now.
    assert [p["state"] for p in body] == ["end_of_day", "current", "future"]
    assert [p["open_pipeline"] for p in body] == ["7700.00", "7700.00", None]
    assert body[1]["as_of_day"] == today.isoformat()
    bad = reference_api.get(f"{V1}/metrics/trend", params={"from": "2026-02-02", "to": "2026-02-01"})
    assert (bad.status_code, bad.json()["error"]["message"]) == (400, "from must not be after to")


def _movement(reference_api: ApiClient, **params: str) -> dict:
    auth = ADMIN if params.pop("admin", None) else {}
    return reference_api.get(
        f"{V1}/metrics/movement", params={"from": "2026-01-31", "to": "2026-02-28", **params}, **auth
    ).json()


FIGURES = ("start", "new", "pulled_in", "increased", "decreased", "pushed_out", "won", "lost", "removed", "end")


def _identity_holds(body: dict) -> bool:
    f = {key: d(body[key]) for key in FIGURES}
    return (
        f["start"]
        + f["new"]
        + f["pulled_in"]
        + f["increased"]
        - f["decreased"]
        - f["pushed_out"]
        - f["won"]
        - f["lost"]
        - f["removed"]
        == f["end"]
    )


def test_movement_accounts_for_every_deal(reference_api: ApiClient) -> None:
    body = _movement(reference_api)
    assert body["source"] == "deal_versions"
    assert {key: body[key] for key in FIGURES} == {
        "start": "16299.00",  # 800 + 2000 + 3000 + 500 + 9999
        "new": "0.00",
        "pulled_in": "0.00",
        "increased": "200.00",  # deal 1: 800 -> 1000
        "decreased": "0.00",
        "pushed_out": "0.00",
        "won": "3000.00",  # deal 3, won on Feb 10 (not on the `to` day): by its outcome
        "lost": "500.00",  # deal 4, lost on Feb 20
        "removed": "9999.00",  # deal 8, deleted on Feb 1
        "end": "3000.00",  # 1000 + 2000
    }
    assert body["deal_counts"] == {
        "still_open": 2,
        "new": 0,
        "pulled_in": 0,
        "won": 1,
        "lost": 1,
        "pushed_out": 0,
        "removed": 1,
    }
    assert _identity_holds(body)
    admin = _movement(reference_api, admin="1")
    # Plus EMEA deal 5 (4000 at both ends), Americas deal 7 (new, 700) and EMEA deal 6 (created Feb 3, open).
    assert (admin["start"], admin["new"], admin["end"]) == ("20299.00", "1700.00", "8700.00")
    assert _identity_holds(admin)


def test_movement_closing_period_pulls_in_and_pushes_out(reference_api: ApiClient) -> None:
    march = _movement(reference_api, admin="1", closing_from="2026-03-01", closing_to="2026-03-31")
    # In the March pipeline at A: deals 1 (800), 3 (3000), 4 (500), 8 (9999), 5 (4000). At B: 1 (1000) and 6
    # (new, closing Mar 5); deal 5's closing date was pulled in to Feb 25 on Feb 28: pushed out of March.
    assert {key: march[key] for key in FIGURES} == {
        "start": "18299.00",
        "new": "1000.00",
        "pulled_in": "0.00",
        "increased": "200.00",
        "decreased": "0.00",
        "pushed_out": "4000.00",
        "won": "3000.00",
        "lost": "500.00",
        "removed": "9999.00",
        "end": "2000.00",
    }
    assert _identity_holds(march)
    february = _movement(reference_api, admin="1", closing_from="2026-02-01", closing_to="2026-02-28")
    # ... and pulled into February; deals 3 and 4 were never open with a February closing date: not in the bridge.
    assert (february["start"], february["pulled_in"], february["end"]) == ("0.00", "4000.00", "4000.00")
    assert february["deal_counts"]["pulled_in"] == 1
    assert _identity_holds(february)


def test_movement_drill_down_lists_each_component(reference_api: ApiClient) -> None:
    won = reference_api.get(
        f"{V1}/metrics/movement/deals", params={"from": "2026-01-31", "to": "2026-02-28", "component": "won"}
    ).json()
    assert [
        (i["deal_id"], i["amount"], i["from_amount"], i["to_amount"], i["from_stage"], i["to_stage"])
        for i in won["items"]
    ] == [("3", "3000.00", "3000.00", "3000.00", "Negotiation", "Closed Won")]
    removed = reference_api.get(
        f"{V1}/metrics/movement/deals", params={"from": "2026-01-31", "to": "2026-02-28", "component": "removed"}
    ).json()["items"]
    assert [(i["deal_id"], i["amount"], i["to_amount"], i["to_status"]) for i in removed] == [
        ("8", "9999.00", None, "deleted")
    ]
    seen, cursor = [], None
    while True:
        params = {"from": "2026-01-31", "to": "2026-02-28", "component": "start", "page_size": 2}
        if cursor:
            params["cursor"] = cursor
        page = reference_api.get(f"{V1}/metrics/movement/deals", params=params).json()
        seen += [(i["deal_id"], i["amount"]) for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [("1", "800.00"), ("2", "2000.00"), ("3", "3000.00"), ("4", "500.00"), ("8", "9999.00")]
    bad = reference_api.get(
        f"{V1}/metrics/movement/deals",
        params={"from": "2026-01-31", "to": "2026-02-28", "component": "start", "cursor": "abc"},
    )
    assert bad.status_code == 422


def test_movement_bounds(reference_api: ApiClient) -> None:
    before = reference_api.get(f"{V1}/metrics/movement", params={"from": "2025-12-31", "to": "2026-02-28"})
    assert before.status_code == 422
    assert "from: 2025-12-31 is before the history start (2026-01-01)" in before.json()["error"]["message"]
    reversed_ = reference_api.get(f"{V1}/metrics/movement", params={"from": "2026-02-28", "to": "2026-01-31"})
    assert (reversed_.status_code, reversed_.json()["error"]["message"]) == (400, "from must not be after to")
    today = datetime.now(UTC).date()
    now = _movement(reference_api, admin="1", to=(today + timedelta(days=30)).isoformat())
    assert now["to_current"] is True
    assert now["end"] == "7700.00"  # the current open pipeline: deals 1, 2, 5, 7
    assert _identity_holds(now)


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
    assert [s["stream"] for s in status["streams"]] == ["deals"]  # the history start row is not a stream
    assert status["history_starts_at"].startswith("2026-01-01T00:00:00")


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
