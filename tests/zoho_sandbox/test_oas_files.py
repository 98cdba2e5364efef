"""The vendored Zoho OpenAPI files are complete (every cross-file $ref resolves here) and unmodified."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tests.zoho_sandbox.oas import _ROUTES, BASE_URI, OAS_DIR


def _external_refs(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*map(_external_refs, node)) if node else set()
    if not isinstance(node, dict):
        return set()
    refs = {node["$ref"].split("#")[0]} if isinstance(node.get("$ref"), str) and "#" in node["$ref"] else set()
    refs.discard("")
    return refs.union(*map(_external_refs, node.values())) if node else refs


def test_every_reference_resolves_inside_the_vendored_folder() -> None:
    todo = {file for _method, _pattern, file, _path in _ROUTES}
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        seen.add(name)
        path = OAS_DIR / name
        assert path.is_file(), f"{name} is used by the tests but not vendored in {OAS_DIR}"
        for ref in _external_refs(json.loads(path.read_text())):
            assert ref.startswith(BASE_URI), f"{name} refers outside Zoho's v8.0 folder: {ref}"
            if (target := ref[len(BASE_URI) :]) not in seen:
                todo.add(target)
    vendored = {path.name for path in OAS_DIR.glob("*.json")}
    assert vendored == seen, f"vendored but unused: {sorted(vendored - seen)}"


def test_files_are_the_published_ones_byte_for_byte() -> None:
    lines = (OAS_DIR.parent / "SHA256SUMS").read_text().splitlines()
    expected = {name: digest for digest, name in (line.split() for line in lines if line.strip())}
    actual = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in OAS_DIR.glob("*.json")}
    assert actual == expected
