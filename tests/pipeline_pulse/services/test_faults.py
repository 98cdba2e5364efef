"""Faults injected by the sandbox end with the right data or a typed, clear error - never a silent gap."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from pipeline_pulse.services.zoho.crm_service import UnifiedZohoCRMService
from pipeline_pulse.services.zoho.errors import (
    ZohoAuthError,
    ZohoBudgetExhaustedError,
    ZohoRateLimitError,
    ZohoServerError,
)
from pipeline_pulse.services.zoho.records import DealRecord, QuarantinedRecord
from pipeline_pulse.services.zoho.sdk_manager import ImprovedZohoSDKManager
from tests.pipeline_pulse.services.conftest import make_service
from zoho_sandbox import SandboxServer

DEALS = 1_200
DEALS_PATH = "/crm/v8/Deals"


@pytest.fixture(scope="module")
def server(module_sandbox_factory: Any) -> SandboxServer:
    return module_sandbox_factory(deals=DEALS, seed=31)


@pytest.fixture
def sandbox(server: SandboxServer) -> Iterator[SandboxServer]:
    server.control.reset()
    yield server
    server.control.clear_faults()


@pytest.fixture
def service(sandbox: SandboxServer, token_db: Engine, resource_dir: Path) -> UnifiedZohoCRMService:
    service = make_service(sandbox, token_db, resource_dir)
    service.deal_fields()  # metadata first, so faults hit the records pages
    service.reset_counters()
    return service


def read(service: UnifiedZohoCRMService) -> tuple[dict[str, DealRecord], list[QuarantinedRecord]]:
    records: dict[str, DealRecord] = {}
    rejected: list[QuarantinedRecord] = []
    for page in service.iter_deals():
        for record in page.records:
            assert str(record.id) not in records  # nothing duplicated
            records[str(record.id)] = record
        rejected.extend(page.rejected)
    return records, rejected


def assert_equals_truth(sandbox: SandboxServer, records: dict[str, DealRecord]) -> None:
    truth = {r["id"]: r for r in sandbox.control.truth()["deals"]}
    assert set(records) == set(truth)
    assert all(records[i].raw == truth[i] for i in truth)


@pytest.mark.parametrize(
    ("fault", "expected_retries"),
    [
        ({"kind": "429", "count": 4}, 4),
        ({"kind": "500", "count": 2}, 2),
        ({"kind": "503-html", "count": 3}, 3),
        ({"kind": "502", "count": 1}, 1),
        ({"kind": "truncated_json", "count": 2}, 2),
        ({"kind": "reset", "count": 2}, 2),
    ],
)
def test_transient_faults_are_retried_to_the_right_data(
    service: UnifiedZohoCRMService, sandbox: SandboxServer, fault: dict[str, Any], expected_retries: int
) -> None:
    sandbox.control.add_faults({**fault, "path": DEALS_PATH, "skip": 2})
    records, rejected = read(service)
    assert_equals_truth(sandbox, records)
    assert rejected == []
    assert service.counters.retries == expected_retries
    assert all(rule["fired"] == fault["count"] for rule in sandbox.control.faults())


def test_timeouts_are_retried(sandbox: SandboxServer, token_db: Engine, resource_dir: Path) -> None:
    service = make_service(sandbox, token_db, resource_dir, zoho_timeout_seconds=1.0)
    service.deal_fields()
    service.reset_counters()
    sandbox.control.add_faults({"kind": "timeout", "path": DEALS_PATH, "seconds": 3.0, "count": 2, "skip": 1})
    records, _ = read(service)
    assert_equals_truth(sandbox, records)
    assert service.counters.retries >= 2  # the two injected timeouts (a loaded machine may add a slow page)
    assert all(rule["fired"] == 2 for rule in sandbox.control.faults())


def test_persistent_failures_raise_a_typed_error_not_a_partial_result(
    service: UnifiedZohoCRMService, sandbox: SandboxServer
) -> None:
    sandbox.control.add_faults({"kind": "503-html", "path": DEALS_PATH, "count": None, "skip": 2})
    pages = []
    with pytest.raises(ZohoServerError) as caught:
        pages.extend(service.iter_deals())
    assert len(pages) == 2  # what came before the failure; the caller sees the error, not a short read
    assert caught.value.status is None or caught.value.status >= 500
    assert service.counters.retries == service.manager.retry_policy.max_attempts - 1

    sandbox.control.clear_faults()
    sandbox.control.add_faults({"kind": "429", "path": DEALS_PATH, "count": None})
    with pytest.raises(ZohoRateLimitError) as rate:
        list(service.iter_deals())
    assert rate.value.code == "TOO_MANY_REQUESTS"
    assert rate.value.status == 429


def test_token_revoked_mid_run(service: UnifiedZohoCRMService, sandbox: SandboxServer) -> None:
    sandbox.control.add_faults({"kind": "revoke_token", "path": DEALS_PATH, "count": 1, "skip": 3})
    before = sandbox.control.stats(False)
    records, _ = read(service)
    assert_equals_truth(sandbox, records)
    after = sandbox.control.stats(False)
    assert after["tokens_issued"] == before["tokens_issued"] + 1  # refreshed once
    assert after["by_status"].get("401", 0) == before["by_status"].get("401", 0) + 1
    assert service.counters.retries == 1


def test_revoked_refresh_token_is_a_clear_auth_error(service: UnifiedZohoCRMService, sandbox: SandboxServer) -> None:
    sandbox.state.tokens.revoke_refresh(sandbox.config.refresh_token)
    sandbox.control.add_faults({"kind": "revoke_token", "path": DEALS_PATH, "count": 1})
    with pytest.raises(ZohoAuthError) as caught:
        list(service.iter_deals())
    assert "invalid_code" in caught.value.message


def test_page_token_expired_mid_run(service: UnifiedZohoCRMService, sandbox: SandboxServer) -> None:
    sandbox.control.add_faults({"kind": "expire_page_token", "path": DEALS_PATH, "count": 1, "skip": 3})
    records, _ = read(service)
    assert_equals_truth(sandbox, records)
    assert service.counters.retries == 1  # one restart from the cursor
    assert sandbox.control.stats(False)["by_status"].get("400") == 1


def test_unparsable_record_is_quarantined_and_its_page_mates_kept(
    service: UnifiedZohoCRMService, sandbox: SandboxServer
) -> None:
    sandbox.control.add_faults({"kind": "bad_record", "path": DEALS_PATH, "count": 1, "skip": 1})
    records, rejected = read(service)
    truth = {r["id"]: r for r in sandbox.control.truth()["deals"]}
    assert len(rejected) == 1
    bad = rejected[0]
    assert bad.zoho_id in truth
    assert bad.stream == "deals"
    assert "Closing_Date" in bad.reason
    assert bad.payload["id"] == bad.zoho_id
    assert bad.payload["Closing_Date"] == ""
    assert set(records) == set(truth) - {bad.zoho_id}  # the 199 others of its page are there
    assert service.counters.rejected == 1


def test_credit_budget_stops_before_it_is_exceeded(
    sandbox: SandboxServer, token_db: Engine, resource_dir: Path
) -> None:
    service = make_service(sandbox, token_db, resource_dir, zoho_daily_credits=5, zoho_credit_budget_share=0.8)
    sandbox.control.reset()
    pages = []
    with pytest.raises(ZohoBudgetExhaustedError) as caught:
        pages.extend(service.iter_deals())
    assert caught.value.code == "CREDIT_BUDGET_EXHAUSTED"
    assert service.counters.credits == 4  # 80% of 5
    assert len(pages) == 3  # 1 metadata call + 3 pages = the 4 credits allowed; 6 pages were needed
    assert sandbox.control.stats(False)["credits_used"] == 4


def test_concurrency_cap_is_shared_by_threads(sandbox: SandboxServer, token_db: Engine, resource_dir: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ImprovedZohoSDKManager.reset_process_state()
    service = make_service(sandbox, token_db, resource_dir, zoho_max_concurrency=2)
    sandbox.control.add_faults(
        {"kind": "latency", "path": "/crm/v8/Deals/actions/count", "seconds": 0.2, "count": None}
    )
    with ThreadPoolExecutor(max_workers=6) as pool:
        counts = list(pool.map(lambda _i: service.count_deals(), range(6)))
    assert counts == [DEALS] * 6
    assert sandbox.control.stats(False)["max_in_flight"] <= 2
    ImprovedZohoSDKManager.reset_process_state()


def test_a_token_endpoint_that_never_answers_times_out_within_the_bound(
    sandbox: SandboxServer, fresh_sqlite_url: str, resource_dir: Path
) -> None:
    import time

    from pipeline_pulse.core.db import create_sync_engine
    from pipeline_pulse.services.zoho import sdk_token_timeout
    from pipeline_pulse.services.zoho.errors import ZohoTimeoutError
    from pipeline_pulse.services.zoho.sdk_manager import RetryPolicy

    engine = create_sync_engine(fresh_sqlite_url)  # no stored access token: the first call must POST for one
    ImprovedZohoSDKManager.reset_process_state()
    service = make_service(
        sandbox,
        engine,
        resource_dir,
        zoho_timeout_seconds=1.0,
        retry_policy=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01, max_total_seconds=10.0),
    )
    sandbox.control.add_faults({"kind": "latency", "path": "*/oauth/v2/token", "seconds": 15.0, "count": 2})
    started = time.monotonic()
    with pytest.raises(ZohoTimeoutError):
        service.count_deals()
    assert time.monotonic() - started < 8  # two attempts of 1 s each, not two 15 s hangs
    assert sdk_token_timeout.installed_timeout() == (1.0, 1.0)
    ImprovedZohoSDKManager.reset_process_state()
    engine.dispose()
