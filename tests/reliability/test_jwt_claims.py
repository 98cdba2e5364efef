"""JWT claim-type, header and size cases: every one a 401 with a reason, never a 500, never accepted.

Tokens are correctly signed with the server's key, so what is tested is the claim checking, not the signature.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jose import jwt

from api.security import MAX_TOKEN_BYTES, AuthenticationError, TokenVerifier
from tests.fixtures.api import TEST_JWT_SECRET, api_settings
from tests.fixtures.property_budget import examples
from tests.reliability.live import LiveApi

SETTINGS = api_settings("sqlite:///unused.db")
NOW = int(time.time())  # for values that only need to look like dates; times that matter use signing time
Claims = dict[str, Any] | Callable[[int], dict[str, Any]]


def signed(claims: Claims, headers: dict[str, Any] | None = None, drop: tuple[str, ...] = ()) -> str:
    """A correctly signed token; `claims` may be a function of the signing time (for times near now)."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "sub": "prober",
        "iss": SETTINGS.jwt_issuer,
        "aud": SETTINGS.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "regions": ["APAC"],
    }
    payload.update(claims(now) if callable(claims) else claims)
    for name in drop:
        payload.pop(name)
    return jwt.encode(payload, TEST_JWT_SECRET, algorithm="HS256", headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# (label, value): labels are fixed so test ids are the same in every xdist worker (NOW is not).
NOT_INTEGERS: list[tuple[str, Any]] = [
    ("null", None),
    ("empty list", []),
    ("list", [NOW + 3600]),
    ("empty object", {}),
    ("object", {"t": 1}),
    ("numeric string", str(NOW + 3600)),
    ("string", "soon"),
    ("true", True),
    ("float", float(NOW + 3600)),
    ("fraction", 1.5),
]
# label -> (claims, header, dropped claims); tokens are signed when a test runs, so "now" is then.
CASES: dict[str, tuple[Claims, dict[str, Any] | None, tuple[str, ...]]] = {
    **{
        f"{claim} {label}": ({claim: value}, None, ())
        for claim in ("exp", "iat", "nbf")
        for label, value in NOT_INTEGERS
    },
    "exp beyond 2^53": ({"exp": 2**64}, None, ()),
    "exp negative": ({"exp": -1}, None, ()),
    "exp past": (lambda now: {"exp": now - 3600}, None, ()),
    "nbf a day ahead": (lambda now: {"nbf": now + 86400}, None, ()),
    "iat a day ahead": (lambda now: {"iat": now + 86400}, None, ()),
    "iat beyond the leeway": (lambda now: {"iat": now + SETTINGS.jwt_leeway_seconds + 120}, None, ()),
    "no exp": ({}, None, ("exp",)),
    "no iat": ({}, None, ("iat",)),
    "crit unknown": ({}, {"crit": ["urn:example:unknown"]}, ()),
    "crit naming a claim": ({}, {"crit": ["exp"]}, ()),
    "crit empty": ({}, {"crit": []}, ()),
    "iss a list": ({"iss": [SETTINGS.jwt_issuer]}, None, ()),
    "aud an object": ({"aud": {"aud": SETTINGS.jwt_audience}}, None, ()),
    "sub a number": ({"sub": 7}, None, ()),
    "sub null": ({"sub": None}, None, ()),
    "too large": ({"padding": "x" * 100_000}, None, ()),
}
UNSIGNED: dict[str, str] = {
    "just above the cap": "a" * (MAX_TOKEN_BYTES + 1),
    "alg none": _b64(b'{"alg":"none","typ":"JWT"}') + "." + _b64(json.dumps({"sub": "x"}).encode()) + ".",
    "header not an object": _b64(b"[1]") + "." + _b64(b"{}") + ".c2ln",
    "payload not an object": _b64(b'{"alg":"HS256"}') + "." + _b64(b"[]") + ".c2ln",
    "payload not json": _b64(b'{"alg":"HS256"}') + "." + _b64(b"\xff\xfe") + ".c2ln",
    "deeply nested header": _b64(b"[" * 3000) + "." + _b64(b"{}") + ".c2ln",
    "two segments": "abc.def",
    "garbage": "not-a-token",
}
REFUSED = sorted([*CASES, *UNSIGNED])


def token_for(case: str) -> str:
    if case in UNSIGNED:
        return UNSIGNED[case]
    claims, headers, drop = CASES[case]
    return signed(claims, headers, drop)


@pytest.fixture(scope="module")
def verifier() -> TokenVerifier:
    return TokenVerifier(SETTINGS)


def test_the_baseline_token_is_accepted(verifier: TokenVerifier) -> None:
    assert verifier.verify(signed({})).subject == "prober"
    assert verifier.verify(signed(lambda now: {"iat": now + SETTINGS.jwt_leeway_seconds - 5})).subject == "prober"


@pytest.mark.parametrize("case", REFUSED)
def test_refused_with_a_reason(verifier: TokenVerifier, case: str) -> None:
    with pytest.raises(AuthenticationError) as refused:
        verifier.verify(token_for(case))
    assert str(refused.value)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(st.dictionaries(st.sampled_from(["exp", "iat", "nbf", "iss", "aud", "sub", "regions", "role"]), JSON_VALUES))
def test_any_claim_values_give_claims_or_a_401_never_a_crash(claims: dict[str, Any]) -> None:
    verifier = TokenVerifier(SETTINGS)
    try:
        verified = verifier.verify(signed(claims))
    except AuthenticationError:
        return
    # Accepted only with integer NumericDates inside their windows and a string subject.
    for name in ("exp", "iat", "nbf"):
        value = claims.get(name, 0)
        assert type(value) is int
    assert isinstance(verified.subject, str)


def test_over_http_every_case_is_a_401_with_the_bearer_challenge(live_sqlite: LiveApi) -> None:
    with httpx.Client(base_url=live_sqlite.base_url, timeout=30) as client:
        for case in REFUSED:
            response = client.get("/api/v1/metrics/summary", headers={"Authorization": f"Bearer {token_for(case)}"})
            if case == "too large" and response.status_code in (400, 431):
                continue  # refused by the HTTP server's own header limit before the app: also never parsed
            assert response.status_code == 401, (case, response.status_code, response.text)
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert response.json()["error"]["code"] == "unauthorized"
        accepted = client.get("/api/v1/metrics/summary", headers={"Authorization": f"Bearer {signed({})}"})
        assert accepted.status_code == 200
    assert " 500 " not in live_sqlite.log()
