"""Dimension assets: CRM users, pipeline stages, currencies (dated rates) and the region mapping."""

import dagster as dg
from sqlalchemy import func, select

from orchestration.assets.common import EXTRACT_RETRY, OWNERS, ZOHO_POOL, failing_fast_on_fatal_zoho_errors
from orchestration.resources import PipelineSettingsResource, WarehouseResource, ZohoResource
from pipeline_pulse.models import CountryRegion, Region, utcnow
from pipeline_pulse.services.zoho.port import ZohoPort
from pipeline_pulse.warehouse.currencies import load_currency_rates, store_currency_rates
from pipeline_pulse.warehouse.dimensions import load_stages, load_users
from pipeline_pulse.warehouse.regions import load_region_mapper
from pipeline_pulse.warehouse.statistics import analyze_if_stale

GROUP = "dimensions"


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
    description="Zoho CRM users (deal owners) with their region derived from their country.",
)
def crm_users(warehouse: WarehouseResource, zoho: ZohoResource) -> dg.MaterializeResult:
    service = zoho.port()
    with failing_fast_on_fatal_zoho_errors():
        users = service.list_users()
    with warehouse.connect() as connection:
        result = load_users(connection, users, load_region_mapper(connection))
        connection.commit()
        analyze_if_stale(connection, ("crm_users", "country_regions", "regions"))
        connection.commit()
    return dg.MaterializeResult(
        metadata={"users": len(users), "inserted": result.inserted, "updated": result.updated, **_api(service)}
    )


@dg.asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"python", "sql"},
    retry_policy=EXTRACT_RETRY,
    pool=ZOHO_POOL,
    description="Stages per pipeline with Zoho's probability and forecast type; deal_status open/won/lost comes "
    "from the forecast type. Stages removed from Zoho stay, flagged inactive.",
)
def pipeline_stages(warehouse: WarehouseResource, zoho: ZohoResource) -> dg.MaterializeResult:
    service = zoho.port()
    with failing_fast_on_fatal_zoho_errors():
        stages = service.get_stage_metadata()
    with warehouse.connect() as connection:
        result, deactivated = load_stages(connection, stages)
        connection.commit()
        analyze_if_stale(connection, ("pipeline_stages",))
        connection.commit()
    return dg.MaterializeResult(
        metadata={
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
    "currency is Zoho's unless HOME_CURRENCY overrides it.",
)
def currencies(
    warehouse: WarehouseResource, zoho: ZohoResource, pipeline: PipelineSettingsResource
) -> dg.MaterializeResult:
    service = zoho.port()
    with failing_fast_on_fatal_zoho_errors():
        records = service.get_currencies()
    home = pipeline.effective_home_currency()
    with warehouse.connect() as connection:
        result = store_currency_rates(connection, records, utcnow().date(), home_override=home)
        connection.commit()
        analyze_if_stale(connection, ("currencies",))
        connection.commit()
        rates = load_currency_rates(connection, home)
    return dg.MaterializeResult(
        metadata={
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


__all__ = ["crm_users", "currencies", "pipeline_stages", "regions"]
