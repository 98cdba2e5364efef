"""ETag / Cache-Control for metrics so a polling frontend gets 304s when nothing changed."""

from __future__ import annotations

import hashlib

from fastapi import Request, Response
from pydantic import BaseModel

# Private: answers depend on the caller's token; short max-age, then revalidate with the ETag.
CACHE_CONTROL = "private, max-age=30, must-revalidate"


def cached_json(request: Request, model: BaseModel) -> Response:
    body = model.model_dump_json().encode()
    etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Authorization"}
    candidates = {tag.strip().removeprefix("W/") for tag in request.headers.get("if-none-match", "").split(",")}
    if etag in candidates or "*" in candidates:
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type="application/json", headers=headers)
