"""Wall time of an incremental `zoho_sync` through `dagster job execute` on PostgreSQL (issue 11.4): one with
nothing to do and one after 1,000 deals changed in the sandbox, beside the fixed cost of Dagster itself measured
in the same run (the same CLI executing a one-asset job that does nothing, on the same instance).

    .venv/bin/python -m bench.bench_sync_overhead [--deals 20000] [--url postgresql://...] [--port 18410]
        [--exclude deal_stage_history] [--repeat 2]

A sandbox of N deals (its own process, demo size by default) and a fresh warehouse `pp_bench_sync_overhead`
(dropped afterwards) with a fresh Dagster home (the local instance file, deploy/dagster.local.yaml). The first
sync (the backfill) is printed but is not what this measures. Then, `--repeat` times each: the trivial job,
a no-change sync, and a sync after `/__sandbox/mutate {"modify": 1000}`. Per run: wall and CPU seconds of the
CLI process (children included), the deals step's Zoho extract seconds (from its log line; the 1,000-change
target is 20 s plus that) and the slowest steps. `--exclude` leaves steps out of the sync by op selection (e.g.
the per-deal Stage_History step, to see what else costs). Targets: no-change <= 10 s; 1,000 changes <= 20 s +
Zoho time. Run it alone on the machine and say what else ran (`uptime` is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

from bench.harness import REPO, recreate_database, seed_warehouse, start_sandbox
from pipeline_pulse.core.migrate import upgrade

DAGSTER = str(Path(sys.executable).with_name("dagster"))
DATABASE = "pp_bench_sync_overhead"
EXTRACT = re.compile(r"deals \w+: extracted=(\d+) .*extract=([\d.]+)s transform=([\d.]+)s load=([\d.]+)s")
STEP = re.compile(r'Finished execution of step "([^"]+)" in ([\d.]+)(ms|s|m)')
STARTED = re.compile(r'Started execution of step "([^"]+)"')
TRIVIAL_JOB = '''
import dagster as dg


@dg.asset
def nothing() -> None:
    """Does nothing: what remains is Dagster's own cost of one run."""


defs = dg.Definitions(
    assets=[nothing], jobs=[dg.define_asset_job("trivial", executor_def=dg.in_process_executor)]
)
'''


@dataclass
class Run:
    kind: str
    wall: float
    cpu: float
    ok: bool
    extracted: int | None = None
    extract_seconds: float | None = None
    steps: dict[str, float] | None = None


def _post(url: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(  # noqa: S310 - the local sandbox
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
        return json.loads(response.read())


def _seconds(value: str, unit: str) -> float:
    return float(value) / 1000 if unit == "ms" else float(value) * (60 if unit == "m" else 1)


def _execute(kind: str, argv: list[str], env: dict[str, str], log: Path) -> Run:
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    output = log.read_text(errors="replace")
    ok = os.waitstatus_to_exitcode(status) == 0
    if not ok:
        print(f"{kind} failed; last lines of {log}:\n{output[-3000:]}", file=sys.stderr)
    run = Run(kind, wall, usage.ru_utime + usage.ru_stime, ok)
    run.steps = {name: _seconds(value, unit) for name, value, unit in STEP.findall(output)}
    if match := EXTRACT.search(output):
        run.extracted, run.extract_seconds = int(match[1]), float(match[2])
    return run


def _loadavg() -> str:
    with open("/proc/loadavg") as loadavg:
        return " ".join(loadavg.read().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=20_000, help="deals in the sandbox (the demo's size)")
    parser.add_argument(
        "--url", default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/pipeline_pulse_test")
    )
    parser.add_argument("--port", type=int, default=18410, help="sandbox port (pick one of your own range)")
    parser.add_argument("--exclude", default="", help="comma-separated steps left out of the sync (op selection)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--changes", type=int, default=1_000)
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument("--database", default=DATABASE, help="scratch database (dropped and recreated)")
    parser.add_argument(
        "--seed-sql",
        action="store_true",
        help="seed the warehouse by SQL (bench/harness.py seed_warehouse, varied values) instead of a first "
        "backfill through the job: 1M deals in minutes; the first run is then a warm-up with nothing changed",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="pp_bench_sync_overhead_"))
    url = recreate_database(args.url, args.database)
    upgrade(url)
    home = workdir / "dagster"
    home.mkdir()
    shutil.copyfile(REPO / "deploy" / "dagster.local.yaml", home / "dagster.yaml")
    trivial = workdir / "trivial_job.py"
    trivial.write_text(TRIVIAL_JOB)
    sandbox_url = f"http://127.0.0.1:{args.port}"
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": url,
        "DAGSTER_HOME": str(home),
        "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "ZOHO_API_URL": sandbox_url,
        "ZOHO_ACCOUNTS_URL": sandbox_url,
        "ZOHO_CLIENT_ID": "sandbox-client-id",
        "ZOHO_CLIENT_SECRET": "sandbox-client-secret",
        "ZOHO_REFRESH_TOKEN": "sandbox-refresh-token",
        "ZOHO_USER_EMAIL": "amelia.tan@example.com",
        "ZOHO_RESOURCE_PATH": str(workdir / "zoho-sdk"),
        "ZOHO_DAILY_CREDITS": "10000000",
    }
    sync = [DAGSTER, "job", "execute", "-m", "orchestration.definitions", "-j", "zoho_sync"]
    runs: list[Run] = []
    load_before = _loadavg()
    sandbox = start_sandbox(args.deals, args.port, workdir / "sandbox.log")
    seeded = None
    try:
        if args.seed_sql:
            with urllib.request.urlopen(f"{sandbox_url}/__sandbox/ready", timeout=60) as ready:  # noqa: S310
                seeded = seed_warehouse(url, args.deals, json.loads(ready.read())["clock"], varied=True)
        first_kind = "warm-up (full mart build)" if args.seed_sql else "first sync (backfill)"
        first = _execute(first_kind, sync, env, workdir / "first.log")
        runs.append(first)
        excluded = {name for name in args.exclude.split(",") if name}
        if excluded:
            steps = [name for name in STARTED.findall((workdir / "first.log").read_text()) if name not in excluded]
            sync = [*sync, "-o", ",".join(dict.fromkeys(steps))]
        for i in range(args.repeat):
            runs.append(
                _execute(
                    "trivial job (Dagster alone)",
                    [DAGSTER, "job", "execute", "-f", str(trivial), "-j", "trivial"],
                    env,
                    workdir / f"trivial-{i}.log",
                )
            )
            runs.append(_execute("no-change sync", sync, env, workdir / f"nochange-{i}.log"))
            _post(f"{sandbox_url}/__sandbox/clock/advance", {"seconds": 60})
            _post(f"{sandbox_url}/__sandbox/mutate", {"modify": args.changes, "create": 0, "delete": 0})
            _post(f"{sandbox_url}/__sandbox/clock/advance", {"seconds": 60})
            runs.append(_execute(f"{args.changes:,}-change sync", sync, env, workdir / f"changes-{i}.log"))
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=60)
        recreate_database(args.url, args.database, drop_only=True)

    excluded_note = f", steps excluded: {args.exclude}" if args.exclude else ""
    print(f"zoho_sync through `dagster job execute`, PostgreSQL, sandbox of {args.deals:,} deals{excluded_note}")
    if seeded is not None:
        print(f"warehouse seeded by SQL in {seeded:.0f} s (no backfill run)")
    print(
        f"{'run':<30}{'wall s':>8}{'CPU s':>7}{'extracted':>10}{'Zoho extract s':>15}{'mart s':>8}  slowest steps (s)"
    )
    for run in runs:
        slowest = sorted((run.steps or {}).items(), key=lambda kv: -kv[1])[:3]
        steps = ", ".join(f"{name} {seconds:.1f}" for name, seconds in slowest)
        extracted = "" if run.extracted is None else f"{run.extracted:,}"
        extract = "" if run.extract_seconds is None else f"{run.extract_seconds:.1f}"
        flag = "" if run.ok else "  FAILED"
        mart = (run.steps or {}).get("pipeline_metrics")
        mart_text = "" if mart is None else f"{mart:.2f}"
        print(f"{run.kind:<30}{run.wall:>8.1f}{run.cpu:>7.1f}{extracted:>10}{extract:>15}{mart_text:>8}  {steps}{flag}")
    trivial = [r for r in runs if r.kind.startswith("trivial")]
    for kind in ("no-change sync", f"{args.changes:,}-change sync"):
        same = [r for r in runs if r.kind == kind]
        if same and trivial:
            walls, cpus = [r.wall for r in same], [r.cpu for r in same]
            zoho = [r.wall - (r.extract_seconds or 0) for r in same]
            print(
                f"{kind}: {min(walls):.1f}-{max(walls):.1f} s wall ({min(zoho):.1f}-{max(zoho):.1f} s without the "
                f"deals' Zoho extract), {min(cpus):.1f}-{max(cpus):.1f} s CPU; the trivial job "
                f"{min(r.wall for r in trivial):.1f}-{max(r.wall for r in trivial):.1f} s wall, "
                f"{min(r.cpu for r in trivial):.1f}-{max(r.cpu for r in trivial):.1f} s CPU"
            )
    print(f"load average before: {load_before}; after: {_loadavg()}")
    if args.keep_logs:
        print(f"logs: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
