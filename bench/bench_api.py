"""Read API benchmark: N synthetic deals in Postgres, mart refreshed, uvicorn serving, wrk loading.

One run measures two servers on the same database, one after the other:

1. **Cache off** (`API_CACHE_VERSION_POLL_SECONDS=0`): every request is a miss. Each request class of issue 13
   (summary / by-stage / by-region / by-owner with whole-month and cut-month closing ranges and filters;
   summary with `as_of` + `stale_after_days`; `/deals` in every sort order both ways, deep keyset pages,
   filtered pages) at `--miss-connections` concurrent connections (default 4, what a dashboard opening its
   panels sends). Target: p99 <= 100 ms for every class.
2. **Cache on**: `/health` and the cacheable endpoints a polling frontend repeats, at `--connections` (16),
   plain and, as a browser asks, with `Accept-Encoding: gzip`. Target: >= 50% of `/health` throughput at
   p99 <= 25 ms.

    .venv/bin/python -m bench.bench_api                 # load 1,000,000 deals, then both phases
    .venv/bin/python -m bench.bench_api --skip-load     # reuse the loaded database
    .venv/bin/python -m bench.bench_api --skip-load --only cache-off --seconds 5

Needs `wrk` (Debian package) as the load generator: it is C and one thread, so it leaves the server a core.
Run it alone on the machine (no other suite or bench beside it), twice, and report ranges.
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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import psycopg2
from psycopg2 import sql
from sqlalchemy.engine import make_url

from api.cursor import DealCursor
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
# Every column draws its own pseudo-random number from the deal's g (hashint8extended(g, seed): deterministic),
# so region, stage, pipeline and dates are independent, as in a real CRM, except where an org correlates them:
# owners belong to one region each; the Enterprise pipeline (a third of its deals) is sold in the Americas only,
# so an APAC + EMEA token sees none of it. Ids are Zoho-sized (19 digits, beyond 2^53); 200 owners; stage mix:
# 40% Qualification, 20% Proposal, 10% Negotiation, 20% won, 10% lost; amounts 100..100,099; created over
# ~2 years at any second of the day, closing 0-119 days later, last modified 0-199 days after creation and never
# in the future.
LOAD_DEALS = """
CREATE TEMPORARY TABLE bench_draws AS
SELECT g, (abs(hashint8extended(g, 1)) %% 200 + 1)::int AS o, abs(hashint8extended(g, 2)) %% 10 AS si10,
       abs(hashint8extended(g, 3)) %% 100000 + 100 AS amount_draw, abs(hashint8extended(g, 4)) %% 700 AS created_day,
       abs(hashint8extended(g, 5)) %% 86400 AS created_second, abs(hashint8extended(g, 6)) %% 120 AS closing_days,
       abs(hashint8extended(g, 7)) %% 200 AS modified_days, abs(hashint8extended(g, 8)) %% 3 AS pipeline_draw
FROM generate_series(1::bigint, %(n)s) AS g;
INSERT INTO deals (id, deal_name, owner_id, owner_name, stage, pipeline, probability, forecast_type, deal_status,
                   amount, currency, exchange_rate, amount_home, weighted_amount_home, closing_date, created_time,
                   modified_time, region, raw, first_seen_at, last_synced_at)
SELECT 4876876000000000000 + g, 'Deal ' || g, 4876876000000100000 + o, 'Owner ' || o, st.stage,
       CASE WHEN region = 'Americas' AND pipeline_draw = 0 THEN 'Enterprise' ELSE 'Standard' END,
       st.prob, st.ftype, st.status, amt, 'USD', 1, amt, round(amt * st.prob / 100, 2),
       (created + closing_days * interval '1 day')::date, created,
       created + (modified_days %% GREATEST(1, LEAST(200, (now()::date - created::date)))) * interval '1 day',
       region, '{}'::jsonb, now(), now()
FROM bench_draws
CROSS JOIN LATERAL (SELECT amount_draw::numeric(20, 2) AS amt,
                           timestamptz '2025-01-01 00:00+00' + created_day * interval '1 day'
                             + created_second * interval '1 second' AS created,
                           (ARRAY['APAC', 'EMEA', 'Americas', 'India', 'Unassigned'])[o %% 5 + 1] AS region,
                           (ARRAY[1, 1, 1, 1, 2, 2, 3, 4, 4, 5])[si10 + 1] AS si) AS v
JOIN (VALUES (1, 'Qualification', 10, 'Open', 'open'), (2, 'Proposal', 50, 'Open', 'open'),
             (3, 'Negotiation', 80, 'Open', 'open'), (4, 'Closed Won', 100, 'Closed Won', 'won'),
             (5, 'Closed Lost', 0, 'Closed Lost', 'lost')) AS st(idx, stage, prob, ftype, status) ON st.idx = v.si;
DROP TABLE bench_draws;
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
        cur.execute(
            "INSERT INTO crm_users (id, full_name, region, is_active, synced_at) SELECT 4876876000000100000 + o,"
            " 'Owner ' || o, (ARRAY['APAC', 'EMEA', 'Americas', 'India', 'Unassigned'])[o % 5 + 1], true, now()"
            " FROM generate_series(1, 200) AS o"
        )
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
    deadline = time.monotonic() + 120  # a loaded machine imports the app slowly
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError("uvicorn did not become ready")


Target = tuple[str, str] | tuple[str, str, dict[str, str]]  # name, path and query, extra request headers
GZIP = {"Accept-Encoding": "gzip"}
_LATENCY = re.compile(r"^\s*(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(name: str, url: str, headers: dict[str, str], seconds: int, connections: int) -> Result:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    for header, value in headers.items():
        command[1:1] = ["-H", f"{header}: {value}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    latencies = {match[0]: float(match[1]) * _UNITS_MS[match[2]] for match in _LATENCY.findall(output)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    errors_match = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Result(name, rps, latencies["50"], latencies["99"], int(errors_match.group(1)) if errors_match else 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=1_000_000, help="synthetic deals to load (default 1,000,000)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_API_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/pp_bench_api"),
    )
    parser.add_argument("--seconds", type=int, default=10, help="load duration per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--regions", default="APAC,EMEA", help="the token's regions (comma-separated, or *)")
    parser.add_argument("--skip-load", action="store_true", help="reuse the database from a previous run")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (/health shares them)")
    parser.add_argument("--miss-connections", type=int, default=4, help="connections for the cache-off classes")
    parser.add_argument("--only", choices=["cache-off", "cache-on"], help="run one phase only")
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
    base_probe = Probe(args.database_url)
    miss_targets = base_probe.miss_classes()
    hit_targets: list[Target] = [
        ("/metrics/summary", "/api/v1/metrics/summary"),
        ("/metrics/by-stage", "/api/v1/metrics/by-stage"),
        ("/metrics/summary cut months", "/api/v1/metrics/summary?closing_from=2026-01-15&closing_to=2026-06-20"),
        ("/deals", "/api/v1/deals?page_size=50"),
        # What a browser sends: the body compressed (the dashboard's requests).
        ("/metrics/by-owner, gzip", "/api/v1/metrics/by-owner", GZIP),  # by-stage is below the 1 kB bound
        ("/deals, gzip", "/api/v1/deals?page_size=50", GZIP),
    ]
    load_before = os.getloadavg()[0]
    print(
        f"{args.deals if not args.skip_load else base_probe.deal_count():,} deals; regions {args.regions}; "
        f"{args.workers} uvicorn worker(s); load average {load_before:.1f} at the start",
        flush=True,
    )
    if args.only in (None, "cache-off"):
        print(f"\ncache off: every request a miss, {args.miss_connections} connections, {args.seconds}s per class")
        print_table(
            measure(args, miss_targets, token, cache=False, connections=args.miss_connections),
            limit_ms=100,
        )
    if args.only in (None, "cache-on"):
        print(f"\ncache on: {args.connections} connections, {args.seconds}s per endpoint, /health on the same server")
        print_table(measure(args, hit_targets, token, cache=True, connections=args.connections), limit_ms=25)
    print(f"\nload average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    return 0


def measure(
    args: argparse.Namespace, targets: Sequence[Target], token: str, *, cache: bool, connections: int
) -> list[Result]:
    port = free_port()
    server = start_server(args.database_url, port, args.workers, cache=cache)
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}
    plan: list[tuple[str, str, dict[str, str]]] = [("/health", f"{base}/health", {})]
    for target in targets:
        extra = target[2] if len(target) == 3 else {}
        plan.append((target[0], base + target[1], {**auth, **extra}))
    try:
        for name, url, headers in plan:  # every answer must be a 200 (compressed when asked) before it is timed
            response = httpx.get(url, headers={"Accept-Encoding": "identity", **headers}, timeout=60)
            if response.status_code != 200:
                raise RuntimeError(f"{name}: {response.status_code} {response.text[:300]}")
            if response.headers.get("content-encoding", "identity") != headers.get("Accept-Encoding", "identity"):
                raise RuntimeError(f"{name}: content-encoding {response.headers.get('content-encoding')}")
        for _name, url, headers in plan:  # warm the pool, the statement caches and Postgres' buffers
            run_wrk("warmup", url, headers, 1, connections)
        return [run_wrk(name, url, headers, args.seconds, connections) for name, url, headers in plan]
    finally:
        server.terminate()
        server.wait(timeout=30)


def print_table(results: list[Result], limit_ms: float) -> None:
    health = results[0].requests_per_second
    print(
        f"{'request class':<46} {'req/s':>8} {'% /health':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}  p99 target"
    )
    for result in results:
        share = 100 * result.requests_per_second / health
        verdict = "" if result.name == "/health" else ("ok" if result.p99_ms <= limit_ms else f"> {limit_ms:.0f} ms")
        print(
            f"{result.name:<46} {result.requests_per_second:>8.0f} {share:>9.0f}% {result.p50_ms:>8.2f} "
            f"{result.p99_ms:>8.2f} {result.errors:>8}  {verdict}"
        )


class Probe:
    """Reads the loaded database once for realistic parameters: an owner in the token's regions, deep cursors."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.conn = psycopg2.connect(
            host=parsed.host, port=parsed.port or 5432, user=parsed.username, dbname=parsed.database
        )

    def deal_count(self) -> int:
        with self.conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM deals")
            return int(cur.fetchone()[0])

    def scalar(self, query: str) -> object:
        with self.conn.cursor() as cur:
            cur.execute(query)
            row = cur.fetchone()
            return row[0] if row else None

    def deep_cursor(self, sort: str, fraction: float = 0.5) -> str:
        """The cursor a client holds after paging through `fraction` of the APAC + EMEA deals in this order."""
        field = sort.lstrip("-")
        direction = "DESC" if sort.startswith("-") else "ASC"
        total = int(self.scalar("SELECT count(*) FROM deals WHERE deleted_at IS NULL AND region IN ('APAC','EMEA')"))
        with self.conn.cursor() as cur:
            cur.execute(
                f"SELECT {field}, id FROM deals WHERE deleted_at IS NULL AND region IN ('APAC','EMEA') "  # noqa: S608
                f"ORDER BY {field} {direction} NULLS LAST, id {direction} OFFSET %s LIMIT 1",
                (int(total * fraction),),
            )
            value, last_id = cur.fetchone()
        phase = 0 if field == "id" or value is not None else 1
        return DealCursor(sort, phase, None if field == "id" else value, last_id).encode()

    def miss_classes(self) -> list[tuple[str, str]]:
        owner = self.scalar("SELECT owner_id FROM deals WHERE region = 'EMEA' LIMIT 1")
        cut = "closing_from=2026-01-15&closing_to=2026-06-20"
        whole = "closing_from=2026-01-01&closing_to=2026-06-30"
        m = "/api/v1/metrics"
        classes = [
            ("summary", f"{m}/summary"),
            ("summary whole months", f"{m}/summary?{whole}"),
            ("summary cut months", f"{m}/summary?{cut}"),
            ("summary cut months, owner", f"{m}/summary?{cut}&owner_id={owner}"),
            ("summary cut months, pipeline + stage", f"{m}/summary?{cut}&pipeline=Standard&stage=Proposal"),
            ("summary cut months, region=EMEA", f"{m}/summary?{cut}&region=EMEA"),
            ("summary within one month", f"{m}/summary?closing_from=2026-03-03&closing_to=2026-03-27"),
            ("summary as_of today, stale 14 d", f"{m}/summary?as_of={datetime.now(UTC).date()}&stale_after_days=14"),
            ("summary as_of 2026-06-01, stale 60 d", f"{m}/summary?as_of=2026-06-01&stale_after_days=60"),
            (
                "summary cut months, as_of, stale 45 d",
                f"{m}/summary?{cut}&as_of={datetime.now(UTC).date()}&stale_after_days=45",
            ),
            ("by-stage whole months", f"{m}/by-stage?{whole}"),
            ("by-stage cut months", f"{m}/by-stage?{cut}&deal_status=all"),
            ("by-stage cut months, pipeline", f"{m}/by-stage?{cut}&pipeline=Standard"),
            ("by-region cut months", f"{m}/by-region?{cut}"),
            ("by-owner cut months", f"{m}/by-owner?{cut}"),
            ("by-owner cut months, all statuses", f"{m}/by-owner?{cut}&deal_status=all"),
            ("by-owner cut months, won", f"{m}/by-owner?{cut}&deal_status=won"),
            ("by-owner cut months, Enterprise (none in scope)", f"{m}/by-owner?{cut}&pipeline=Enterprise"),
            ("by-owner whole months, stage", f"{m}/by-owner?{whole}&stage=Negotiation"),
        ]
        for field in ("id", "amount_home", "closing_date", "modified_time"):
            for sort in (field, f"-{field}"):
                classes.append((f"deals sort={sort}", f"/api/v1/deals?sort={sort}&page_size=50"))
        for sort in ("-id", "amount_home", "-closing_date", "modified_time"):
            classes.append(
                (f"deals deep page (50%) sort={sort}", f"/api/v1/deals?sort={sort}&cursor={self.deep_cursor(sort)}")
            )
        classes += [
            ("deals owner, sort=-closing_date", f"/api/v1/deals?owner_id={owner}&sort=-closing_date"),
            (
                "deals open, stage, sort=-amount_home",
                "/api/v1/deals?deal_status=open&stage=Negotiation&sort=-amount_home",
            ),
            ("deals cut months, sort=modified_time", f"/api/v1/deals?{cut}&sort=modified_time"),
            ("deals stage=Closed Won", "/api/v1/deals?stage=Closed%20Won"),
            ("deals won, sort=closing_date", "/api/v1/deals?deal_status=won&sort=closing_date"),
            # Only the Americas sell the Enterprise pipeline (LOAD_DEALS): filters that match none of the token's deals.
            ("deals Enterprise (none in scope)", "/api/v1/deals?pipeline=Enterprise"),
            (
                "deals Enterprise, sort=closing_date (none in scope)",
                "/api/v1/deals?pipeline=Enterprise&sort=closing_date",
            ),
        ]
        return classes


if __name__ == "__main__":
    sys.exit(main())
