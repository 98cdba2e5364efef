"""Zoho sandbox benchmark: generation time and memory for N deals, then raw HTTP+JSON paging throughput.

    .venv/bin/python -m bench.bench_sandbox                 # 1,000,000 deals
    .venv/bin/python -m bench.bench_sandbox --deals 50000   # quicker

The server runs as `python -m zoho_sandbox` in a child process (its peak RSS is read from /proc); this
process pages Deals (per_page 200, every served field) with requests + json, like a client without the SDK.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from zoho_sandbox.fields_sql import DEAL_FIELD_SQL

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--deals", type=int, default=1_000_000)
    p.add_argument("--records", type=int, default=100_000, help="records to page through for throughput")
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()
    port = _free_port()
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "zoho_sandbox", "--port", str(port), "--deals", str(a.deals), "--seed", str(a.seed)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        while True:
            line = child.stderr.readline() if child.stderr else ""
            if "ready" in line or child.poll() is not None:
                break
        ready_s = time.perf_counter() - started
        gen_s = requests.get(base + "/__sandbox/stats?log=0", timeout=10).json()["generation_seconds"]
        rss_after_gen = _peak_rss_mb(child.pid)
        token = requests.post(
            base + "/oauth/v2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": "sandbox-client-id",
                "client_secret": "sandbox-client-secret",
                "refresh_token": "sandbox-refresh-token",
            },
            timeout=10,
        ).json()["access_token"]
        session = requests.Session()
        session.headers["Authorization"] = f"Zoho-oauthtoken {token}"
        fields = ",".join(DEAL_FIELD_SQL)
        params: dict[str, object] = {"fields": fields, "per_page": 200}
        got, nbytes = 0, 0
        t0 = time.perf_counter()
        while got < min(a.records, a.deals):
            r = session.get(base + "/crm/v8/Deals", params=params, timeout=30)
            body = json.loads(r.content)
            got += len(body["data"])
            nbytes += len(r.content)
            info = body["info"]
            if not info["more_records"]:
                break
            params = {"fields": fields, "per_page": 200, "page_token": info["next_page_token"]}
        dt = time.perf_counter() - t0
        log = requests.get(base + "/__sandbox/stats", timeout=30).json()["requests"]
        server_ms = sum(e["ms"] for e in log if e["path"] == "/crm/v8/Deals")
        # One simulated day of rep activity at the demo's daily shares (tools/demo_history.py: 0.6% edited,
        # 0.1% new, 0.02% deleted), through the control endpoint.
        day = {"modify": round(a.deals * 0.006), "create": round(a.deals * 0.001), "delete": round(a.deals * 0.0002)}
        mutate_t0 = time.perf_counter()
        requests.post(base + "/__sandbox/mutate", json=day, timeout=600).raise_for_status()
        mutate_s = time.perf_counter() - mutate_t0
        truth_t0 = time.perf_counter()
        truth_lines = sum(
            1 for _ in requests.get(base + "/__sandbox/truth?gzip=1", timeout=600, stream=True).iter_content(1 << 20)
        )
        truth_s = time.perf_counter() - truth_t0
        result = {
            "deals": a.deals,
            "generation_s": round(gen_s, 1),
            "ready_s": round(ready_s, 1),
            "server_peak_rss_mb": round(max(rss_after_gen, _peak_rss_mb(child.pid)), 0),
            "fields_per_record": len(DEAL_FIELD_SQL) + 1,
            "paged_records": got,
            "records_per_s": round(got / dt),
            "server_side_records_per_s": round(got / (server_ms / 1000)) if server_ms else None,
            "mb_per_s": round(nbytes / dt / 1e6, 1),
            "mutate_day": f"{day['modify']} edited, {day['create']} new, {day['delete']} deleted",
            "mutate_day_s": round(mutate_s, 2),
            "truth_gzip_s": round(truth_s, 1),
            "truth_chunks": truth_lines,
            "cpus": os.cpu_count(),
        }
        for key, value in result.items():
            print(f"{key:>20}: {value}")
    finally:
        child.terminate()
        child.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
