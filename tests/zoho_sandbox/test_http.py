"""Zoho's rules, faults, credits and control endpoints over raw HTTP (requests), schema-checked."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.zoho_sandbox.oas import validate_any
from zoho_sandbox import SandboxServer
from zoho_sandbox.fields_sql import DEAL_FIELD_SQL
from zoho_sandbox.metadata import DEALS_SPEC, fields_body

FIELDS = "Deal_Name,Stage,Amount,Modified_Time"


class Client:
    """Minimal Zoho client: refreshes a token and validates every JSON answer against the OAS."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.session = requests.Session()
        self.refresh()

    def refresh(self) -> None:
        body = self.session.post(
            self.server.accounts_url,
            data={
                "grant_type": "refresh_token",
                "client_id": "sandbox-client-id",
                "client_secret": "sandbox-client-secret",
                "refresh_token": "sandbox-refresh-token",
            },
        ).json()
        self.token = body["access_token"]

    def get(self, path: str, headers: dict[str, str] | None = None, **params: Any) -> requests.Response:
        response = self.session.get(
            self.server.base_url + path,
            params=params,
            headers={"Authorization": f"Zoho-oauthtoken {self.token}", **(headers or {})},
            timeout=10,
        )
        if "json" in response.headers.get("content-type", "") and response.content:
            validate_any("GET", urlsplit(response.url).path, response.status_code, response.json())
        return response


@pytest.fixture
def client(sandbox: SandboxServer) -> Client:
    sandbox.control.clear_faults()
    return Client(sandbox)


def test_oauth_errors_and_api_domain(sandbox: SandboxServer) -> None:
    url = sandbox.accounts_url
    base = {"grant_type": "refresh_token", "client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret"}
    good = requests.post(url, data={**base, "refresh_token": "sandbox-refresh-token"}, timeout=5).json()
    assert good["api_domain"] == sandbox.base_url
    assert good["expires_in"] == 3600
    assert requests.post(url, data={**base, "refresh_token": "nope"}, timeout=5).json() == {"error": "invalid_code"}
    bad_client = requests.post(url, data={**base, "client_id": "x", "refresh_token": "r"}, timeout=5).json()
    assert bad_client == {"error": "invalid_client"}
    grant = {**base, "grant_type": "authorization_code", "code": "sandbox-grant-code"}
    granted = requests.post(url, data=grant, timeout=5).json()
    assert granted["refresh_token"] == "sandbox-refresh-token"
    assert requests.post(url, data=grant, timeout=5).json() == {"error": "invalid_code"}  # codes are single-use
    r = requests.get(sandbox.base_url + "/crm/v8/org", headers={"Authorization": "Zoho-oauthtoken bogus"}, timeout=5)
    assert r.status_code == 401
    assert r.json()["code"] == "INVALID_TOKEN"


def test_records_rules(client: Client) -> None:
    assert client.get("/crm/v8/Deals").json()["code"] == "REQUIRED_PARAM_MISSING"
    too_many = ",".join(list(DEAL_FIELD_SQL) * 2)
    assert client.get("/crm/v8/Deals", fields=too_many).status_code == 400
    assert client.get("/crm/v8/Deals", fields=FIELDS, per_page=201).status_code == 400
    r = client.get("/crm/v8/Deals", fields=FIELDS, page=11, per_page=200)
    assert r.status_code == 400
    assert r.json()["code"] == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
    assert client.get("/crm/v8/Deals", fields=FIELDS, sort_by="Amount").status_code == 400
    assert client.get("/crm/v8/Deals", fields=FIELDS, page=6, per_page=200).status_code == 204  # 1,000 deals
    body = client.get("/crm/v8/Deals", fields=FIELDS, per_page=3, sort_by="Modified_Time", sort_order="desc").json()
    info = body["info"]
    assert set(info) >= {"per_page", "count", "page", "sort_by", "sort_order", "more_records", "next_page_token"}
    times = [d["Modified_Time"] for d in body["data"]]
    assert times == sorted(times, reverse=True)
    assert all(set(d) == {"id", *FIELDS.split(",")} for d in body["data"])
    assert all(len(d["id"]) == 19 for d in body["data"])
    # page_token is bound to its query and rejected with page.
    token = info["next_page_token"]
    assert client.get("/crm/v8/Deals", fields=FIELDS, page_token=token, page=2).status_code == 400
    other = client.get(
        "/crm/v8/Deals", fields="Deal_Name", page_token=token, sort_by="Modified_Time", sort_order="desc"
    )
    assert other.status_code == 400
    same = client.get("/crm/v8/Deals", fields=FIELDS, page_token=token, sort_by="Modified_Time", sort_order="desc")
    assert same.json()["info"]["page"] == 2
    assert client.get("/crm/v8/Deals/actions/count").json()["count"] == client.server.control.ready()["deals"]
    assert client.get("/crm/v8/Leads", fields=FIELDS).status_code == 204
    assert client.get("/crm/v8/Nonsense", fields=FIELDS).json()["code"] == "INVALID_MODULE"


def test_page_token_expires(sandbox_factory: Callable[..., SandboxServer]) -> None:
    server = sandbox_factory(deals=50, page_token_ttl_seconds=60)
    c = Client(server)
    token = c.get("/crm/v8/Deals", fields=FIELDS, per_page=10).json()["info"]["next_page_token"]
    server.control.advance_clock(61)
    r = c.get("/crm/v8/Deals", fields=FIELDS, page_token=token)
    assert r.status_code == 400
    assert "expired" in r.json()["message"]


def test_single_record_users_metadata_and_deleted_304(client: Client) -> None:
    deal = client.server.control.truth()["deals"][0]
    record = client.get(f"/crm/v8/Deals/{deal['id']}").json()["data"][0]
    assert record == deal
    assert client.get("/crm/v8/Deals/1234567890123456789").status_code == 204
    assert len(client.get("/crm/v8/users", type="ActiveUsers", per_page=5, page=2).json()["users"]) == 5
    for module in ("Deals", "Accounts", "Contacts", "Campaigns", "Stage_History"):
        assert client.get("/crm/v8/settings/fields", module=module).json()["fields"]
    client.get("/crm/v8/settings/modules")
    client.get("/crm/v8/settings/layouts", module="Deals")
    far_future = "2099-01-01T00:00:00+08:00"
    assert client.get("/crm/v8/Deals/deleted", headers={"If-Modified-Since": far_future}).status_code == 304


def test_field_metadata_matches_served_fields_and_is_realistic_size() -> None:
    assert [spec[0] for spec in DEALS_SPEC] == list(DEAL_FIELD_SQL)
    total = sum(len(fields_body(m) or b"") for m in ("Deals", "Accounts", "Contacts", "Campaigns"))
    assert total > 200_000  # raw metadata; the SDK's condensed cache of it is ~100 KB


@pytest.mark.parametrize(
    ("kind", "status", "ctype"),
    [("429", 429, "json"), ("500", 500, "json"), ("502", 502, "html"), ("503-html", 503, "html")],
)
def test_status_faults(client: Client, kind: str, status: int, ctype: str) -> None:
    client.server.control.add_faults({"kind": kind, "path": "/crm/v8/Deals", "count": 2})
    for _ in range(2):
        r = client.get("/crm/v8/Deals", fields=FIELDS, per_page=1)
        assert r.status_code == status
        assert ctype in r.headers["content-type"]
        assert "retry-after" not in r.headers
    assert client.get("/crm/v8/Deals", fields=FIELDS, per_page=1).status_code == 200


def test_probability_and_skip_are_deterministic(client: Client) -> None:
    client.server.control.add_faults({"kind": "500", "path": "/crm/v8/org", "count": None, "probability": 0.5})
    first = [client.get("/crm/v8/org").status_code for _ in range(20)]
    client.server.control.clear_faults()  # also reseeds the fault RNG
    client.server.control.add_faults({"kind": "500", "path": "/crm/v8/org", "count": None, "probability": 0.5})
    assert [client.get("/crm/v8/org").status_code for _ in range(20)] == first
    assert 3 < first.count(500) < 17
    client.server.control.clear_faults()
    client.server.control.add_faults({"kind": "429", "path": "/crm/v8/org", "skip": 2})
    assert [client.get("/crm/v8/org").status_code for _ in range(4)] == [200, 200, 429, 200]


def test_latency_timeout_and_reset(client: Client) -> None:
    control = client.server.control
    control.add_faults({"kind": "latency", "path": "/crm/v8/org", "seconds": 0.3})
    r = client.get("/crm/v8/org")
    assert r.status_code == 200
    assert r.elapsed.total_seconds() >= 0.3
    control.add_faults({"kind": "timeout", "path": "/crm/v8/org", "seconds": 2})
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.session.get(
            client.server.base_url + "/crm/v8/org",
            headers={"Authorization": f"Zoho-oauthtoken {client.token}"},
            timeout=0.5,
        )
    control.add_faults({"kind": "reset", "path": "/crm/v8/org"})
    with pytest.raises(requests.exceptions.ConnectionError):
        client.get("/crm/v8/org")
    assert client.get("/crm/v8/org").status_code == 200


def test_token_page_token_bad_record_and_truncated_faults(client: Client) -> None:
    control = client.server.control
    token = client.get("/crm/v8/Deals", fields=FIELDS, per_page=5).json()["info"]["next_page_token"]
    control.add_faults({"kind": "expire_page_token", "path": "/crm/v8/Deals"})
    r = client.get("/crm/v8/Deals", fields=FIELDS, per_page=5, page_token=token)
    assert r.status_code == 400
    control.add_faults({"kind": "bad_record", "path": "/crm/v8/Deals"})
    assert client.get("/crm/v8/Deals", fields=FIELDS, per_page=5).json()["data"][0]["Closing_Date"] == ""
    control.add_faults({"kind": "truncated_json", "path": "/crm/v8/org"})
    raw = client.session.get(
        client.server.base_url + "/crm/v8/org", headers={"Authorization": f"Zoho-oauthtoken {client.token}"}, timeout=5
    )
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw.content)
    control.add_faults({"kind": "revoke_token", "path": "/crm/v8/org"})
    assert client.get("/crm/v8/org").status_code == 401
    assert client.get("/crm/v8/users").status_code == 401  # stays revoked
    client.refresh()
    assert client.get("/crm/v8/users").status_code == 200


def test_http_control_endpoints(sandbox: SandboxServer) -> None:
    base = sandbox.base_url + "/__sandbox"
    assert requests.get(base + "/ready", timeout=5).json()["ready"] is True
    touched = requests.post(base + "/mutate", json={"modify": 2, "create": 1, "delete": 1}, timeout=5).json()
    assert {k: len(v) for k, v in touched.items()} == {"modified": 2, "created": 1, "deleted": 1, "formula_drift": 0}
    added = requests.post(base + "/faults", json={"kind": "500", "path": "/crm/v8/org"}, timeout=5).json()
    assert added["faults"][-1]["kind"] == "500"
    assert requests.delete(base + "/faults", timeout=5).json() == {"faults": []}
    assert requests.post(base + "/faults", json={"kind": "nope"}, timeout=5).status_code == 400
    before = requests.post(base + "/clock/advance", json={"seconds": 3600}, timeout=5).json()["epoch"]
    assert before > 0
    lines = requests.get(base + "/truth", timeout=10).content.splitlines()
    kinds = [json.loads(line)["kind"] for line in lines]
    assert kinds[0] == "meta"
    assert kinds.count("deal") == json.loads(lines[0])["deals"]
    assert "deleted" in kinds
    zipped = requests.get(base + "/truth?gzip=1", timeout=10, headers={"Accept-Encoding": "identity"}, stream=True)
    # The meta line carries the running clock; everything after it must be identical.
    assert gzip.decompress(zipped.raw.read()).splitlines()[1:] == lines[1:]
    assert Client(sandbox).get("/crm/v8/org").status_code == 200  # this test may be the first on its worker
    stats = requests.get(base + "/stats", timeout=5).json()
    assert stats["calls"] > 0
    assert stats["credits_used"] > 0
    assert stats["requests"][-1]["path"].startswith(("/crm", "/oauth"))


def test_credits_allowance_and_concurrency_cap(sandbox_factory: Callable[..., SandboxServer]) -> None:
    server = sandbox_factory(deals=20, daily_credits=5, max_concurrency=2, bulk_delay_seconds=0)
    c = Client(server)
    statuses = [c.get("/crm/v8/org").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    assert server.control.stats()["credits_today"] == 5
    server.control.advance_clock(86_400)  # a new day restores the allowance
    assert c.get("/crm/v8/org").status_code == 200

    server.control.add_faults({"kind": "latency", "path": "/crm/v8/users", "seconds": 0.5, "count": None})
    results: list[int] = []

    def call() -> None:
        results.append(c.get("/crm/v8/users").status_code)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count(429) == 2
    assert server.control.stats()["rejected_concurrency"] == 2


def test_generation_is_deterministic_and_has_awkward_records(sandbox_factory: Callable[..., SandboxServer]) -> None:
    a = sandbox_factory(deals=400, seed=3, awkward_share=0.2).control.truth()
    b = sandbox_factory(deals=400, seed=3, awkward_share=0.2).control.truth()
    assert a["deals"] == b["deals"]
    deals = a["deals"]
    assert any(d["Amount"] is None for d in deals)
    assert any(d["Region"] is None for d in deals)
    assert any(d["Country"] is None for d in deals)
    assert any(d["Stage"] == "Legacy Evaluation" for d in deals)
    assert any(not d["Deal_Name"].isascii() for d in deals)
    assert {d["Region"] for d in deals} >= {"APAC", "EMEA", "Americas", "India"}
    rates = {c["iso_code"]: c["exchange_rate"] for c in a["currencies"]}
    assert all(d["Exchange_Rate"] == rates[d["Currency"]] for d in deals)
    stages = {s["name"]: s for s in a["stages"]}
    assert all(d["Probability"] == stages[d["Stage"]]["probability"] for d in deals)


def test_state_file_is_reused(sandbox_factory: Callable[..., SandboxServer], tmp_path: Any) -> None:
    path = str(tmp_path / "state.sqlite")
    first = sandbox_factory(deals=100, state_file=path)
    touched = first.control.mutate(delete=2)
    first.stop()
    again = sandbox_factory(deals=100, state_file=path)
    assert again.state.store.generation_seconds == 0.0
    assert {d["id"] for d in again.control.truth()["deleted"]} == set(touched["deleted"])
