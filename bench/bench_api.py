"""Read API benchmark: N synthetic deals in Postgres, mart refreshed, uvicorn serving, wrk loading.

Reports requests/s and p50 / p99 latency of /metrics/summary, /metrics/by-stage and /deals at 16 concurrent
connections next to /health on the same server in the same run (targets: metrics p99 <= 25 ms and
>= 50% of /health throughput).

    .venv/bin/python -m bench.bench_api                 # 1,000,000 deals
    .venv/bin/python -m bench.bench_api --deals 100000  # quicker
    .venv/bin/python -m bench.bench_api --skip-load --workers 2  # reuse the loaded database, two uvicorn workers
    .venv/bin/python -m bench.bench_api --skip-load --no-cache   # the same without the response cache

The token is the same for every request and nothing writes during the run, so with the response cache on
(default) the metrics figures are those of cache hits: what a polling frontend sees between two syncs.

Needs `wrk` (Debian package) as the load generator: it is C and one thread, so it leaves the server a core.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx
import psycopg2
from psycopg2 import sql
from sqlalchemy.engine import make_url

from api.tokens import mint_token
from pipeline_pulse.core.config import Settings
from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.core.migrate import upgrade
from pipeline_pulse.warehouse.metrics_mart import refresh_pipeline_metrics

BENCH_SECRET = "bench-secret-0123456789-0123456789-abcdefgh"  # noqa: S105 - signs throwaway bench tokens
STAGES = [
    ("Qualification", 1, 10, "Open", "open"),
    ("Proposal", 2, 50, "Open", "open"),
    ("Negotiation", 3, 80, "Open", "open"),
    ("Closed Won", 4, 100, "Closed Won", "won"),
    ("Closed Lost", 5, 0, "Closed Lost", "lost"),
]
# Owners belong to one region each (owner % 5), as in a real org; stage mix: 40% Qualification, 20% Proposal,
# 10% Negotiation, 20% won, 10% lost; amounts 100..100,099; created over ~2 years, closing 0-120 days later.
LOAD_DEALS = """
INSERT INTO deals (id, deal_name, owner_id, owner_name, stage, pipeline, probability, forecast_type, deal_status,
                   amount, currency, exchange_rate, amount_home, weighted_amount_home, closing_date, created_time,
                   modified_time, region, raw, first_seen_at, last_synced_at)
SELECT g, 'Deal ' || g, o, 'Owner ' || o, st.stage, CASE WHEN g %% 3 = 0 THEN 'Enterprise' ELSE 'Standard' END,
       st.prob, st.ftype, st.status, amt, 'USD', 1, amt, round(amt * st.prob / 100, 2),
       (created + ((g * 13) %% 120) * interval '1 day')::date, created,
       LEAST(created + ((g * 17) %% 200) * interval '1 day', now()),
       (ARRAY['APAC', 'EMEA', 'Americas', 'India', 'Unassigned'])[o %% 5 + 1], '{}'::jsonb, now(), now()
FROM generate_series(1::bigint, %(n)s) AS g
CROSS JOIN LATERAL (SELECT (g * 7919) %% 200 + 1 AS o, ((g * 37) %% 100000 + 100)::numeric(20, 2) AS amt,
                           timestamptz '2025-01-01 00:00+00' + (g %% 700) * interval '1 day'
                             + (g %% 86400) * interval '1 second' AS created,
                           (ARRAY[1, 1, 1, 1, 2, 2, 3, 4, 4, 5])[g %% 10 + 1] AS si) AS v
JOIN (VALUES (1, 'Qualification', 10, 'Open', 'open'), (2, 'Proposal', 50, 'Open', 'open'),
             (3, 'Negotiation', 80, 'Open', 'open'), (4, 'Closed Won', 100, 'Closed Won', 'won'),
             (5, 'Closed Lost', 0, 'Closed Lost', 'lost')) AS st(idx, stage, prob, ftype, status) ON st.idx = v.si
"""


@dataclass
class Result:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def admin_connection(url: str):  # type: ignore[no-untyped-def]
    parsed = make_url(url)
    conn = psycopg2.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, password=parsed.password, dbname="postgres"
    )
    conn.autocommit = True
    return conn


def prepare_database(url: str, deals: int) -> None:
    name = make_url(url).database
    admin = admin_connection(url)
    with admin.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()
    upgrade(url)
    started = time.perf_counter()
    parsed = make_url(url)
    conn = psycopg2.connect(host=parsed.host, port=parsed.port or 5432, user=parsed.username, dbname=name)
    with conn, conn.cursor() as cur:
        for pipeline in ("Standard", "Enterprise"):
            for stage, seq, prob, ftype, status in STAGES:
                cur.execute(
                    "INSERT INTO pipeline_stages (pipeline, stage, sequence, probability, forecast_type, deal_status,"
                    " is_active, synced_at) VALUES (%s, %s, %s, %s, %s, %s, true, now())",
                    (pipeline, stage, seq, prob, ftype, status),
                )
        cur.execute(LOAD_DEALS, {"n": deals})
    print(f"loaded {deals:,} deals in {time.perf_counter() - started:.1f}s", flush=True)
    started = time.perf_counter()
    engine = create_sync_engine(url)
    with engine.begin() as connection:
        rows = refresh_pipeline_metrics(connection)
    engine.dispose()
    print(f"refreshed the mart ({rows:,} rows) in {time.perf_counter() - started:.1f}s", flush=True)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, port: int, workers: int, *, cache: bool = True) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "APP_ENV": "test",
        "JWT_SECRET": BENCH_SECRET,
        "API_LOG_LEVEL": "WARNING",
    }
    if not cache:
        env["API_CACHE_VERSION_POLL_SECONDS"] = "0"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--workers",
            str(workers),
        ],
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError("uvicorn did not become ready")


_LATENCY = re.compile(r"^\s*(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(name: str, url: str, token: str | None, seconds: int, connections: int) -> Result:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    latencies = {match[0]: float(match[1]) * _UNITS_MS[match[2]] for match in _LATENCY.findall(output)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    errors_match = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Result(name, rps, latencies["50"], latencies["99"], int(errors_match.group(1)) if errors_match else 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=1_000_000, help="synthetic deals to load (default 1,000,000)")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/pp_bench_api")
    parser.add_argument("--seconds", type=int, default=10, help="load duration per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--regions", default="APAC,EMEA", help="the token's regions (comma-separated, or *)")
    parser.add_argument("--skip-load", action="store_true", help="reuse the database from a previous run")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (/health shares them)")
    parser.add_argument("--no-cache", action="store_true", help="disable the response cache (poll interval 0)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install wrk", file=sys.stderr)
        return 2
    if not args.skip_load:
        prepare_database(args.database_url, args.deals)
    else:
        upgrade(args.database_url)  # a database loaded by an older revision gets the new tables
    settings = Settings(database_url=args.database_url, app_env="test", jwt_secret=BENCH_SECRET)
    regions = "*" if args.regions == "*" else args.regions.split(",")
    token = mint_token(settings, "bench", regions, ttl_seconds=3600)
    port = free_port()
    load_before = os.getloadavg()[0]
    server = start_server(args.database_url, port, args.workers, cache=not args.no_cache)
    base = f"http://127.0.0.1:{port}"
    targets = [
        ("/health", f"{base}/health", None),
        ("/metrics/summary", f"{base}/api/v1/metrics/summary", token),
        ("/metrics/by-stage", f"{base}/api/v1/metrics/by-stage", token),
        ("/deals", f"{base}/api/v1/deals?page_size=50", token),
    ]
    try:
        for _name, url, bearer in targets:  # warm the pool and the caches
            run_wrk("warmup", url, bearer, 2, args.connections)
        results = [run_wrk(name, url, bearer, args.seconds, args.connections) for name, url, bearer in targets]
    finally:
        server.terminate()
        server.wait(timeout=30)
    health = results[0].requests_per_second
    print(
        f"\n{args.deals:,} deals, {args.connections} connections, {args.seconds}s per endpoint, regions {args.regions}, "
        f"{args.workers} uvicorn worker(s), response cache {'off' if args.no_cache else 'on'}, "
        f"load average {load_before:.1f} before / {os.getloadavg()[0]:.1f} after"
    )
    print(f"{'endpoint':<20} {'req/s':>9} {'% of /health':>13} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for result in results:
        share = 100 * result.requests_per_second / health
        print(
            f"{result.name:<20} {result.requests_per_second:>9.0f} {share:>12.0f}% {result.p50_ms:>8.2f} "
            f"{result.p99_ms:>8.2f} {result.errors:>8}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
