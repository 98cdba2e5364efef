"""Shared fixtures. Each concern keeps its fixtures in tests/fixtures/<name>.py."""

from __future__ import annotations

import os

import pytest

# Tests never read a developer's .env or leak into production behaviour.
os.environ.setdefault("APP_ENV", "test")
os.environ.setdefault("JWT_SECRET", "test-secret-0123456789-0123456789-abcdef")

pytest_plugins = ["tests.fixtures.db", "tests.fixtures.api", "tests.fixtures.aws", "tests.fixtures.demo"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Every test that runs on the Postgres variant of `db_url` is marked `postgres`, so `-m "not postgres"`
    # gives a SQLite-only run.
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("db_url") == "postgresql":
            item.add_marker(pytest.mark.postgres)
        if "fresh_postgres_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
