"""JSON responses serialized once by pydantic-core, and ETag / Cache-Control for metrics (304 when unchanged).

Endpoints build their response model themselves and return these Responses: FastAPI would otherwise dump the
returned model to Python objects, validate it again against `response_model`, and encode it with the stdlib
json module. `response_model` stays on each route for the OpenAPI schema.
"""

from __future__ import annotations

import hashlib

from fastapi import Request, Response
from pydantic import BaseModel, TypeAdapter

# Private: answers depend on the caller's token; short max-age, then revalidate with the ETag.
CACHE_CONTROL = "private, max-age=30, must-revalidate"


def json_response(model: BaseModel) -> Response:
    return Response(content=model.__pydantic_serializer__.to_json(model), media_type="application/json")


def json_list_response(adapter: TypeAdapter[list[BaseModel]], items: list[BaseModel]) -> Response:
    return Response(content=adapter.dump_json(items), media_type="application/json")


def cached_json(request: Request, model: BaseModel) -> Response:
    body = model.__pydantic_serializer__.to_json(model)
    etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Authorization"}
    candidates = {tag.strip().removeprefix("W/") for tag in request.headers.get("if-none-match", "").split(",")}
    if etag in candidates or "*" in candidates:
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type="application/json", headers=headers)
