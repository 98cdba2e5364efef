"""Unknown or repeated query parameters are errors (422), checked against the operation's OpenAPI parameters.

The documented parameters are the contract, so the check reads them from the app's own OpenAPI document
(built once per process, operations found by method and path): whatever an endpoint declares, directly or through its parameter model, is known;
anything else is refused with the closest known name, instead of being silently ignored (`closing_form=`
would otherwise return unfiltered figures). A parameter that is not a list may be given once.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from fastapi import FastAPI, Request
from starlette.routing import compile_path

from api.deps import ClaimsDep
from api.errors import ApiError

MAX_NAME_SHOWN = 60


@dataclass(frozen=True, slots=True)
class QueryContract:
    names: frozenset[str]
    single: frozenset[str]  # parameters that take one value


@dataclass(frozen=True, slots=True)
class Contracts:
    exact: dict[tuple[str, str], QueryContract]  # (method, path) of paths without path parameters
    templated: list[tuple[str, re.Pattern[str], QueryContract]]

    def find(self, method: str, path: str) -> QueryContract | None:
        found = self.exact.get((method, path))
        if found is None:
            found = next((c for m, regex, c in self.templated if m == method and regex.match(path)), None)
        return found


def _contracts(app: FastAPI) -> Contracts:
    exact: dict[tuple[str, str], QueryContract] = {}
    templated: list[tuple[str, re.Pattern[str], QueryContract]] = []
    for path, operations in app.openapi().get("paths", {}).items():
        for method, operation in operations.items():
            query = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
            single = {p["name"] for p in query if p.get("schema", {}).get("type") != "array"}
            contract = QueryContract(frozenset(p["name"] for p in query), frozenset(single))
            if "{" in path:
                templated.append((method.upper(), compile_path(path)[0], contract))
            else:
                exact[(method.upper(), path)] = contract
    return Contracts(exact, templated)


def _shown(name: str) -> str:
    return repr(name if len(name) <= MAX_NAME_SHOWN else name[:MAX_NAME_SHOWN] + "...")


async def reject_unknown_query_parameters(request: Request, _claims: ClaimsDep) -> None:
    """A dependency of every /api/v1 route (added on the version router), after authentication: a caller
    without a valid token learns nothing about the parameters (401 first)."""
    if not request.query_params:
        return
    contracts: Contracts | None = getattr(request.app.state, "query_contracts", None)
    if contracts is None:
        contracts = _contracts(request.app)
        request.app.state.query_contracts = contracts
    contract = contracts.find(request.method, request.scope["path"])
    if contract is None:
        return
    counts: dict[str, int] = {}
    for name, _value in request.query_params.multi_items():
        counts[name] = counts.get(name, 0) + 1
    for name, count in counts.items():
        if name not in contract.names:
            close = difflib.get_close_matches(name, sorted(contract.names), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join(sorted(contract.names)) or "none"
            raise ApiError(422, "validation_error", f"unknown query parameter {_shown(name)}{hint} (known: {known})")
        if count > 1 and name in contract.single:
            raise ApiError(422, "validation_error", f"{name}: given {count} times; it takes one value")
