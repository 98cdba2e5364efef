"""Reads bounded by what is in scope: /deals filters that match few or no deals in the caller's regions are read
from an index, not by walking a sort index past every deal (migration 0021, `literal_categories` in
api/queries/conditions.py), reused statements still never mix the values of different requests, a long closing
range is not read a page per day, and by-owner cut days read only the scope's regions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.dialects import postgresql

from api.filters import DealFilters
from api.params import DealListParams
from api.queries import deals as deal_queries
from api.queries.conditions import DEALS, compile_filters
from api.queries.metrics import _by_owner_statement
from api.queries.sources import plan
from api.scope import RegionScope
from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.warehouse.metrics_mart import refresh_pipeline_metrics
from tests.fixtures.api import ApiClient

V1 = "/api/v1"
BULK = 30_000


def test_category_values_of_reused_statements_never_mix(seeded_api: ApiClient) -> None:
    """The same statement shapes, one request after another with other regions, stages and statuses: each
    answer holds exactly its own combination (the values are written into each execution's SQL)."""
    combinations = [
        (["APAC"], {"stage": "Closed Won"}),
        (["APAC"], {"stage": "Qualification"}),
        (["EMEA"], {"stage": "Qualification"}),
        (["APAC", "EMEA"], {"deal_status": "won"}),
        (["APAC", "EMEA"], {"deal_status": "open"}),
        (["APAC"], {"deal_status": "won", "pipeline": "Standard"}),
    ]
    all_deals = seeded_api.get(f"{V1}/deals", params={"page_size": 200}, role="admin").json()["items"]
    for _round in range(2):  # twice: the second time every statement is a reused one
        for regions, filters in combinations:
            for sort in ("-id", "closing_date"):
                answer = seeded_api.get(f"{V1}/deals", params={**filters, "sort": sort}, regions=regions)
                assert answer.status_code == 200, answer.text
                expected = {
                    deal["id"]
                    for deal in all_deals
                    if deal["region"] in regions and all(deal[name] == value for name, value in filters.items())
                }
                assert {deal["id"] for deal in answer.json()["items"]} == expected, (regions, filters, sort)


def _bulk_load(engine: Engine) -> None:
    """BULK open deals in APAC (Standard pipeline, two open stages) and as many won Enterprise ones in EMEA: in
    APAC, no deal is Closed Won, won or Enterprise; the planner must know, not assume the columns independent."""
    with engine.begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO deals (id, deal_name, owner_id, stage, pipeline, probability, deal_status, amount,
                                   currency, exchange_rate, amount_home, weighted_amount_home, closing_date,
                                   created_time, modified_time, region, raw, first_seen_at, last_synced_at)
                SELECT 9000000 + g, 'Bulk ' || g, 100, CASE WHEN g % 2 = 0 THEN 'Qualification' ELSE 'Proposal' END,
                       'Standard', 10, 'open', 100, 'USD', 1, 100, 10, DATE '2026-01-01' + (g % 300),
                       TIMESTAMPTZ '2025-06-01' + g * INTERVAL '1 minute',
                       TIMESTAMPTZ '2025-06-01' + g * INTERVAL '2 minutes', 'APAC', CAST('{}' AS json), now(), now()
                FROM generate_series(1, :n) AS g
                UNION ALL
                SELECT 9500000 + g, 'Won ' || g, 200, 'Closed Won', 'Enterprise', 100, 'won', 100, 'USD', 1, 100, 100,
                       DATE '2026-01-01' + (g % 300), TIMESTAMPTZ '2025-06-01' + g * INTERVAL '1 minute',
                       TIMESTAMPTZ '2025-06-01' + g * INTERVAL '2 minutes', 'EMEA', CAST('{}' AS json), now(), now()
                FROM generate_series(1, :n) AS g
                """
            ),
            {"n": BULK},
        )
        conn.execute(text("ANALYZE deals"))


def _rows_examined(plan: dict[str, Any]) -> int:
    """Rows the scans of tables in an EXPLAIN ANALYZE plan read, kept or thrown away (a bitmap's index entries
    are its heap scan's rows, counted once there; CTE and function scans read no table)."""
    own = 0
    if "Relation Name" in plan and plan["Node Type"] != "Bitmap Index Scan":
        kept_and_dropped = ("Actual Rows", "Rows Removed by Filter", "Rows Removed by Index Recheck")
        own = sum(int(plan.get(key, 0)) for key in kept_and_dropped) * int(plan.get("Actual Loops", 1))
    return own + sum(_rows_examined(child) for child in plan.get("Plans", []))


def _explain_page(engine: Engine, regions: list[str] | None, query: dict[str, Any]) -> int:
    """Rows examined by the first page's statement for `query` in `regions` (None: all) (EXPLAIN ANALYZE)."""
    params = DealListParams.model_validate(query)
    scope = RegionScope(None if regions is None else frozenset(regions))
    shape, values = compile_filters(DEALS, scope, params.only_filters(), params.deal_status)
    statement = deal_queries._page_statement(shape, params.sort, 0, False, postgres=True)
    # What the API sends the server: the scope and category values written into the SQL text at execution,
    # so each combination is planned with its own values even when its prepared statement is reused.
    categories = {p.key for p in statement.compile(dialect=postgresql.asyncpg.dialect()).literal_execute_params}
    bound = ("sort", "closing_from", "closing_to")  # bind parameters: the values do not change the plan
    scoped = set() if regions is None else {"scope_regions"}
    assert categories == scoped | {f"f_{name}" for name in query if name not in bound}
    with engine.connect() as conn:
        bound = statement.params({**values, "page_limit": params.page_size + 1})
        sql = str(bound.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        raw = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + sql.replace("%", "%%")).scalar_one()
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    return _rows_examined(plan)


@pytest.mark.parametrize(
    "query",
    [
        {"stage": "Closed Won"},
        {"stage": "Closed Won", "sort": "closing_date"},
        {"deal_status": "won", "sort": "-amount_home"},
        {"deal_status": "open", "stage": "Closed Won", "sort": "modified_time"},
        {"pipeline": "Enterprise"},  # no index led by the pipeline before migration 0022
        {"pipeline": "Enterprise", "sort": "closing_date"},
    ],
)
def test_a_combination_without_deals_in_scope_reads_an_index(fresh_postgres_url: str, query: dict[str, Any]) -> None:
    engine = create_sync_engine(fresh_postgres_url)
    try:
        _bulk_load(engine)
        examined = _explain_page(engine, ["APAC"], query)
        # A walk of a sort index would read every APAC deal (BULK) to find none.
        assert examined < BULK / 20, examined
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("sort", "regions"),
    [("modified_time", ["APAC"]), ("-modified_time", ["APAC"]), ("id", None), ("-id", None)],
)
def test_a_long_closing_range_reads_a_first_row_per_day_not_a_page(
    fresh_postgres_url: str, sort: str, regions: list[str] | None
) -> None:
    """A closing range sorted by id or modified time is read day by day (api/queries/deals.py,
    `_by_closing_day`): each day's first row, then rows up to the page's bound from the days that reach it,
    not a page of rows from every day of the range. (The id sort probes days, not (region, day): under a
    region scope it also reads the other regions' deals that come first in a day.)"""
    engine = create_sync_engine(fresh_postgres_url)
    try:
        _bulk_load(engine)
        query = {"closing_from": "2026-01-01", "closing_to": "2026-10-27", "sort": sort}  # 300 days, 100 a day
        examined = _explain_page(engine, regions, query)
        days, page = 300, DealListParams().page_size + 1
        # A page from every day reads days x page (15,300); the bound leaves days + about a page.
        assert examined < days + 4 * page, examined
    finally:
        engine.dispose()


def test_by_owner_cut_days_over_all_statuses_read_only_the_scope(fresh_postgres_url: str) -> None:
    """By-owner figures over all statuses take the cut days from the status-led index (`every_status`), for
    the scope's regions only."""
    engine = create_sync_engine(fresh_postgres_url)
    try:
        _bulk_load(engine)
        with engine.begin() as conn:
            refresh_pipeline_metrics(conn)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE deals"))  # as autovacuum leaves it: index-only scans are possible
        filters = DealFilters.model_validate({"closing_from": "2026-01-10", "closing_to": "2026-03-20"})
        scope = RegionScope(frozenset({"APAC"}))
        # Without the owner, Jan 1-9 and Mar 21-31 are subtracted from the mart's months (the day mart is
        # written with it); the owner's days come from `deals`, which may run ahead of the mart: added.
        assert [part.subtracted for part in plan("postgresql", scope, filters, "all").parts] == [False, True, True]
        answer = plan("postgresql", scope, filters, "all", needs_owner=True)
        assert [part.subtracted for part in answer.parts] == [False, False, False]
        statement = _by_owner_statement(answer.key).params(answer.values)
        with engine.connect() as conn:
            sql = str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
            raw = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + sql.replace("%", "%%")).scalar_one()
        examined = _rows_examined((json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"])
        in_scope_days = 42 * BULK // 300  # APAC deals closing on Jan 10-31 and Mar 1-20 (BULK over 300 days)
        # The closing-date index would read EMEA's as well (twice as many).
        assert examined < 1.5 * in_scope_days, examined
    finally:
        engine.dispose()
