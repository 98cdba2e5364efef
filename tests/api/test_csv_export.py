"""CSV export: same rows, filters and scope as JSON, RFC 4180, ids as Excel-safe text, streamed in chunks."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from pipeline_pulse.models import Deal
from tests.fixtures.api import ApiClient, deal_row

V1 = "/api/v1"
ADMIN = {"regions": [], "role": "admin"}
NASTY = [
    deal_row(4876876000100012985, deal_name='Acme, "the big one"', amount_home="12.30", closing_date=date(2026, 3, 9)),
    deal_row(4876876000100012986, deal_name='=HYPERLINK("http://x")', amount_home="-5.00"),
    deal_row(4876876000100012987, deal_name="two\r\nlines", account_name="Zürich AG", amount_home=None),
    deal_row(4876876000100012988, deal_name="@SUM(A1)", region="EMEA", owner_id=200),
]


def _parse(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    raw = response.content
    assert raw.startswith("\ufeff".encode())
    text = raw.decode("utf-8-sig")
    assert "\r\n" in text
    assert "\n" not in text.replace("\r\n", "")  # every line ends CRLF (the embedded line break is quoted)
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _json_pages(api: ApiClient, params: dict[str, Any], **auth: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    query = {**params, "page_size": 2}
    while True:
        body = api.get(f"{V1}/deals", params=query, **auth).json()
        items.extend(body["items"])
        if not body["next_cursor"]:
            return items
        query["cursor"] = body["next_cursor"]


def _unexcel(value: str) -> str:
    return value[2:-1] if value.startswith('="') else value


@pytest.mark.parametrize("sort", ["-id", "amount_home", "-closing_date"])
def test_deals_csv_equals_the_json_pages(
    seeded_api: ApiClient, sync_engine: Engine, monkeypatch: pytest.MonkeyPatch, sort: str
) -> None:
    with sync_engine.begin() as conn:
        conn.execute(insert(Deal), NASTY)
    monkeypatch.setattr("api.queries.deals.EXPORT_CHUNK", 3)  # several chunks, a cut between NULL phases
    for auth, params in [(ADMIN, {}), ({"regions": ["APAC"]}, {}), (ADMIN, {"deal_status": "open", "owner_id": "100"})]:
        expected = _json_pages(seeded_api, {**params, "sort": sort}, **auth)
        rows = _parse(seeded_api.get(f"{V1}/deals", params={**params, "sort": sort, "format": "csv"}, **auth))
        assert [_unexcel(row["id"]) for row in rows] == [item["id"] for item in expected]
        for row, item in zip(rows, expected, strict=True):
            assert row["id"] == f'="{item["id"]}"'  # Excel shows the 19 digits as text
            assert row["owner_id"] == (f'="{item["owner_id"]}"' if item["owner_id"] else "")
            assert row["amount_home"] == (item["amount_home"] or "")
            assert row["region"] == item["region"]
            name = item["deal_name"]
            assert row["deal_name"] == ("'" + name if name[0] in "=+-@" else name)
    apac = _parse(seeded_api.get(f"{V1}/deals", params={"format": "csv"}, regions=["APAC"]))
    assert {row["region"] for row in apac} == {"APAC"}
    names = {row["deal_name"] for row in _parse(seeded_api.get(f"{V1}/deals", params={"format": "csv"}, **ADMIN))}
    assert {'Acme, "the big one"', '\'=HYPERLINK("http://x")', "two\r\nlines", "'@SUM(A1)"} <= names


def test_accept_header_and_format_choose_the_representation(seeded_api: ApiClient) -> None:
    headers = {"Accept": "text/csv"}
    by_accept = seeded_api.get(f"{V1}/metrics/by-stage", headers=_with(seeded_api, headers))
    assert by_accept.headers["content-type"].startswith("text/csv")
    preferred_json = seeded_api.get(
        f"{V1}/deals", headers=_with(seeded_api, {"Accept": "application/json, text/csv;q=0.5"})
    )
    assert preferred_json.headers["content-type"] == "application/json"
    explicit = seeded_api.get(f"{V1}/deals", params={"format": "json"}, headers=_with(seeded_api, headers))
    assert explicit.headers["content-type"] == "application/json"
    bad = seeded_api.get(f"{V1}/deals", params={"format": "xlsx"})
    assert bad.status_code == 422
    assert bad.json()["error"]["message"].startswith("format:")


def _with(api: ApiClient, headers: dict[str, str]) -> dict[str, str]:
    from tests.fixtures.api import make_token

    return {"Authorization": f"Bearer {make_token(api.settings, ('APAC',))}", **headers}


@pytest.mark.parametrize("path", ["by-stage", "by-region", "by-owner"])
def test_breakdowns_as_csv(seeded_api: ApiClient, path: str) -> None:
    params = {"deal_status": "all", "closing_from": "2026-02-15"}
    items = seeded_api.get(f"{V1}/metrics/{path}", params=params, **ADMIN).json()["items"]
    rows = _parse(seeded_api.get(f"{V1}/metrics/{path}", params={**params, "format": "csv"}, **ADMIN))
    assert len(rows) == len(items)
    for row, item in zip(rows, items, strict=True):
        assert set(row) == set(item)
        for key, value in item.items():
            shown = "" if value is None else str(value)
            assert _unexcel(row[key]) == shown, (key, row[key], value)


def test_openapi_offers_csv_where_it_is_served(seeded_api: ApiClient) -> None:
    paths = seeded_api.client.get("/openapi.json").json()["paths"]
    for path in ("/deals", "/metrics/by-stage", "/metrics/by-region", "/metrics/by-owner"):
        content = paths[f"{V1}{path}"]["get"]["responses"]["200"]["content"]
        assert {"application/json", "text/csv"} <= set(content), path
