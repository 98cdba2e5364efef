"""Dimension assets: CRM users, pipeline stages, currencies (dated rates) and the region mapping.

Users, stages and currencies change rarely in Zoho, so a sync re-reads one only when its last refresh (the
`dimension:<asset>` stream in sync_state) is older than ZOHO_DIMENSION_REFRESH_MINUTES; currencies also once per
UTC day, so every day has its dated rate; the nightly full reconcile always re-reads them (config `force`). A
sync with nothing to do then makes no dimension call at all (four calls, and the SDK's start, per 15 minutes
before). Skipped refreshes still materialize, with `refreshed: false` and the time of the last refresh.

One re-read per sync: when several are due, a sync re-reads only one of them (a new day's currency rate first,
then the longest unrefreshed) and leaves the others to the next syncs, so the run in which all three come due
again costs at most two calls (stages: layouts + pipeline) instead of four, and an incremental sync stays
within ceil(changes / 200) + 4 calls (issue 10). Never-refreshed dimensions (a new warehouse), the reconcile's
`force` and ZOHO_DIMENSION_REFRESH_MINUTES=0 re-read every one."""

from dataclasses import dataclass
from datetime import datetime, timedelta

import dagster as dg
from pydantic import Field
from sqlalchemy import Connection, func, select

from orchestration.assets.common import EXTRACT_RETRY, OWNERS, ZOHO_POOL, failing_fast_on_fatal_zoho_errors
from orchestration.resources import PipelineSettingsResource, WarehouseResource, ZohoResource
from pipeline_pulse.models import CountryRegion, Region, utcnow
from pipeline_pulse.services.zoho.port import ZohoPort
from pipeline_pulse.warehouse.currencies import load_currency_rates, store_currency_rates
from pipeline_pulse.warehouse.dimensions import load_stages, load_users
from pipeline_pulse.warehouse.regions import load_region_mapper
from pipeline_pulse.warehouse.statistics import analyze_if_stale
from pipeline_pulse.warehouse.sync_state import read_state, record_run_finished

GROUP = "dimensions"


class DimensionConfig(dg.Config):
    force: bool = Field(
        default=False, description="Re-read Zoho even if the last refresh is recent (the full reconcile sets it)."
    )


def dimension_stream(asset_name: str) -> str:
    return f"dimension:{asset_name}"


def refresh_due(last: datetime | None, every_minutes: int, now: datetime, *, daily: bool = False) -> bool:
    """Whether a dimension refreshed at `last` must be re-read at `now` (never refreshed: yes; 0: always)."""
    if last is None or every_minutes == 0:
        return True
    if daily and last.date() < now.date():
        return True
    return now - last >= timedelta(minutes=every_minutes)


# The order in which due dimensions take their turn when the rates of a new UTC day are not in yet.
DIMENSIONS = ("currencies", "crm_users", "pipeline_stages")
DAILY = frozenset({"currencies"})


@dataclass(frozen=True)
class RefreshState:
    last_success_at: datetime | None
    last_run_id: str | None


def refresh_states(connection: Connection) -> dict[str, RefreshState]:
    states = {name: read_state(connection, dimension_stream(name)) for name in DIMENSIONS}
    return {
        name: RefreshState(state.last_success_at, state.last_run_id) if state else RefreshState(None, None)
        for name, state in states.items()
    }


def refresh_in_this_run(
    asset_name: str, states: dict[str, RefreshState], run_id: str, every_minutes: int, now: datetime
) -> bool:
    """Whether `asset_name` re-reads Zoho in run `run_id`: due, and the one due dimension this run serves (the
    same answer whichever asset asks first: it depends on the states before the run and who refreshed in it)."""
    lasts: dict[str, datetime] = {}
    for name, state in states.items():
        if state.last_success_at is None or every_minutes == 0:
            return True  # a new warehouse (or no budget asked for): every dimension is read
        lasts[name] = state.last_success_at
    if not refresh_due(lasts[asset_name], every_minutes, now, daily=asset_name in DAILY):
        return False
    if any(state.last_run_id == run_id for name, state in states.items() if name != asset_name):
        return False  # another dimension took this run's turn
    due = [name for name in DIMENSIONS if refresh_due(lasts[name], every_minutes, now, daily=name in DAILY)]
    new_day = [name for name in due if name in DAILY and lasts[name].date() < now.date()]
    turn = new_day[0] if new_day else min(due, key=lambda name: lasts[name])
    return turn == asset_name


def _due(
    warehouse: WarehouseResource,
    asset_name: str,
    config: DimensionConfig,
    run_id: str,
    every_minutes: int,
    now: datetime,
) -> tuple[bool, datetime | None]:
    """(re-read now?, the last refresh) for one dimension asset."""
    with warehouse.connect() as connection:
        states = refresh_states(connection)
    last = states[asset_name].last_success_at
    return config.force or refresh_in_this_run(asset_name, states, run_id, every_minutes, now), last


def _not_refreshed(last: datetime | None) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={
            "refreshed": False,
            "last_refreshed_at": last.isoformat() if last else "never",
            "api_calls": 0,
            "api_credits": 0,
        }
    )


def _record_refresh(
    connection: Connection, asset_name: str, run_id: str, records: int, service: ZohoPort, inserted: int, updated: int
) -> None:
    """Record the refresh beside the rows it loaded (one commit), then refresh the planner's statistics of the
    dimension's table (named as its asset)."""
    counters = service.counters.as_dict()
    record_run_finished(
        connection,
        dimension_stream(asset_name),
        run_id,
        counters={
            "records_extracted": records,
            "records_inserted": inserted,
            "records_updated": updated,
            "api_calls": counters["calls"],
            "credits_used": counters["credits"],
        },
    )
    connection.commit()
    analyze_if_stale(connection, (asset_name,))
    connection.commit()


@dg.asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"python", "sql"},
    description="Sales regions and the Country -> region mapping (seeded by migration 0002, edited by analysts). "
    "Deals resolve Region field -> Country -> Unassigned against this table.",
)
def regions(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as connection:
        region_count = connection.execute(select(func.count()).select_from(Region)).scalar_one()
        per_region = connection.execute(
            select(CountryRegion.region_code, func.count())
            .group_by(CountryRegion.region_code)
            .order_by(CountryRegion.region_code)
        ).all()
        analyze_if_stale(connection, ("country_regions", "regions"))
        connection.commit()
    return dg.MaterializeResult(
        metadata={
            "regions": region_count,
            "countries": sum(n for _, n in per_region),
            **{f"countries_{r}": n for r, n in per_region},
        }
    )


@dg.asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"python", "sql"},
    deps=[regions],
    retry_policy=EXTRACT_RETRY,
    pool=ZOHO_POOL,
    description="Zoho CRM users (deal owners) with their region derived from their country. Re-read when older "
    "than ZOHO_DIMENSION_REFRESH_MINUTES (one dimension per sync when several are due).",
)
def crm_users(
    context: dg.AssetExecutionContext,
    config: DimensionConfig,
    warehouse: WarehouseResource,
    zoho: ZohoResource,
    pipeline: PipelineSettingsResource,
) -> dg.MaterializeResult:
    due, last = _due(warehouse, "crm_users", config, context.run.run_id, pipeline.dimension_refresh_minutes, utcnow())
    if not due:
        return _not_refreshed(last)
    service = zoho.port()
    with failing_fast_on_fatal_zoho_errors():
        users = service.list_users()
    with warehouse.connect() as connection:
        result = load_users(connection, users, load_region_mapper(connection))
        _record_refresh(
            connection, "crm_users", context.run.run_id, len(users), service, result.inserted, result.updated
        )
    return dg.MaterializeResult(
        metadata={
            "refreshed": True,
            "users": len(users),
            "inserted": result.inserted,
            "updated": result.updated,
            **_api(service),
        }
    )


@dg.asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"python", "sql"},
    retry_policy=EXTRACT_RETRY,
    pool=ZOHO_POOL,
    description="Stages per pipeline with Zoho's probability and forecast type; deal_status open/won/lost comes "
    "from the forecast type. Stages removed from Zoho stay, flagged inactive. Re-read when older than "
    "ZOHO_DIMENSION_REFRESH_MINUTES.",
)
def pipeline_stages(
    context: dg.AssetExecutionContext,
    config: DimensionConfig,
    warehouse: WarehouseResource,
    zoho: ZohoResource,
    pipeline: PipelineSettingsResource,
) -> dg.MaterializeResult:
    due, last = _due(
        warehouse, "pipeline_stages", config, context.run.run_id, pipeline.dimension_refresh_minutes, utcnow()
    )
    if not due:
        return _not_refreshed(last)
    service = zoho.port()
    with failing_fast_on_fatal_zoho_errors():
        stages = service.get_stage_metadata()
    with warehouse.connect() as connection:
        result, deactivated = load_stages(connection, stages)
        _record_refresh(
            connection, "pipeline_stages", context.run.run_id, len(stages), service, result.inserted, result.updated
        )
    return dg.MaterializeResult(
        metadata={
            "refreshed": True,
            "stages": len(stages),
            "inserted": result.inserted,
            "updated": result.updated,
            "deactivated": deactivated,
            **_api(service),
        }
    )


@dg.asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"python", "sql"},
    retry_policy=EXTRACT_RETRY,
    pool=ZOHO_POOL,
    description="Org currencies with one dated exchange rate per day (units per 1 home-currency unit). The home "
    "currency is Zoho's unless HOME_CURRENCY overrides it. Re-read once per UTC day and when older than "
    "ZOHO_DIMENSION_REFRESH_MINUTES.",
)
def currencies(
    context: dg.AssetExecutionContext,
    config: DimensionConfig,
    warehouse: WarehouseResource,
    zoho: ZohoResource,
    pipeline: PipelineSettingsResource,
) -> dg.MaterializeResult:
    now = utcnow()
    due, last = _due(warehouse, "currencies", config, context.run.run_id, pipeline.dimension_refresh_minutes, now)
    if not due:
        return _not_refreshed(last)
    service = zoho.port()
    with failing_fast_on_fatal_zoho_errors():
        records = service.get_currencies()
    home = pipeline.effective_home_currency()
    with warehouse.connect() as connection:
        result = store_currency_rates(connection, records, now.date(), home_override=home)
        _record_refresh(
            connection, "currencies", context.run.run_id, len(records), service, result.inserted, result.updated
        )
        rates = load_currency_rates(connection, home)
    return dg.MaterializeResult(
        metadata={
            "refreshed": True,
            "currencies": len(records),
            "home_currency": rates.home or "unknown",
            "rates_inserted": result.inserted,
            "rates_updated": result.updated,
            **_api(service),
        }
    )


def _api(service: ZohoPort) -> dict[str, int]:
    counters = service.counters.as_dict()
    return {"api_calls": counters["calls"], "api_credits": counters["credits"]}


__all__ = [
    "DimensionConfig",
    "crm_users",
    "currencies",
    "pipeline_stages",
    "refresh_due",
    "refresh_in_this_run",
    "regions",
]
