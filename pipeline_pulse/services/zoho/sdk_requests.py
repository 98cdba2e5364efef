"""Thin request builders on the SDK's own `CommonAPIHandler` (URL, OAuth header, token store, HTTP).

For record reads we ask the SDK for the response JSON instead of its reflective per-record object conversion
(`api_call(None, ...)` returns `APIResponse(object=None, response_json=<body>)`): the conversion costs
~250 us per record and loses whole pages on one bad value, while our typed decoder (deal_codec.py) is strict per
record. Everything else about the call - environment, authentication, token refresh and storage, headers,
timeouts - is the SDK's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import requests
from zohocrmsdk.src.com.zoho.crm.api.header import Header
from zohocrmsdk.src.com.zoho.crm.api.header_map import HeaderMap
from zohocrmsdk.src.com.zoho.crm.api.param import Param
from zohocrmsdk.src.com.zoho.crm.api.parameter_map import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.util import api_http_connector
from zohocrmsdk.src.com.zoho.crm.api.util.api_response import APIResponse
from zohocrmsdk.src.com.zoho.crm.api.util.common_api_handler import CommonAPIHandler
from zohocrmsdk.src.com.zoho.crm.api.util.constants import Constants


def if_modified_since(value: datetime) -> str:
    """Zoho's If-Modified-Since: ISO-8601 with an explicit offset (we always send UTC)."""
    if value.tzinfo is None:
        raise ValueError("If-Modified-Since needs a timezone-aware datetime")
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


def get_json(api_path: str, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None) -> Any:
    """One GET through the SDK returning its APIResponse with the raw JSON body (or None, as the SDK does)."""
    handler = CommonAPIHandler()
    handler.set_api_path(api_path)
    handler.set_http_method(Constants.REQUEST_METHOD_GET)
    handler.set_category_method(Constants.REQUEST_CATEGORY_READ)
    if params:
        param_map = ParameterMap()
        for name, value in params.items():
            if value is not None:
                # Untyped Param/Header values go through the SDK's converter, which maps str to None;
                # the maps' dicts are what the connector sends, so we fill them with the final text.
                param_map.request_parameters[Param(name).name] = str(value)
        handler.set_param(param_map)
    if headers:
        header_map = HeaderMap()
        for name, value in headers.items():
            header_map.request_headers[Header(name).name] = str(value)
        handler.set_header(header_map)
    response: APIResponse | None = handler.api_call(None, "application/json")
    return response


def body_of(response: APIResponse) -> dict[str, Any] | None:
    """The JSON object of a 2xx response; None for 204 / 304 (no content)."""
    if response.get_status_code() in (204, 304):
        return None
    body = response.get_response_json()
    return body if isinstance(body, dict) else None


_streaming = threading.local()


class _StreamingRequests:
    """`requests` as the SDK's connector sees it: a GET fired inside `streamed_response()` on this thread keeps
    its body on the wire (`stream=True`) until the caller reads it; every other call is plain `requests`."""

    def __getattr__(self, name: str) -> Any:
        return getattr(requests, name)

    @staticmethod
    def get(*args: Any, **kwargs: Any) -> requests.Response:
        if getattr(_streaming, "on", False):
            kwargs["stream"] = True
        return requests.get(*args, **kwargs)  # noqa: S113 - the SDK passes its own timeout


@contextmanager
def streamed_response() -> Iterator[None]:
    """SDK calls on this thread return their response body unread (a Bulk Read result zip is then copied to
    disk block by block instead of arriving as one bytes object, twice its size while requests joins it)."""
    if not isinstance(api_http_connector.requests, _StreamingRequests):
        api_http_connector.requests = _StreamingRequests()  # type: ignore[assignment]
    _streaming.on = True
    try:
        yield
    finally:
        _streaming.on = False
