"""The bad_record drift scenario (issue 14.2) against the sandbox with the real SDK over HTTP: a record spoilt
by a fault on any page of an incremental run, or for a whole run followed by mutations, never leaves an older
version in the warehouse. After the run that sees Zoho serve good data, the warehouse equals the truth in every
field the scenario touches (Modified_Time, Closing_Date, amount, stage), without a reconcile, and no rejection
stays open."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from orchestration.deal_sync import run_deal_sync
from pipeline_pulse.models import Deal, RejectedRecord
from pipeline_pulse.services.zoho.crm_service import UnifiedZohoCRMService
from pipeline_pulse.warehouse.currencies import store_currency_rates
from pipeline_pulse.warehouse.dimensions import load_stages
from tests.pipeline_pulse.services.conftest import make_service, module_sandbox_factory, resource_dir  # noqa: F401
from zoho_sandbox import SandboxServer

DEALS_PATH = "/crm/v8/Deals"  # the paged read and the read by ids; not /count, /deleted or single records


@pytest.fixture(scope="module")
def server(module_sandbox_factory: Any) -> SandboxServer:  # noqa: F811
    return module_sandbox_factory(deals=1_000, seed=14)


@pytest.fixture
def sandbox(server: SandboxServer) -> Iterator[SandboxServer]:
    server.control.reset()
    server.control.clear_faults()
    yield server
    server.control.clear_faults()


@pytest.fixture
def service(sandbox: SandboxServer, sync_engine: Engine, resource_dir: Path) -> UnifiedZohoCRMService:  # noqa: F811
    service = make_service(sandbox, sync_engine, resource_dir)
    stages, currencies = service.get_stage_metadata(), service.get_currencies()  # never call Zoho mid-write
    with sync_engine.connect() as connection:
        load_stages(connection, stages)
        store_currency_rates(connection, currencies, datetime.now(UTC).date())
        connection.commit()
    return service


def sync(engine: Engine, service: UnifiedZohoCRMService) -> Any:
    return run_deal_sync(engine, service, bulk_threshold=0)


def assert_warehouse_equals_truth(engine: Engine, sandbox: SandboxServer) -> None:
    truth = {int(r["id"]): r for r in sandbox.control.truth()["deals"]}
    with engine.connect() as connection:
        rows = {r.id: r for r in connection.execute(select(Deal).where(Deal.deleted_at.is_(None)))}
        still_open = connection.execute(
            select(RejectedRecord.zoho_id, RejectedRecord.reason).where(RejectedRecord.resolved_at.is_(None))
        ).all()
    assert set(rows) == set(truth)
    wrong = []
    for deal_id, record in truth.items():
        row = rows[deal_id]
        expected = (
            datetime.fromisoformat(record["Modified_Time"]).astimezone(UTC),
            date.fromisoformat(record["Closing_Date"]) if record["Closing_Date"] else None,
            None if record["Amount"] is None else Decimal(str(record["Amount"])).quantize(Decimal("0.01")),
            record["Stage"],
        )
        if (row.modified_time, row.closing_date, row.amount, row.stage) != expected:
            wrong.append((deal_id, expected))
    assert not wrong, wrong[:3]
    assert still_open == []


@pytest.mark.parametrize("call", range(3))  # each page of the 3-page incremental read
def test_a_bad_record_on_any_page_is_repaired_in_the_same_run(
    sync_engine: Engine, sandbox: SandboxServer, service: UnifiedZohoCRMService, call: int
) -> None:
    sync(sync_engine, service)
    sandbox.control.mutate(modify=450)
    sandbox.control.add_faults({"kind": "bad_record", "path": DEALS_PATH, "skip": call, "count": 1})
    report = sync(sync_engine, service)
    assert (report.pages, report.rejected, report.reread, report.resolved) == (3, 1, 1, 1)
    assert_warehouse_equals_truth(sync_engine, sandbox)


def test_a_bad_record_fault_for_a_whole_run_then_mutations_then_a_clean_rerun(
    sync_engine: Engine, sandbox: SandboxServer, service: UnifiedZohoCRMService
) -> None:
    sync(sync_engine, service)
    sandbox.control.mutate(modify=450)
    sandbox.control.add_faults({"kind": "bad_record", "path": DEALS_PATH, "count": None})
    spoilt = sync(sync_engine, service)
    # the first record of each of the 3 pages; the read by ids spoils the first again, gets the other two right
    assert (spoilt.rejected, spoilt.reread, spoilt.resolved) == (3, 3, 2)
    sandbox.control.clear_faults()
    sandbox.control.mutate(modify=30, create=5, delete=4)
    clean = sync(sync_engine, service)
    assert clean.reread == 1
    assert_warehouse_equals_truth(sync_engine, sandbox)
