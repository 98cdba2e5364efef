"""A frozen database (every server process SIGSTOPped) makes the API answer 503 within its configured bounds,
and the API recovers by itself once the database runs again.

The database is a throwaway cluster this test starts itself (initdb + pg_ctl on a free port in a tmp dir),
never the shared server. The response cache is off so every request needs the database.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from pipeline_pulse.core.db import CLIENT_TIMEOUT_GRACE_SECONDS, create_sync_engine
from pipeline_pulse.core.migrate import upgrade
from tests.fixtures.api import api_settings, make_token, seed_reference_warehouse
from tests.reliability.cluster import ThrowawayCluster, throwaway_cluster
from tests.reliability.live import LiveApi, api_env, live_api

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

STATEMENT_S, POOL_S, CONNECT_S = 2.0, 2.0, 2.0
POOL_SIZE = 4
# The worst path: wait for a pooled connection, get one the pool must reopen, then run a statement.
BOUND_S = POOL_S + CONNECT_S + STATEMENT_S + CLIENT_TIMEOUT_GRACE_SECONDS
SLACK_S = 3.0  # a loaded 2-core machine schedules late; the frozen time below is far beyond bound + slack
FROZEN_S = 20.0
CONCURRENT = 3 * POOL_SIZE  # more requests than the pool holds: some wait for a connection


@pytest.fixture(scope="module")
def cluster() -> Iterator[ThrowawayCluster]:
    with throwaway_cluster() as started:
        yield started


@pytest.fixture
def bounded_api(cluster: ThrowawayCluster, tmp_path: Path) -> Iterator[tuple[LiveApi, str]]:
    url = cluster.url()
    upgrade(url)
    engine = create_sync_engine(url)
    seed_reference_warehouse(engine)
    engine.dispose()
    env = api_env(
        url,
        API_DB_STATEMENT_TIMEOUT_SECONDS=str(STATEMENT_S),
        API_DB_POOL_TIMEOUT_SECONDS=str(POOL_S),
        API_DB_CONNECT_TIMEOUT_SECONDS=str(CONNECT_S),
        API_DB_POOL_SIZE=str(POOL_SIZE),
        API_DB_MAX_OVERFLOW="0",
        API_CACHE_VERSION_POLL_SECONDS="0",
    )
    with live_api(tmp_path, env) as api:
        yield api, make_token(api_settings(url), regions=("APAC", "EMEA"))


def _timed_get(client: httpx.Client, path: str) -> tuple[int, float, str]:
    started = time.monotonic()
    response = client.get(path)
    return response.status_code, time.monotonic() - started, response.text


def test_frozen_database_gives_503_within_the_bound_then_recovers(
    cluster: ThrowawayCluster, bounded_api: tuple[LiveApi, str]
) -> None:
    api, token = bounded_api
    paths = ["/api/v1/metrics/summary?as_of=2026-03-01", "/api/v1/deals/1", "/api/v1/sync/status", "/api/v1/deals"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=api.base_url, headers=headers, timeout=FROZEN_S * 2) as client:
        assert all(client.get(path).status_code == 200 for path in paths)  # warm pool, region codes read

        with cluster.frozen(), ThreadPoolExecutor(CONCURRENT) as pool:
            frozen_at = time.monotonic()
            results = list(pool.map(lambda i: _timed_get(client, paths[i % len(paths)]), range(CONCURRENT)))
            ready = _timed_get(client, "/ready")
            # Hold the freeze well past every bound: a pass cannot come from the server thawing in time.
            time.sleep(max(0.0, FROZEN_S - (time.monotonic() - frozen_at)))

        for status, seconds, body in [*results, ready]:
            assert status == 503, body
            assert seconds < BOUND_S + SLACK_S, f"{seconds:.1f} s for a 503 (bound {BOUND_S} s)"
        assert "Traceback" not in "".join(body for _status, _seconds, body in results)

        # Recovery without a restart: dead connections are dropped and new ones opened.
        deadline = time.monotonic() + 30
        while client.get(paths[0]).status_code != 200:
            assert time.monotonic() < deadline, "the API did not recover after the database came back"
            time.sleep(0.2)
        for _ in range(3):
            assert all(client.get(path).status_code == 200 for path in paths)
        assert client.get("/ready").status_code == 200
    assert api.process.poll() is None
