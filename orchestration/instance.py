"""The project-local Dagster instance: DAGSTER_HOME=./.dagster_home (gitignored) with SQLite storage.

`python -m orchestration.instance` prints the directory to export as DAGSTER_HOME (creating it from
deploy/dagster.local.yaml); `python -m orchestration.instance fail-dead-runs` marks the runs the instance
still calls in progress although their process is gone (SIGKILL, OOM, a closed terminal) as failed and gives
back any concurrency slot they held, so the next sync is neither blocked by the run-tag limit nor by a pool
slot. The local run launcher cannot see a dead worker (only a Kubernetes-style launcher can); `make run` calls
this before it starts anything. It compares the pid the run's events carry with the live processes of THIS
machine, so it is for the local instance only (a production instance's runs live in other hosts' pods).
"""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dagster as dg

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL_TEMPLATE = REPO_ROOT / "deploy" / "dagster.local.yaml"


def ensure_local_dagster_home(root: Path = REPO_ROOT) -> Path:
    """Create `<root>/.dagster_home/dagster.yaml` from the local template if missing; return the directory
    to export as DAGSTER_HOME."""
    home = root / ".dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(LOCAL_TEMPLATE, config)
    return home


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def run_process_id(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid of the process that last wrote an event of the run (the one executing its steps)."""
    import dagster as dg

    kinds = {dg.DagsterEventType.RUN_START, dg.DagsterEventType.ENGINE_EVENT, dg.DagsterEventType.STEP_START}
    pids = [entry.dagster_event.pid for entry in instance.all_logs(run_id, of_type=kinds) if entry.dagster_event]
    return next((pid for pid in reversed(pids) if pid is not None), None)


def fail_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail the in-progress runs whose executing process no longer exists; free their concurrency slots."""
    import dagster as dg

    in_progress = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
    failed = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=in_progress)):
        pid = run_process_id(instance, run.run_id)
        if pid is None or _alive(pid):
            continue
        instance.report_run_failed(run, f"the process running it (pid {pid}) is gone (killed or crashed)")
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        failed.append(run.run_id)
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.instance", description=__doc__)
    parser.add_argument("command", nargs="?", choices=["home", "fail-dead-runs"], default="home")
    args = parser.parse_args(argv)
    if args.command == "home":
        print(ensure_local_dagster_home())
        return 0
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        for run_id in fail_dead_runs(instance):
            print(f"marked run {run_id} failed: its process is gone")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
