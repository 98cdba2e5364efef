"""App factory, the gatekeeper middleware (auth, concurrency, credits, faults, logging) and SandboxServer."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import control, records
from .config import SandboxConfig
from .errors import error_body
from .faults import HOLD_CHECK_SECONDS
from .state import SandboxState

_HTML_503 = (
    b"<html><head><title>503 Service Temporarily Unavailable</title></head><body>"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>"
)
_HTML_502 = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>"
)


async def _form(request: Request) -> dict[str, str]:
    """URL-encoded form body (parsed here: no python-multipart dependency for two endpoints)."""
    return dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))


async def token_endpoint(request: Request) -> Response:
    st: SandboxState = request.app.state.sandbox
    form = await _form(request)
    form.update({k: v for k, v in request.query_params.items() if k not in form})  # Zoho accepts both
    return JSONResponse(st.tokens.token_request(form, st.base_url))


async def revoke_endpoint(request: Request) -> Response:
    st: SandboxState = request.app.state.sandbox
    form = await _form(request)
    token = form.get("token") or request.query_params.get("token", "")
    if st.tokens.revoke_refresh(token):
        return JSONResponse({"status": "success"})
    return JSONResponse({"error": "invalid_token", "status": "failure"})


async def _send_simple(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _reset_connection(send: Send) -> bool:
    """Abort the TCP connection with an RST (uvicorn's send is bound to its protocol object)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    return True


class Gatekeeper:
    """Wraps every /crm and /oauth call: log, concurrency cap, faults, auth, credit allowance."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(("/crm/", "/oauth/")):
            await self.app(scope, receive, send)
            return
        st = self.state
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        status_box = {"status": 0}

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box["status"] = message["status"]
            await send(message)

        is_api = path.startswith("/crm/")
        if is_api and not st.credits.enter():
            # Zoho answers excess concurrency with 429 and no Retry-After header.
            body = error_body("TOO_MANY_REQUESTS", "concurrency limit exceeded", {"limit": st.config.concurrency_limit})
            await _send_simple(logged_send, 429, body, b"application/json")
            st.credits.record(method, path, query, 429, started)
            return
        try:
            await self._handle(scope, receive, send, logged_send, status_box, is_api)
        finally:
            if is_api:
                st.credits.leave()
            st.credits.record(method, path, query, status_box["status"] or 599, started)

    async def _handle(
        self, scope: Scope, receive: Receive, raw_send: Send, send: Send, status_box: dict[str, int], is_api: bool
    ) -> None:
        st = self.state
        rule = st.faults.match(scope["method"], scope["path"])
        kind = rule.kind if rule else None
        if kind == "latency" and rule is not None:
            await asyncio.sleep(rule.seconds)
        elif kind == "hold" and rule is not None:
            # Park the call until the test clears the faults (then serve it normally): a client stopped at a
            # known point, whatever the machine's speed.
            deadline = time.monotonic() + rule.seconds
            # The rule is cleared from another thread (a test's): poll the book rather than share an event.
            while st.faults.is_active(rule) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(HOLD_CHECK_SECONDS)
        elif kind == "timeout" and rule is not None:
            await asyncio.sleep(rule.seconds)
            status_box["status"] = 599
            if not _reset_connection(raw_send):
                await _send_simple(send, 504, b"gateway timeout", b"text/plain")
            return
        elif kind == "reset":
            status_box["status"] = 599
            if not _reset_connection(raw_send):
                await _send_simple(send, 502, _HTML_502, b"text/html")
            return
        elif kind == "429":
            body = error_body("TOO_MANY_REQUESTS", "too many requests", {})
            await _send_simple(send, 429, body, b"application/json")
            return
        elif kind == "500":
            body = error_body("INTERNAL_ERROR", "Internal server error occurred.", {})
            await _send_simple(send, 500, body, b"application/json")
            return
        elif kind == "502":
            await _send_simple(send, 502, _HTML_502, b"text/html")
            return
        elif kind == "503-html":
            await _send_simple(send, 503, _HTML_503, b"text/html")
            return
        elif kind == "revoke_token":
            st.tokens.revoke_all_access()
        elif kind == "expire_page_token":
            st.page_tokens.expire_all()
        if kind in ("bad_record", "truncated_json"):
            scope["sandbox.fault"] = kind
        if is_api:
            reason = st.tokens.check(_header(scope, b"authorization"))
            if reason is not None:
                code = "INVALID_TOKEN" if reason != "missing" else "AUTHENTICATION_FAILURE"
                msg = "invalid oauth token" if reason != "missing" else "Authentication failed"
                await _send_simple(send, 401, error_body(code, msg, {}), b"application/json")
                return
            if st.credits.allowance_left() <= 0:
                body = error_body("LIMIT_REACHED", "API credit limit for the day has been reached", {})
                await _send_simple(send, 429, body, b"application/json")
                return
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def create_app(state: SandboxState) -> ASGIApp:
    routes = [
        Route("/oauth/v2/token", token_endpoint, methods=["POST"]),
        Route("/oauth/v2/token/revoke", revoke_endpoint, methods=["POST"]),
        *records.ROUTES,
        *control.ROUTES,
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = state
    app.state.control = control.SandboxControl(state)
    return Gatekeeper(app, state)


class SandboxServer:
    """A sandbox on 127.0.0.1 served by uvicorn in a background thread.

    ``SandboxServer(config).start()`` returns once the server answers; ``stop()`` shuts it down.
    """

    def __init__(self, config: SandboxConfig | None = None, **overrides: Any) -> None:
        if config is None:
            config = SandboxConfig(**overrides)
        elif overrides:
            from dataclasses import replace

            config = replace(config, **overrides)
        self.config = config
        self.state = SandboxState(config)
        self.control = control.SandboxControl(self.state)
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self._sock: socket.socket | None = None
        self.port = config.port
        self._stopped = False

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def accounts_url(self) -> str:
        return self.base_url + "/oauth/v2/token"

    def start(self, timeout: float = 60.0) -> SandboxServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.host, self.config.port))
        sock.listen(512)
        self._sock = sock
        self.port = sock.getsockname()[1]
        self.state.base_url = self.base_url
        app = create_app(self.state)
        uv_config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http="httptools",
            timeout_keep_alive=5,
            backlog=512,
        )
        self._server = uvicorn.Server(uv_config)
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("zoho sandbox failed to start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()
        self.state.close()
        self._server = self._thread = self._sock = None

    def serve_forever(self) -> None:
        """Run in the foreground (CLI)."""
        if self._server is None:
            self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> SandboxServer:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


__all__ = ["SandboxServer", "create_app"]
