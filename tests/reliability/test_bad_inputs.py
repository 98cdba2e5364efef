"""Bad input is a 422 naming the parameter, on every operation the live server lists (new ones included):
NUL and other control characters in strings, integers and ids outside 64-bit, dates that are not YYYY-MM-DD or
whose arithmetic would overflow. Never a 5xx, never "the warehouse is unavailable"."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from tests.reliability.live import LiveApi

CONTROL_STRINGS = ["Proposal\x00", "\x00", "a\x1bb", "line\nbreak", "tab\there", "\x7f"]
BAD_INTEGERS = [str(2**63), str(-(2**63) - 1), str(2**64), "1e3", "0x10", "1.5", "", " 1", "+1", "1_0", "1.0"]
BAD_DATES = ["9999-12-31", "0001-01-01", "0", "2026-1-1", "20260101", "2026-02-30", "2026-13-01", "2026-03-01T00:00"]
OVERFLOWING_IDS = ["9223372036854775808", "18446744073709551616", "-1", "0", "1" * 40]


def _kinds(schema: dict[str, Any]) -> set[str]:
    """'string' / 'integer' / 'date' / 'enum' for a parameter schema (through anyOf / nullable forms)."""
    kinds: set[str] = set()
    for option in schema.get("anyOf", [schema]):
        if option.get("format") == "date":
            kinds.add("date")
        elif "enum" in option:
            kinds.add("enum")
        elif option.get("type") in ("string", "integer"):
            kinds.add(option["type"])
    return kinds


def _cases(operation: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(location, parameter, bad value) for every parameter of the operation."""
    cases = []
    for parameter in operation.get("parameters", []):
        kinds, name, where = _kinds(parameter.get("schema", {})), parameter["name"], parameter["in"]
        if where not in ("query", "path"):
            continue
        values = list(CONTROL_STRINGS)
        if "integer" in kinds:
            values += BAD_INTEGERS
        if "date" in kinds:
            values += BAD_DATES
        if where == "path" or name.endswith("_id"):
            values += OVERFLOWING_IDS
        cases += [(where, name, value) for value in values]
    return cases


def test_every_bad_value_of_every_parameter_is_a_422_naming_it(live: LiveApi, tokens: dict[str, str]) -> None:
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    problems: list[str] = []
    with httpx.Client(base_url=live.base_url, headers=headers, timeout=30) as client:
        spec = client.get("/openapi.json").json()
        probed = 0
        for path, operations in spec["paths"].items():
            if not path.startswith("/api/v1/"):
                continue
            for where, name, value in _cases(operations["get"]):
                if where == "path":
                    response = client.get(path.replace("{" + name + "}", quote(value, safe="")))
                else:
                    response = client.get(path.replace("{deal_id}", "1"), params={name: value})
                probed += 1
                if response.status_code != 422:
                    problems.append(f"{path} {name}={value!r}: {response.status_code} {response.text[:160]}")
                elif name not in response.json()["error"]["message"]:
                    problems.append(f"{path} {name}={value!r}: 422 without naming it: {response.text[:160]}")
    assert probed > 200
    assert problems == [], "\n".join(problems)
