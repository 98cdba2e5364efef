"""`make run`: the whole system on one machine, from nothing to "ready" in one command.

Migrates the warehouse (SQLite by default, or DATABASE_URL), starts the Zoho sandbox with a demo data set,
simulates the last DEMO_HISTORY_DAYS days in one process (sandbox clock advanced day by day with daily CRM
changes; one deals sync and one snapshot partition per day, the first and last day through the real Dagster
jobs: tools/demo_history.py), then serves the Dagster UI and the API and prints their URLs, two dev tokens and
example curl lines. Ctrl-C stops every process it started.

A second run finds the marker under DEMO_RUN_DIR and reuses the warehouse, the sandbox state and Dagster's
history, so it is ready in seconds. Settings: see tools/demo_config.py (DEMO_* variables, DATABASE_URL).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from pipeline_pulse.core.db import create_sync_engine
from tools.demo_config import HOST, REPO_ROOT, DemoConfig, DemoConfigError, DemoMarker
from tools.processes import ChildFailedError, PortInUseError, ProcessGroupManager, ensure_ports_free, http_ok

PYTHON = sys.executable
TOKEN_TTL_SECONDS = 12 * 3600
DEMO_REGION = "APAC"
# The local instance config of the code location (SQLite storage, run concurrency, no telemetry).
DAGSTER_LOCAL_YAML = REPO_ROOT / "deploy" / "dagster.local.yaml"


class StopRequestedError(Exception):
    """Ctrl-C, SIGTERM or SIGHUP: stop everything and exit."""


class DemoAbortError(RuntimeError):
    """A condition the user must fix; the message says how."""


def say(message: str) -> None:
    print(message, flush=True)


def step(number: int, total: int, message: str) -> None:
    say(f"[{number}/{total}] {message}")


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    raise StopRequestedError(signal.Signals(signum).name)


def _is_demo_owned_sqlite(config: DemoConfig) -> Path | None:
    """The warehouse file, if it is the default demo database or lives in DEMO_RUN_DIR (safe to recreate)."""
    url = make_url(config.database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    path = Path(url.database).resolve()
    if path == (REPO_ROOT / "pipeline_pulse.db").resolve() or path.is_relative_to(config.run_dir.resolve()):
        return path
    return None


def _live_deal_count(database_url: str) -> int:
    engine = create_sync_engine(database_url)
    try:
        if "deals" not in inspect(engine).get_table_names():
            return 0
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT COUNT(*) FROM deals")).scalar_one())
    finally:
        engine.dispose()


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class Demo:
    TOTAL_STEPS = 6

    def __init__(self, config: DemoConfig) -> None:
        self.config = config
        self.env = config.child_env()
        self.processes = ProcessGroupManager(log_dir=config.log_dir)

    def _run(self, name: str, *argv: str, to_terminal: bool = False) -> None:
        self.processes.run(name, [PYTHON, *argv], self.env, REPO_ROOT, stdout_to_terminal=to_terminal)

    # -- steps -------------------------------------------------------------------------------------------
    def prepare_dirs(self) -> None:
        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        self.config.log_dir.mkdir(parents=True, exist_ok=True)
        self.config.dagster_home.mkdir(parents=True, exist_ok=True)
        instance_yaml = self.config.dagster_home / "dagster.yaml"
        if not instance_yaml.exists():
            shutil.copyfile(DAGSTER_LOCAL_YAML, instance_yaml)
        if (self.config.dagster_home / "history" / "runs.db").exists():
            # Runs a killed earlier session left "in progress" would hold the sync's run slot forever.
            self._run("dagster-reap", "-m", "orchestration.instance", "fail-dead-runs")

    def migrate(self) -> None:
        step(1, self.TOTAL_STEPS, f"migrating the warehouse at {self.config.masked_database_url}")
        self._run("migrate", "-m", "alembic", "upgrade", "head")

    def load_marker(self) -> DemoMarker:
        """The saved progress for this warehouse + data set, or a fresh start (after checking the warehouse)."""
        config = self.config
        marker = DemoMarker.load(config.marker_path)
        deals = _live_deal_count(config.database_url)
        if marker is not None and marker.matches(config) and config.sandbox_state_path.exists():
            if deals or marker.days_done < 0:
                return marker
            say("      the warehouse is empty although the demo state says it was loaded: starting over")
        if deals:
            owned = _is_demo_owned_sqlite(config)
            if owned is None:
                raise DemoAbortError(
                    f"the warehouse at {config.masked_database_url} already holds {deals} deals that this demo did "
                    "not load (no matching marker in DEMO_RUN_DIR); point DATABASE_URL at an empty database"
                )
            say(f"      resetting the demo warehouse {owned} (it belongs to another demo configuration)")
            _remove_sqlite(owned)
            self._run("migrate", "-m", "alembic", "upgrade", "head")
        config.sandbox_state_path.unlink(missing_ok=True)
        marker = DemoMarker.new(config)
        marker.save(config.marker_path)
        return marker

    def start_sandbox(self, marker: DemoMarker) -> None:
        config = self.config
        reuse = "reusing its saved state" if config.sandbox_state_path.exists() else "generating the data set"
        step(
            2,
            self.TOTAL_STEPS,
            f"starting the Zoho sandbox on {config.sandbox_url} with {config.deals:,} deals ({reuse})",
        )
        self.processes.start(
            "sandbox",
            [
                PYTHON,
                "-m",
                "tools.demo_sandbox",
                "--clock-start",
                marker.clock_start,
                "--host",
                HOST,
                "--port",
                str(config.sandbox_port),
                "--deals",
                str(config.deals),
                "--seed",
                str(config.seed),
                "--state",
                str(config.sandbox_state_path),
            ],
            self.env,
            REPO_ROOT,
            stop_signal=signal.SIGINT,  # the sandbox closes its state database on KeyboardInterrupt
        )
        self.processes.wait_until("the Zoho sandbox", lambda: http_ok(f"{config.sandbox_url}/__sandbox/ready"), 900)

    def simulate_history(self, marker: DemoMarker) -> None:
        from tools.demo_history import Sandbox

        sandbox = Sandbox(self.config.sandbox_url)
        # Snapshot partitions of the simulated days exist before the first sync records the history start.
        self.env.setdefault("HISTORY_START_DATE", marker.clock_start_dt.date().isoformat())
        if marker.complete:
            step(3, self.TOTAL_STEPS, "history already simulated: reusing the warehouse and Dagster's runs")
            # A restarted sandbox's clock is back at its start; bring it to the present for scheduled syncs.
            sandbox.advance_to(datetime.now(UTC) - timedelta(minutes=1))
            return
        where = "initial load, then" if marker.days_done < 0 else f"resuming at day {marker.days_done + 1} of"
        step(
            3,
            self.TOTAL_STEPS,
            f"simulating CRM history ({where} {marker.history_days} days): daily changes, one sync and one "
            "snapshot partition per day",
        )
        self._run(
            "history",
            "-m",
            "tools.demo_history",
            "--sandbox-url",
            self.config.sandbox_url,
            "--marker",
            str(self.config.marker_path),
            to_terminal=True,
        )
        marker = DemoMarker.load(self.config.marker_path) or marker
        marker.complete = True
        marker.save(self.config.marker_path)
        sandbox.advance_to(datetime.now(UTC) - timedelta(minutes=1))

    def start_api(self) -> None:
        """Started before the history simulation: it reads the warehouse live, so its start-up (imports, a
        few seconds of CPU) overlaps the simulation instead of adding to the time until ready."""
        config = self.config
        self.processes.start(
            "api",
            [
                PYTHON,
                "-m",
                "uvicorn",
                "api.main:app",
                "--host",
                HOST,
                "--port",
                str(config.api_port),
                "--no-access-log",
            ],
            self.env,
            REPO_ROOT,
        )

    def serve(self) -> None:
        config = self.config
        step(4, self.TOTAL_STEPS, f"starting the Dagster UI ({config.dagster_url}) and the API ({config.api_url})")
        # After the simulation: its daemon starts the schedules, whose syncs must not overlap the simulated days.
        self.processes.start(
            "dagster",
            [PYTHON, "-m", "dagster", "dev", "-h", HOST, "-p", str(config.dagster_port), "-w", "workspace.yaml"],
            self.env,
            REPO_ROOT,
            stop_signal=signal.SIGINT,
        )
        self.processes.wait_until("the API", lambda: http_ok(f"{config.api_url}/health"), 120)
        self.processes.wait_until("the Dagster UI", lambda: http_ok(f"{config.dagster_url}/server_info"), 300)

    def mint(self, subject: str, regions: str, role: str | None = None) -> str:
        argv = [
            PYTHON,
            "-m",
            "api.tokens",
            "mint",
            "--sub",
            subject,
            "--regions",
            regions,
            "--ttl",
            str(TOKEN_TTL_SECONDS),
        ]
        if role:
            argv += ["--role", role]
        result = subprocess.run(  # noqa: S603 - fixed argv, our own module
            argv, cwd=REPO_ROOT, env=self.env, capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            raise ChildFailedError(f"minting a token failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def announce(self, started: float) -> None:
        config = self.config
        step(5, self.TOTAL_STEPS, "minting development tokens")
        admin = self.mint("demo-admin", "*", role="admin")
        regional = self.mint(f"demo-{DEMO_REGION.lower()}", DEMO_REGION)
        tokens_file = config.run_dir / "tokens.env"
        tokens_file.write_text(f"ADMIN_TOKEN={admin}\n{DEMO_REGION}_TOKEN={regional}\n", encoding="utf-8")
        tokens_file.chmod(0o600)
        step(6, self.TOTAL_STEPS, "all services up")
        hours = TOKEN_TTL_SECONDS // 3600
        say(
            "\n".join(
                [
                    "",
                    f"Pipeline Pulse demo is ready ({time.monotonic() - started:.0f}s)",
                    f"  Dagster UI    {config.dagster_url}",
                    f"  API           {config.api_url}   (OpenAPI docs: {config.api_url}/docs)",
                    f"  Dashboard     {config.api_url}/dashboard#token={admin}",
                    f"  Zoho sandbox  {config.sandbox_url}",
                    f"  Warehouse     {config.masked_database_url}",
                    f"  Logs          {config.log_dir}",
                    f"  CORS          {config.cors_origins_line}",
                    "",
                    f"Development tokens (valid {hours} h; also in {tokens_file}):",
                    f"  all regions, admin:   export ADMIN_TOKEN={admin}",
                    f"  {DEMO_REGION} only:            export {DEMO_REGION}_TOKEN={regional}",
                    "",
                    "Try:",
                    f'  curl -s -H "Authorization: Bearer $ADMIN_TOKEN" {config.api_url}/api/v1/metrics/summary',
                    f'  curl -s -H "Authorization: Bearer ${DEMO_REGION}_TOKEN" {config.api_url}/api/v1/metrics/by-stage',
                    "",
                    "Press Ctrl-C to stop everything.",
                ]
            )
        )

    def supervise(self) -> None:
        while True:
            self.processes.check_alive()
            time.sleep(1)

    def run(self) -> None:
        started = time.monotonic()
        self.prepare_dirs()
        self.migrate()
        marker = self.load_marker()
        self.start_sandbox(marker)
        self.start_api()
        self.simulate_history(marker)
        self.serve()
        self.announce(started)
        self.supervise()


def main() -> int:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_signal)
    try:
        config = DemoConfig.from_env()
        ensure_ports_free(HOST, config.ports())
    except (DemoConfigError, PortInUseError) as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 2
    demo = Demo(config)
    stop: Callable[[], None] = demo.processes.stop_all
    try:
        demo.run()
    except StopRequestedError:
        say("\nstopping: waiting for every demo process to exit ...")
        return 0
    except (ChildFailedError, DemoAbortError) as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 1
    finally:
        # Ignore further Ctrl-C while cleaning up, so a second press cannot leave processes behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stop()
        say("demo stopped; no processes left running")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
