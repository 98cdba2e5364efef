"""The API's log cannot be forged or leak: escaped targets, redacted query strings, our own access log with the
request id on every line (uvicorn's silenced), and 500s logged with their request id."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import httpx

from tests.reliability.failing_app import FORGED_LINE
from tests.reliability.live import LiveApi, api_env, live_api

JWT_LIKE = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ2aWN0aW0ifQ.c2lnbmF0dXJlLXRoYXQtbXVzdC1ub3QtbGVhaw"
OPAQUE_SECRET = "s3cr3t-" + "k" * 40
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+ \[([^\]]+)\] ")


def _lines_starting_with(log: str, text: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith(text)]


def _wait_for(api: LiveApi, fragment: str) -> str:
    deadline = time.monotonic() + 10
    while fragment not in api.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    return api.log()


def _raw_request(api: LiveApi, target: bytes) -> bytes:
    host, port = api.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return sock.recv(65536)


def test_paths_and_queries_are_escaped_and_redacted(live_sqlite: LiveApi) -> None:
    forged = "2026-01-01 00:00:00,000 INFO api.access [forged] 127.0.0.1 GET /admin 200 1.0ms"
    targets = [
        "/api/v1/metrics/summary%0a" + forged.replace(" ", "%20"),
        "/api/v1/deals%0d%0a%1b[31mred%00",
        f"/api/v1/metrics/summary?access_token={JWT_LIKE}&page=1",
        f"/api/v1/deals?token={OPAQUE_SECRET}",
        f"/api/v1/deals?stage=Proposal&x={JWT_LIKE}",
        f"/api/v1/deals?api_key=short&password=hunter2&%0aname=%0d{JWT_LIKE}",
        "/api/v1/deals?stage=" + "long%20value%20" * 700 + f"&access_token={JWT_LIKE}",
    ]
    with httpx.Client(base_url=live_sqlite.base_url, timeout=30) as client:
        for target in targets:
            client.get(target)  # unauthenticated on purpose: 401s are logged too
        client.get("/health", headers={"X-Request-ID": "probe-123"})
    _raw_request(live_sqlite, b"/api/v1/deals\x1b[2J\x7f")
    log = _wait_for(live_sqlite, "probe-123")

    assert _lines_starting_with(log, "2026-01-01") == [], log
    for secret in (JWT_LIKE, "eyJhbGciOiJIUzI1NiJ9", OPAQUE_SECRET, "hunter2", "short"):
        assert secret not in log
    for raw in ("\x1b", "\x00", "\x7f", "\r"):
        assert raw not in log
    access = [line for line in log.splitlines() if " api.access " in line]
    assert len(access) >= len(targets) + 1
    assert all(LOG_LINE.match(line) and LOG_LINE.match(line).group(1) != "-" for line in access), access
    assert any("[probe-123]" in line and "GET /health 200" in line for line in access)
    assert any("GET /api/v1/metrics/summary%0a2026-01-01%20" in line for line in access)  # as sent, one line
    assert any("access_token=[redacted]&page=1" in line for line in access)
    assert any("stage=Proposal&x=[redacted]" in line for line in access)
    assert max(len(line) for line in access) < 2500  # a huge target is cut, after redaction
    assert any("more chars]" in line for line in access)
    # uvicorn's access log (`INFO:     127.0.0.1:PORT - "GET ...`) is silenced: it would print queries raw.
    assert '"GET ' not in log


def test_a_500_is_answered_and_logged_with_its_request_id(fresh_sqlite_url: str, tmp_path: Path) -> None:
    with live_api(tmp_path, api_env(fresh_sqlite_url), app="tests.reliability.failing_app:app") as api:
        response = httpx.get(f"{api.base_url}/boom?token=abc", headers={"X-Request-ID": "req-500-check"}, timeout=30)
        assert response.status_code == 500
        assert response.json() == {"error": {"code": "internal_error", "message": "internal server error"}}
        assert response.headers["x-request-id"] == "req-500-check"
        assert "Traceback" not in response.text
        log = _wait_for(api, "GET /boom?token=[redacted] 500")  # the access line comes after the error line
    lines = [line for line in log.splitlines() if LOG_LINE.match(line)]
    error_lines = [line for line in lines if " ERROR " in line]
    assert error_lines, log
    assert all("[req-500-check]" in line for line in error_lines), log
    assert any("[req-500-check]" in line and "GET /boom?token=[redacted] 500" in line for line in lines), log
    assert "RuntimeError" in log  # the traceback is kept, indented under its record
    assert _lines_starting_with(log, FORGED_LINE[:10]) == [], log
    assert "Exception in ASGI application" not in log  # nothing escaped to uvicorn without a request id
