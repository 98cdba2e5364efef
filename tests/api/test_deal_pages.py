"""/deals keyset pagination: every sort, both directions, NULLs last, ties broken by id, no row lost or repeated
whatever the page size; cursors are validated."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from api.cursor import DealCursor
from pipeline_pulse.models import Deal
from tests.fixtures.api import DEAL_ROWS, ApiClient, deal_row

V1 = "/api/v1"
ADMIN = {"regions": [], "role": "admin"}
SORTS = ["id", "amount_home", "closing_date", "modified_time"]
# Ties and NULLs in every sort column, ids on both sides of 2^53.
EXTRA = [
    deal_row(4876876000100012985, amount_home="1000.00", closing_date=date(2026, 3, 15), modified_time=None),
    deal_row(4876876000100013056, amount_home=None, closing_date=None, modified_time=datetime(2026, 2, 20, tzinfo=UTC)),
    deal_row(20, amount_home="1000.00", closing_date=None, modified_time=datetime(2026, 2, 20, tzinfo=UTC)),
    deal_row(21, amount_home=None, closing_date=date(2026, 3, 15), modified_time=None),
]


def _expected(
    sort: str,
    owner_id: int | None = None,
    closing: tuple[date, date] | None = None,
    regions: frozenset[str] | None = None,
    more: tuple[dict[str, Any], ...] = (),
) -> list[str]:
    live = [
        row
        for row in [*DEAL_ROWS, *EXTRA, *more]
        if row["deleted_at"] is None
        and (regions is None or row["region"] in regions)
        and (owner_id is None or row["owner_id"] == owner_id)
        and (closing is None or (row["closing_date"] is not None and closing[0] <= row["closing_date"] <= closing[1]))
    ]
    field, descending = sort.lstrip("-"), sort.startswith("-")
    present = [row for row in live if row[field] is not None]
    present.sort(key=lambda row: (row[field], row["id"]), reverse=descending)
    missing = sorted((row for row in live if row[field] is None), key=lambda row: row["id"], reverse=descending)
    return [str(row["id"]) for row in present + missing]


def _walk(api: ApiClient, sort: str, page_size: int, auth: dict[str, Any] | None = None, **filters: str) -> list[str]:
    ids: list[str] = []
    params: dict[str, Any] = {"sort": sort, "page_size": page_size, **filters}
    for _ in range(100):
        page = api.get(f"{V1}/deals", params=params, **(auth or ADMIN))
        assert page.status_code == 200, page.text
        body = page.json()
        ids.extend(item["id"] for item in body["items"])
        assert body["has_more"] == (body["next_cursor"] is not None)
        if not body["has_more"]:
            return ids
        params["cursor"] = body["next_cursor"]
    raise AssertionError("pagination did not end")


def test_every_sort_pages_through_every_deal_once(seeded_api: ApiClient, sync_engine: Engine) -> None:
    with sync_engine.begin() as conn:
        conn.execute(insert(Deal), EXTRA)
    for field in SORTS:
        for sort in (field, f"-{field}"):
            expected = _expected(sort)
            for page_size in (1, 2, 3, 200):
                assert _walk(seeded_api, sort, page_size) == expected, (sort, page_size)
            # An owner filter reads that owner's deals first, then sorts them (Postgres): same pages.
            for page_size in (1, 3):
                assert _walk(seeded_api, sort, page_size, owner_id="100") == _expected(sort, 100), (sort, page_size)
            # A closing range: read day by day for the id and modified-time sorts (Postgres); same pages.
            window = (date(2026, 2, 20), date(2026, 3, 15))
            for page_size in (1, 2):
                walked = _walk(seeded_api, sort, page_size, closing_from="2026-02-20", closing_to="2026-03-15")
                assert walked == _expected(sort, closing=window), (sort, page_size)
                opened = _walk(seeded_api, sort, page_size, closing_to="2026-03-15")
                assert opened == _expected(sort, closing=(date.min, window[1])), (sort, page_size)


# Deals of several regions in a closing range (ties, a NULL modified time, a region outside the scope).
SCOPED = tuple(
    deal_row(40 + n, region=region, closing_date=date(2026, 3, day), modified_time=modified)
    for n, (region, day, modified) in enumerate(
        [
            ("EMEA", 1, datetime(2026, 1, 5, tzinfo=UTC)),
            ("EMEA", 1, datetime(2026, 1, 5, tzinfo=UTC)),  # a tie: broken by id
            ("APAC", 1, datetime(2026, 1, 9, tzinfo=UTC)),
            ("Americas", 2, datetime(2026, 1, 1, tzinfo=UTC)),  # outside an APAC + EMEA scope
            ("APAC", 3, None),
            ("EMEA", 3, datetime(2025, 12, 31, tzinfo=UTC)),
        ]
    )
)


def test_closing_range_pages_under_a_region_scope(seeded_api: ApiClient, sync_engine: Engine) -> None:
    """A region scope with a closing range sorted by modified time probes (region, day) on Postgres
    (ix_deals_live_region_closing_date_modified_time_id): the same pages as the definition, for one region,
    several, an explicit region filter and all regions, in both directions."""
    with sync_engine.begin() as conn:
        conn.execute(insert(Deal), EXTRA)
        conn.execute(insert(Deal), SCOPED)
    closing = {"closing_from": "2026-02-20", "closing_to": "2026-03-15"}
    window = (date(2026, 2, 20), date(2026, 3, 15))
    scopes: list[tuple[dict[str, Any], dict[str, str], frozenset[str] | None]] = [
        ({"regions": ["APAC"]}, {}, frozenset({"APAC"})),
        ({"regions": ["APAC", "EMEA"]}, {}, frozenset({"APAC", "EMEA"})),
        ({"regions": ["APAC", "EMEA"]}, {"region": "EMEA"}, frozenset({"EMEA"})),
        (ADMIN, {"region": "Americas"}, frozenset({"Americas"})),
        (ADMIN, {}, None),
    ]
    for sort in ("modified_time", "-modified_time"):
        for auth, extra, regions in scopes:
            expected = _expected(sort, closing=window, regions=regions, more=SCOPED)
            assert expected, (sort, regions)
            for page_size in (1, 2, 50):
                walked = _walk(seeded_api, sort, page_size, auth, **closing, **extra)
                assert walked == expected, (sort, regions, page_size)


def test_pages_keep_the_filters_and_the_scope(reference_api: ApiClient) -> None:
    first = reference_api.get(f"{V1}/deals", params={"page_size": 1, "deal_status": "open", "sort": "closing_date"})
    body = first.json()
    # APAC open live deals by closing date: 1 (Mar 15), 2 (Apr 10).
    assert [item["id"] for item in body["items"]] == ["1"]
    rest = reference_api.get(
        f"{V1}/deals",
        params={"page_size": 1, "deal_status": "open", "sort": "closing_date", "cursor": body["next_cursor"]},
    ).json()
    assert ([item["id"] for item in rest["items"]], rest["has_more"]) == (["2"], False)


@pytest.mark.parametrize(
    "cursor",
    [
        "x",
        "!!!!",
        "W10",  # []
        DealCursor("amount_home", 0, None, 1).encode(),  # value missing outside the NULL phase
        DealCursor("nope", 0, None, 1).encode(),
        DealCursor("id", 0, None, 1).encode()[:-2],
        "WyJpZCIsMCxudWxsLCIwIl0",  # id 0
        "A" * 201,
    ],
)
def test_bad_cursors_are_422(reference_api: ApiClient, cursor: str) -> None:
    response = reference_api.get(f"{V1}/deals", params={"cursor": cursor, "sort": "id"}, **ADMIN)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"].startswith("cursor"), response.text


def test_cursor_of_another_sort_is_422(reference_api: ApiClient) -> None:
    cursor = DealCursor("-closing_date", 0, date(2026, 3, 1), 1).encode()
    response = reference_api.get(f"{V1}/deals", params={"cursor": cursor, "sort": "closing_date"}, **ADMIN)
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "cursor: belongs to sort=-closing_date, not sort=closing_date"
