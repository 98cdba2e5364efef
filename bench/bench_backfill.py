"""A first backfill through the real job, end to end on PostgreSQL: a sandbox of N deals (its own process),
`dagster job execute -m orchestration.definitions -j zoho_sync` against an empty migrated warehouse (Bulk Read
above ZOHO_BULK_THRESHOLD -> transform -> load), per size.

    .venv/bin/python -m bench.bench_backfill [--sizes 100000,1000000] [--url postgresql://...] [--port 43100]

Prints per size: wall and CPU seconds of the job process (children included), the peak RSS of its process
tree (sampled from /proc every 0.2 s; the sandbox is not part of it), and the deals step's split into extract
(waiting for and decoding Bulk pages), transform and load, from the step's log line. Each size gets a fresh
database `<database of --url>_backfill_<n>` (dropped afterwards) and a fresh Dagster home. Run it alone
on the machine (no other suite or bench beside it). Targets (issue 11): <= 120 s and <= 600 MB at 1M,
memory flat from 100k to 1M. Figures: bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from bench.harness import REPO, recreate_database, start_sandbox
from pipeline_pulse.core.migrate import upgrade

DAGSTER = str(Path(sys.executable).with_name("dagster"))
SPLIT = re.compile(r"extract=([\d.]+)s transform=([\d.]+)s load=([\d.]+)s")


@dataclass
class Result:
    deals: int
    wall: float
    cpu: float
    peak_rss_mb: float
    split: tuple[float, float, float] | None
    ok: bool


def _tree_rss_kb(root: int) -> int:
    """Resident set of `root` and all its descendants, in kB (0 for processes already gone)."""
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        try:
            with open(f"/proc/{pid}/status") as status:
                total += next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as children:
                    pending.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def _scratch_prefix(base_url: str) -> str:
    """The --url's database name: scratch databases carry it, so two people's runs never share one."""
    return make_url(base_url).database or "pipeline_pulse"


def run_size(deals: int, base_url: str, port: int, workdir: Path) -> Result:
    url = recreate_database(base_url, f"{_scratch_prefix(base_url)}_backfill_{deals}")
    upgrade(url)
    sandbox = start_sandbox(deals, port, workdir / f"sandbox-{deals}.log")
    home = workdir / f"dagster-{deals}"
    home.mkdir()
    shutil.copyfile(REPO / "deploy" / "dagster.local.yaml", home / "dagster.yaml")
    env = {
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
        "ZOHO_RESOURCE_PATH": str(workdir / f"zoho-sdk-{deals}"),
        "ZOHO_DAILY_CREDITS": "10000000",
    }
    log = workdir / f"job-{deals}.log"
    try:
        started = time.monotonic()
        job = subprocess.Popen(
            [DAGSTER, "job", "execute", "-m", "orchestration.definitions", "-j", "zoho_sync"],
            cwd=REPO,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _tree_rss_kb(job.pid))
                done.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(job.pid, 0)
        wall = time.monotonic() - started
        done.set()
        sampler.join()
        job.returncode = os.waitstatus_to_exitcode(status)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=60)
        recreate_database(base_url, f"{_scratch_prefix(base_url)}_backfill_{deals}", drop_only=True)
    output = log.read_text(errors="replace")
    match = SPLIT.search(output)
    split = (float(match[1]), float(match[2]), float(match[3])) if match else None
    if job.returncode != 0:
        print(f"job failed at {deals:,} deals; last lines of {log}:\n{output[-3000:]}", file=sys.stderr)
    return Result(deals, wall, usage.ru_utime + usage.ru_stime, peak[0] / 1024, split, job.returncode == 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated deal counts")
    parser.add_argument(
        "--url", default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/pipeline_pulse_test")
    )
    parser.add_argument("--port", type=int, default=43100, help="sandbox port (pick one of your own range)")
    parser.add_argument("--keep-logs", action="store_true", help="print where the logs are and keep them")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pp_bench_backfill_"))
    with open("/proc/loadavg") as loadavg:
        load_at_start = loadavg.read().split()[0]
    results = [run_size(int(size), args.url, args.port, workdir) for size in args.sizes.split(",")]
    print("first backfill through `dagster job execute -j zoho_sync`, PostgreSQL, sandbox in its own process")
    print(f"{'deals':>10}{'wall s':>9}{'CPU s':>8}{'peak RSS MB':>13}{'extract s':>11}{'transform s':>13}{'load s':>8}")
    for r in results:
        extract, transform, load = r.split or (float("nan"),) * 3
        flag = "" if r.ok else "  FAILED"
        print(
            f"{r.deals:>10,}{r.wall:>9.1f}{r.cpu:>8.1f}{r.peak_rss_mb:>13.0f}{extract:>11.1f}{transform:>13.1f}"
            f"{load:>8.1f}{flag}"
        )
    with open("/proc/loadavg") as loadavg:
        print(f"load average at the start: {load_at_start}, at the end: {loadavg.read().split()[0]}")
    if args.keep_logs:
        print(f"logs: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
