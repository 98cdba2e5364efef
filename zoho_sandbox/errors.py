"""Zoho's error envelope: {"code", "details", "message", "status": "error"}."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    return json.dumps({"code": code, "details": details or {}, "message": message, "status": "error"}).encode()


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
    return Response(error_body(code, message, details), status_code=status, media_type="application/json")


def json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()
