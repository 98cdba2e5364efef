"""Request ids and the access log: one id per request (X-Request-ID when sane, else generated), echoed back and
on every log line of the request, including the access line and the line of an unhandled error (500)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import internal_error_body
from api.log_safety import logged_target

REQUEST_ID_HEADER = "x-request-id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
access_logger = logging.getLogger("api.access")
error_logger = logging.getLogger("api.errors")


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every record so formatters can print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class DropAll(logging.Filter):
    """Installed on uvicorn's access logger: it would log raw paths and query strings (tokens included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


class RequestIdMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware) so it adds no task switch per request. Outermost of our middleware:
    an exception nothing else handled is logged and answered 500 here, while the request id is still set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER.encode(), request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            error_logger.exception("unhandled error on %s %s", scope["method"], logged_target(scope))
            if response_started:
                raise  # too late for an error body; the server closes the connection
            body = internal_error_body()
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
        finally:
            if access_logger.isEnabledFor(logging.INFO):
                client = scope.get("client")
                access_logger.info(
                    "%s %s %s %s %.1fms",
                    client[0] if client else "-",
                    scope["method"],
                    logged_target(scope),
                    status,
                    (time.perf_counter() - started) * 1000,
                )
            request_id_var.reset(token)
