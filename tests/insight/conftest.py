"""The insight endpoints served by a real uvicorn server over TCP, on the hand-built warehouse."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from pipeline_pulse.core.config import Settings
from tests.fixtures.api import api_settings, make_token
from tests.insight import warehouse


@dataclass
class LiveApi:
    client: httpx.Client
    settings: Settings
    deals: list[dict[str, Any]]
    today: date

    def get(self, path: str, regions: Any = ("APAC",), role: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {make_token(self.settings, regions, role)}"}
        return self.client.get("/api/v1" + path, headers=headers, **kwargs)


def serve(settings: Settings) -> Iterator[str]:
    """Run the app under uvicorn on a free port until the generator is closed; yields the base URL."""
    from api.main import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def insight_api(db_url: str, sync_engine: Engine) -> Iterator[LiveApi]:
    today = warehouse.today_utc()
    deals = warehouse.seed(sync_engine, today)
    settings = api_settings(db_url)
    for base in serve(settings):
        with httpx.Client(base_url=base, timeout=30) as client:
            yield LiveApi(client, settings, deals, today)
