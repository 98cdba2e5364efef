"""`dagster job execute -m orchestration.definitions -j zoho_sync` as a real subprocess (the documented
command), with DAGSTER_HOME under tmp_path: killed with SIGKILL mid-load, its run (and its pool slot) reaped by
`fail_dead_runs`, then rerun to equal the truth."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
from sqlalchemy import func, select

from orchestration.assets.common import ZOHO_POOL
from orchestration.instance import fail_dead_runs
from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.models import Deal, SyncState
from tests.orchestration.conftest import assert_warehouse_equals_truth, deals_checksum, sandbox_env

REPO = Path(__file__).resolve().parents[2]
DAGSTER = str(Path(sys.executable).with_name("dagster"))
TOTAL = 1000


def _command_env(server, db_url: str, tmp_path: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    # The local instance plus production's pool limit (one Zoho step at a time), so a killed run holds a slot.
    local = (REPO / "deploy" / "dagster.local.yaml").read_text()
    (home / "dagster.yaml").write_text(
        local.replace("concurrency:\n", "concurrency:\n  pools:\n    default_limit: 1\n", 1)
    )
    return {**os.environ, **sandbox_env(server, db_url, tmp_path), "DAGSTER_HOME": str(home)}


def _in_progress(instance: dg.DagsterInstance) -> list[str]:
    return [run.run_id for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))]


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [DAGSTER, "job", "execute", "-m", "orchestration.definitions", "-j", "zoho_sync"],
        cwd=REPO,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: SIGKILL reaches the step subprocesses too
    )


def _committed(engine) -> tuple[object, int]:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        cursor = connection.execute(
            select(SyncState.cursor_modified_time).where(SyncState.stream == "deals")
        ).scalar_one_or_none()
        return cursor, connection.execute(select(func.count()).select_from(Deal)).scalar_one()


def test_sigkill_mid_load_then_rerun_equals_truth(db_url: str, sandbox_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = sandbox_factory(deals=TOTAL, seed=11)
    # Park every deals page after the first until the faults are cleared: the run cannot get past page 1,
    # however slow the machine, so the kill lands after a committed page and before the last one.
    server.control.add_faults({"kind": "hold", "path": "/crm/v8/Deals", "count": None, "skip": 1})
    env = _command_env(server, db_url, tmp_path)
    engine = create_sync_engine(db_url)

    log = tmp_path / "first-run.log"
    # Opened (so its SQLite storages created) before the child starts: two processes creating a fresh instance
    # in one DAGSTER_HOME at once race on the storages' alembic stamps, and the child died at start-up.
    instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
    # No read timeout while parked: the SDK must not give up (and the run end) before it is killed.
    process = _start({**env, "ZOHO_TIMEOUT_SECONDS": "3600"}, log)
    try:
        # The observable point: page 1 committed (rows and the cursor advanced in its transaction).
        cursor, loaded = _committed(engine)
        while process.poll() is None and not (cursor is not None and loaded > 0):
            time.sleep(0.1)
            cursor, loaded = _committed(engine)
        assert fail_dead_runs(instance) == []  # a live run is left alone
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        output = log.read_text(errors="replace")
    assert cursor is not None, f"run ended before page 1 committed its cursor\n{output[-3000:]}"
    assert 0 < loaded < TOTAL, f"not mid-way: {loaded} rows\n{output[-3000:]}"

    # The killed run: still "STARTED" in the instance, holding its pool slot, until reaped.
    (dead,) = _in_progress(instance)
    assert instance.event_log_storage.get_concurrency_info(ZOHO_POOL).active_run_ids == {dead}
    assert fail_dead_runs(instance) == [dead]
    assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE  # type: ignore[union-attr]
    assert instance.event_log_storage.get_concurrency_info(ZOHO_POOL).active_slot_count == 0
    instance.dispose()

    server.control.clear_faults()
    rerun = subprocess.run(
        [DAGSTER, "job", "execute", "-m", "orchestration.definitions", "-j", "zoho_sync"],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert rerun.returncode == 0, (
        rerun.stdout.decode(errors="replace")[-4000:] + rerun.stderr.decode(errors="replace")[-4000:]
    )
    assert_warehouse_equals_truth(engine, server.control.truth())
    checksum = deals_checksum(engine)
    with engine.connect() as connection:
        status = connection.execute(select(SyncState.last_status).where(SyncState.stream == "deals")).scalar_one()
    assert status == "success"
    assert checksum == deals_checksum(engine)
    engine.dispose()
