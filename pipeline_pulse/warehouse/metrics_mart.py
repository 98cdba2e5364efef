"""The metrics marts: live deals pre-aggregated by region, pipeline, stage, owner, status and closing month
(`pipeline_metrics`), by region, pipeline, stage, status and closing day (`pipeline_metrics_daily`), and the open
deals by region, pipeline, stage, closing month and modified month / day (`open_deal_freshness`,
`open_deal_freshness_daily`, for staleness).

The API answers unfiltered and coarse-filtered metrics from `pipeline_metrics` (a few thousand rows) instead of
scanning `deals`, and the days of a month a closing range cuts from `pipeline_metrics_daily` (tens of rows per
day) unless an owner is asked for. The ETL rebuilds both after every sync, inside the sync's transaction, so readers never see a
half-built mart (Postgres) or wait long (SQLite).

The date expressions below are shared with the API so the mart and the live-table path agree to the day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, Date, Integer, Numeric, and_, case, cast, delete, func, insert, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from pipeline_pulse.models import (
    Deal,
    OpenDealFreshness,
    OpenDealFreshnessDaily,
    PipelineMetric,
    PipelineMetricDaily,
    utcnow,
)
from pipeline_pulse.warehouse.data_version import bump_data_version
from pipeline_pulse.warehouse.statistics import analyze_if_stale


def closing_month_expr(dialect_name: str) -> ColumnElement[object]:
    """First day of the deal's closing month (NULL when there is no closing date)."""
    if dialect_name == "postgresql":
        return cast(func.date_trunc("month", Deal.closing_date), Date)
    return func.date(Deal.closing_date, "start of month")


def modified_month_expr(dialect_name: str) -> ColumnElement[object]:
    """First day of the UTC month of the deal's modified_time."""
    if dialect_name == "postgresql":
        return cast(func.date_trunc("month", func.timezone("UTC", Deal.modified_time)), Date)
    return func.date(Deal.modified_time, "start of month")  # SQLite keeps UTC as naive ISO text


def modified_date_expr(dialect_name: str) -> ColumnElement[object]:
    """The UTC calendar day of the deal's modified_time."""
    if dialect_name == "postgresql":
        return cast(func.timezone("UTC", Deal.modified_time), Date)
    return func.date(Deal.modified_time)


def cycle_days_expr(dialect_name: str) -> ColumnElement[object]:
    """Sales cycle of a deal in whole days: closing date minus the UTC calendar date it was created.

    NULL when either date is missing.
    """
    if dialect_name == "postgresql":
        created_day = cast(func.timezone("UTC", Deal.created_time), Date)
        return Deal.closing_date - created_day
    # SQLite stores UTC datetimes as naive ISO text; date() takes its calendar day.
    return cast(func.julianday(Deal.closing_date) - func.julianday(func.date(Deal.created_time)), Integer)


MART_TABLES = ("pipeline_metrics", "pipeline_metrics_daily", "open_deal_freshness", "open_deal_freshness_daily")

# The mart's stale_count uses this threshold as of the refresh day; other thresholds read `deals`.
STALE_AFTER_DAYS = 30


def stale_cutoff(as_of: date, stale_after_days: int = STALE_AFTER_DAYS) -> datetime:
    return datetime.combine(as_of - timedelta(days=stale_after_days), time.min, tzinfo=UTC)


def stale_condition(as_of: date, stale_after_days: int = STALE_AFTER_DAYS) -> ColumnElement[bool]:
    """An open deal is stale on `as_of` when it was not modified since 00:00 UTC of (as_of - N days) (or never),
    or its closing date is already before `as_of`."""
    cutoff = stale_cutoff(as_of, stale_after_days)
    return and_(
        Deal.deal_status == "open",
        or_(Deal.modified_time.is_(None), Deal.modified_time < cutoff, Deal.closing_date < as_of),
    )


def fresh_condition(as_of: date, stale_after_days: int = STALE_AFTER_DAYS) -> ColumnElement[bool]:
    """The open deals that are NOT stale on `as_of` (the exact complement of `stale_condition` among open
    deals): modified since the cutoff and not closing before `as_of`. Few deals are, so counting them (on an
    index of modified_time) and subtracting from the open count is cheaper than counting the stale ones."""
    cutoff = stale_cutoff(as_of, stale_after_days)
    return and_(
        Deal.deal_status == "open",
        Deal.modified_time >= cutoff,
        or_(Deal.closing_date.is_(None), Deal.closing_date >= as_of),
    )


def refresh_pipeline_metrics(connection: Connection) -> int:
    """Rebuild `pipeline_metrics` (closing month, with owner), `pipeline_metrics_daily` (closing day, without
    owner), `open_deal_freshness` and `open_deal_freshness_daily` (open deals by closing month and modified
    month / day) from the live (not soft-deleted) deals; returns the number of `pipeline_metrics` rows.

    Runs inside the caller's transaction (no commit here): delete everything, then one INSERT ... SELECT with
    GROUP BY per table, so the database does the aggregation; last, bump the warehouse data version (the read
    API drops its response cache when it sees the commit).
    """
    dialect = connection.dialect.name
    refreshed_at = utcnow()
    is_stale = case((stale_condition(refreshed_at.date()), 1), else_=0)
    monthly_keys = [Deal.region, Deal.pipeline, Deal.stage, Deal.owner_id, Deal.deal_status]
    closing_month = closing_month_expr(dialect).label("closing_month")
    monthly = (
        select(*monthly_keys, closing_month, *_measures(dialect, refreshed_at), func.sum(is_stale).label("stale_count"))
        .where(Deal.deleted_at.is_(None))
        .group_by(*monthly_keys, closing_month)
    )
    daily_keys = [Deal.region, Deal.pipeline, Deal.stage, Deal.deal_status, Deal.closing_date]
    daily = (
        select(*daily_keys, *_measures(dialect, refreshed_at)).where(Deal.deleted_at.is_(None)).group_by(*daily_keys)
    )
    measure_columns = [*MEASURE_COLUMNS, "refreshed_at"]
    connection.execute(delete(PipelineMetric))
    connection.execute(
        insert(PipelineMetric).from_select(
            [
                "region",
                "pipeline",
                "stage",
                "owner_id",
                "deal_status",
                "closing_month",
                *measure_columns,
                "stale_count",
            ],
            monthly,
        )
    )
    connection.execute(delete(PipelineMetricDaily))
    connection.execute(
        insert(PipelineMetricDaily).from_select(
            ["region", "pipeline", "stage", "deal_status", "closing_date", *measure_columns], daily
        )
    )
    modified_month = modified_month_expr(dialect).label("modified_month")
    freshness_keys = [Deal.region, Deal.pipeline, Deal.stage, closing_month, modified_month]
    freshness = (
        select(*freshness_keys, func.count(), literal(refreshed_at, OpenDealFreshness.refreshed_at.type))
        .where(Deal.deleted_at.is_(None), Deal.deal_status == "open", Deal.modified_time.is_not(None))
        .group_by(*freshness_keys)
    )
    connection.execute(delete(OpenDealFreshness))
    connection.execute(
        insert(OpenDealFreshness).from_select(
            ["region", "pipeline", "stage", "closing_month", "modified_month", "deal_count", "refreshed_at"],
            freshness,
        )
    )
    modified_date = modified_date_expr(dialect).label("modified_date")
    daily_freshness_keys = [Deal.region, Deal.pipeline, Deal.stage, closing_month, modified_date]
    daily_freshness = (
        select(*daily_freshness_keys, func.count(), literal(refreshed_at, OpenDealFreshnessDaily.refreshed_at.type))
        .where(Deal.deleted_at.is_(None), Deal.deal_status == "open", Deal.modified_time.is_not(None))
        .group_by(*daily_freshness_keys)
    )
    connection.execute(delete(OpenDealFreshnessDaily))
    connection.execute(
        insert(OpenDealFreshnessDaily).from_select(
            ["region", "pipeline", "stage", "closing_month", "modified_date", "deal_count", "refreshed_at"],
            daily_freshness,
        )
    )
    # Rebuilt wholesale: without fresh statistics Postgres plans the API's reads for the previous contents.
    analyze_if_stale(connection, MART_TABLES)
    rows = connection.execute(select(func.count()).select_from(PipelineMetric)).scalar_one()
    bump_data_version(connection)
    return rows


MEASURE_COLUMNS = ["deal_count", "amount_home", "weighted_amount_home", "cycle_days_sum", "cycle_deal_count"]


def _measures(dialect_name: str, refreshed_at: datetime) -> list[ColumnElement[object]]:
    """The additive measures both marts hold (MEASURE_COLUMNS, in order), then the refresh time."""
    cycle_days = cycle_days_expr(dialect_name)
    return [
        func.count().label("deal_count"),
        func.coalesce(func.sum(Deal.amount_home), 0).label("amount_home"),
        func.coalesce(func.sum(Deal.weighted_amount_home), 0).label("weighted_amount_home"),
        cast(func.coalesce(func.sum(cycle_days), 0), Numeric(20, 4)).label("cycle_days_sum"),
        func.sum(case((cycle_days.is_not(None), 1), else_=0)).label("cycle_deal_count"),
        literal(refreshed_at, PipelineMetric.refreshed_at.type).label("refreshed_at"),
    ]
