"""Soak benchmark of the read API: a steady mixed load for a bounded time; memory must stay flat, errors at 0.

A real uvicorn server on N synthetic deals in Postgres (the bench_api data); client threads send a fixed,
repeating mix (metrics with varying filters, deal pages and single deals, sync status, admin and regional
tokens, and bad requests that must get 4xx). The server's RSS is sampled every few seconds. The baseline is the
run's own first window after warm-up: it prints RSS and throughput of the first and last windows and their
ratios.

    .venv/bin/python -m bench.bench_soak                            # 50,000 deals, 120 s, 8 clients
    .venv/bin/python -m bench.bench_soak --seconds 600 --skip-load  # longer, on the database already loaded

Passes (exit 0) with 0 errors (no 5xx, no transport error, no unexpected status) and last-window RSS within
--max-growth (default 10%) of the first window's.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from api.tokens import mint_token
from bench.bench_api import BENCH_SECRET, free_port, prepare_database, start_server
from pipeline_pulse.core.config import Settings

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/pp_hardening_soak"
REGIONS = ["APAC", "EMEA", "Americas", "India", "Unassigned"]


def request_mix() -> list[tuple[str, dict[str, str], tuple[int, ...]]]:
    """(path, params, accepted statuses): varied enough that the response cache holds many entries and misses."""
    mix: list[tuple[str, dict[str, str], tuple[int, ...]]] = []
    for month in range(1, 13):
        closing_to = f"2026-{month:02d}-28"
        mix += [
            ("/api/v1/metrics/summary", {"closing_to": closing_to}, (200,)),
            ("/api/v1/metrics/by-stage", {"closing_from": f"2025-{month:02d}-01"}, (200,)),
            ("/api/v1/metrics/by-region", {"closing_to": closing_to}, (200,)),
            ("/api/v1/deals", {"page_size": str(20 + month), "sort": "-amount_home"}, (200,)),
            # CSV holds every matching deal: one closing day (~70 deals) keeps it a request, not an export job.
            (
                "/api/v1/deals",
                {"closing_from": f"2026-{month:02d}-03", "closing_to": f"2026-{month:02d}-03", "format": "csv"},
                (200,),
            ),
            ("/api/v1/deals/" + str(month * 997), {}, (200, 404)),
        ]
    mix += [
        ("/api/v1/sync/status", {}, (200,)),
        ("/api/v1/regions", {}, (200,)),
        ("/api/v1/stages", {}, (200,)),
        ("/api/v1/metrics/summary", {"closing_to": "9999-12-31"}, (422,)),
        ("/api/v1/metrics/summary", {"stage": "Proposal\x00"}, (422,)),
        ("/api/v1/deals/9223372036854775808", {}, (422,)),
        ("/api/v1/metrics/summary", {"nonsense": "1"}, (422,)),
    ]
    return mix


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    done: int = 0


def client_loop(base: str, tokens: list[str], stop: threading.Event, tally: Tally, offset: int) -> None:
    mix = request_mix()
    cases = itertools.islice(itertools.cycle(mix), offset, None)
    with httpx.Client(base_url=base, timeout=30) as client:
        for index, (path, params, accepted) in enumerate(cases):
            if stop.is_set():
                return
            token = tokens[(index + offset) % len(tokens)]
            try:
                response = client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
                status = response.status_code
                problem = None if status in accepted else f"{status} for {path} {params}: {response.text[:200]}"
            except httpx.HTTPError as exc:
                status, problem = -1, f"{type(exc).__name__} for {path} {params}"
            with tally.lock:
                tally.statuses[status] += 1
                tally.done += 1
                if problem:
                    tally.errors.append(problem)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("BENCH_SOAK_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--deals", type=int, default=50_000)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--sample-seconds", type=float, default=5.0)
    parser.add_argument("--warmup-seconds", type=float, default=15.0)
    parser.add_argument("--max-growth", type=float, default=0.10, help="allowed last/first window RSS growth")
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args()

    if not args.skip_load:
        prepare_database(args.url, args.deals)
    settings = Settings(database_url=args.url, app_env="test", jwt_secret=BENCH_SECRET)
    tokens = [mint_token(settings, "soak-admin", "*", role="admin", ttl_seconds=args.seconds + 600)]
    tokens += [mint_token(settings, f"soak-{code}", [code], ttl_seconds=args.seconds + 600) for code in REGIONS]
    port = free_port()
    server = start_server(args.url, port, 1)
    stop, tally = threading.Event(), Tally()
    threads = [
        threading.Thread(target=client_loop, args=(f"http://127.0.0.1:{port}", tokens, stop, tally, n * 7))
        for n in range(args.clients)
    ]
    samples: list[tuple[float, int, int]] = []  # (elapsed s, RSS KiB, requests done)
    try:
        started = time.monotonic()
        for thread in threads:
            thread.start()
        while time.monotonic() - started < args.warmup_seconds + args.seconds:
            time.sleep(args.sample_seconds)
            with tally.lock:
                done = tally.done
            samples.append((time.monotonic() - started, rss_kib(server.pid), done))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        server.terminate()
        server.wait(timeout=30)

    measured = [sample for sample in samples if sample[0] >= args.warmup_seconds]
    window = max(2, len(measured) // 4)
    first, last = measured[:window], measured[-window:]

    def rate(part: list[tuple[float, int, int]]) -> float:
        return (part[-1][2] - part[0][2]) / max(part[-1][0] - part[0][0], 1e-9)

    first_rss = statistics.median(sample[1] for sample in first)
    last_rss = statistics.median(sample[1] for sample in last)
    growth = last_rss / first_rss - 1
    print(f"soak: {args.seconds}s after {args.warmup_seconds:.0f}s warm-up, {args.clients} clients, 1 uvicorn worker")
    print(f"requests: {tally.done:,} ({dict(sorted(tally.statuses.items()))}); errors: {len(tally.errors)}")
    print(
        f"RSS MiB: first window {first_rss / 1024:.1f}, last window {last_rss / 1024:.1f}, max "
        f"{max(s[1] for s in measured) / 1024:.1f}; last/first {last_rss / first_rss:.3f} (growth {growth:+.1%})"
    )
    print(
        f"throughput req/s: first window {rate(first):.0f}, last window {rate(last):.0f}; "
        f"last/first {rate(last) / max(rate(first), 1e-9):.2f}"
    )
    for problem in tally.errors[:10]:
        print(f"  error: {problem}")
    flat = growth <= args.max_growth
    print(
        f"memory flat (<= {args.max_growth:.0%}): {'yes' if flat else 'NO'}; 0 errors: {'yes' if not tally.errors else 'NO'}"
    )
    return 0 if flat and not tally.errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
