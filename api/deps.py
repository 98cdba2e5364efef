"""Annotated dependencies: database connection, verified claims, the caller's RegionScope and query filters.

Every dependency is `async def`: FastAPI runs plain `def` dependencies in a worker thread, which costs more
than the work they do here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.errors import ApiError
from api.filters import QueryParams
from api.known_values import check_pipeline_and_stage, check_region, region_codes
from api.scalars import QueryText
from api.scope import RegionScope
from api.security import AuthenticationError, Claims, TokenVerifier

BEARER_CHALLENGE = 'Bearer realm="pipeline-pulse"'
# Declares the scheme in OpenAPI (so /docs has an Authorize button); the header is parsed below.
BEARER_SCHEME = HTTPBearer(
    scheme_name="bearerAuth",
    bearerFormat="JWT",
    description="A JWT from your identity provider (dev: `python -m api.tokens mint`), sent as "
    "`Authorization: Bearer <token>`.",
    auto_error=False,
)
P = TypeVar("P", bound=QueryParams)


async def get_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """A pooled Core connection (no ORM session: the API only reads rows); autocommit, so no BEGIN/ROLLBACK."""
    engine: AsyncEngine = request.app.state.engine
    async with engine.connect() as connection:
        yield connection


ConnectionDep = Annotated[AsyncConnection, Depends(get_connection)]


def _unauthorized(message: str, error: str = "invalid_token") -> ApiError:
    challenge = BEARER_CHALLENGE if error == "" else f'{BEARER_CHALLENGE}, error="{error}"'
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": challenge})


async def current_claims(
    request: Request, _declared: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER_SCHEME)]
) -> Claims:
    """Verified claims from `Authorization: Bearer <jwt>`; tokens anywhere else (query string, cookies) are ignored."""
    token = bearer_token(request.headers.get("authorization"))
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        return verifier.verify(token)
    except AuthenticationError as exc:
        raise _unauthorized(str(exc)) from exc


def bearer_token(header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header (401 when there is none)."""
    if not header:
        raise _unauthorized("missing bearer token", error="")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("the Authorization header must be 'Bearer <token>'", error="invalid_request")
    return token.strip()


ClaimsDep = Annotated[Claims, Depends(current_claims)]


async def region_scope(
    request: Request,
    claims: ClaimsDep,
    region: Annotated[
        QueryText | None,
        Query(description="Restrict to one region (a code of /regions); 403 if it is outside your token's regions."),
    ] = None,
) -> RegionScope:
    """The one place claims become a RegionScope; an explicit `region` narrows it (or is refused).

    An unknown code is a 422 listing the known ones before the scope is looked at, so the answer is the same
    for every caller and says nothing about other regions' data. Runs before the endpoint, so a `region`
    outside the scope is refused before any response-cache lookup."""
    await check_region(request, region)
    scope = RegionScope.from_claims(claims, await region_codes(request))
    return scope.narrowed(region)


ScopeDep = Annotated[RegionScope, Depends(region_scope)]


def query_params(model: type[P]) -> Any:
    """`Annotated[Model, query_params(Model)]`: the endpoint's parameter model, validated (422 naming the
    parameter) and its pipeline / stage checked against the warehouse's known values."""

    async def dependency(request: Request, params: Any) -> Any:
        await check_pipeline_and_stage(request, getattr(params, "pipeline", None), getattr(params, "stage", None))
        return params

    # Real objects, not the strings of `from __future__ import annotations`: FastAPI reads them per model.
    dependency.__annotations__ = {"request": Request, "params": Annotated[model, Query()], "return": model}
    return Depends(dependency)
