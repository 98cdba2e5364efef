"""JWT verification: every way a token can be wrong gives 401 (403 only for an unusable region claim)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jose import jwk, jwt

from api.main import create_app
from pipeline_pulse.core.config import Settings
from tests.fixtures.api import TEST_JWT_SECRET, api_settings, make_token

SUMMARY = "/api/v1/regions"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(settings: Settings, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": "t",
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + 600,
        "regions": ["APAC"],
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture
def hs_app(fresh_sqlite_url: str) -> Iterator[tuple[TestClient, Settings]]:
    settings = api_settings(fresh_sqlite_url)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, settings


def _assert_401(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "unauthorized"


def test_valid_token_and_leeway_accepted(hs_app: tuple[TestClient, Settings]) -> None:
    client, settings = hs_app
    assert client.get(SUMMARY, headers={"Authorization": f"Bearer {make_token(settings)}"}).status_code == 200
    # Expired 10 s ago, within the 30 s leeway.
    token = make_token(settings, exp=int(time.time()) - 10)
    assert client.get(SUMMARY, headers={"Authorization": f"Bearer {token}"}).status_code == 200


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"exp": int(time.time()) - 120}, id="expired"),
        pytest.param({"nbf": int(time.time()) + 600}, id="nbf-in-future"),
        pytest.param({"iss": "someone-else"}, id="wrong-issuer"),
        pytest.param({"aud": "another-api"}, id="wrong-audience"),
        pytest.param({"exp": None}, id="no-exp"),
        pytest.param({"iat": None}, id="no-iat"),
        pytest.param({"iss": None}, id="no-iss"),
        pytest.param({"aud": None}, id="no-aud"),
    ],
)
def test_bad_claims_are_401(hs_app: tuple[TestClient, Settings], overrides: dict[str, Any]) -> None:
    client, settings = hs_app
    token = jwt.encode(_claims(settings, **overrides), TEST_JWT_SECRET, algorithm="HS256")
    _assert_401(client.get(SUMMARY, headers={"Authorization": f"Bearer {token}"}))


def test_bad_signature_alg_none_and_malformed_are_401(hs_app: tuple[TestClient, Settings]) -> None:
    client, settings = hs_app
    forged = jwt.encode(_claims(settings), "another-secret-0123456789-0123456789-xyz", algorithm="HS256")
    unsigned = (
        _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        + "."
        + _b64(json.dumps(_claims(settings)).encode())
        + "."
    )
    tampered_parts = make_token(settings).split(".")
    tampered_parts[1] = _b64(json.dumps(_claims(settings, regions="*")).encode())
    for header in [
        f"Bearer {forged}",
        f"Bearer {unsigned}",
        f"Bearer {'.'.join(tampered_parts)}",
        "Bearer not-a-jwt",
        "Bearer abc.def.ghi",
        "Bearer ",
        "Bearer",
        f"Basic {_b64(b'user:pass')}",
        f"Token {make_token(settings)}",
    ]:
        _assert_401(client.get(SUMMARY, headers={"Authorization": header}))


def test_token_outside_the_header_is_ignored(hs_app: tuple[TestClient, Settings]) -> None:
    client, settings = hs_app
    token = make_token(settings)
    _assert_401(client.get(SUMMARY, params={"access_token": token}))
    _assert_401(client.get(SUMMARY, params={"token": token}))
    _assert_401(client.get(SUMMARY, cookies={"access_token": token}))


def test_unusable_region_claim_is_403(hs_app: tuple[TestClient, Settings]) -> None:
    client, settings = hs_app
    for regions in [None, [], ["Mars"], "APAC", [1, 2]]:
        token = jwt.encode(_claims(settings, regions=regions), TEST_JWT_SECRET, algorithm="HS256")
        response = client.get(SUMMARY, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 403, regions
        assert response.json()["error"]["code"] == "forbidden"


def test_rs256_with_public_key(fresh_sqlite_url: str, rsa_keys: tuple[str, str]) -> None:
    private, public = rsa_keys
    settings = api_settings(fresh_sqlite_url, jwt_algorithm="RS256", jwt_public_key=public, jwt_secret=None)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        good = jwt.encode(_claims(settings), private, algorithm="RS256")
        assert client.get(SUMMARY, headers={"Authorization": f"Bearer {good}"}).status_code == 200
        # Algorithm confusion: HS256 keyed with the RS256 public key (jose refuses to sign that, so by hand).
        signing_input = (
            _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
            + "."
            + _b64(json.dumps(_claims(settings)).encode())
        )
        mac = hmac.new(public.encode(), signing_input.encode(), hashlib.sha256).digest()
        _assert_401(client.get(SUMMARY, headers={"Authorization": f"Bearer {signing_input}.{_b64(mac)}"}))
        hs = jwt.encode(_claims(settings), TEST_JWT_SECRET, algorithm="HS256")
        _assert_401(client.get(SUMMARY, headers={"Authorization": f"Bearer {hs}"}))


def test_rs256_with_jwks_picks_key_by_kid(fresh_sqlite_url: str, rsa_keys: tuple[str, str], tmp_path: Path) -> None:
    private, public = rsa_keys
    public_jwk = jwk.construct(public, "RS256").to_dict()
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**public_jwk, "kid": "key-1", "use": "sig"}]}))
    settings = api_settings(fresh_sqlite_url, jwt_algorithm="RS256", jwt_jwks_file=jwks, jwt_secret=None)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        good = jwt.encode(_claims(settings), private, algorithm="RS256", headers={"kid": "key-1"})
        assert client.get(SUMMARY, headers={"Authorization": f"Bearer {good}"}).status_code == 200
        unknown = jwt.encode(_claims(settings), private, algorithm="RS256", headers={"kid": "key-2"})
        _assert_401(client.get(SUMMARY, headers={"Authorization": f"Bearer {unknown}"}))
        no_kid = jwt.encode(_claims(settings), private, algorithm="RS256")
        _assert_401(client.get(SUMMARY, headers={"Authorization": f"Bearer {no_kid}"}))


def _run_mint(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.tokens", "mint", "--sub", "ana", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_mint_cli_signs_with_configured_key_and_refuses_production(
    hs_app: tuple[TestClient, Settings], rsa_keys: tuple[str, str]
) -> None:
    client, _settings = hs_app
    minted = _run_mint({"APP_ENV": "test", "JWT_SECRET": TEST_JWT_SECRET}, "--regions", "APAC,EMEA", "--ttl", "60")
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    response = client.get(SUMMARY, headers={"Authorization": f"Bearer {token}"})
    assert [r["code"] for r in response.json()] == ["APAC", "EMEA"]
    claims = jwt.get_unverified_claims(token)
    assert claims["exp"] - claims["iat"] == 60
    private, _public = rsa_keys
    rs = _run_mint(
        {"APP_ENV": "test", "JWT_ALGORITHM": "RS256", "JWT_PRIVATE_KEY": private, "JWT_PUBLIC_KEY": _public},
        "--regions",
        "*",
        "--role",
        "admin",
    )
    assert rs.returncode == 0, rs.stderr
    assert jwt.get_unverified_header(rs.stdout.strip())["alg"] == "RS256"
    refused = _run_mint({"APP_ENV": "production"}, "--regions", "APAC")
    assert refused.returncode != 0
    assert "production" in refused.stderr
    assert refused.stdout == ""
