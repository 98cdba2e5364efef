"""ImprovedZohoSDKManager and the SDK speedups: environments, pinned endpoints, logs, concurrent refresh."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import Engine
from zohocrmsdk.src.com.zoho.crm.api.dc import EUDataCenter, USDataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.util.constants import Constants

from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.services.zoho import sdk_speedups
from pipeline_pulse.services.zoho.crm_service import UnifiedZohoCRMService
from pipeline_pulse.services.zoho.sdk_manager import DATA_CENTERS, ImprovedZohoSDKManager
from pipeline_pulse.services.zoho.token_store import ImprovedZohoTokenStore
from tests.pipeline_pulse.services.conftest import make_service, zoho_settings
from zoho_sandbox import SandboxServer

# -- speedups -----------------------------------------------------------------------------------------------


def test_speedups_were_checked_against_this_sdk() -> None:
    """Fails when the SDK changes a patched function: re-check the speedups before bumping the pin."""
    assert Constants.SDK_VERSION == sdk_speedups.CHECKED_SDK_VERSION
    assert sdk_speedups.original_get_json_sha256() == sdk_speedups.CHECKED_GET_JSON_SHA256
    assert sdk_speedups.original_wrapped_response_sha256() == sdk_speedups.CHECKED_WRAPPED_RESPONSE_SHA256
    sdk_speedups.install()
    sdk_speedups.install()  # idempotent
    assert Initializer.get_json is sdk_speedups.cached_get_json


def test_field_cache_reader_returns_what_the_file_holds(tmp_path: Path) -> None:
    path = tmp_path / "fields.json"
    path.write_text(json.dumps({"deals": {"Amount": {"type": "Double"}}, "lastmodified": 1}))
    old = time.time() - 10
    os.utime(path, (old, old))  # outside the racy window: cacheable

    first = sdk_speedups.cached_get_json(str(path))
    assert first == json.loads(path.read_text())
    first["deals"]["Stage"] = {"type": "Choice"}  # the SDK mutates what it gets ...
    del first["lastmodified"]
    again = sdk_speedups.cached_get_json(str(path))
    assert again == {"deals": {"Amount": {"type": "Double"}}, "lastmodified": 1}  # ... without touching the cache

    # A rewrite of the same size right away (same clock tick) is still seen: fresh files are never cached.
    path.write_text(json.dumps({"deals": {"Amount": {"type": "Float"}}, "lastmodified": 2}))
    assert sdk_speedups.cached_get_json(str(path))["deals"]["Amount"]["type"] == "Float"
    path.write_text(json.dumps({"deals": {"Amount": {"type": "Int32"}}, "lastmodified": 3}))
    assert sdk_speedups.cached_get_json(str(path))["lastmodified"] == 3


# -- environments ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data_center", sorted(DATA_CENTERS))
@pytest.mark.parametrize("environment", ["production", "sandbox", "developer"])
def test_environment_from_data_center(data_center: str, environment: str, tmp_path: Path) -> None:
    from pipeline_pulse.core.config import Settings

    settings = Settings(
        app_env="test",
        zoho_data_center=data_center,
        zoho_environment=environment,
        zoho_client_id="c",
        zoho_client_secret="s",
        zoho_refresh_token="r",
    )
    manager = ImprovedZohoSDKManager(settings, store_stub())
    expected = getattr(DATA_CENTERS[data_center], environment.upper())()
    env = manager.environment()
    assert (env.url, env.accounts_url) == (expected.url, expected.accounts_url)
    assert not manager.explicit_urls
    if data_center == "US" and environment == "production":
        assert env.url == USDataCenter.PRODUCTION().url == "https://www.zohoapis.com"
    if data_center == "EU" and environment == "sandbox":
        assert env.url == EUDataCenter.SANDBOX().url


def store_stub() -> Any:
    return object.__new__(ImprovedZohoTokenStore)


# -- against the sandbox -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(module_sandbox_factory: Any) -> SandboxServer:
    return module_sandbox_factory(deals=400, seed=11)


def test_no_request_leaves_127_0_0_1_even_with_a_hostile_stored_api_domain(
    server: SandboxServer, token_db: Engine, resource_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = make_service(server, token_db, resource_dir)
    store = service.manager.token_store
    # A token row that was written against real Zoho (or tampered with): the SDK would switch to it.
    store.ensure_client_token(service.manager.token_id, server.config.client_id, "x", server.config.refresh_token)
    from sqlalchemy import update

    from pipeline_pulse.models.tokens import ZohoOAuthToken

    with token_db.begin() as conn:
        conn.execute(
            update(ZohoOAuthToken)
            .where(ZohoOAuthToken.id == service.manager.token_id)
            .values(api_domain="https://www.zohoapis.com")
        )
    ImprovedZohoSDKManager.reset_process_state()

    hosts: list[str] = []
    real_send = HTTPAdapter.send

    def recording_send(self: HTTPAdapter, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        hosts.append(urlsplit(request.url).hostname or "")
        return real_send(self, request, *args, **kwargs)

    monkeypatch.setattr(HTTPAdapter, "send", recording_send)
    assert service.count_deals() == 400
    assert sum(len(p.records) for p in service.iter_deals()) == 400
    assert len(service.list_users()) > 0
    assert hosts
    assert set(hosts) == {"127.0.0.1"}
    assert Initializer.get_initializer().sdk_config.apply_api_domain_update() is False
    assert Initializer.get_initializer().environment.url == server.base_url


def test_tokens_never_reach_the_logs(
    server: SandboxServer, token_db: Engine, resource_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ImprovedZohoSDKManager.reset_process_state()
    with caplog.at_level(logging.DEBUG):
        service = make_service(server, token_db, resource_dir)
        pages = list(service.iter_deals(per_page=100))
        service.manager.token_store.expire_access_token(service.manager.token_id)  # force a refresh, logged
        service.count_deals()
    stored = service.manager.token_store.load(service.manager.token_id)
    assert stored is not None
    assert stored.access_token
    assert sum(len(p.records) for p in pages) == 400
    assert any(r.name == "SDKLogger" for r in caplog.records)  # the SDK logs into Python logging
    for secret in (stored.access_token, server.config.refresh_token, server.config.client_secret):
        assert secret not in caplog.text


def _refresh_in_child(settings_values: dict[str, Any], barrier: Any, rounds: int) -> None:
    from pipeline_pulse.core.config import Settings

    settings = Settings(**settings_values)
    engine = create_sync_engine(settings.database_url)
    service = UnifiedZohoCRMService.from_settings(settings, engine)
    service.manager.ensure_initialized()
    barrier.wait(timeout=60)
    for _ in range(rounds):
        # Both processes see an expired token at the same moment and refresh it concurrently.
        service.manager.token_store.expire_access_token(service.manager.token_id)
        assert service.count_deals() == 400
    engine.dispose()


def test_two_processes_refreshing_at_once_leave_a_valid_token(
    server: SandboxServer, db_url: str, tmp_path: Path
) -> None:
    settings = zoho_settings(server, db_url, tmp_path / "sdk")
    values = {
        name: (value.get_secret_value() if hasattr(value, "get_secret_value") else value)
        for name, value in settings.model_dump().items()
        if value is not None
    }
    values["zoho_resource_path"] = str(tmp_path / "sdk")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    children = [context.Process(target=_refresh_in_child, args=(values, barrier, 5)) for _ in range(2)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=120)
    assert [child.exitcode for child in children] == [0, 0]

    engine = create_sync_engine(db_url)
    try:
        manager = ImprovedZohoSDKManager.from_settings(settings, engine)
        stored = manager.token_store.load(manager.token_id)
    finally:
        engine.dispose()
    assert stored is not None
    assert stored.access_token
    assert stored.refresh_token == server.config.refresh_token
    assert stored.expiry_time is not None
    assert stored.expiry_time > time.time() * 1000
    response = requests.get(
        f"{server.base_url}/crm/v8/Deals/actions/count",
        headers={"Authorization": f"Zoho-oauthtoken {stored.access_token}"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["count"] == 400
