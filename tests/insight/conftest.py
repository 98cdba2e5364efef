"""The insight endpoints served by a real uvicorn server over TCP, on the hand-built warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from pipeline_pulse.core.config import Settings
from tests.fixtures.api import api_settings, make_token, serve
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


@pytest.fixture
def insight_api(db_url: str, sync_engine: Engine) -> Iterator[LiveApi]:
    today = warehouse.today_utc()
    deals = warehouse.seed(sync_engine, today)
    settings = api_settings(db_url)
    for base in serve(settings):
        with httpx.Client(base_url=base, timeout=30) as client:
            yield LiveApi(client, settings, deals, today)
