"""The SDK's TokenStore on the warehouse table `zoho_oauth_tokens`, with every secret Fernet-encrypted.

The SDK calls the store on every API call (`find_token` until the token has an id, then
`find_token_by_id`) and `save_token` after each refresh. Lookups use sha256 hashes of the tokens, so nothing is
ever decrypted to find a row. Concurrent refreshes by several processes are settled by a compare-and-set
update: a save never replaces a stored access token that expires later than the one being saved, so the row
always holds a complete, valid token (never a mix of two refreshes).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Engine, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore
from zohocrmsdk.src.com.zoho.crm.api.exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from pipeline_pulse.core.config import ConfigurationError, Settings
from pipeline_pulse.models.base import utcnow
from pipeline_pulse.models.tokens import ZohoOAuthToken

logger = logging.getLogger(__name__)

TABLE = ZohoOAuthToken.__table__
TOKEN_STORE_ERROR = "TOKEN_STORE"  # noqa: S105 - an error code, not a secret


def token_hash(value: str | None) -> str | None:
    return hashlib.sha256(value.encode()).hexdigest() if value else None


@dataclass(frozen=True, slots=True)
class StoredToken:
    """A decrypted row, for the manager and tests (never logged: repr hides the secrets)."""

    id: str
    user_name: str | None
    client_id: str | None
    access_token: str | None
    refresh_token: str | None
    expiry_time: int | None
    version: int

    def __repr__(self) -> str:
        return f"StoredToken(id={self.id!r}, user_name={self.user_name!r}, expiry_time={self.expiry_time!r}, version={self.version})"


class ImprovedZohoTokenStore(TokenStore):
    """TokenStore on SQLAlchemy (PostgreSQL or SQLite); secrets encrypted at rest with Fernet."""

    def __init__(self, engine: Engine, encryption_key: bytes | str) -> None:
        try:
            self._fernet = Fernet(encryption_key)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                "TOKEN_ENCRYPTION_KEY is not a valid Fernet key (32 url-safe base64 bytes)"
            ) from exc
        self._engine = engine
        # Set by the manager when ZOHO_API_URL is explicit: the SDK switches its environment to whatever
        # api_domain a stored token carries, so a row written against real Zoho must not redirect us.
        self.pinned_api_domain: str | None = None

    @property
    def engine(self) -> Engine:
        """The warehouse the tokens (and the shared credit ledger) live in."""
        return self._engine

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine) -> ImprovedZohoTokenStore:
        # No fallback key in any environment: without TOKEN_ENCRYPTION_KEY no token is stored.
        return cls(engine, settings.require_token_encryption_key())

    # -- encryption ---------------------------------------------------------------------------------------
    def _encrypt(self, value: str | None) -> str | None:
        return self._fernet.encrypt(value.encode()).decode() if value else None

    def _decrypt(self, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return self._fernet.decrypt(value.encode()).decode()
        except InvalidToken as exc:
            raise SDKException(TOKEN_STORE_ERROR, "stored token cannot be decrypted with TOKEN_ENCRYPTION_KEY") from exc

    def _decrypt_or_none(self, value: str | None) -> str | None:
        """Decrypt, or None if the value was written under another key (then it gets rewritten)."""
        try:
            return self._decrypt(value)
        except SDKException:
            return None

    # -- row <-> OAuthToken -------------------------------------------------------------------------------
    def _row_values(self, token: OAuthToken) -> dict[str, Any]:
        """Columns to write for the non-None fields of `token` (the SDK's own store only writes those)."""
        values: dict[str, Any] = {}
        signature = token.get_user_signature()
        if signature is not None and signature.get_name():
            values["user_name"] = signature.get_name()
        if token.get_client_id() is not None:
            values["client_id"] = token.get_client_id()
        if token.get_client_secret() is not None:
            values["client_secret_enc"] = self._encrypt(token.get_client_secret())
        if token.get_refresh_token() is not None:
            values["refresh_token_enc"] = self._encrypt(token.get_refresh_token())
            values["refresh_token_hash"] = token_hash(token.get_refresh_token())
        if token.get_access_token() is not None:
            values["access_token_enc"] = self._encrypt(token.get_access_token())
            values["access_token_hash"] = token_hash(token.get_access_token())
        if token.get_grant_token() is not None:
            values["grant_token_enc"] = self._encrypt(token.get_grant_token())
            values["grant_token_hash"] = token_hash(token.get_grant_token())
        if token.get_expires_in() is not None:
            values["expiry_time"] = int(token.get_expires_in())
        if token.get_redirect_url() is not None:
            values["redirect_url"] = token.get_redirect_url()
        api_domain = self.pinned_api_domain or token.get_api_domain()
        if api_domain is not None:
            values["api_domain"] = api_domain
        return values

    def _merge_row(self, token: OAuthToken, row: Any) -> None:
        """Fill only the fields that are None on `token` (the SDK's find_token contract)."""
        if token.get_id() is None:
            token.set_id(row.id)
        if token.get_user_signature() is None and row.user_name:
            token.set_user_signature(UserSignature(row.user_name))
        if token.get_client_id() is None:
            token.set_client_id(row.client_id)
        if token.get_client_secret() is None:
            token.set_client_secret(self._decrypt(row.client_secret_enc))
        if token.get_refresh_token() is None:
            token.set_refresh_token(self._decrypt(row.refresh_token_enc))
        if token.get_access_token() is None:
            token.set_access_token(self._decrypt(row.access_token_enc))
        if token.get_grant_token() is None:
            token.set_grant_token(self._decrypt(row.grant_token_enc))
        if token.get_expires_in() is None and row.expiry_time is not None:
            token.set_expires_in(str(row.expiry_time))
        if token.get_redirect_url() is None:
            token.set_redirect_url(row.redirect_url)
        if token.get_api_domain() is None or self.pinned_api_domain is not None:
            token.set_api_domain(self.pinned_api_domain or row.api_domain)

    def _blank_token(self) -> OAuthToken:
        token = object.__new__(OAuthToken)  # the SDK builds store results the same way (no validation)
        OAuthToken.__init__(token, id="placeholder")
        token.set_id(None)
        return token

    def _token_from_row(self, row: Any) -> OAuthToken:
        token = self._blank_token()
        self._merge_row(token, row)
        return token

    def _match_condition(self, token: OAuthToken) -> Any | None:
        """The row a token refers to, in the SDK DBStore's order of precedence (id first: it is exact)."""
        if token.get_id() is not None:
            return TABLE.c.id == token.get_id()
        signature = token.get_user_signature()
        if signature is not None and signature.get_name():
            return TABLE.c.user_name == signature.get_name()
        if token.get_access_token() and token.get_client_id() is None and token.get_client_secret() is None:
            return TABLE.c.access_token_hash == token_hash(token.get_access_token())
        if token.get_grant_token():
            return TABLE.c.grant_token_hash == token_hash(token.get_grant_token())
        if token.get_refresh_token():
            condition = TABLE.c.refresh_token_hash == token_hash(token.get_refresh_token())
            if token.get_client_id() is not None:
                condition = condition & or_(TABLE.c.client_id == token.get_client_id(), TABLE.c.client_id.is_(None))
            return condition
        return None

    # -- TokenStore ---------------------------------------------------------------------------------------
    def find_token(self, token: OAuthToken) -> OAuthToken | None:
        if not isinstance(token, OAuthToken):
            return None
        condition = self._match_condition(token)
        if condition is None:
            return None
        try:
            with self._engine.connect() as conn:
                row = conn.execute(select(TABLE).where(condition).order_by(TABLE.c.updated_at.desc()).limit(1)).first()
        except Exception as exc:
            raise SDKException(TOKEN_STORE_ERROR, "could not read the Zoho token store", cause=exc) from exc
        if row is None:
            return None
        self._merge_row(token, row)
        return token

    def find_token_by_id(self, id: str) -> OAuthToken:
        try:
            with self._engine.connect() as conn:
                row = conn.execute(select(TABLE).where(TABLE.c.id == id)).first()
        except Exception as exc:
            raise SDKException(TOKEN_STORE_ERROR, "could not read the Zoho token store", cause=exc) from exc
        if row is None:
            raise SDKException(TOKEN_STORE_ERROR, f"no Zoho token with id {id!r} in the token store")
        return self._token_from_row(row)

    def save_token(self, token: OAuthToken) -> None:
        if not isinstance(token, OAuthToken):
            return
        values = self._row_values(token)
        condition = self._match_condition(token)
        try:
            for _attempt in range(3):  # an insert race resolves to an update on the next attempt
                try:
                    with self._engine.begin() as conn:
                        if condition is not None:
                            row_id = conn.execute(select(TABLE.c.id).where(condition).limit(1)).scalar()
                            if row_id is not None:
                                self._compare_and_set(conn, row_id, values)
                                token.set_id(row_id)
                                return
                        new_id = token.get_id() or uuid.uuid4().hex
                        conn.execute(insert(TABLE).values(id=new_id, version=1, updated_at=utcnow(), **values))
                        token.set_id(new_id)
                        return
                except IntegrityError:
                    condition = TABLE.c.id == token.get_id() if token.get_id() is not None else condition
            raise SDKException(TOKEN_STORE_ERROR, "could not save the Zoho token after repeated conflicts")
        except SDKException:
            raise
        except Exception as exc:
            raise SDKException(TOKEN_STORE_ERROR, "could not save the Zoho token", cause=exc) from exc

    def _compare_and_set(self, conn: Any, row_id: str, values: dict[str, Any]) -> None:
        """Update the row atomically; an access token is only replaced by one that expires no earlier."""
        stmt = update(TABLE).where(TABLE.c.id == row_id)
        new_expiry = values.get("expiry_time")
        if "access_token_enc" in values and new_expiry is not None:
            stmt = stmt.where(or_(TABLE.c.expiry_time.is_(None), TABLE.c.expiry_time <= new_expiry))
        result = conn.execute(stmt.values(version=TABLE.c.version + 1, updated_at=utcnow(), **values))
        if result.rowcount == 0:
            # Another process saved a token that lives longer; keep it (ours stays valid until it expires).
            logger.info("Zoho token %s: kept the newer token another process saved", row_id)

    def delete_token(self, id: str) -> None:
        try:
            with self._engine.begin() as conn:
                conn.execute(delete(TABLE).where(TABLE.c.id == id))
        except Exception as exc:
            raise SDKException(TOKEN_STORE_ERROR, "could not delete the Zoho token", cause=exc) from exc

    def get_tokens(self) -> list[OAuthToken]:
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(select(TABLE).order_by(TABLE.c.id)).all()
        except Exception as exc:
            raise SDKException(TOKEN_STORE_ERROR, "could not read the Zoho token store", cause=exc) from exc
        return [self._token_from_row(row) for row in rows]

    def delete_tokens(self) -> None:
        try:
            with self._engine.begin() as conn:
                conn.execute(delete(TABLE))
        except Exception as exc:
            raise SDKException(TOKEN_STORE_ERROR, "could not delete the Zoho tokens", cause=exc) from exc

    # -- beyond the SDK interface -------------------------------------------------------------------------
    def expire_access_token(self, token_id: str, rejected_access_token: str | None = None) -> bool:
        """Mark the stored access token expired so the SDK refreshes it on the next call.

        With `rejected_access_token`, only if the row still holds that token (another process may already
        have refreshed). Returns True when the row was changed.
        """
        stmt = update(TABLE).where(TABLE.c.id == token_id)
        if rejected_access_token is not None:
            stmt = stmt.where(TABLE.c.access_token_hash == token_hash(rejected_access_token))
        with self._engine.begin() as conn:
            result = conn.execute(stmt.values(expiry_time=0, version=TABLE.c.version + 1, updated_at=utcnow()))
        return result.rowcount > 0

    def ensure_client_token(self, token_id: str, client_id: str, client_secret: str, refresh_token: str) -> None:
        """Create (or re-point) the row for our OAuth client so every process shares one token by id.

        A changed refresh token (rotated in the settings) replaces the stored one and drops its access token.
        """
        refresh_hash = token_hash(refresh_token)
        base = {
            "client_id": client_id,
            "client_secret_enc": self._encrypt(client_secret),
            "refresh_token_enc": self._encrypt(refresh_token),
            "refresh_token_hash": refresh_hash,
        }
        for _attempt in range(3):
            try:
                with self._engine.begin() as conn:
                    row = conn.execute(
                        select(TABLE.c.refresh_token_hash, TABLE.c.client_id, TABLE.c.client_secret_enc).where(
                            TABLE.c.id == token_id
                        )
                    ).first()
                    if row is None:
                        conn.execute(insert(TABLE).values(id=token_id, version=1, updated_at=utcnow(), **base))
                    elif row.refresh_token_hash != refresh_hash or row.client_id != client_id:
                        # Another grant or client: the stored access token belongs to the old one.
                        conn.execute(
                            update(TABLE)
                            .where(TABLE.c.id == token_id)
                            .values(
                                access_token_enc=None,
                                access_token_hash=None,
                                expiry_time=None,
                                version=TABLE.c.version + 1,
                                updated_at=utcnow(),
                                **base,
                            )
                        )
                    elif self._decrypt_or_none(row.client_secret_enc) != client_secret:
                        conn.execute(
                            update(TABLE)
                            .where(TABLE.c.id == token_id)
                            .values(
                                client_secret_enc=base["client_secret_enc"],
                                version=TABLE.c.version + 1,
                                updated_at=utcnow(),
                            )
                        )
                return
            except IntegrityError:
                continue  # another process created the row just now; look again
        raise SDKException(TOKEN_STORE_ERROR, "could not create the Zoho token row after repeated conflicts")

    def load(self, token_id: str) -> StoredToken | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(TABLE).where(TABLE.c.id == token_id)).first()
        if row is None:
            return None
        return StoredToken(
            id=row.id,
            user_name=row.user_name,
            client_id=row.client_id,
            access_token=self._decrypt(row.access_token_enc),
            refresh_token=self._decrypt(row.refresh_token_enc),
            expiry_time=row.expiry_time,
            version=row.version,
        )
