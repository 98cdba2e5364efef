"""A timeout on the SDK's OAuth token requests.

zohocrmsdk8-0 7.0.0 posts to the token endpoint with a bare `requests.post(url, data=...)` (no timeout), so
a token endpoint that accepts the connection and never answers would hang a run forever. `install(timeout)`
gives the SDK's OAuth module a `requests` whose `post` defaults to our (connect, read) timeout; everything else
is the real `requests`. A timeout surfaces as the SDK's SDKException with a `requests` Timeout cause, which
the manager turns into a retryable ZohoTimeoutError.
"""

from __future__ import annotations

import threading
from types import ModuleType
from typing import Any

import requests
from zohocrmsdk.src.com.zoho.api.authenticator import oauth_token

_lock = threading.Lock()


class TimeoutRequests:
    """`requests` for the SDK's OAuth module: `post` without an explicit timeout gets `timeout`."""

    def __init__(self, module: ModuleType, timeout: tuple[float, float]) -> None:
        self._module = module
        self.timeout = timeout

    def post(self, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return self._module.post(url, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def install(connect_seconds: float, read_seconds: float) -> None:
    """Idempotent; a later call with other values replaces the timeout."""
    with _lock:
        current = oauth_token.requests
        if isinstance(current, TimeoutRequests):
            current.timeout = (connect_seconds, read_seconds)
            return
        if current is not requests:
            raise RuntimeError("the SDK's OAuth module no longer uses `requests` directly; re-check sdk_token_timeout")
        oauth_token.requests = TimeoutRequests(requests, (connect_seconds, read_seconds))  # type: ignore[assignment]


def installed_timeout() -> tuple[float, float] | None:
    current = oauth_token.requests
    return current.timeout if isinstance(current, TimeoutRequests) else None
