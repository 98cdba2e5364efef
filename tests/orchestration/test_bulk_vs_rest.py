"""A Bulk Read backfill and a REST read of the same sandbox data give identical warehouse rows - lookups
(Account_Name, Contact_Name, Campaign_Source, Owner) included (issue 11.5). Bulk into the test's warehouse
(both backends), REST into a second, SQLite one; every data column is compared, `raw` too."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from orchestration.deal_sync import run_deal_sync
from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.models import Deal
from pipeline_pulse.warehouse.currencies import store_currency_rates
from pipeline_pulse.warehouse.deals import DEAL_DATA_COLUMNS
from pipeline_pulse.warehouse.dimensions import load_stages
from tests.pipeline_pulse.services.conftest import make_service, module_sandbox_factory, resource_dir  # noqa: F401


def _sync(engine: Engine, service: Any, bulk_threshold: int) -> dict[int, tuple[Any, ...]]:
    stages, currencies = service.get_stage_metadata(), service.get_currencies()
    with engine.connect() as connection:
        load_stages(connection, stages)
        store_currency_rates(connection, currencies, datetime.now(UTC).date())
        connection.commit()
    report = run_deal_sync(engine, service, bulk_threshold=bulk_threshold)
    assert report.extract_path == ("bulk" if bulk_threshold else "rest")
    columns = [Deal.__table__.c[name] for name in DEAL_DATA_COLUMNS]
    with engine.connect() as connection:
        return {row[0]: tuple(row) for row in connection.execute(select(*columns))}


def test_bulk_backfill_and_rest_read_give_identical_rows(
    module_sandbox_factory: Any,  # noqa: F811
    sync_engine: Engine,
    sqlite_template: Path,
    tmp_path: Path,
    resource_dir: Path,  # noqa: F811
) -> None:
    server = module_sandbox_factory(deals=1_500, seed=9, bulk_page_size=600, bulk_delay_seconds=0.05)
    bulk = _sync(sync_engine, make_service(server, sync_engine, resource_dir), bulk_threshold=100)
    shutil.copyfile(sqlite_template, tmp_path / "rest.db")
    rest_engine = create_sync_engine(f"sqlite:///{tmp_path / 'rest.db'}")
    rest = _sync(rest_engine, make_service(server, rest_engine, resource_dir), bulk_threshold=0)
    rest_engine.dispose()

    assert len(bulk) == len(rest) == 1_500
    assert sum(1 for row in bulk.values() if row[DEAL_DATA_COLUMNS.index("account_name")]) > 1_000
    differences = [
        (deal_id, name, bulk[deal_id][i], rest[deal_id][i])
        for deal_id in rest
        for i, name in enumerate(DEAL_DATA_COLUMNS)
        if bulk[deal_id][i] != rest[deal_id][i]
    ]
    raw_keys = sorted(
        {key for _, name, b, r in differences if name == "raw" for key in set(b) | set(r) if b.get(key) != r.get(key)}
    )
    assert not differences, (raw_keys, [d for d in differences if d[1] != "raw"][:5], differences[0])
