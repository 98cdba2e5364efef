"""What reaches a log line: printable ASCII only, credentials redacted, bounded length."""

from __future__ import annotations

import logging
import re
import sys

from hypothesis import example, given
from hypothesis import strategies as st

from api.log_safety import MAX_LOGGED_TARGET, REDACTED, SafeFormatter, escape, redacted_query, request_target

# fullmatch, not match with "$": "$" also matches before a trailing newline, so "\n" passed for printable
PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")


@given(st.text())
@example("\n")  # found by hypothesis in a clean-clone run: a regex "$" took it for printable
@example("one line\n")
def test_escaped_text_is_printable_ascii_and_one_line(text: str) -> None:
    escaped = escape(text)
    assert PRINTABLE_ASCII.fullmatch(escaped)
    if PRINTABLE_ASCII.fullmatch(text) and "\\" not in text:
        assert escaped == text  # ordinary text is logged as it is


@given(st.binary(max_size=300), st.binary(max_size=300))
def test_any_request_target_logs_as_one_bounded_printable_line(path: bytes, query: bytes) -> None:
    target = request_target(b"/" + path, query)
    assert PRINTABLE_ASCII.fullmatch(target)
    assert len(target) <= MAX_LOGGED_TARGET + 40


def test_credentials_are_redacted_by_name_and_by_shape() -> None:
    jwt_like = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig"
    query = f"token=abc&Access_Token=x&api-key=k&password=p&page=2&x={jwt_like}&y={'Z' * 40}&stage=Closed%20Won"
    assert redacted_query(query) == (
        f"token={REDACTED}&Access_Token={REDACTED}&api-key={REDACTED}&password={REDACTED}&page=2"
        f"&x={REDACTED}&y={REDACTED}&stage=Closed%20Won"
    )


def test_a_long_target_is_cut_after_redaction() -> None:
    target = request_target(b"/deals", b"stage=" + b"a%20" * 2000 + b"&token=" + b"s" * 10)
    assert target.endswith("more chars]")
    assert len(target) < MAX_LOGGED_TARGET + 40


def test_formatter_keeps_records_on_one_line_and_indents_tracebacks() -> None:
    formatter = SafeFormatter("%(levelname)s %(message)s")
    try:
        raise ValueError("bad\nINFO forged line")
    except ValueError:
        record = logging.LogRecord("api", logging.ERROR, __file__, 1, "got %s", ("x\r\ny",), sys.exc_info())
    lines = formatter.format(record).splitlines()
    assert lines[0] == "ERROR got x\\x0d\\x0ay"
    assert all(line.startswith("    ") for line in lines[1:])
