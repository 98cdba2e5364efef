"""Typed Zoho errors: every failure of the service layer surfaces as exactly one of these, with Zoho's own
`code` and `message` (or ours, when the failure never reached Zoho)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ZohoError(Exception):
    """Base of every Zoho failure. `code` is Zoho's error code (e.g. INVALID_TOKEN) or ours."""

    retryable: bool = False

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.status = status
        self.details = dict(details or {})
        super().__init__(f"{code}: {message}" + (f" (HTTP {status})" if status is not None else ""))


class ZohoAuthError(ZohoError):
    """OAuth failed: invalid/revoked refresh token, bad client, or a 401 that survived one token refresh."""


class ZohoRateLimitError(ZohoError):
    """429 that outlived the retry policy (Zoho sends no Retry-After)."""

    retryable = True


class ZohoBudgetExhaustedError(ZohoError):
    """The next call would spend more of the daily credit budget than we allow ourselves."""


class ZohoNotFoundError(ZohoError):
    """404 / INVALID_URL_PATTERN / a record or module that does not exist."""


class ZohoBadRequestError(ZohoError):
    """4xx the request itself caused (invalid field, limit exceeded, ...); retrying cannot help."""


class ZohoPageTokenExpiredError(ZohoBadRequestError):
    """The page_token of a long read expired; the service restarts from its cursor (internal)."""


class ZohoServerError(ZohoError):
    """5xx, timeouts, connection failures and unreadable (non-JSON / HTML) bodies, after retries."""

    retryable = True


class ZohoTimeoutError(ZohoServerError):
    """The request timed out (after retries)."""


class ZohoConnectionError(ZohoServerError):
    """The server could not be reached (after retries)."""


# Zoho codes that mean the page_token is no longer usable (Zoho documents both spellings in the wild).
PAGE_TOKEN_EXPIRED_CODES = frozenset({"PAGE_TOKEN_EXPIRED", "INVALID_PAGE_TOKEN", "EXPIRED_PAGE_TOKEN"})
AUTH_CODES = frozenset(
    {"INVALID_TOKEN", "AUTHENTICATION_FAILURE", "OAUTH_SCOPE_MISMATCH", "INVALID_OAUTHTOKEN", "NO_PERMISSION"}
)
NOT_FOUND_CODES = frozenset({"INVALID_URL_PATTERN", "INVALID_MODULE", "NOT_FOUND", "RECORD_NOT_FOUND"})
RATE_LIMIT_CODES = frozenset({"TOO_MANY_REQUESTS", "LIMIT_REACHED", "API_LIMIT_EXCEEDED"})


def error_from_response(status: int | None, code: str | None, message: str | None, details: Any = None) -> ZohoError:
    """Map one Zoho error (HTTP status + JSON code/message) to its typed exception."""
    code = code or (f"HTTP_{status}" if status is not None else "UNKNOWN")
    message = message or "no message from Zoho"
    detail_map = details if isinstance(details, Mapping) else ({"details": details} if details else None)
    kwargs: dict[str, Any] = {"status": status, "details": detail_map}
    upper = code.upper()
    if upper in PAGE_TOKEN_EXPIRED_CODES:
        return ZohoPageTokenExpiredError(code, message, **kwargs)
    if status == 429 or upper in RATE_LIMIT_CODES:
        return ZohoRateLimitError(code, message, **kwargs)
    if status == 401 or upper in AUTH_CODES:
        return ZohoAuthError(code, message, **kwargs)
    if status == 404 or upper in NOT_FOUND_CODES:
        return ZohoNotFoundError(code, message, **kwargs)
    if status is not None and status >= 500:
        return ZohoServerError(code, message, **kwargs)
    return ZohoBadRequestError(code, message, **kwargs)
