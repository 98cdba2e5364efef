"""Bulk Read crash-and-resume against the sandbox with the real SDK: Zoho fails every attempt to create the
job of result file 3 of 4; the run fails with files 1-2 committed, and the next run reads files 3 and 4 only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from orchestration.deal_sync import run_deal_sync
from pipeline_pulse.models import Deal
from pipeline_pulse.services.zoho.errors import ZohoServerError
from pipeline_pulse.warehouse.currencies import store_currency_rates
from pipeline_pulse.warehouse.dimensions import load_stages
from tests.pipeline_pulse.services.conftest import make_service, module_sandbox_factory, resource_dir  # noqa: F401
from zoho_sandbox import SandboxServer

BULK_CREATE = "/crm/bulk/v8/read"


def _bulk_jobs(server: SandboxServer) -> int:
    return int(server.control.stats(with_log=False)["by_path"].get(BULK_CREATE, 0))


# one chunk per 250-row result file, or three (100 + 100 + 50): a file is streamed through in chunks
@pytest.mark.parametrize(("chunk_rows", "resumed_at"), [(50_000, 3), (100, 7)])
def test_a_bulk_backfill_resumes_at_the_failed_page(
    module_sandbox_factory: Any,  # noqa: F811
    sync_engine: Engine,
    resource_dir: Path,  # noqa: F811
    chunk_rows: int,
    resumed_at: int,
) -> None:
    server = module_sandbox_factory(deals=1_000, seed=3, bulk_page_size=250, bulk_delay_seconds=0.05)
    service = make_service(server, sync_engine, resource_dir, service_kwargs={"bulk_chunk_rows": chunk_rows})
    stages, currencies = service.get_stage_metadata(), service.get_currencies()  # never call Zoho mid-write
    with sync_engine.connect() as connection:
        load_stages(connection, stages)
        store_currency_rates(connection, currencies, datetime.now(UTC).date())
        connection.commit()
    # every run first creates 3 jobs for the lookup modules' names, then one per Deals result file
    server.control.add_faults({"kind": "500", "path": BULK_CREATE, "method": "POST", "skip": 3 + 2, "count": None})
    with pytest.raises(ZohoServerError):
        run_deal_sync(sync_engine, service, bulk_threshold=100)
    with sync_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Deal)).scalar_one() == 500

    server.control.clear_faults()
    jobs_before = _bulk_jobs(server)
    report = run_deal_sync(sync_engine, service, bulk_threshold=100)
    assert report.bulk_resumed_at_page == resumed_at
    assert _bulk_jobs(server) - jobs_before == 3 + 2  # the lookups again, then result files 3 and 4 only
    assert report.pages == (2 if chunk_rows > 250 else 6)
    assert report.inserted == 500
    truth = {int(r["id"]): r for r in server.control.truth()["deals"]}
    with sync_engine.connect() as connection:
        rows = dict(connection.execute(select(Deal.id, Deal.modified_time)).all())
    assert rows == {i: datetime.fromisoformat(r["Modified_Time"]).astimezone(UTC) for i, r in truth.items()}
    assert report.cursor_after.startswith(max(rows.values()).isoformat())
