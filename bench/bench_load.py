"""Deal load throughput on PostgreSQL, in one run on the same real-shaped rows (each with a ~2 KB `raw` as
the sandbox serves it): the project's load (`load_deals`: COPY + one upsert per chunk, deal versions), a
plain COPY into an indexed copy of `deals` (the floor), pandas `to_sql` and dlt (merge on id), with ratios;
and the project's first-backfill load (the same rows into an empty warehouse, indexes built after the load).

    .venv/bin/python -m bench.bench_load [--rows 100000] [--baseline-rows 5000] [--dlt-rows 20000]
        [--url postgresql://...]

A fresh database is created (and dropped) on the server of --url / TEST_DATABASE_URL. dlt comes from
requirements-bench.txt. Run alone on the machine (no other suite or bench beside it). The rows are built
before any timing (the `raw` payloads are 5,000 sandbox records, shared between rows); every contender writes
new rows into its own empty, identically indexed table (to_sql and the floor: `LIKE deals INCLUDING ALL`,
the same column types and indexes as `deals`). The COPY floor is timed twice: the COPY statement
alone on CSV encoded beforehand, and encode + COPY (what any client pays at least).

Targets (issue 11.3): project >= 50% of the COPY floor, >= 5x to_sql, >= 2x dlt. Figures: bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg2
from psycopg2 import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.core.migrate import upgrade
from pipeline_pulse.warehouse.deal_batch import rows_to_batch
from pipeline_pulse.warehouse.deals import DEAL_DATA_COLUMNS, load_deals
from pipeline_pulse.warehouse.load_indexes import build_missing_indexes, prepare_load_indexes
from pipeline_pulse.warehouse.upsert import DEFAULT_BATCH_CHUNK, _csv_encoder
from zoho_sandbox import SandboxConfig, SandboxServer

BASE_ID = 4_876_876_000_100_000_000
REGIONS = ("APAC", "EMEA", "Americas", "India", "Unassigned")
STAGES = (("Qualification", 10, "open"), ("Negotiation/Review", 90, "open"), ("Closed Won", 100, "won"))
TEMPLATES = 5_000
COLUMNS = (*DEAL_DATA_COLUMNS, "first_seen_at", "last_synced_at")


def sandbox_raws(count: int = TEMPLATES, seed: int = 7) -> list[dict[str, Any]]:
    """Real-shaped `raw` payloads: the records a sandbox of `count` deals serves (every Deals field)."""
    with SandboxServer(SandboxConfig(deals=count, seed=seed)) as server:
        return list(server.control.truth()["deals"])


def real_shaped_rows(count: int, raws: Sequence[dict[str, Any]], offset: int = 0) -> list[dict[str, Any]]:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    now = datetime.now(UTC)
    rows = []
    for i in range(offset, offset + count):
        stage, probability, status = STAGES[i % len(STAGES)]
        amount = Decimal(1000 + (i * 37) % 90_000) / 1
        rows.append(
            {
                "id": BASE_ID + i,
                "deal_name": f"Deal #{i} — naïve\ttab",
                "account_id": BASE_ID + 10_000_000 + i % 5000,
                "account_name": f"Account {i % 5000}",
                "owner_id": 4_876_876_000_000_200_000 + i % 20,
                "owner_name": "Owner",
                "owner_email": "owner@example.com",
                "stage": stage,
                "pipeline": "Standard",
                "probability": probability,
                "forecast_category": "Pipeline",
                "forecast_type": "Open" if status == "open" else "Closed Won",
                "deal_status": status,
                "amount": amount,
                "currency": "SGD",
                "exchange_rate": Decimal(1),
                "amount_home": amount,
                "weighted_amount_home": (amount * probability / 100).quantize(Decimal("0.01")),
                "closing_date": date(2025, 6, 1) + timedelta(days=i % 200),
                "created_time": t0 + timedelta(minutes=i),
                "modified_time": t0 + timedelta(minutes=i, seconds=1),
                "last_activity_time": None,
                "lead_source": "Web",
                "deal_type": "New Business",
                "country": "Singapore",
                "region": REGIONS[i % len(REGIONS)],
                "raw": raws[i % len(raws)],
                "first_seen_at": now,
                "last_synced_at": now,
            }
        )
    return [{name: row.get(name) for name in COLUMNS} for row in rows]  # exactly the table's data columns


def _admin(url: str):  # type: ignore[no-untyped-def]
    parsed = make_url(url)
    conn = psycopg2.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, password=parsed.password, dbname="postgres"
    )
    conn.autocommit = True
    return conn


def _fresh_database(base_url: str) -> tuple[str, str]:
    name = f"pp_pipeline_bench_{uuid.uuid4().hex[:8]}"
    conn = _admin(base_url)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.close()
    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    return name, url


def _drop(base_url: str, name: str) -> None:
    conn = _admin(base_url)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    conn.close()


def _indexed_copy(url: str, table: str) -> None:
    """An empty table like `deals` with all its indexes, defaults and checks (no foreign keys)."""
    engine = create_sync_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {table} (LIKE deals INCLUDING ALL)"))
    engine.dispose()


def bench_project(url: str, rows: list[dict[str, Any]]) -> float:
    """load_deals from the transform's output form (an Arrow batch with `raw` as JSON text), built untimed."""
    batch = rows_to_batch(rows)
    engine = create_sync_engine(url)
    started = time.perf_counter()
    with engine.connect() as connection:
        result = load_deals(connection, batch)
        connection.commit()
    elapsed = time.perf_counter() - started
    assert result.inserted == len(rows), result
    engine.dispose()
    return elapsed


def bench_project_backfill(url: str, rows: list[dict[str, Any]]) -> tuple[float, float]:
    """(load seconds, index build seconds) of a first backfill's load: the same rows into an empty warehouse
    whose deal-table indexes are off for the load and built after it (warehouse/load_indexes.py)."""
    batch = rows_to_batch(rows)
    engine = create_sync_engine(url)
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE deals CASCADE"))
    started = time.perf_counter()
    with engine.connect() as connection:
        assert prepare_load_indexes(connection, resuming_backfill=False)
        connection.commit()
        for start in range(0, batch.num_rows, DEFAULT_BATCH_CHUNK):  # one commit per chunk, as a backfill's pages
            load_deals(connection, batch.slice(start, DEFAULT_BATCH_CHUNK))
            connection.commit()
        loaded = time.perf_counter() - started
        build_missing_indexes(connection)
        connection.commit()
    built = time.perf_counter() - started - loaded
    engine.dispose()
    return loaded, built


def bench_copy_floor(url: str, rows: list[dict[str, Any]]) -> tuple[float, float]:
    """(encode seconds, COPY seconds) of one plain COPY of the same rows into an indexed copy of deals."""
    from pipeline_pulse.models import Deal

    _indexed_copy(url, "bench_copy")
    started = time.perf_counter()
    buffer = io.StringIO()
    _csv_encoder(Deal.__table__, COLUMNS)(buffer, rows)  # type: ignore[arg-type]
    buffer.seek(0)
    encoded = time.perf_counter() - started
    conn = psycopg2.connect(make_url(url).render_as_string(hide_password=False))
    columns = ", ".join(f'"{name}"' for name in COLUMNS)
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.copy_expert(f"COPY bench_copy ({columns}) FROM STDIN WITH (FORMAT csv)", buffer)
    conn.commit()
    copied = time.perf_counter() - started
    conn.close()
    return encoded, copied


def bench_to_sql(url: str, rows: list[dict[str, Any]]) -> float:
    import pandas as pd

    _indexed_copy(url, "bench_to_sql")
    frame = pd.DataFrame([{**row, "raw": json.dumps(row["raw"], ensure_ascii=False)} for row in rows], dtype=object)
    engine = create_sync_engine(url)
    started = time.perf_counter()
    frame.to_sql("bench_to_sql", engine, if_exists="append", index=False, chunksize=1_000)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def bench_dlt(url: str, rows: list[dict[str, Any]]) -> float:
    """dlt's own pipeline (extract, normalize, load) merging on id into Postgres, `raw` kept as one JSON column."""
    import dlt

    parsed = make_url(url)
    if parsed.password is None:  # dlt insists on one; a trust-authenticated server ignores it
        parsed = parsed.set(password="unused")  # noqa: S106 - not a secret
    with tempfile.TemporaryDirectory() as workdir:
        pipeline = dlt.pipeline(
            pipeline_name="bench_load",
            destination=dlt.destinations.postgres(credentials=parsed.render_as_string(hide_password=False)),
            dataset_name="bench_dlt",
            pipelines_dir=workdir,
        )
        started = time.perf_counter()
        pipeline.run(
            rows,
            table_name="deals",
            write_disposition="merge",
            primary_key="id",
            columns={"raw": {"data_type": "json"}},
        )
        return time.perf_counter() - started


def _has_dlt() -> bool:
    import importlib.util

    return importlib.util.find_spec("dlt") is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="rows for the project's load and the COPY floor")
    parser.add_argument(
        "--baseline-rows", type=int, default=5_000, help="rows for pandas to_sql (slow; at least 5,000)"
    )
    parser.add_argument("--dlt-rows", type=int, default=20_000, help="rows for dlt")
    parser.add_argument(
        "--url", default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/pipeline_pulse_test")
    )
    args = parser.parse_args()
    if args.baseline_rows < 5_000:
        parser.error("--baseline-rows: at least 5,000 (fewer rows flatter to_sql: its fixed costs dominate)")
    raws = sandbox_raws()
    raw_bytes = sum(len(json.dumps(raw, ensure_ascii=False).encode()) for raw in raws) / len(raws)
    rows = real_shaped_rows(args.rows, raws)
    name, url = _fresh_database(args.url)
    try:
        project_s = bench_project(url, rows)
        backfill_load_s, backfill_build_s = bench_project_backfill(url, rows)
        encode_s, copy_s = bench_copy_floor(url, rows)
        to_sql_s = bench_to_sql(url, real_shaped_rows(args.baseline_rows, raws, offset=10_000_000))
        dlt_s = bench_dlt(url, real_shaped_rows(args.dlt_rows, raws, offset=20_000_000)) if _has_dlt() else None
    finally:
        _drop(args.url, name)
    project = args.rows / project_s
    results = [
        ("project load_deals (COPY + upsert + versions)", args.rows, project_s),
        ("project first backfill: load, indexes off", args.rows, backfill_load_s),
        ("project first backfill: load + index build", args.rows, backfill_load_s + backfill_build_s),
        ("plain COPY, statement only (floor)", args.rows, copy_s),
        ("plain COPY incl. CSV encoding", args.rows, encode_s + copy_s),
        ("pandas DataFrame.to_sql", args.baseline_rows, to_sql_s),
    ]
    if dlt_s is not None:
        results.append(("dlt pipeline.run, merge on id", args.dlt_rows, dlt_s))
    print(f"deals load, PostgreSQL, new rows with real-shaped raw (mean {raw_bytes:,.0f} bytes of JSON)")
    print(f"{'path':<48}{'rows':>9}{'seconds':>9}{'rows/s':>10}{'project is':>12}")
    for label, n, seconds in results:
        rate = n / seconds
        print(f"{label:<48}{n:>9,}{seconds:>9.2f}{rate:>10,.0f}{project / rate:>11.2f}x")
    if dlt_s is None:
        print("dlt: not installed here (pip install -r requirements-bench.txt into a bench environment); not measured")
    print(f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    with open("/proc/loadavg") as loadavg:
        print(f"load average at the end: {loadavg.read().split()[0]}")


if __name__ == "__main__":
    main()
