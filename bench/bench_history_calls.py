"""Zoho calls of an incremental zoho_sync at scale, now that stage history comes from the versions (issue 10):
a sandbox of N deals (its own process), a PostgreSQL warehouse holding those N deals after their first
backfill, `modify + create` changes made in the sandbox, then `dagster job execute -j zoho_sync`.

    .venv/bin/python -m bench.bench_history_calls [--deals 1000000] [--changes 1000] [--port 18150]

Prints the run's Zoho calls and credits by path (from the sandbox's own counters, so every call the real SDK
made is counted, OAuth included), the target ceil(changes / 200) + 4, and a baseline measured in the same run:
the per-deal Stage_History calls of the design this replaced (the removed deal_stage_history asset read one
deal per call for every changed deal), re-enacted through the service layer for the same changed deals. Then one
`stage_history_import_job` run with a small budget shows the import spends its own share and reports the backlog.

How the warehouse is seeded: not through a 1M first backfill (bench_backfill measures that; it takes over an
hour on this machine today) but by SQL - one `deals` row and one current `deal_versions` row per sandbox deal id
(generate_series over the sandbox's id range), the deals and deletions cursors at the sandbox clock and the
history start there, as a completed first backfill leaves them; then one warm-up run with nothing changed
(the dimensions' refresh, the SDK's field-metadata cache and the OAuth token a backfill's run leaves behind). Everything an incremental run's call count can
depend on is then as after a real backfill: the deal count, the cursors, no open rejections, no Bulk Read
progress. By default only zoho_sync's Zoho-reading assets run (`dagster asset materialize --select
regions,crm_users,pipeline_stages,currencies,deals`): pipeline_metrics and deal_health make no Zoho call and take
minutes at 1M on this machine; `--whole-job` runs all of zoho_sync. Run it alone on the machine (no other suite or bench
beside it). Figures: bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from bench.bench_backfill import DAGSTER
from bench.harness import REPO, recreate_database, seed_warehouse, start_sandbox
from pipeline_pulse.core.migrate import upgrade

STAGE_HISTORY = re.compile(r"/crm/v8/Deals/\{id\}/Stage_History")
DATABASE = "pp_history_bench_calls"


def _call(url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310 - the local sandbox
        return json.loads(response.read())


def _env(url: str, port: int, workdir: Path) -> dict[str, str]:
    home = workdir / "dagster"
    home.mkdir(exist_ok=True)
    shutil.copyfile(REPO / "deploy" / "dagster.local.yaml", home / "dagster.yaml")
    return {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": url,
        "DAGSTER_HOME": str(home),
        "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "ZOHO_API_URL": f"http://127.0.0.1:{port}",
        "ZOHO_ACCOUNTS_URL": f"http://127.0.0.1:{port}",
        "ZOHO_CLIENT_ID": "sandbox-client-id",
        "ZOHO_CLIENT_SECRET": "sandbox-client-secret",
        "ZOHO_REFRESH_TOKEN": "sandbox-refresh-token",
        "ZOHO_USER_EMAIL": "amelia.tan@example.com",
        "ZOHO_RESOURCE_PATH": str(workdir / "zoho-sdk"),
    }


def _stats(sandbox: str) -> dict[str, Any]:
    return _call(f"{sandbox}/__sandbox/stats?log=0")


def _delta(before: dict[str, Any], after: dict[str, Any]) -> tuple[int, int, Counter[str]]:
    paths = Counter(after["by_path"])
    paths.subtract(before["by_path"])
    return after["calls"] - before["calls"], after["credits_used"] - before["credits_used"], +paths


# zoho_sync's assets that call Zoho; the rest of the job (pipeline_metrics, deal_health) reads only the warehouse.
ZOHO_READING_ASSETS = "regions,crm_users,pipeline_stages,currencies,deals"


def _execute(env: dict[str, str], job: str, log: Path, config: dict[str, Any] | None = None) -> float:
    command = [DAGSTER, "job", "execute", "-m", "orchestration.definitions", "-j", job]
    if job == "zoho_sync" and not env.get("BENCH_WHOLE_JOB"):
        command = [DAGSTER, "asset", "materialize", "-m", "orchestration.definitions", "--select", ZOHO_READING_ASSETS]
    if config is not None:
        config_file = log.with_suffix(".yaml")
        config_file.write_text(json.dumps(config))
        command += ["-c", str(config_file)]
    started = time.monotonic()
    result = subprocess.run(command, cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{job} failed; last lines of {log}:\n{log.read_text(errors='replace')[-3000:]}")
    return time.monotonic() - started


def _baseline(env: dict[str, str], deal_ids: list[int]) -> int:
    """Stage_History calls of the replaced design for these changed deals: one per deal, through the service."""
    code = (
        "import json, sys\n"
        "from pipeline_pulse.core.settings import get_settings\n"
        "from pipeline_pulse.services.zoho.crm_service import UnifiedZohoCRMService\n"
        "service = UnifiedZohoCRMService.from_settings(get_settings())\n"
        "ids = json.loads(sys.stdin.read())\n"
        "rows = sum(1 for _ in service.get_stage_history(ids))\n"
        "print(json.dumps({'calls': service.counters.calls, 'rows': rows}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        input=json.dumps(deal_ids),
        capture_output=True,
        text=True,
        check=True,
    )
    return int(json.loads(result.stdout.strip().splitlines()[-1])["calls"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--changes", type=int, default=1_000, help="edits + new deals made before the run")
    parser.add_argument(
        "--url", default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--port", type=int, default=18150, help="sandbox port (pick one of your own range)")
    parser.add_argument("--import-budget", type=int, default=200, help="credits for the one import run")
    parser.add_argument(
        "--whole-job", action="store_true", help="run all of zoho_sync (default: its Zoho-reading assets)"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pp_bench_history_calls_"))
    url = recreate_database(args.url, DATABASE)
    upgrade(url)
    started = time.monotonic()
    sandbox_process = start_sandbox(args.deals, args.port, workdir / "sandbox.log")
    sandbox = f"http://127.0.0.1:{args.port}"
    try:
        generated = time.monotonic() - started
        clock = _call(f"{sandbox}/__sandbox/ready")["clock"]
        seeded = seed_warehouse(url, args.deals, clock)
        env = _env(url, args.port, workdir)
        if args.whole_job:
            env["BENCH_WHOLE_JOB"] = "1"
        # A warm-up run with nothing changed, as the first backfill's own run would leave things: dimensions
        # refreshed (due again after ZOHO_DIMENSION_REFRESH_MINUTES), the SDK's field metadata cached in
        # ZOHO_RESOURCE_PATH, an access token in the token store. Its calls are printed too.
        before = _stats(sandbox)
        _execute(env, "zoho_sync", workdir / "warmup.log")
        warm_calls, warm_credits, warm_paths = _delta(before, _stats(sandbox))
        created = max(1, args.changes // 10)
        touched = _call(f"{sandbox}/__sandbox/mutate", {"modify": args.changes - created, "create": created})
        changed = [int(i) for i in touched["modified"] + touched["created"]]
        before = _stats(sandbox)
        wall = _execute(env, "zoho_sync", workdir / "zoho_sync.log")
        calls, credits, paths = _delta(before, _stats(sandbox))
        baseline = _baseline(env, changed)
        before_import = _stats(sandbox)
        import_wall = _execute(
            env,
            "stage_history_import_job",
            workdir / "import.log",
            {"ops": {"stage_history_import": {"config": {"budget_credits": args.import_budget}}}},
        )
        import_calls, import_credits, import_paths = _delta(before_import, _stats(sandbox))
        backlog = re.findall(r"backlog (\d+) -> (\d+)", (workdir / "import.log").read_text(errors="replace"))
    finally:
        sandbox_process.terminate()
        sandbox_process.wait(timeout=60)
        recreate_database(args.url, DATABASE, drop_only=True)
    target = math.ceil(args.changes / 200) + 4
    what = "zoho_sync (whole job)" if args.whole_job else "zoho_sync's Zoho-reading assets"
    print(f"incremental {what} at {args.deals:,} deals after {len(changed):,} changes ({created} new), PostgreSQL")
    print(f"  sandbox generation {generated:.0f} s, warehouse seed (SQL) {seeded:.0f} s, job wall {wall:.1f} s")
    print(
        f"  Zoho calls {calls} (target <= ceil({args.changes}/200)+4 = {target}): {'OK' if calls <= target else 'OVER'}"
    )
    print(f"  credits {credits}; Stage_History calls {sum(n for p, n in paths.items() if STAGE_HISTORY.search(p))}")
    for path, count in sorted(paths.items()):
        print(f"    {count:>5}  {path}")
    print(f"  the warm-up run before the changes (nothing changed): {warm_calls} calls, {warm_credits} credits")
    for path, count in sorted(warm_paths.items()):
        print(f"    {count:>5}  {path}")
    print(f"  baseline (the replaced per-deal Stage_History read of the changed deals): {baseline} calls more,")
    print(f"    {calls + baseline} in total = {(calls + baseline) / max(calls, 1):.0f}x this run's")
    print(
        f"stage_history_import_job, budget {args.import_budget} credits: {import_calls} calls, {import_credits} "
        f"credits, {import_wall:.1f} s wall; backlog {' -> '.join(backlog[0]) if backlog else '?'}"
    )
    for path, count in sorted(import_paths.items()):
        print(f"    {count:>5}  {path}")
    with open("/proc/loadavg") as loadavg:
        print(f"load average at the end: {loadavg.read().split()[0]}")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
