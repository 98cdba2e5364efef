"""What of a request may reach a log line: escaped text (no forged lines) and query strings without secrets."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote

# Everything outside printable ASCII, and the backslash that starts our escapes: a log line stays one line and
# a terminal shows what was sent rather than what it would do (ANSI escapes, bidi overrides, NUL).
_UNSAFE = re.compile(r"[^\x20-\x5b\x5d-\x7e]")
# Query parameter names whose values are credentials wherever they appear.
_SECRET_NAME = re.compile(r"token|jwt|bearer|auth|secret|passw|pwd|api[-_]?key|session|signature|sig$|code$", re.I)
# Values that look like credentials whatever their name: a JWT / JWS, or a long opaque string.
_SECRET_VALUE = re.compile(r"eyJ[\w-]*\.[\w-]*|[\w+/=.~-]{40,}")
REDACTED = "[redacted]"
# A log line carries at most this much of a request target: a 1 MB query string must not become a 1 MB line.
MAX_LOGGED_TARGET = 2048
# What must never reach a log line raw, whatever a message embeds (an exception text quoting user input).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return "\\\\" if code == 0x5C else (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def escape(text: str) -> str:
    """`text` with every control / non-ASCII character as a visible \\xNN or \\uNNNN escape."""
    return _UNSAFE.sub(_escape_char, text)


def redacted_query(raw: bytes | str) -> str:
    """The query string with credential-like values replaced by [redacted], percent-encoded and escaped."""
    query = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    if not query:
        return ""
    parts = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if _SECRET_NAME.search(name) or _SECRET_VALUE.search(value):
            value = REDACTED
        parts.append(f"{quote(name, safe='')}={value if value == REDACTED else quote(value, safe='')}")
    return escape("&".join(parts))


def request_target(path: str | bytes, query: bytes | str = b"") -> str:
    """Path (as sent, still percent-encoded when `path` is the raw path) and redacted query, safe to log."""
    text = path.decode("latin-1") if isinstance(path, bytes) else path
    query_text = redacted_query(query)  # redacted before truncation: a cut can never expose part of a secret
    target = escape(text) + (f"?{query_text}" if query_text else "")
    if len(target) > MAX_LOGGED_TARGET:
        return f"{target[:MAX_LOGGED_TARGET]}...[{len(target) - MAX_LOGGED_TARGET} more chars]"
    return target


def logged_target(scope: Mapping[str, Any]) -> str:
    """An ASGI request's target as sent (raw, percent-encoded path), escaped, with its query redacted."""
    return request_target(scope.get("raw_path") or scope["path"], scope.get("query_string", b""))


class SafeFormatter(logging.Formatter):
    """Messages on one line (control characters escaped); traceback lines indented, so no line can pass for a
    log record of its own."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = _CONTROL.sub(_escape_char, record.message)
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:  # noqa: N802
        text = super().formatException(ei)
        return "\n".join("    " + _CONTROL.sub(_escape_char, line) for line in text.splitlines())
