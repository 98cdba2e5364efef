"""Sandbox tests use the shared plugin's fixtures (pytest_plugins may only live in the root conftest)."""

from tests.fixtures.sandbox import *  # noqa: F403
