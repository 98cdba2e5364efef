"""OAuth 2 as Zoho's accounts server does it: refresh/grant, revoke, and access-token checks for API calls."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from .clock import SandboxClock
from .config import SandboxConfig


@dataclass
class _Token:
    expires_at: float
    revoked: bool = False


class TokenAuthority:
    def __init__(self, config: SandboxConfig, clock: SandboxClock) -> None:
        self.config = config
        self.clock = clock
        self._lock = threading.Lock()
        self._access: dict[str, _Token] = {}
        self._refresh_tokens = {config.refresh_token}
        self._used_codes: set[str] = set()
        self.issued = 0

    def token_request(self, form: dict[str, str], api_domain: str) -> dict[str, object]:
        """Body of the token endpoint's answer (always HTTP 200, like Zoho, errors included)."""
        if form.get("client_id") != self.config.client_id:
            return {"error": "invalid_client"}
        if form.get("client_secret") != self.config.client_secret:
            return {"error": "invalid_client_secret"}
        grant = form.get("grant_type")
        new_refresh = None
        with self._lock:
            if grant == "refresh_token":
                if form.get("refresh_token") not in self._refresh_tokens:
                    return {"error": "invalid_code"}
            elif grant == "authorization_code":
                code = form.get("code", "")
                if code not in self.config.grant_codes or code in self._used_codes:
                    return {"error": "invalid_code"}
                if form.get("redirect_uri") not in (None, self.config.redirect_uri):
                    return {"error": "invalid_redirect_uri"}
                self._used_codes.add(code)
                new_refresh = self.config.refresh_token
            else:
                return {"error": "unsupported_grant_type"}
            access = "1000." + secrets.token_hex(16) + "." + secrets.token_hex(16)
            # Real elapsed time, not the sandbox clock: jumping the data clock must not kill live tokens.
            self._access[access] = _Token(time.monotonic() + self.config.token_ttl_seconds)
            self.issued += 1
        body: dict[str, object] = {
            "access_token": access,
            "scope": "ZohoCRM.modules.ALL ZohoCRM.settings.ALL ZohoCRM.users.READ ZohoCRM.org.READ ZohoCRM.bulk.ALL",
            # Our own URL, never a real Zoho domain: the SDK may switch its environment to api_domain.
            "api_domain": api_domain,
            "token_type": "Bearer",
            "expires_in": self.config.token_ttl_seconds,
        }
        if new_refresh:
            body["refresh_token"] = new_refresh
        return body

    def revoke_refresh(self, token: str) -> bool:
        with self._lock:
            if token in self._refresh_tokens:
                self._refresh_tokens.discard(token)
                return True
        return False

    def revoke_all_access(self) -> int:
        with self._lock:
            for tok in self._access.values():
                tok.revoked = True
            return len(self._access)

    def check(self, authorization: str | None) -> str | None:
        """None when the header carries a live token, else the reason."""
        if not authorization or not authorization.startswith("Zoho-oauthtoken "):
            return "missing"
        token = authorization[len("Zoho-oauthtoken ") :].strip()
        with self._lock:
            tok = self._access.get(token)
        if tok is None:
            return "unknown"
        if tok.revoked:
            return "revoked"
        if time.monotonic() >= tok.expires_at:
            return "expired"
        return None

    def reset(self) -> None:
        with self._lock:
            self._access.clear()
            self._refresh_tokens = {self.config.refresh_token}
            self._used_codes.clear()
