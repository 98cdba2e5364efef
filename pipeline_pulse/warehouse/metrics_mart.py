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

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import (
    Connection,
    Date,
    Integer,
    Numeric,
    Select,
    String,
    Table,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from pipeline_pulse.models import (
    Deal,
    MartDealContribution,
    OpenDealFreshness,
    OpenDealFreshnessDaily,
    PipelineMetric,
    PipelineMetricDaily,
    utcnow,
)
from pipeline_pulse.warehouse.data_version import bump_data_version
from pipeline_pulse.warehouse.id_sets import in_ids
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


MART_TABLES = (
    "pipeline_metrics",
    "pipeline_metrics_daily",
    "open_deal_freshness",
    "open_deal_freshness_daily",
    "mart_deal_contributions",
)

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


def refresh_pipeline_metrics(connection: Connection, refreshed_at: datetime | None = None) -> int:
    """Rebuild `pipeline_metrics` (closing month, with owner), `pipeline_metrics_daily` (closing day, without
    owner), `open_deal_freshness` and `open_deal_freshness_daily` (open deals by closing month and modified
    month / day) from the live (not soft-deleted) deals; returns the number of `pipeline_metrics` rows.

    Runs inside the caller's transaction (no commit here): delete everything, then one INSERT ... SELECT with
    GROUP BY per table, so the database does the aggregation; last, bump the warehouse data version (the read
    API drops its response cache when it sees the commit).
    """
    dialect = connection.dialect.name
    refreshed_at = refreshed_at or utcnow()
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
    # What each deal now adds to the marts, for the next sync's incremental update (update_pipeline_metrics).
    # Only the ETL reads it, so TRUNCATE's exclusive lock blocks no reader (and leaves no million dead rows).
    if dialect == "postgresql":
        connection.execute(text("TRUNCATE mart_deal_contributions"))
    else:
        connection.execute(delete(CONTRIBUTIONS))
    connection.execute(
        insert(CONTRIBUTIONS).from_select(CONTRIBUTION_COLUMNS, _contributions(dialect, refreshed_at.date()))
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


# -- Incremental refresh ------------------------------------------------------------------------------------------
# The marts hold sums over live deals, so the deals a sync changed move them by (new contribution - old
# contribution). `mart_deal_contributions` keeps every live deal's old one (written by each refresh, full or
# incremental); the new one is computed from `deals` with the very expressions of the full rebuild. The update
# is state-based, not event-based: applying a deal that did not change, or twice, adds zero.

CONTRIBUTIONS: Table = MartDealContribution.__table__  # type: ignore[assignment]
CONTRIBUTION_COLUMNS = [column.name for column in CONTRIBUTIONS.columns]


def _contributions(dialect_name: str, as_of: date) -> Select[tuple[object, ...]]:
    """Per live deal, the row of `mart_deal_contributions` (CONTRIBUTION_COLUMNS order); stale as of `as_of`."""
    counted_fresh = and_(Deal.deal_status == "open", Deal.modified_time.is_not(None))
    return select(
        Deal.id.label("deal_id"),
        Deal.region,
        Deal.pipeline,
        Deal.stage,
        Deal.owner_id,
        Deal.deal_status,
        Deal.closing_date,
        closing_month_expr(dialect_name).label("closing_month"),
        case((counted_fresh, modified_month_expr(dialect_name)), else_=null()).label("freshness_month"),
        case((counted_fresh, modified_date_expr(dialect_name)), else_=null()).label("freshness_date"),
        Deal.amount_home,
        Deal.weighted_amount_home,
        cycle_days_expr(dialect_name).label("cycle_days"),
        case((stale_condition(as_of), 1), else_=0).label("stale"),
    ).where(Deal.deleted_at.is_(None))


@dataclass(frozen=True)
class MartKeys:
    """One mart table: its key columns -> the contribution column each is read from, and the contribution column
    that is NULL when a deal is not counted there (the freshness marts count open deals with a modified time)."""

    table: Table
    keys: dict[str, str]
    counted_when: str | None = None


_PLACE = {"region": "region", "pipeline": "pipeline", "stage": "stage"}
MARTS = (
    MartKeys(
        PipelineMetric.__table__,  # type: ignore[arg-type]
        {**_PLACE, "owner_id": "owner_id", "deal_status": "deal_status", "closing_month": "closing_month"},
    ),
    MartKeys(
        PipelineMetricDaily.__table__,  # type: ignore[arg-type]
        {**_PLACE, "deal_status": "deal_status", "closing_date": "closing_date"},
    ),
    MartKeys(
        OpenDealFreshness.__table__,  # type: ignore[arg-type]
        {**_PLACE, "closing_month": "closing_month", "modified_month": "freshness_month"},
        "freshness_month",
    ),
    MartKeys(
        OpenDealFreshnessDaily.__table__,  # type: ignore[arg-type]
        {**_PLACE, "closing_month": "closing_month", "modified_date": "freshness_date"},
        "freshness_date",
    ),
)


def _measure_deltas(table: Table, signed: Subquery) -> list[ColumnElement[object]]:
    """The mart's additive measures, summed with the sign of each contribution row (+1 new, -1 old)."""
    sign = signed.c.sign
    deltas: list[ColumnElement[object]] = [func.sum(sign).label("deal_count")]
    if "amount_home" in table.c:
        deltas += [
            func.sum(sign * func.coalesce(signed.c.amount_home, 0)).label("amount_home"),
            func.sum(sign * func.coalesce(signed.c.weighted_amount_home, 0)).label("weighted_amount_home"),
            func.sum(sign * func.coalesce(signed.c.cycle_days, 0)).label("cycle_days_sum"),
            func.sum(case((signed.c.cycle_days.is_not(None), sign), else_=0)).label("cycle_deal_count"),
        ]
    if "stale_count" in table.c:
        deltas.append(func.sum(sign * signed.c.stale).label("stale_count"))
    return deltas


# Stands for NULL in a group key: a control character no Zoho picklist value, id or date text holds.
_NULL_MARK = "\x1e"
_KEY_SEPARATOR = "\x1f"


def _group_key(columns: list[ColumnElement[object]]) -> ColumnElement[str]:
    """A group's key columns as one text value (NULL kept apart from every value). Matching mart rows to delta
    rows on this one expression lets Postgres hash-join them; with the key columns compared one by one (some
    nullable) it merges on two of them and filters millions of pairs."""
    parts = [func.coalesce(cast(column, String), _NULL_MARK) for column in columns]
    key = parts[0]
    for part in parts[1:]:
        key = key + _KEY_SEPARATOR + part
    return key


def _apply_delta(connection: Connection, mart: MartKeys, signed: Subquery, refreshed_at: datetime) -> None:
    table, keys = mart.table, mart.keys
    counted = [signed.c[mart.counted_when].is_not(None)] if mart.counted_when else []
    delta = (
        select(*(signed.c[source].label(name) for name, source in keys.items()), *_measure_deltas(table, signed))
        .where(*counted)
        .group_by(*(signed.c[source] for source in keys.values()))
        .subquery("delta")
    )
    measures = [column.name for column in delta.c if column.name not in keys]
    if connection.dialect.name == "postgresql":
        match = _group_key([table.c[name] for name in keys]) == _group_key([delta.c[name] for name in keys])
    else:
        # SQLite joins by nested loops: null-safe equality per key column (`IS`) lets it probe the mart's index
        # for each delta row; the one key expression would compare every mart row with every delta row.
        match = and_(*(table.c[name].is_not_distinct_from(delta.c[name]) for name in keys))
    connection.execute(
        update(table)
        .where(match)
        .values({name: table.c[name] + delta.c[name] for name in measures} | {"refreshed_at": refreshed_at})
    )
    new_groups = select(*delta.c, literal(refreshed_at, table.c.refreshed_at.type)).where(
        delta.c.deal_count > 0, ~exists().where(match)
    )
    connection.execute(insert(table).from_select([*keys, *measures, "refreshed_at"], new_groups))
    # A group whose last deal left it: the full rebuild has no row for it.
    connection.execute(delete(table).where(table.c.deal_count == 0))


def update_pipeline_metrics(connection: Connection, deal_ids: list[int], as_of: date) -> int:
    """Move the four marts by what the deals `deal_ids` (changed, new, deleted or restored since the last refresh)
    contribute now instead of what they contributed then, and record their new contributions. Stale flags are
    as of `as_of`, which must be the day of the last full refresh (the untouched rows' stale counts are as of
    that day). Cost: indexed reads and writes per deal in `deal_ids` and per group they touch, whatever the
    number of deals. In the caller's transaction; returns the deals applied. Equals `refresh_pipeline_metrics`
    except for `refreshed_at`, which moves only on the rows that changed (tests/orchestration/
    test_incremental_mart.py)."""
    if not deal_ids:
        return 0
    dialect = connection.dialect.name
    refreshed_at = utcnow()
    now = _contributions(dialect, as_of).where(in_ids(Deal.id, deal_ids, dialect))
    then = select(*CONTRIBUTIONS.c).where(in_ids(CONTRIBUTIONS.c.deal_id, deal_ids, dialect))
    signed = union_all(now.add_columns(literal(1).label("sign")), then.add_columns(literal(-1).label("sign")))
    for mart in MARTS:
        _apply_delta(connection, mart, signed.subquery("signed"), refreshed_at)
    connection.execute(delete(CONTRIBUTIONS).where(in_ids(CONTRIBUTIONS.c.deal_id, deal_ids, dialect)))
    connection.execute(insert(CONTRIBUTIONS).from_select(CONTRIBUTION_COLUMNS, now))
    bump_data_version(connection)
    return len(deal_ids)
