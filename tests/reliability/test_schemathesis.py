"""Schemathesis against the live API, with an admin and a single-region token: no 5xx, every status it answers
is in OpenAPI, every body matches its schema, and schema-violating requests are refused.

Examples are bounded (MAX_EXAMPLES per operation and token) and the seed is fixed, so a run costs the same
every time; the operations are whatever the served OpenAPI lists, so endpoints added later are covered too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.live import LiveApi

MAX_EXAMPLES = 5
SEED = 14
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "ignored_auth",
    "unsupported_method",
    "allow_header_conformance",
]

# Open findings in another engineer's area, each with its owner; a failure not listed here fails the test.
KNOWN_OPEN: dict[tuple[str, str], str] = {
    # (check, fragment of its message): "owner: what is open". Empty: every finding so far is fixed.
}

pytestmark = [pytest.mark.timeout(900)]


def _is_known(failure: tuple[str, str, str]) -> bool:
    check, _operation, message = failure
    return any(check == known_check and fragment in message for known_check, fragment in KNOWN_OPEN)


def _run_schemathesis(api: LiveApi, token: str, workdir: Path) -> tuple[int, str, list[tuple[str, str, str]]]:
    """The CLI run (exit code, console text) and its failures as recorded in the NDJSON report."""
    workdir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{api.base_url}/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            ",".join(CHECKS),
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            str(SEED),
            # One worker: with two threads, hypothesis' lambda repr (ast.parse) hit CPython 3.11's "AST constructor
            # recursion depth mismatch" SystemError once, aborting the fuzzing phase.
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--no-shrink",
            "--report",
            "ndjson",
            "--report-dir",
            str(workdir),
        ],
        cwd=workdir,  # its .schemathesis cache stays out of the repository
        capture_output=True,
        text=True,
        timeout=600,
    )
    return result.returncode, result.stdout + result.stderr, _failures(workdir)


def _failures(workdir: Path) -> list[tuple[str, str, str]]:
    """(check, operation, message) of every failed check in the run's NDJSON report."""
    failures = set()
    for report in workdir.glob("*.ndjson"):
        for line in report.read_text(encoding="utf-8").splitlines():
            for check in _failed_checks(json.loads(line)):
                failure = check.get("failure_info", {}).get("failure", {})
                failures.add((str(check["name"]), str(failure.get("operation")), str(failure.get("message"))))
    return sorted(failures)


def _failed_checks(event: object) -> list[dict[str, Any]]:
    """Every failed check result, wherever the event nests it."""
    found: list[dict[str, Any]] = []
    if isinstance(event, dict):
        if event.get("status") == "failure" and "failure_info" in event:
            found.append(event)
        for value in event.values():
            found.extend(_failed_checks(value))
    elif isinstance(event, list):
        for value in event:
            found.extend(_failed_checks(value))
    return found


# Both tokens on PostgreSQL (production). SQLite (local development) is left to test_bad_inputs.py and the API
# tests: a run costs 1-3 minutes of a loaded 2-core machine and the suite must stay within its CI budget.
@pytest.mark.parametrize(("db_url", "who"), [("postgresql", "admin"), ("postgresql", "regional")], indirect=["db_url"])
def test_no_server_error_and_every_status_documented(
    live: LiveApi, tokens: dict[str, str], who: str, tmp_path: Path
) -> None:
    code, output, failures = _run_schemathesis(live, tokens[who], tmp_path / "schemathesis")
    assert "Tested: 0" not in output, output[-3000:]
    unexpected = [failure for failure in failures if not _is_known(failure)]
    assert unexpected == [], f"schemathesis found problems with the {who} token:\n{output[-8000:]}"
    assert code == 0 or failures, output[-3000:]  # a non-zero exit must come from a recorded (known) failure
    assert "Server error" not in output, output[-8000:]
