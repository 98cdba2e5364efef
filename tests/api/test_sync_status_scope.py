"""/sync/status: a token limited to some regions sees its own live deals and every stream's status and times,
but not the org-wide run counters; a token that sees all regions sees everything."""

from __future__ import annotations

from api.queries.reference import ORG_WIDE_STREAM_FIELDS
from tests.fixtures.api import SYNC_ROWS, ApiClient

V1 = "/api/v1"


def test_regional_token_gets_no_org_wide_counters(seeded_api: ApiClient) -> None:
    assert set(ORG_WIDE_STREAM_FIELDS) == {name for name in SYNC_ROWS[0] if name.startswith("records_")}
    regional = seeded_api.get(f"{V1}/sync/status", regions=["APAC"]).json()
    admin = seeded_api.get(f"{V1}/sync/status", regions=[], role="admin").json()
    narrowed = seeded_api.get(f"{V1}/sync/status", regions=[], role="admin", params={"region": "EMEA"}).json()

    assert regional["live_deals"] == 4
    assert admin["live_deals"] == 7
    assert narrowed["live_deals"] == 2
    for status in (regional, narrowed):
        (stream,) = status["streams"]
        assert stream["stream"] == "deals"
        assert stream["last_status"] == "success"
        assert stream["last_success_at"].startswith("2026-03-01T10:00:00")
        assert all(stream[name] is None for name in ORG_WIDE_STREAM_FIELDS)
    (full,) = admin["streams"]
    assert {name: full[name] for name in ORG_WIDE_STREAM_FIELDS} == {
        name: SYNC_ROWS[0][name] for name in ORG_WIDE_STREAM_FIELDS
    }
    assert seeded_api.get(f"{V1}/sync/status", regions="*").json()["streams"][0]["records_extracted"] == 8
