"""The speed-ups keep their promises: cached token verification never outlives `exp` and never caches a
failure, statements reused across requests never mix scopes or filters, and NULLs still sort last."""

from __future__ import annotations

import time
from datetime import date

import pytest
from sqlalchemy import Engine, insert

from api.security import VERIFIED_CACHE_TTL_SECONDS, AuthenticationError, TokenVerifier
from pipeline_pulse.models import Deal
from tests.fixtures.api import ApiClient, api_settings, deal_row, make_token

V1 = "/api/v1"


def test_verified_token_cache_is_bounded_by_exp_and_skips_failures() -> None:
    settings = api_settings("sqlite:///unused.db")
    verifier = TokenVerifier(settings)
    now = int(time.time())

    soon = make_token(settings, exp=now + 5)
    assert verifier.verify(soon).subject == "tester"
    _claims, deadline = verifier._verified[soon]
    assert deadline - time.monotonic() <= 5.5  # the token's exp, not the cache TTL

    later = make_token(settings, exp=now + 3600)
    verifier.verify(later)
    assert verifier._verified[later][1] - time.monotonic() <= VERIFIED_CACHE_TTL_SECONDS + 0.5

    # Accepted within the leeway after exp, but never cached.
    expired_within_leeway = make_token(settings, exp=now - 10)
    verifier.verify(expired_within_leeway)
    assert expired_within_leeway not in verifier._verified

    # A cached token's tampered twin is a different string: a miss, verified in full, refused, not cached.
    header, payload, signature = later.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    with pytest.raises(AuthenticationError):
        verifier.verify(tampered)
    assert tampered not in verifier._verified

    # An entry past its deadline is dropped and the token verified again (here: now expired beyond leeway).
    verifier._verified[soon] = (verifier._verified[soon][0], time.monotonic() - 1)
    assert verifier.verify(soon).subject == "tester"  # still valid: re-verified and cached again
    stale = make_token(settings, exp=now - 3600)
    verifier._verified[stale] = (verifier._verified[soon][0], time.monotonic() - 1)
    with pytest.raises(AuthenticationError):
        verifier.verify(stale)


def test_reused_statements_never_mix_scopes_or_filters(seeded_api: ApiClient) -> None:
    # APAC then EMEA then APAC again: the same statement shape, different bound regions.
    for regions, expected in ((["APAC"], ["APAC"]), (["EMEA"], ["EMEA"]), (["APAC"], ["APAC"])):
        items = seeded_api.get(f"{V1}/metrics/by-region", regions=regions).json()["items"]
        assert [item["region"] for item in items] == expected
        deals = seeded_api.get(f"{V1}/deals", regions=regions).json()["items"]
        assert {deal["region"] for deal in deals} == set(expected)
    both = seeded_api.get(f"{V1}/metrics/by-region", regions=["APAC", "EMEA"]).json()["items"]
    assert [item["region"] for item in both] == ["APAC", "EMEA"]
    # Same shape (owner filter), different owners.
    ana = seeded_api.get(f"{V1}/metrics/by-owner", params={"owner_id": 100}, role="admin").json()["items"]
    ben = seeded_api.get(f"{V1}/metrics/by-owner", params={"owner_id": 200}, role="admin").json()["items"]
    assert [item["owner_id"] for item in ana] == ["100"]
    assert [item["owner_id"] for item in ben] == ["200"]


def test_nulls_sort_last_in_both_directions(seeded_api: ApiClient, sync_engine: Engine) -> None:
    with sync_engine.begin() as conn:
        conn.execute(
            insert(Deal),
            [
                deal_row(30, amount_home=None, closing_date=None, modified_time=None),
                deal_row(31, amount_home="10.00", closing_date=date(2026, 1, 2)),
            ],
        )
    for field in ("amount_home", "closing_date", "modified_time"):
        for sort in (field, f"-{field}"):
            ids = [item["id"] for item in seeded_api.get(f"{V1}/deals", params={"sort": sort}).json()["items"]]
            assert ids[-1] == "30", (sort, ids)
            assert "31" in ids
