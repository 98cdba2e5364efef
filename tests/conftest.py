"""Shared fixtures. Each concern keeps its fixtures in tests/fixtures/<name>.py."""

from __future__ import annotations

import os

from cryptography.fernet import Fernet

# Tests never read a developer's .env or leak into production behaviour.
os.environ.setdefault("APP_ENV", "test")
os.environ.setdefault("JWT_SECRET", "test-secret-0123456789-0123456789-abcdef")
# A fresh key per session (there is no built-in key); child processes inherit it.
os.environ.setdefault("TOKEN_ENCRYPTION_KEY", Fernet.generate_key().decode())
# Snapshot partitions start where the tests' hand-built histories do (not at "today").
os.environ.setdefault("HISTORY_START_DATE", "2024-01-01")

from hypothesis import settings

from tests.fixtures.property_budget import FAST_LOOP, FAST_SHARE

settings.register_profile("fast-loop", max_examples=100 // FAST_SHARE)
if FAST_LOOP:
    settings.load_profile("fast-loop")

pytest_plugins = [
    "tests.fixtures.needs",
    "tests.fixtures.db",
    "tests.fixtures.api",
    "tests.fixtures.aws",
    "tests.fixtures.demo",
    "tests.fixtures.browser",
]
