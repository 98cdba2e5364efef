"""Repeated requests answered from the response cache before routing.

A polling frontend sends the same requests again and again, and on a cache hit most of the time went to
routing and dependency resolution (the parameter model's validation, the strict-parameter check, the scope),
not to the cache. The first time, a request takes the full path and `respond` leaves the response key it
answered under in the ASGI scope; this middleware then remembers request -> response key. The next identical
request is answered here with the same bytes and headers.

"Identical" is the request key: the path, the raw query string, the Accept header (CSV or JSON), the caller's
region scope before `region=` narrowing (from a token verified by the same verifier, and its verified-token
cache, as on the full path) and today's date (the salt of time-dependent answers). The full path derives
everything else from these: the parameter model, its 422s, the narrowed scope or its 403, the response key.
The known values it checks against change only with the data version, and remembered requests are dropped
with the cache. Anything else (no or an invalid token, a token without a usable region, a long query string,
a request that was not answered 200 or 304) takes the full path, which gives the exact answer or error.
"""

from __future__ import annotations

from collections.abc import Hashable

from starlette.datastructures import Headers, State
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import params
from api.deps import bearer_token
from api.errors import ApiError
from api.response_cache import RECALL_SLOT, RecallSlot, ResponseCache, render, scope_key
from api.scope import RegionScope
from api.security import AuthenticationError, TokenVerifier

MAX_REMEMBERED_QUERY_BYTES = 1024  # longer queries are rare and would let remembered keys outgrow the cache
REMEMBERED_STATUSES = frozenset({200, 304})


class HitPathMiddleware:
    """Innermost of our middleware: request ids, CORS and compression apply to recalled answers too."""

    def __init__(self, app: ASGIApp, cache: ResponseCache, verifier: TokenVerifier, state: State) -> None:
        self.app = app
        self.cache = cache
        self.verifier = verifier
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cache = self.cache
        if scope["type"] != "http" or scope["method"] != "GET" or not cache.active:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        request_key: Hashable | None = None
        if path in cache.request_paths:
            request_key = self.request_key(scope)
            recalled = cache.recall(request_key) if request_key is not None else None
            if recalled is not None:
                entry, conditional = recalled
                headers = Headers(scope=scope)
                response = render(
                    entry,
                    conditional=conditional,
                    if_none_match=headers.get("if-none-match"),
                    accept_encoding=headers.get("accept-encoding"),
                )
                await response(scope, receive, send)
                return
        slot = RecallSlot()
        scope[RECALL_SLOT] = slot
        generation = cache.generation
        status = 0

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, send_and_note_status)
        if slot.key is not None and status in REMEMBERED_STATUSES:
            request_key = request_key or self.request_key(scope)
            if request_key is not None:
                cache.remember(path, request_key, slot.key, slot.conditional, generation)

    def request_key(self, scope: Scope) -> Hashable | None:
        """The request key (module docstring), or None when the request must take the full path."""
        query: bytes = scope["query_string"]
        codes: frozenset[str] | None = getattr(self.state, "region_codes", None)
        if len(query) > MAX_REMEMBERED_QUERY_BYTES or codes is None:
            return None
        headers = Headers(scope=scope)  # the full path's `request.headers`: the first value of each
        try:
            claims = self.verifier.verify(bearer_token(headers.get("authorization")))
            caller_scope = RegionScope.from_claims(claims, codes)
        except (ApiError, AuthenticationError):
            return None
        return (scope["path"], query, headers.get("accept"), scope_key(caller_scope), params.today_utc())
