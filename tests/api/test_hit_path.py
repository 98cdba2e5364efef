"""Recalled requests (api/hit_path.py): a repeated request is answered before routing with the full path's
bytes and headers, yet its token is verified, its scope and Accept header count, errors are never recalled,
and what is remembered goes with the cache."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from api.hit_path import MAX_REMEMBERED_QUERY_BYTES, HitPathMiddleware
from api.response_cache import CacheConfig, CachedBody, ResponseCache
from tests.fixtures.api import CACHED_REQUESTS, ApiClient, api_settings, make_token, seed_reference_warehouse, serve

V1 = "/api/v1"
QUIET = CacheConfig(poll_seconds=3600)  # read once at startup: no clear in the middle of a test
MakeClient = Callable[..., ApiClient]
PER_REQUEST_HEADERS = {"x-request-id"}


def _cache(api: ApiClient) -> ResponseCache:
    cache = api.client.app.state.response_cache  # type: ignore[attr-defined]
    assert isinstance(cache, ResponseCache)
    return cache


def _auth(api: ApiClient, regions: Any = ("APAC",), **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(api.settings, regions, **claims)}"}


def _comparable(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    headers = {name: value for name, value in response.headers.items() if name not in PER_REQUEST_HEADERS}
    return response.status_code, response.content, headers


def test_a_recalled_answer_is_the_full_paths_answer(api_client_factory: MakeClient) -> None:
    api = api_client_factory(cache=QUIET)
    cache = _cache(api)
    headers = _auth(api, ["APAC", "EMEA"])
    for path, params in CACHED_REQUESTS:
        full = api.client.get(V1 + path, params=params, headers=headers)
        assert full.status_code == 200, (path, full.text)
        recalls = cache.recalls
        recalled = api.client.get(V1 + path, params=params, headers=headers)
        assert cache.recalls == recalls + 1, f"{path}: the repeat took the full path"
        assert _comparable(recalled) == _comparable(full), path
        assert recalled.headers["x-request-id"] != full.headers["x-request-id"]  # still its own request
        if "etag" in full.headers:  # conditional answers: 304 from the recall as from the full path
            revalidated = api.client.get(
                V1 + path, params=params, headers={**headers, "If-None-Match": full.headers["etag"]}
            )
            assert revalidated.status_code == 304, path
            assert revalidated.headers["etag"] == full.headers["etag"]
    assert len(cache._requests) == len(CACHED_REQUESTS)  # If-None-Match is answered, not part of the request


def test_a_recall_still_verifies_the_token(api_client_factory: MakeClient) -> None:
    api = api_client_factory(cache=QUIET)
    cache = _cache(api)
    params = {"as_of": "2026-03-01"}
    assert api.client.get(f"{V1}/metrics/summary", params=params, headers=_auth(api)).status_code == 200
    recalls = cache.recalls
    now = int(time.time())
    refused = [
        {},
        {"Authorization": "Bearer x.y.z"},
        {"Authorization": "Basic dGVzdGVyOnRlc3Q="},
        _auth(api, exp=now - 120, iat=now - 720),  # expired
        _auth(api, aud="someone-else"),
        {"Authorization": "Bearer " + make_token(api.settings.model_copy(update={"jwt_secret": SecretStr("x" * 40)}))},
    ]
    for headers in refused:
        answer = api.client.get(f"{V1}/metrics/summary", params=params, headers=headers)
        assert answer.status_code == 401, (headers, answer.text)
    # A token without a usable region: the full path's 403, not the remembered APAC answer.
    assert api.client.get(f"{V1}/metrics/summary", params=params, headers=_auth(api, ["Mars"])).status_code == 403
    assert cache.recalls == recalls


def test_the_callers_scope_is_part_of_the_request(api_client_factory: MakeClient) -> None:
    api = api_client_factory(cache=QUIET)
    cache = _cache(api)
    both = api.client.get(f"{V1}/metrics/by-region", headers=_auth(api, ["APAC", "EMEA"]))
    assert [item["region"] for item in both.json()["items"]] == ["APAC", "EMEA"]
    apac = api.client.get(f"{V1}/metrics/by-region", headers=_auth(api, ["APAC"]))
    assert [item["region"] for item in apac.json()["items"]] == ["APAC"]
    # Another subject with the same regions in another order is the same request.
    recalls = cache.recalls
    other = api.client.get(f"{V1}/metrics/by-region", headers=_auth(api, ["EMEA", "APAC"], sub="someone-else"))
    assert (cache.recalls, other.content) == (recalls + 1, both.content)
    # region= narrowing: recalled for the scope that was allowed it, refused for one that is not.
    narrowed = {"region": "APAC"}
    assert api.client.get(f"{V1}/deals", params=narrowed, headers=_auth(api, ["APAC", "EMEA"])).status_code == 200
    assert api.client.get(f"{V1}/deals", params=narrowed, headers=_auth(api, ["APAC", "EMEA"])).status_code == 200
    assert api.client.get(f"{V1}/deals", params=narrowed, headers=_auth(api, ["EMEA"])).status_code == 403


def test_accept_decides_between_json_and_csv(api_client_factory: MakeClient) -> None:
    api = api_client_factory(cache=QUIET)
    headers = _auth(api)
    for _ in range(2):
        assert api.client.get(f"{V1}/deals", headers=headers).headers["content-type"] == "application/json"
    csv = api.client.get(f"{V1}/deals", headers={**headers, "Accept": "text/csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.lstrip("\ufeff").startswith("id,")


def test_errors_are_not_remembered(api_client_factory: MakeClient) -> None:
    api = api_client_factory(cache=QUIET)
    cache = _cache(api)
    headers = _auth(api)
    for _ in range(2):
        misspelt = api.client.get(f"{V1}/metrics/summary", params={"closing_form": "2026-01-01"}, headers=headers)
        assert misspelt.status_code == 422
        assert "closing_from" in misspelt.json()["error"]["message"]
        assert api.client.get(f"{V1}/deals", params={"region": "Mars"}, headers=headers).status_code == 422
        assert api.client.get(f"{V1}/deals", params={"page_size": 0}, headers=headers).status_code == 422
    assert (cache.recalls, len(cache._requests)) == (0, 0)


def test_long_queries_and_unusable_tokens_take_the_full_path(api_client_factory: MakeClient) -> None:
    api = api_client_factory(cache=QUIET)
    assert api.get(f"{V1}/regions").status_code == 200  # the region codes are loaded
    middleware = HitPathMiddleware(
        app=api.client.app,
        cache=_cache(api),
        verifier=api.client.app.state.token_verifier,
        state=api.client.app.state,  # type: ignore[attr-defined]
    )

    def key(query: bytes, **headers: str) -> Any:
        raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
        return middleware.request_key({"path": f"{V1}/deals", "query_string": query, "headers": raw})

    token = _auth(api)["Authorization"]
    assert key(b"page_size=2", Authorization=token) is not None
    assert key(b"p=" + b"1" * MAX_REMEMBERED_QUERY_BYTES, Authorization=token) is None
    assert key(b"page_size=2") is None
    assert key(b"page_size=2", Authorization="Bearer x.y.z") is None
    assert key(b"page_size=2", Authorization=_auth(api, ["Mars"])["Authorization"]) is None
    # The key holds the scope, not the token or its subject; JSON and CSV requests differ.
    assert "tester" not in repr(key(b"page_size=2", Authorization=token))
    assert key(b"", Authorization=token) != key(b"", Authorization=token, Accept="text/csv")


def test_what_is_remembered_goes_with_the_cache() -> None:
    cache = ResponseCache(CacheConfig(max_entries=2))
    cache.observe_version(1)
    body = CachedBody.of(b"{}")
    cache.put("k", body, cache.generation)
    cache.remember("/p", "request", "k", True, cache.generation)
    assert cache.recall("request") == (body, True)
    stale_generation = cache.generation
    cache.observe_version(2)  # a warehouse write: entries and remembered requests are dropped
    assert cache.recall("request") is None
    assert cache.request_paths == set()
    cache.put("k", body, cache.generation)
    cache.remember("/p", "request", "k", True, stale_generation)  # began before the clear: not remembered
    assert cache.recall("request") is None
    # An evicted entry forgets its requests; remembered requests are bounded like the entries.
    for index in range(3):
        cache.put(f"k{index}", body, cache.generation)
        cache.remember("/p", f"r{index}", f"k{index}", False, cache.generation)
    assert cache.recall("r0") is None
    assert len(cache._requests) == 2
    cache.observe_version(None)  # unknown version: nothing is recalled
    assert cache.recall("r2") is None


@pytest.fixture
def live_base(db_url: str, sync_engine: Engine) -> Iterator[tuple[str, str]]:
    seed_reference_warehouse(sync_engine)
    settings = api_settings(db_url)
    for base in serve(settings, cache=QUIET):
        yield base, make_token(settings, regions=("APAC", "EMEA"))


def test_recalled_answers_over_real_http(live_base: tuple[str, str]) -> None:
    base, token = live_base
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=10) as client:
        for encoding in ("identity", "gzip"):
            headers = {**auth, "Accept-Encoding": encoding}
            full, recalled = (client.get(f"{V1}/deals", params={"page_size": 200}, headers=headers) for _ in "12")
            assert _comparable(recalled) == _comparable(full)
            assert recalled.headers.get("content-encoding") == (None if encoding == "identity" else "gzip")
            assert sorted(item["id"] for item in recalled.json()["items"]) == ["1", "2", "3", "4", "5", "6"]
        assert client.get(f"{V1}/deals", params={"page_size": 200}).status_code == 401
