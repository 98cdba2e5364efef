"""CORS: preflights with Authorization succeed for allowed origins (and only for them), answers expose ETag."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.fixtures.api import api_settings, make_token

ALLOWED = "http://localhost:5173"
PREFLIGHT = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization,if-none-match"}


@pytest.fixture
def cors_client(fresh_sqlite_url: str) -> Iterator[tuple[TestClient, str]]:
    settings = api_settings(fresh_sqlite_url, cors_origins=[ALLOWED, "http://localhost:3000"])
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, make_token(settings, ("APAC",))


def test_preflight_with_authorization_succeeds_for_allowed_origins(cors_client: tuple[TestClient, str]) -> None:
    client, token = cors_client
    preflight = client.options("/api/v1/metrics/summary", headers={"Origin": ALLOWED, **PREFLIGHT})
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert "GET" in preflight.headers["access-control-allow-methods"]
    answer = client.get("/api/v1/regions", headers={"Origin": ALLOWED, "Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == ALLOWED
    assert "etag" in answer.headers["access-control-expose-headers"].lower()


def test_other_origins_get_no_cors_grant(cors_client: tuple[TestClient, str]) -> None:
    client, token = cors_client
    preflight = client.options("/api/v1/metrics/summary", headers={"Origin": "http://evil.example", **PREFLIGHT})
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    answer = client.get(
        "/api/v1/regions", headers={"Origin": "http://evil.example", "Authorization": f"Bearer {token}"}
    )
    assert "access-control-allow-origin" not in answer.headers


def test_without_cors_origins_preflights_are_refused(fresh_sqlite_url: str) -> None:
    with TestClient(create_app(api_settings(fresh_sqlite_url)), raise_server_exceptions=False) as client:
        preflight = client.options("/api/v1/metrics/summary", headers={"Origin": ALLOWED, **PREFLIGHT})
    assert preflight.status_code == 405
    assert "access-control-allow-origin" not in preflight.headers
