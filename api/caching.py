"""JSON bodies serialized once by pydantic-core (ETag / 304 and the response cache: api/response_cache.py).

Endpoints build their response model themselves and return Responses: FastAPI would otherwise dump the
returned model to Python objects, validate it again against `response_model`, and encode it with the stdlib
json module. `response_model` stays on each route for the OpenAPI schema.
"""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel

# Private: answers depend on the caller's token; short max-age, then revalidate with the ETag.
CACHE_CONTROL = "private, max-age=30, must-revalidate"


def json_response(model: BaseModel) -> Response:
    return Response(content=model.__pydantic_serializer__.to_json(model), media_type="application/json")


def model_json(model: BaseModel) -> bytes:
    return model.__pydantic_serializer__.to_json(model)
