"""The insight endpoints served by a real uvicorn server over TCP, on the hand-built warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest

from pipeline_pulse.core.config import Settings
from pipeline_pulse.core.db import create_sync_engine
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


@pytest.fixture(scope="module")
def insight_api(module_db_url: str) -> Iterator[LiveApi]:
    """One server per module and backend: the forecast and attainment tests only read the seeded warehouse."""
    today = warehouse.today_utc()
    engine = create_sync_engine(module_db_url)
    try:
        deals = warehouse.seed(engine, today)
    finally:
        engine.dispose()
    settings = api_settings(module_db_url)
    for base in serve(settings):
        with httpx.Client(base_url=base, timeout=30) as client:
            yield LiveApi(client, settings, deals, today)
