"""JWT verification with python-jose: pinned algorithm, required registered claims, key chosen per settings.

HS256 verifies with JWT_SECRET; RS256 with JWT_PUBLIC_KEY (PEM) or a JWKS file whose key is picked by the
token's `kid`. The accepted algorithm list is exactly [JWT_ALGORITHM], so `alg: none` and algorithm-confusion
tokens (HS256 signed with the RS256 public key) are refused before any signature check.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from jose import jwt
from jose.exceptions import ExpiredSignatureError, JWTClaimsError, JWTError

from pipeline_pulse.core.config import ConfigurationError, Settings

REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")
NUMERIC_DATE_CLAIMS = ("exp", "iat", "nbf")
# Largest NumericDate we accept: beyond it float conversion and datetime arithmetic stop being exact or total.
MAX_NUMERIC_DATE = 2**53 - 1
# Bigger tokens are refused before any decoding: ours are a few hundred bytes; parsing 100 KB per request is a
# cheap denial of service.
MAX_TOKEN_BYTES = 8192
# Verified tokens are remembered briefly so a polling client does not pay for a signature check per request.
# An entry never outlives the token's `exp` (nor this TTL); failures are never cached; misses verify in full.
VERIFIED_CACHE_SIZE = 1024
VERIFIED_CACHE_TTL_SECONDS = 60.0


class AuthenticationError(Exception):
    """The token is missing or invalid; the message is safe to show to the client."""


@dataclass(frozen=True, slots=True)
class Claims:
    subject: str
    regions: Any  # as sent: a list of codes, "*", or anything else (then refused by the region scope)
    role: str | None


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self.algorithm = settings.jwt_algorithm
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.leeway = settings.jwt_leeway_seconds
        self._key: str | None = None
        self._jwks: dict[str, dict[str, Any]] = {}
        if self.algorithm == "HS256":
            self._key = settings.require_jwt_secret()
        elif settings.jwt_jwks_file is not None:
            self._jwks = _load_jwks(settings)
        elif settings.jwt_public_key is not None:
            self._key = settings.jwt_public_key.get_secret_value()
        else:
            raise ConfigurationError("JWT_ALGORITHM=RS256 requires JWT_PUBLIC_KEY or JWT_JWKS_FILE")
        # raw token -> (claims, monotonic deadline); LRU-bounded. Only touched from the event loop thread.
        self._verified: OrderedDict[str, tuple[Claims, float]] = OrderedDict()

    def _key_for(self, header: dict[str, Any]) -> Any:
        if not self._jwks:
            return self._key
        kid = header.get("kid")
        if not isinstance(kid, str) or kid not in self._jwks:
            raise AuthenticationError("unknown signing key")
        return self._jwks[kid]

    def verify(self, token: str) -> Claims:
        """Verified claims; a token verified less than a minute ago (and not yet at its `exp`) is not re-checked."""
        if len(token) > MAX_TOKEN_BYTES:
            raise AuthenticationError(f"token larger than {MAX_TOKEN_BYTES} bytes")
        cached = self._verified.get(token)
        if cached is not None:
            claims, deadline = cached
            if time.monotonic() < deadline:
                self._verified.move_to_end(token)
                return claims
            del self._verified[token]
        claims, expires_at = self._verify_uncached(token)
        # Map the token's absolute `exp` onto the monotonic clock; stop trusting the entry at exp (no leeway).
        remaining = min(float(expires_at) - time.time(), VERIFIED_CACHE_TTL_SECONDS)
        if remaining > 0:
            self._verified[token] = (claims, time.monotonic() + remaining)
            if len(self._verified) > VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)
        return claims

    def _verify_uncached(self, token: str) -> tuple[Claims, float]:
        try:
            header = jwt.get_unverified_header(token)
        except JWTError as exc:
            raise AuthenticationError("malformed token") from exc
        if header.get("alg") != self.algorithm:
            raise AuthenticationError("token algorithm not accepted")
        if "crit" in header:  # RFC 7515 4.1.11: we implement no extension, so any critical one is unknown
            raise AuthenticationError("unsupported critical header parameter")
        _check_claim_types(token)
        options = {f"require_{claim}": True for claim in REQUIRED_CLAIMS}
        options["leeway"] = self.leeway  # type: ignore[assignment]
        try:
            payload = jwt.decode(
                token,
                self._key_for(header),
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                options=options,
            )
        except ExpiredSignatureError as exc:
            raise AuthenticationError("token expired") from exc
        except JWTClaimsError as exc:
            raise AuthenticationError(f"invalid claims: {exc}") from exc
        except JWTError as exc:
            raise AuthenticationError("invalid token") from exc
        if payload["iat"] > time.time() + self.leeway:
            raise AuthenticationError("invalid claims: iat is in the future")
        subject = payload.get("sub")
        if not isinstance(subject, str) or not subject:
            raise AuthenticationError("invalid claims: sub must be a non-empty string")
        role = payload.get("role")
        claims = Claims(subject=subject, regions=payload.get("regions"), role=role if isinstance(role, str) else None)
        return claims, float(payload["exp"])  # an int within MAX_NUMERIC_DATE (_check_claim_types)


def _check_claim_types(token: str) -> None:
    """NumericDate claims must be JSON integers before python-jose sees them: it accepts numeric strings
    ("1700000000") and fails with TypeError on null, lists and objects. Runs before the signature check (on the
    unverified payload), so the answer to a forged token is the same 401 either way."""
    try:
        payload = jwt.get_unverified_claims(token)
    except JWTError as exc:
        raise AuthenticationError("malformed token") from exc
    for name in NUMERIC_DATE_CLAIMS:
        if name not in payload:
            continue
        value = payload[name]
        if type(value) is not int or not 0 <= value <= MAX_NUMERIC_DATE:  # bool is an int subclass: refused
            raise AuthenticationError(f"invalid claims: {name} must be an integer NumericDate")


def _load_jwks(settings: Settings) -> dict[str, dict[str, Any]]:
    assert settings.jwt_jwks_file is not None
    try:
        document = json.loads(settings.jwt_jwks_file.read_text(encoding="utf-8"))
        keys = document["keys"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"JWT_JWKS_FILE {settings.jwt_jwks_file} is not a JWKS document") from exc
    by_kid = {key["kid"]: key for key in keys if isinstance(key, dict) and isinstance(key.get("kid"), str)}
    if not by_kid:
        raise ConfigurationError(f"JWT_JWKS_FILE {settings.jwt_jwks_file} has no keys with a kid")
    return by_kid
