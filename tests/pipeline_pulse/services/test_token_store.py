"""ImprovedZohoTokenStore on both backends: the SDK's TokenStore contract, encryption at rest, compare-and-set."""

from __future__ import annotations

import time

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, select
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from pipeline_pulse.core.config import ConfigurationError, Settings
from pipeline_pulse.models.tokens import ZohoOAuthToken
from pipeline_pulse.services.zoho.token_store import ImprovedZohoTokenStore, token_hash

KEY = Fernet.generate_key()
REFRESH = "1000.refresh-token-that-must-stay-secret"
SECRET = "client-secret-that-must-stay-secret"


def _token(refresh: str = REFRESH, **kwargs: str) -> OAuthToken:
    return OAuthToken(client_id="client-1", client_secret=SECRET, refresh_token=refresh, **kwargs)


def _saved(store: ImprovedZohoTokenStore, access: str, expiry_ms: int, refresh: str = REFRESH) -> OAuthToken:
    token = _token(refresh)
    token.set_access_token(access)
    token.set_expires_in(str(expiry_ms))
    store.save_token(token)
    return token


def test_save_then_find_by_id_and_by_refresh_token(sync_engine: Engine) -> None:
    store = ImprovedZohoTokenStore(sync_engine, KEY)
    saved = _saved(store, "access-1", 1_900_000_000_000)
    assert saved.get_id() is not None

    by_id = store.find_token_by_id(saved.get_id())
    assert (by_id.get_access_token(), by_id.get_refresh_token(), by_id.get_client_secret()) == (
        "access-1",
        REFRESH,
        SECRET,
    )
    assert by_id.get_expires_in() == "1900000000000"

    # find_token fills only the None fields of the given token and returns that same object.
    probe = OAuthToken(client_id="client-1", client_secret="in-memory-secret", refresh_token=REFRESH)
    found = store.find_token(probe)
    assert found is probe
    assert probe.get_id() == saved.get_id()
    assert probe.get_access_token() == "access-1"
    assert probe.get_client_secret() == "in-memory-secret"

    assert store.find_token(OAuthToken(client_id="client-1", client_secret="x", refresh_token="unknown")) is None
    with pytest.raises(SDKException):
        store.find_token_by_id("no-such-id")


def test_find_by_user_name_get_tokens_and_delete(sync_engine: Engine) -> None:
    store = ImprovedZohoTokenStore(sync_engine, KEY)
    token = _token()
    token.set_user_signature(UserSignature("owner@example.com"))
    token.set_access_token("access-u")
    store.save_token(token)
    other = _saved(store, "access-2", 1, refresh="1000.another-grant")

    found = store.find_token(OAuthToken(user_signature=UserSignature("owner@example.com")))
    assert found is not None
    assert found.get_access_token() == "access-u"
    assert {t.get_id() for t in store.get_tokens()} == {token.get_id(), other.get_id()}

    store.delete_token(other.get_id())
    assert [t.get_id() for t in store.get_tokens()] == [token.get_id()]
    store.delete_tokens()
    assert store.get_tokens() == []


def test_tokens_are_encrypted_at_rest(sync_engine: Engine) -> None:
    store = ImprovedZohoTokenStore(sync_engine, KEY)
    saved = _saved(store, "access-secret-value", 1_900_000_000_000)
    with sync_engine.connect() as conn:
        row = conn.execute(select(ZohoOAuthToken.__table__).where(ZohoOAuthToken.id == saved.get_id())).one()
    stored_text = " ".join(str(value) for value in row)
    for secret in (REFRESH, SECRET, "access-secret-value"):
        assert secret not in stored_text
    assert row.refresh_token_hash == token_hash(REFRESH)
    # Another key cannot read it: a clear error, not garbage.
    with pytest.raises(SDKException, match="cannot be decrypted"):
        ImprovedZohoTokenStore(sync_engine, Fernet.generate_key()).find_token_by_id(saved.get_id())


def test_save_never_replaces_a_longer_lived_token(sync_engine: Engine) -> None:
    """Compare-and-set: a process finishing a slower refresh cannot overwrite a newer token."""
    store = ImprovedZohoTokenStore(sync_engine, KEY)
    newer = _saved(store, "access-newer", 2_000_000_000_000)
    older = _token(id=newer.get_id())
    older.set_access_token("access-older")
    older.set_expires_in("1999999999999")
    store.save_token(older)
    assert store.find_token_by_id(newer.get_id()).get_access_token() == "access-newer"

    later = _token(id=newer.get_id())
    later.set_access_token("access-later")
    later.set_expires_in("2000000000001")
    store.save_token(later)
    assert store.load(newer.get_id()).access_token == "access-later"  # type: ignore[union-attr]


def test_expire_access_token_only_if_still_the_rejected_one(sync_engine: Engine) -> None:
    store = ImprovedZohoTokenStore(sync_engine, KEY)
    saved = _saved(store, "access-a", int(time.time() * 1000) + 3_600_000)
    assert store.expire_access_token(saved.get_id(), "some-other-token") is False
    assert store.load(saved.get_id()).expiry_time > 0  # type: ignore[union-attr]
    assert store.expire_access_token(saved.get_id(), "access-a") is True
    assert store.load(saved.get_id()).expiry_time == 0  # type: ignore[union-attr]


def test_ensure_client_token_creates_and_rotates(sync_engine: Engine) -> None:
    store = ImprovedZohoTokenStore(sync_engine, KEY)
    store.ensure_client_token("tok-1", "client-1", SECRET, REFRESH)
    store.ensure_client_token("tok-1", "client-1", SECRET, REFRESH)  # idempotent
    row = store.load("tok-1")
    assert row is not None
    assert row.refresh_token == REFRESH
    assert row.access_token is None
    store.save_token(_with_access(store.find_token_by_id("tok-1"), "access-x"))
    store.ensure_client_token("tok-1", "client-1", SECRET, "1000.rotated")
    rotated = store.load("tok-1")
    assert rotated is not None
    assert rotated.refresh_token == "1000.rotated"
    assert rotated.access_token is None


def _with_access(token: OAuthToken, access: str) -> OAuthToken:
    token.set_access_token(access)
    token.set_expires_in(str(int(time.time() * 1000) + 3_600_000))
    return token


def test_no_environment_has_a_fallback_key(sync_engine: Engine) -> None:
    url = sync_engine.url.render_as_string(hide_password=False)
    for env in ("development", "test", "production"):
        settings = Settings(app_env=env, database_url=url, aws_secret_id="x", token_encryption_key=None)
        with pytest.raises(ConfigurationError, match="TOKEN_ENCRYPTION_KEY is not set"):
            ImprovedZohoTokenStore.from_settings(settings, sync_engine)
    with pytest.raises(ConfigurationError, match="valid Fernet key"):
        ImprovedZohoTokenStore(sync_engine, "not-a-key")
