"""Validate sandbox responses against Zoho's own OpenAPI (3.0) files in ``../shared/zoho-crm-oas/v8.0``.

OAS 3.0 schemas are JSON Schema with two dialect quirks handled here: ``nullable: true`` (turned into a union
with ``null``) and cross-file ``$ref`` to ``raw.githubusercontent.com`` URLs (mapped to the local copies, so
nothing is fetched from the network).
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

OAS_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "zoho-crm-oas" / "v8.0"
BASE_URI = "https://raw.githubusercontent.com/Zohocorp-Pvt-Ltd/crm-oas/refs/heads/main/v8.0/"


def _fix_nullable(node: Any) -> Any:
    """Rewrite OAS 3.0 ``nullable`` into plain JSON Schema, recursively."""
    if isinstance(node, list):
        return [_fix_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _fix_nullable(value) for key, value in node.items()}
    if out.pop("nullable", False):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            return {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def load_spec(name: str) -> dict[str, Any]:
    return _fix_nullable(json.loads((OAS_DIR / name).read_text()))


def _retrieve(uri: str) -> Resource:
    if not uri.startswith(BASE_URI):
        raise LookupError(f"refusing to fetch {uri}: only local OAS files are allowed")
    return Resource.from_contents(load_spec(uri[len(BASE_URI) :]), default_specification=DRAFT7)


@lru_cache(maxsize=1)
def registry() -> Registry:
    return Registry(retrieve=_retrieve)  # type: ignore[call-arg]


@cache
def _validator(file: str, pointer: str) -> Draft7Validator:
    return Draft7Validator({"$ref": f"{BASE_URI}{file}#{pointer}"}, registry=registry())


def _deref(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node and node["$ref"].startswith("#/"):
        target: Any = spec
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def response_pointer(file: str, path: str, method: str, status: int) -> str:
    """JSON pointer (inside ``file``) to the schema of one documented JSON response."""
    spec = load_spec(file)
    responses = spec["paths"][path][method.lower()]["responses"]
    response = responses[str(status)]
    if "$ref" in response:
        ref = response["$ref"]
        response = _deref(spec, response)
        base = ref[1:]
    else:
        base = "/paths/" + path.replace("~", "~0").replace("/", "~1") + f"/{method.lower()}/responses/{status}"
    assert "application/json" in response.get("content", {}), f"{file} {path} {status} is not JSON"
    return base + "/content/application~1json/schema"


def validate_response(file: str, path: str, method: str, status: int, body: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``body`` matches the documented response."""
    pointer = response_pointer(file, path, method, status)
    validator = _validator(file, pointer)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        best = errors[0]
        raise AssertionError(
            f"{file} {method.upper()} {path} {status}: {len(errors)} schema error(s); first at "
            f"{list(best.absolute_path)}: {best.message[:400]}"
        )


def validate_schema(file: str, name: str, body: Any) -> None:
    """Validate against a named component schema (for responses whose operation schema is too loose)."""
    validator = _validator(file, f"/components/schemas/{name}")
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        best = errors[0]
        raise AssertionError(
            f"{file} {name}: {len(errors)} schema error(s); first at {list(best.absolute_path)}: {best.message[:400]}"
        )
