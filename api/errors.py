"""One error body for every failure: {"error": {"code", "message"}}; never a stack trace to the client."""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.log_safety import logged_target

logger = logging.getLogger("api.errors")
INVERTED_RANGE = "inverted_range"  # a validation error type answered with 400 (api.filters.inverted_range)

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    422: "validation_error",
    503: "service_unavailable",
}


class ApiError(Exception):
    """Raised by dependencies and query code; becomes the standard error body."""

    def __init__(self, status_code: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = headers


def _body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def internal_error_body() -> bytes:
    """The 500 body, for the request-id middleware that answers unhandled errors."""
    return json.dumps(_body("internal_error", "internal server error")).encode()


def error_response(status_code: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(_body(code, message), status_code=status_code, headers=headers)


_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})


def _describe_validation(exc: RequestValidationError) -> str:
    """`<parameter>: <what is wrong>` per error; a model-level check (e.g. an inverted range) names its
    parameters in its message."""
    parts = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()) if part not in _LOCATIONS)
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts) or "invalid request"


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.code, exc.message, exc.headers)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = STATUS_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message, getattr(exc, "headers", None))


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """422 naming the parameter; 400 when the only problem is an inverted range (each value valid alone)."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if errors and all(error.get("type") == INVERTED_RANGE for error in errors):
        return error_response(400, "bad_request", _describe_validation(exc))
    return error_response(422, "validation_error", _describe_validation(exc))


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    # Timeouts (statement, connect, pool checkout) and lost connections: the client may retry shortly.
    logger.error("database error on %s %s: %s", request.method, logged_target(request.scope), type(exc).__name__)
    return error_response(
        503, "service_unavailable", "the warehouse is unavailable; retry later", headers={"Retry-After": "1"}
    )


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    # The database refused a value that came from the request (validation should have caught it first).
    logger.warning("data error on %s %s: %s", request.method, logged_target(request.scope), type(exc).__name__)
    return error_response(422, "validation_error", "a parameter value is not acceptable to the warehouse")


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # Reached only if the request-id middleware did not answer first (it handles unhandled errors itself).
    logger.error("unhandled error on %s %s", request.method, logged_target(request.scope), exc_info=exc)
    return JSONResponse(json.loads(internal_error_body()), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(PoolTimeoutError, _database_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(TimeoutError, _database_error)
    app.add_exception_handler(OSError, _database_error)  # asyncpg raises connection failures unwrapped
    app.add_exception_handler(Exception, _unexpected_error)
