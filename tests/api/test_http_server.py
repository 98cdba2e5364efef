"""The app under a real uvicorn server over TCP: auth, gzip, CORS, ETags and request ids end to end."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import Engine

from api.main import create_app
from tests.fixtures.api import api_settings, make_token, seed_reference_warehouse, serve

ORIGIN = "https://dashboard.example.com"


@pytest.fixture
def live_server(db_url: str, sync_engine: Engine) -> Iterator[tuple[str, str]]:
    seed_reference_warehouse(sync_engine)
    settings = api_settings(db_url, cors_origins=[ORIGIN])
    for base in serve(settings):
        yield base, make_token(settings, regions=("APAC", "EMEA"))


def test_real_http_round_trip(live_server: tuple[str, str]) -> None:
    base, token = live_server
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=10) as client:
        summary = client.get("/api/v1/metrics/summary", headers=auth, params={"as_of": "2026-03-01"})
        assert summary.status_code == 200
        # APAC + EMEA open: 1000 + 2000 + 4000.
        assert Decimal(summary.json()["open_pipeline"]) == Decimal("7000")
        assert summary.headers["x-request-id"]

        revalidated = client.get(
            "/api/v1/metrics/summary",
            headers={**auth, "If-None-Match": summary.headers["etag"]},
            params={"as_of": "2026-03-01"},
        )
        assert revalidated.status_code == 304

        deals = client.get("/api/v1/deals", headers={**auth, "Accept-Encoding": "gzip"}, params={"page_size": 200})
        assert deals.headers["content-encoding"] == "gzip"
        assert sorted(item["id"] for item in deals.json()["items"]) == ["1", "2", "3", "4", "5", "6"]

        preflight = client.options(
            "/api/v1/metrics/summary",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        foreign = client.get("/health", headers={"Origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in foreign.headers

        unauthorized = client.get("/api/v1/metrics/summary")
        assert unauthorized.status_code == 401
        assert unauthorized.json() == {"error": {"code": "unauthorized", "message": "missing bearer token"}}
        assert client.get("/ready").json() == {"status": "ready", "database": "reachable"}


def test_ready_is_503_when_the_database_is_unreachable(fresh_sqlite_url: str) -> None:
    from fastapi.testclient import TestClient

    # A Postgres port nothing listens on: the probe fails fast, the reason stays in the server log.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    settings = api_settings(f"postgresql://postgres@127.0.0.1:{dead_port}/nothing")
    with TestClient(create_app(settings, ready_timeout_seconds=1.0), raise_server_exceptions=False) as client:
        response = client.get("/ready")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "service_unavailable"
        assert "Traceback" not in response.text
        token = make_token(settings)
        summary = client.get("/api/v1/metrics/summary", headers={"Authorization": f"Bearer {token}"})
        assert summary.status_code == 503
        assert "127.0.0.1" not in summary.text
