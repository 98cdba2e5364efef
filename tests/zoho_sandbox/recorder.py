"""Record every HTTP exchange the SDK (or requests) makes, and every socket address connected to."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests.adapters


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    content_type: str
    body: bytes


@dataclass
class Recorder:
    exchanges: list[Exchange] = field(default_factory=list)
    addresses: list[Any] = field(default_factory=list)
    _undo: list[Any] = field(default_factory=list)

    def install(self) -> Recorder:
        original_send = requests.adapters.HTTPAdapter.send
        original_connect = socket.socket.connect
        original_create = socket.create_connection
        recorder = self

        def send(adapter: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            response = original_send(adapter, request, *args, **kwargs)
            ctype = response.headers.get("Content-Type", "")
            body = response.content if "json" in ctype else b""
            recorder.exchanges.append(
                Exchange(request.method, urlsplit(request.url).path, response.status_code, ctype, body)
            )
            return response

        def connect(sock: socket.socket, address: Any) -> Any:
            recorder.addresses.append(address)
            return original_connect(sock, address)

        def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
            recorder.addresses.append(address)
            return original_create(address, *args, **kwargs)

        requests.adapters.HTTPAdapter.send = send  # type: ignore[method-assign]
        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.create_connection = create_connection
        self._undo = [
            (requests.adapters.HTTPAdapter, "send", original_send),
            (socket.socket, "connect", original_connect),
            (socket, "create_connection", original_create),
        ]
        return self

    def uninstall(self) -> None:
        for owner, name, original in self._undo:
            setattr(owner, name, original)
        self._undo = []

    def json_exchanges(self) -> list[tuple[Exchange, Any]]:
        return [(ex, json.loads(ex.body)) for ex in self.exchanges if ex.body]
