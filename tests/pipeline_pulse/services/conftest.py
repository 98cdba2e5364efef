"""Fixtures for the Zoho service layer: real sandboxes over HTTP, the real SDK, a real token-store database.

The SDK's Initializer is process-wide; ImprovedZohoSDKManager re-initializes whenever the sandbox URL or the
token store changes, so each test module can run its own sandbox (module-scoped, reset between tests).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from pipeline_pulse.core.config import Settings
from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.services.zoho.crm_service import UnifiedZohoCRMService
from pipeline_pulse.services.zoho.sdk_manager import ImprovedZohoSDKManager, RetryPolicy
from pipeline_pulse.services.zoho.token_store import ImprovedZohoTokenStore
from zoho_sandbox import SandboxConfig, SandboxServer

FAST_RETRIES = RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.05, max_total_seconds=30.0)


def zoho_settings(server: SandboxServer, db_url: str, resource_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "app_env": "test",
        "database_url": db_url,
        "zoho_api_url": server.base_url,
        "zoho_accounts_url": server.accounts_url,
        "zoho_client_id": server.config.client_id,
        "zoho_client_secret": server.config.client_secret,
        "zoho_refresh_token": server.config.refresh_token,
        "zoho_resource_path": resource_dir,
        "zoho_timeout_seconds": 10.0,
        "zoho_daily_credits": 5_000_000,
    }
    values.update(overrides)
    return Settings(**values)


def make_service(
    server: SandboxServer,
    engine: Engine,
    resource_dir: Path,
    *,
    retry_policy: RetryPolicy = FAST_RETRIES,
    service_kwargs: dict[str, Any] | None = None,
    **settings_overrides: Any,
) -> UnifiedZohoCRMService:
    settings = zoho_settings(
        server, engine.url.render_as_string(hide_password=False), resource_dir, **settings_overrides
    )
    store = ImprovedZohoTokenStore.from_settings(settings, engine)
    manager = ImprovedZohoSDKManager(settings, store, retry_policy=retry_policy, sleep=lambda _s: None)
    manager.ledger.set_spent(0)
    kwargs = {"sleep": lambda _s: None, **(service_kwargs or {})}
    return UnifiedZohoCRMService(manager, **kwargs)


@pytest.fixture(scope="module")
def token_db(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated SQLite warehouse for the module's token store."""
    path = tmp_path_factory.mktemp("token-db") / "warehouse.db"
    shutil.copyfile(sqlite_template, path)
    engine = create_sync_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def resource_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("zoho-sdk")


@pytest.fixture(scope="module")
def module_sandbox_factory() -> Iterator[Callable[..., SandboxServer]]:
    servers: list[SandboxServer] = []

    def start(**kwargs: Any) -> SandboxServer:
        server = SandboxServer(SandboxConfig(**kwargs)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
