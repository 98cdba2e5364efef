"""OpenAPI descriptions of the error responses every authenticated endpoint can give."""

from __future__ import annotations

from typing import Any

from api.schemas import ErrorBody

AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "Inconsistent parameters: a range whose start is after its end (the message names both), "
        "or a range too long for the interval.",
    },
    401: {"model": ErrorBody, "description": "Missing or invalid bearer token (with WWW-Authenticate)."},
    403: {"model": ErrorBody, "description": "No usable region claim, or a region outside your scope."},
    422: {"model": ErrorBody, "description": "A parameter failed validation; the message names it."},
    503: {"model": ErrorBody, "description": "The warehouse is unavailable."},
}

# Routers whose answers carry an ETag (respond(..., conditional=True)) can also answer 304.
CONDITIONAL_RESPONSES: dict[int | str, dict[str, Any]] = {
    **AUTH_ERRORS,
    304: {"description": "Not modified: If-None-Match matches the current ETag (no body)."},
}
