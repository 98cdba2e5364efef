"""The response cache (api/response_cache.py): a hit is the miss's bytes without touching the database, a
warehouse write invalidates it within a poll interval, scopes never share entries, it stays bounded, and the
API behaves the same with it disabled."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, insert, text
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.caching import CACHE_CONTROL
from api.response_cache import GZIP_MINIMUM_BYTES, CacheConfig, CachedBody, ResponseCache, render, scope_key
from api.scope import RegionScope
from pipeline_pulse.models import Deal, WarehouseDataVersion
from pipeline_pulse.services.zoho.records import DeletedDeal
from pipeline_pulse.warehouse.data_version import read_data_version
from pipeline_pulse.warehouse.deals import soft_delete_deals
from pipeline_pulse.warehouse.metrics_mart import refresh_pipeline_metrics
from tests.fixtures.api import CACHED_REQUESTS, ApiClient, deal_row

V1 = "/api/v1"
FAST = CacheConfig(poll_seconds=0.05)
QUIET = CacheConfig(poll_seconds=3600)  # read once at startup: no poll in the middle of a measurement
MakeClient = Callable[..., ApiClient]


def _cache(api: ApiClient) -> ResponseCache:
    cache = api.client.app.state.response_cache  # type: ignore[attr-defined]
    assert isinstance(cache, ResponseCache)
    return cache


@contextlib.contextmanager
def _count_checkouts(api: ApiClient) -> Iterator[list[int]]:
    """Connections checked out of the app's pool while the block runs."""
    pool = api.client.app.state.engine.sync_engine.pool  # type: ignore[attr-defined]
    checkouts = [0]

    def on_checkout(*_args: Any) -> None:
        checkouts[0] += 1

    event.listen(pool, "checkout", on_checkout)
    try:
        yield checkouts
    finally:
        event.remove(pool, "checkout", on_checkout)


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_hit_returns_the_miss_bytes_without_the_database(api_client_factory: MakeClient) -> None:
    api = api_client_factory(cache=QUIET)
    cache = _cache(api)
    assert cache.active
    for path, params in CACHED_REQUESTS:
        miss = api.get(V1 + path, params=params, regions=["APAC", "EMEA"])
        assert miss.status_code == 200, (path, miss.text)
        hits_before = cache.hits
        with _count_checkouts(api) as checkouts:
            hit = api.get(V1 + path, params=params, regions=["APAC", "EMEA"])
        assert cache.hits == hits_before + 1, path
        assert checkouts[0] == 0, f"{path}: a hit opened a database connection"
        assert hit.content == miss.content, path
        for header in ("content-type", "etag", "cache-control", "vary"):
            assert hit.headers.get(header) == miss.headers.get(header), (path, header)
    # Misses do use the database (the counter works).
    with _count_checkouts(api) as checkouts:
        api.get(f"{V1}/metrics/by-owner", regions=["India"])
    assert checkouts[0] == 1


def test_etag_304_and_auth_still_apply_on_hits(api_client_factory: MakeClient) -> None:
    api = api_client_factory(cache=FAST)
    first = api.get(f"{V1}/metrics/summary")
    etag = first.headers["etag"]
    not_modified = api.get(f"{V1}/metrics/summary", headers=_with_auth(api, {"If-None-Match": etag}))
    assert not_modified.status_code == 304
    assert not_modified.headers["etag"] == etag
    assert not_modified.headers["cache-control"] == first.headers["cache-control"]
    # A cached answer exists for APAC, yet: no token, a bad token, and a region outside the scope are refused.
    assert api.client.get(f"{V1}/metrics/summary").status_code == 401
    assert api.client.get(f"{V1}/metrics/summary", headers={"Authorization": "Bearer x.y.z"}).status_code == 401
    assert api.get(f"{V1}/metrics/summary", params={"region": "APAC"}, regions=["EMEA"]).status_code == 403
    assert api.get(f"{V1}/deals", params={"region": "APAC"}, regions=["EMEA"]).status_code == 403


def _with_auth(api: ApiClient, headers: dict[str, str], regions: Any = ("APAC",)) -> dict[str, str]:
    from tests.fixtures.api import make_token

    return {"Authorization": f"Bearer {make_token(api.settings, regions)}", **headers}


def test_scopes_never_share_entries(api_client_factory: MakeClient) -> None:
    api = api_client_factory(cache=FAST)
    cache = _cache(api)
    apac = api.get(f"{V1}/metrics/by-region", regions=["APAC"]).json()
    emea = api.get(f"{V1}/metrics/by-region", regions=["EMEA"]).json()
    both = api.get(f"{V1}/metrics/by-region", regions=["EMEA", "APAC"]).json()
    admin = api.get(f"{V1}/metrics/by-region", regions=[], role="admin").json()
    assert [item["region"] for item in apac["items"]] == ["APAC"]
    assert [item["region"] for item in emea["items"]] == ["EMEA"]
    assert [item["region"] for item in both["items"]] == ["APAC", "EMEA"]
    assert [item["region"] for item in admin["items"]] == ["APAC", "Americas", "EMEA"]
    assert len(cache) == 4
    assert cache.hits == 0
    keys = list(cache._entries)
    assert {key[1] for key in keys} == {("APAC",), ("EMEA",), ("APAC", "EMEA"), None}
    # Another caller (other subject, other token) with the same scope in another order shares the entry.
    other = api.get(
        f"{V1}/metrics/by-region", headers={"Authorization": _token(api, ["APAC", "EMEA"], sub="someone-else")}
    )
    assert other.json() == both
    assert cache.hits == 1
    # The key holds no token or subject.
    assert not any("tester" in repr(key) or "someone-else" in repr(key) or "Bearer" in repr(key) for key in keys)
    # region= narrows to the effective scope: APAC+EMEA asking for APAC gets exactly APAC's answer.
    narrowed = api.get(f"{V1}/metrics/by-region", params={"region": "APAC"}, regions=["APAC", "EMEA"]).json()
    assert narrowed == apac


def _token(api: ApiClient, regions: list[str], **claims: Any) -> str:
    from tests.fixtures.api import make_token

    return f"Bearer {make_token(api.settings, regions, **claims)}"


def test_warehouse_writes_invalidate_within_a_poll(api_client_factory: MakeClient, sync_engine: Engine) -> None:
    api = api_client_factory(cache=FAST)
    cache = _cache(api)
    before = api.get(f"{V1}/deals", params={"page_size": 200}).json()
    summary_before = api.get(f"{V1}/metrics/summary").json()
    assert "1" in {deal["id"] for deal in before["items"]}

    # A direct write that skips the warehouse layer is not seen: the cache really answers.
    with sync_engine.begin() as conn:
        conn.execute(insert(Deal), [deal_row(40, region="APAC", amount_home="5.00")])
    time.sleep(FAST.poll_seconds * 4)
    assert api.get(f"{V1}/deals", params={"page_size": 200}).json() == before

    # The warehouse layer's soft delete bumps the data version in its transaction: /deals follows within a poll.
    version = read_data_version(sync_engine.connect())
    with sync_engine.begin() as conn:
        assert soft_delete_deals(conn, [DeletedDeal(1, datetime(2026, 3, 2, tzinfo=UTC), "recycle")]) == 1
    with sync_engine.connect() as conn:
        assert read_data_version(conn) > version  # the delete and the deal_versions tombstone each bump it
    _wait_for(lambda: "1" not in {d["id"] for d in api.get(f"{V1}/deals", params={"page_size": 200}).json()["items"]})
    ids = {deal["id"] for deal in api.get(f"{V1}/deals", params={"page_size": 200}).json()["items"]}
    assert "40" in ids
    assert "1" not in ids
    # The mart still holds deal 1 until it is rebuilt; the rebuild bumps the version again.
    assert api.get(f"{V1}/metrics/summary").json() == summary_before
    with sync_engine.begin() as conn:
        refresh_pipeline_metrics(conn)
    _wait_for(lambda: api.get(f"{V1}/metrics/summary").json() != summary_before)
    after = api.get(f"{V1}/metrics/summary").json()
    assert after["open_deal_count"] == summary_before["open_deal_count"]  # -deal 1 (open), +deal 40 (open)
    assert cache.generation >= 3


def test_bounded_entries_and_bytes_evict_least_recently_used() -> None:
    cache = ResponseCache(CacheConfig(max_entries=3, max_bytes=8 * 2000))
    cache.observe_version(1)
    body = CachedBody.of(b"x" * 1000)
    for key in "abc":
        assert cache.put(key, body, cache.generation)
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("d", body, cache.generation)
    assert set(cache._entries) == {"a", "c", "d"}
    assert cache.evictions == 1
    # Byte bound: 1/8 of the budget per entry at most; the total stays under max_bytes.
    assert not cache.put("big", CachedBody.of(b"y" * 2000), cache.generation)
    small = ResponseCache(CacheConfig(max_entries=100, max_bytes=8 * 1400))
    small.observe_version(1)
    for index in range(20):
        small.put(index, body, small.generation)
        assert small.bytes <= small.config.max_bytes
    assert body.size == 1000 + len(body.gzipped or b"") + len(body.etag) + 256  # the compressed copy counts
    assert len(small) == (8 * 1400) // body.size
    assert small.evictions > 0
    # A computation that began before a clear does not store its answer; an unknown version bypasses.
    generation = small.generation
    small.observe_version(2)
    assert len(small) == 0
    assert not small.put("late", body, generation)
    small.put("k", body, small.generation)
    small.observe_version(None)
    assert small.get("k") is None
    assert not small.put("k", body, small.generation)


def test_bounded_cache_in_the_app(api_client_factory: MakeClient) -> None:
    api = api_client_factory(cache=CacheConfig(poll_seconds=0.05, max_entries=2))
    cache = _cache(api)
    for size in (1, 2, 3, 1):
        assert api.get(f"{V1}/deals", params={"page_size": size}).status_code == 200
    assert len(cache) == 2
    assert cache.evictions == 2
    assert cache.hits == 0


def test_today_is_part_of_time_dependent_keys(api_client_factory: MakeClient, monkeypatch: pytest.MonkeyPatch) -> None:
    api = api_client_factory(cache=FAST)
    cache = _cache(api)
    api.get(f"{V1}/metrics/summary", params={"stale_after_days": 10})
    api.get(f"{V1}/metrics/summary", params={"stale_after_days": 10, "as_of": "2026-03-01"})
    monkeypatch.setattr("api.params.today_utc", lambda: date(2099, 1, 1))
    api.get(f"{V1}/metrics/summary", params={"stale_after_days": 10})  # another day: a miss
    api.get(f"{V1}/metrics/summary", params={"stale_after_days": 10, "as_of": "2026-03-01"})  # explicit: a hit
    assert len(cache) == 3
    assert cache.hits == 1


def test_scope_key_is_the_sorted_region_set() -> None:
    assert scope_key(RegionScope(frozenset({"EMEA", "APAC"}))) == ("APAC", "EMEA")
    assert scope_key(RegionScope(None)) is None


def test_disabled_cache_gives_the_same_answers_and_sees_every_write(
    api_client_factory: MakeClient, sync_engine: Engine
) -> None:
    cached = api_client_factory(cache=FAST)
    plain = api_client_factory(cache=CacheConfig(poll_seconds=0))
    assert plain.client.app.state.response_cache is None  # type: ignore[attr-defined]
    for path, params in CACHED_REQUESTS:
        expected = cached.get(V1 + path, params=params)
        answer = plain.get(V1 + path, params=params)
        assert (answer.status_code, answer.content) == (expected.status_code, expected.content), path
        assert answer.headers.get("etag") == expected.headers.get("etag"), path
    with sync_engine.begin() as conn:  # no version bump: only the uncached app can see it at once
        conn.execute(insert(Deal), [deal_row(41, region="APAC")])
    assert "41" in {deal["id"] for deal in plain.get(f"{V1}/deals", params={"page_size": 200}).json()["items"]}


@pytest.mark.changes_schema
def test_unreadable_version_bypasses_the_cache(api_client_factory: MakeClient, sync_engine: Engine) -> None:
    api = api_client_factory(cache=FAST)
    cache = _cache(api)
    assert api.get(f"{V1}/regions").status_code == 200
    assert len(cache) == 1
    # Really unreadable: the version table is gone (every poll fails) until it is put back.
    table = WarehouseDataVersion.__tablename__
    with sync_engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {table} RENAME TO {table}_away"))
    try:
        _wait_for(lambda: not cache.active, timeout=120)  # the real poller saw the failure
        assert len(cache) == 0
        assert api.get(f"{V1}/regions").status_code == 200  # still answered, from the database
        assert len(cache) == 0  # ... and not stored while the version is unknown
    finally:
        with sync_engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE {table}_away RENAME TO {table}"))
    _wait_for(lambda: cache.active, timeout=120)
    assert api.get(f"{V1}/regions").status_code == 200
    assert len(cache) == 1


@pytest.mark.parametrize("conditional", [False, True])
def test_compressed_answers_are_what_the_gzip_middleware_gives(conditional: bool) -> None:
    """A cached answer carries its compressed form; served, it has the headers the app's GZipMiddleware gives
    a plain response (which passes responses with a Content-Encoding through)."""
    bodies = {
        "small": b'{"a": 1}',
        "large": json.dumps([{"id": str(n), "stage": "Qualification"} for n in range(300)]).encode(),
    }
    headers = {"ETag": '"e"', "Cache-Control": CACHE_CONTROL, "Vary": "Authorization"} if conditional else None

    async def plain(request: Request) -> Response:
        return Response(bodies[request.path_params["size"]], media_type="application/json", headers=headers)

    async def cached(request: Request) -> Response:
        entry = CachedBody.of(bodies[request.path_params["size"]])
        return render(
            entry, conditional=conditional, if_none_match=None, accept_encoding=request.headers.get("accept-encoding")
        )

    app = Starlette(routes=[Route("/plain/{size}", plain), Route("/cached/{size}", cached)])
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES)
    with TestClient(app) as client:
        for size in bodies:
            for encoding in ("gzip", "identity", "gzip, deflate, br"):
                expected = client.get(f"/plain/{size}", headers={"Accept-Encoding": encoding})
                answer = client.get(f"/cached/{size}", headers={"Accept-Encoding": encoding})
                assert answer.content == expected.content == bodies[size]  # decoded by httpx
                for header in ("content-type", "content-encoding", "vary", "cache-control"):
                    assert answer.headers.get(header) == expected.headers.get(header), (size, encoding, header)
                if answer.headers.get("content-encoding") == "gzip":
                    assert int(answer.headers["content-length"]) < len(bodies[size]) / 4
                else:
                    assert int(answer.headers["content-length"]) == len(bodies[size])
