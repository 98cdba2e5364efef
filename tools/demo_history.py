"""Simulate the demo's recent history: the sandbox clock advanced day by day, daily CRM changes, one deals sync
and one `deal_snapshots` partition per day, all in this one process.

    python -m tools.demo_history --sandbox-url http://127.0.0.1:8900 --marker .run/demo-<id>.json

Runs in its own process (started by `tools.run_demo` with the demo's environment: DATABASE_URL, ZOHO_*,
DAGSTER_HOME), so the Dagster and SDK imports stay out of the process manager. The initial load (day 0) and the
last day run the real `zoho_sync` job in this process against the instance in DAGSTER_HOME (the last one with
every check); the last day's deal health and snapshot are real `deal_health_job` / `deal_snapshots` runs. The
days between run what those jobs run for a day of changes, without a Dagster run each: the deals asset's `run_deal_sync` (same port, settings and
sync lock) and the snapshot asset's `capture_snapshot`; each of those partitions is reported to the instance as
a materialization, so the UI shows every simulated day. A Dagster run costs a few seconds of event writes here
(its planned, start, output and success events in the instance's SQLite), which for 60 days x 2 jobs was
most of the demo's start-up. Progress is saved in the marker after each day: an interrupted simulation resumes
where it stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.core.settings import get_settings
from tools.demo_config import DemoMarker

SYNC_JOB = "zoho_sync"
HEALTH_JOB = "deal_health_job"
IMPORT_JOB = "stage_history_import_job"
# Stage_History reads (one call each) on the last simulated day for the deals older than the demo's history
# start, open ones first, within the import's daily credit share; the schedule imports the rest later. 300, not
# more: each is a Zoho call, and 2,000 took 22 s of make run's 120 s budget on the shared box.
IMPORT_DEALS = 300
SNAPSHOT_ASSET = "deal_snapshots"
# Daily CRM activity as a share of the data set: edits (stage moves, amounts, dates), new deals, deletions.
MODIFY_SHARE, CREATE_SHARE, DELETE_SHARE = 0.006, 0.001, 0.0002
BUSINESS_HOUR = timedelta(hours=12)


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - the local sandbox
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
        return json.loads(response.read())


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


class Sandbox:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def now(self) -> datetime:
        return datetime.fromisoformat(_get(f"{self.base_url}/__sandbox/ready")["clock"])

    def advance_to(self, instant: datetime) -> None:
        """Move the sandbox clock forward to `instant` (never backwards)."""
        seconds = (instant - self.now()).total_seconds()
        if seconds > 0:
            _post(f"{self.base_url}/__sandbox/clock/advance", {"seconds": seconds})

    def mutate(self, modify: int, create: int, delete: int) -> dict[str, list[str]]:
        return _post(f"{self.base_url}/__sandbox/mutate", {"modify": modify, "create": create, "delete": delete})


class Pipeline:
    """The code location's jobs and resources, run in this process on the DAGSTER_HOME instance."""

    def __init__(self) -> None:
        import dagster as dg

        from orchestration.definitions import defs as lazy_defs

        defs = lazy_defs()
        self._instance = dg.DagsterInstance.get()
        self.sync_job = defs.resolve_job_def(SYNC_JOB)
        self.health_job = defs.resolve_job_def(HEALTH_JOB)
        self.import_job = defs.resolve_job_def(IMPORT_JOB)
        self.snapshot_job = self._snapshot_job(defs)
        self._resources = defs.resources

    @staticmethod
    def _snapshot_job(defs: Any) -> Any:
        """The smallest named partitioned job that materializes deal_snapshots (not the implicit __ASSET_JOB)."""
        import dagster as dg

        key = dg.AssetKey(SNAPSHOT_ASSET)
        candidates = [
            job
            for job in defs.resolve_all_job_defs()
            if not job.name.startswith("__")
            and job.partitions_def is not None
            and key in job.asset_layer.selected_asset_keys
        ]
        if not candidates:
            raise SystemExit(f"demo: no partitioned job materializes {SNAPSHOT_ASSET} in orchestration.definitions")
        return min(candidates, key=lambda job: len(job.asset_layer.selected_asset_keys))

    def _execute(self, job: Any, partition_key: str | None = None) -> None:
        result = job.execute_in_process(instance=self._instance, partition_key=partition_key, raise_on_error=False)
        if not result.success:
            where = f" partition {partition_key}" if partition_key else ""
            raise SystemExit(f"demo: {job.name}{where} failed (run {result.run_id}); see the Dagster UI or the log")

    def sync(self, with_checks: bool) -> None:
        """One run of the real incremental sync job (the initial load without checks; the last day with them,
        so the UI shows every check's latest result)."""
        job = self.sync_job
        if not with_checks:
            job = job.get_subset(asset_selection=job.asset_layer.selected_asset_keys, asset_check_selection=set())
        self._execute(job)

    def health(self) -> None:
        """The real deal health job (hourly in production), so the UI shows the rule counts of the last day."""
        self._execute(self.health_job)

    def sync_deals(self) -> None:
        """A day's deal changes, deletions and versions: what the deals asset runs, with its resources."""
        from orchestration.deal_sync import run_deal_sync

        warehouse, zoho = self._resources["warehouse"], self._resources["zoho"]
        with warehouse.sync_guard():
            run_deal_sync(
                warehouse.get_engine(),
                zoho.port(),
                bulk_threshold=zoho.effective_bulk_threshold(),
                home_currency=self._resources["pipeline"].effective_home_currency(),
            )

    def import_stage_history(self) -> None:
        config = {"ops": {"stage_history_import": {"config": {"max_deals": IMPORT_DEALS}}}}
        result = self.import_job.execute_in_process(instance=self._instance, run_config=config, raise_on_error=False)
        if not result.success:
            raise SystemExit(f"demo: {IMPORT_JOB} failed (run {result.run_id}); see the Dagster UI or the log")

    def snapshot(self, day: date) -> None:
        """The real snapshot job for `day` (the last simulated day)."""
        self._execute(self.snapshot_job, day.isoformat())

    def snapshot_in_place(self, day: date) -> None:
        """What the snapshot asset does for `day`, reported to the instance as that partition's materialization."""
        import dagster as dg

        from pipeline_pulse.warehouse.snapshots import capture_snapshot

        with self._resources["warehouse"].connect() as connection:
            captured = capture_snapshot(connection, day)
            connection.commit()
        self._instance.report_runless_asset_event(
            dg.AssetMaterialization(
                asset_key=SNAPSHOT_ASSET,
                partition=day.isoformat(),
                description="captured by the demo's history simulation (tools/demo_history.py)",
                metadata={
                    "snapshot_date": day.isoformat(),
                    "known": captured is not None,
                    "deals_captured": captured or 0,
                },
            )
        )


def _day_instant(clock_start: datetime, day: int, now: datetime) -> datetime:
    """Midday of simulated day `day` (the last one is yesterday, the latest complete snapshot partition)."""
    return min(clock_start + timedelta(days=day) + BUSINESS_HOUR, now - timedelta(minutes=1))


def _warehouse_counts() -> tuple[int, int]:
    settings = get_settings()
    engine = create_sync_engine(settings.sqlalchemy_url(), bounds=settings.etl_db_bounds())
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT COUNT(*), COALESCE(SUM(CASE WHEN deal_status = 'open' THEN 1 ELSE 0 END), 0) "
                    "FROM deals WHERE deleted_at IS NULL"
                )
            ).one()
    finally:
        engine.dispose()
    return int(row[0]), int(row[1])


def simulate(sandbox: Sandbox, pipeline: Pipeline, marker: DemoMarker, marker_path: Path) -> None:
    start = marker.clock_start_dt
    daily = (
        max(1, round(marker.deals * MODIFY_SHARE)),
        max(1, round(marker.deals * CREATE_SHARE)),
        round(marker.deals * DELETE_SHARE),
    )
    for day in range(marker.days_done + 1, marker.history_days + 1):
        began = time.monotonic()
        the_day = (start + timedelta(days=day)).date()
        sandbox.advance_to(_day_instant(start, day, datetime.now(UTC)))
        if day == 0:
            label = f"initial load of {marker.deals:,} deals"
        else:
            touched = sandbox.mutate(*daily)
            label = (
                f"{len(touched['modified'])} edited, {len(touched['created'])} new, {len(touched['deleted'])} deleted"
            )
        last = day == marker.history_days
        if day == 0 or last:
            pipeline.sync(with_checks=last)
        else:
            pipeline.sync_deals()
        if last:
            pipeline.import_stage_history()
            pipeline.health()
            pipeline.snapshot(the_day)
        else:
            pipeline.snapshot_in_place(the_day)
        marker.days_done = day
        marker.save(marker_path)
        live, open_ = _warehouse_counts()
        print(
            f"  day {day:>3}/{marker.history_days} {the_day}: {label}; synced, snapshot taken "
            f"-> {live:,} live deals, {open_:,} open ({time.monotonic() - began:.1f}s)",
            flush=True,
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox-url", required=True)
    parser.add_argument("--marker", required=True, type=Path)
    args = parser.parse_args(argv)
    marker = DemoMarker.load(args.marker)
    if marker is None:
        print(f"demo: no readable marker at {args.marker}", file=sys.stderr)
        return 2
    simulate(Sandbox(args.sandbox_url), Pipeline(), marker, args.marker)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
