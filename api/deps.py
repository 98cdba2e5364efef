"""Annotated dependencies: database connection, verified claims, the caller's RegionScope and query filters.

Every dependency is `async def`: FastAPI runs plain `def` dependencies in a worker thread, which costs more
than the work they do here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.errors import ApiError
from api.filters import DealFilters
from api.queries.reference import region_codes
from api.scope import RegionScope
from api.security import AuthenticationError, Claims, TokenVerifier

BEARER_CHALLENGE = 'Bearer realm="pipeline-pulse"'


async def get_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """A pooled Core connection (no ORM session: the API only reads rows); autocommit, so no BEGIN/ROLLBACK."""
    engine: AsyncEngine = request.app.state.engine
    async with engine.connect() as connection:
        yield connection


ConnectionDep = Annotated[AsyncConnection, Depends(get_connection)]


def _unauthorized(message: str, error: str = "invalid_token") -> ApiError:
    challenge = BEARER_CHALLENGE if error == "" else f'{BEARER_CHALLENGE}, error="{error}"'
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": challenge})


async def current_claims(request: Request) -> Claims:
    """Verified claims from `Authorization: Bearer <jwt>`; tokens anywhere else (query string, cookies) are ignored."""
    header = request.headers.get("authorization")
    if not header:
        raise _unauthorized("missing bearer token", error="")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("the Authorization header must be 'Bearer <token>'", error="invalid_request")
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        return verifier.verify(token.strip())
    except AuthenticationError as exc:
        raise _unauthorized(str(exc)) from exc


ClaimsDep = Annotated[Claims, Depends(current_claims)]


async def _known_regions(request: Request) -> frozenset[str]:
    # Region codes change only by migration; read them once per process (so a cached answer needs no connection).
    cached: frozenset[str] | None = getattr(request.app.state, "region_codes", None)
    if cached is None:
        engine: AsyncEngine = request.app.state.engine
        async with engine.connect() as connection:
            cached = await region_codes(connection)
        request.app.state.region_codes = cached
    return cached


async def region_scope(
    request: Request,
    claims: ClaimsDep,
    region: Annotated[
        str | None, Query(description="Restrict to one region; 403 if it is outside your token's regions.")
    ] = None,
) -> RegionScope:
    """The one place claims become a RegionScope; an explicit `region` narrows it (or is refused).

    Runs before the endpoint, so a `region` outside the scope is refused before any response-cache lookup."""
    scope = RegionScope.from_claims(claims, await _known_regions(request))
    return scope.narrowed(region)


ScopeDep = Annotated[RegionScope, Depends(region_scope)]


async def deal_filters(
    owner_id: Annotated[int | None, Query(description="Zoho user id of the deal owner.")] = None,
    pipeline: Annotated[str | None, Query(max_length=120, description="Pipeline name.")] = None,
    stage: Annotated[str | None, Query(max_length=120, description="Current stage.")] = None,
    closing_from: Annotated[date | None, Query(description="Closing date on or after (YYYY-MM-DD).")] = None,
    closing_to: Annotated[date | None, Query(description="Closing date on or before (YYYY-MM-DD).")] = None,
) -> DealFilters:
    if closing_from is not None and closing_to is not None and closing_from > closing_to:
        raise ApiError(400, "bad_request", "closing_from must not be after closing_to")
    return DealFilters(
        owner_id=owner_id, pipeline=pipeline, stage=stage, closing_from=closing_from, closing_to=closing_to
    )


FiltersDep = Annotated[DealFilters, Depends(deal_filters)]
