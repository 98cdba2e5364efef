from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Connection, Engine

from pipeline_pulse.warehouse.currencies import store_currency_rates
from pipeline_pulse.warehouse.dimensions import load_stages
from tests.orchestration.factories import CURRENCIES, STAGES


@pytest.fixture
def conn(sync_engine: Engine) -> Iterator[Connection]:
    """A connection on a fresh warehouse with stages and currencies loaded; commits are the test's job."""
    with sync_engine.connect() as connection:
        load_stages(connection, STAGES)
        store_currency_rates(connection, CURRENCIES, date(2025, 1, 1))
        connection.commit()
        yield connection
