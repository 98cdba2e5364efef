"""Asset checks on the warehouse after each load."""

from datetime import timedelta

import dagster as dg
from sqlalchemy import func, select

from orchestration.assets.deals import deals
from orchestration.deal_sync import last_reconcile
from orchestration.resources import PipelineSettingsResource, WarehouseResource
from orchestration.transforms.deals import STREAM
from pipeline_pulse.models import UNASSIGNED_REGION, Currency, Deal, PipelineStage, utcnow
from pipeline_pulse.warehouse.sync_state import read_state

LIVE = Deal.deleted_at.is_(None)


@dg.asset_check(asset=deals, description="Deal ids are unique (one row per Zoho deal).")
def deals_unique_ids(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as connection:
        dupes = connection.execute(
            select(func.count()).select_from(select(Deal.id).group_by(Deal.id).having(func.count() > 1).subquery())
        ).scalar_one()
    return dg.AssetCheckResult(passed=dupes == 0, metadata={"duplicate_ids": dupes})


@dg.asset_check(asset=deals, description="No live deal has a negative amount or home amount.")
def deals_no_negative_amounts(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as connection:
        negative = connection.execute(
            select(func.count()).where(LIVE, (Deal.amount < 0) | (Deal.amount_home < 0))
        ).scalar_one()
    return dg.AssetCheckResult(passed=negative == 0, metadata={"negative_amount_deals": negative})


@dg.asset_check(
    asset=deals,
    description="Every live deal's stage is an active stage in pipeline_stages (warns: unknown stages fall back to "
    "Zoho's probability for open/won/lost).",
)
def deals_stages_known(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as connection:
        known = select(PipelineStage.stage).where(PipelineStage.is_active.is_(True))
        rows = connection.execute(
            select(Deal.stage, func.count())
            .where(LIVE, Deal.stage.not_in(known))
            .group_by(Deal.stage)
            .order_by(Deal.stage)
        ).all()
    unknown = {stage: count for stage, count in rows}
    return dg.AssetCheckResult(
        passed=not unknown,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"deals_with_unknown_stage": sum(unknown.values()), "unknown_stages": dg.MetadataValue.json(unknown)},
    )


@dg.asset_check(asset=deals, description="Every currency used by a live deal has an exchange rate in currencies.")
def deals_currency_rates_present(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as connection:
        rated = select(Currency.iso_code)
        missing = (
            connection.execute(
                select(Deal.currency).where(LIVE, Deal.currency.is_not(None), Deal.currency.not_in(rated)).distinct()
            )
            .scalars()
            .all()
        )
        no_home_amount = connection.execute(
            select(func.count()).where(LIVE, Deal.amount.is_not(None), Deal.amount_home.is_(None))
        ).scalar_one()
    return dg.AssetCheckResult(
        passed=not missing and no_home_amount == 0,
        metadata={
            "currencies_without_rate": ", ".join(sorted(missing)) or "none",
            "deals_without_home_amount": no_home_amount,
        },
    )


@dg.asset_check(asset=deals, description="Share of live deals in region Unassigned stays below the configured share.")
def deals_unassigned_share(warehouse: WarehouseResource, pipeline: PipelineSettingsResource) -> dg.AssetCheckResult:
    with warehouse.connect() as connection:
        total = connection.execute(select(func.count()).where(LIVE)).scalar_one()
        unassigned = connection.execute(select(func.count()).where(LIVE, Deal.region == UNASSIGNED_REGION)).scalar_one()
    share = unassigned / total if total else 0.0
    return dg.AssetCheckResult(
        passed=share <= pipeline.max_unassigned_share,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "unassigned": unassigned,
            "live_deals": total,
            "share": share,
            "max_share": pipeline.max_unassigned_share,
        },
    )


@dg.asset_check(
    asset=deals,
    description="Rejected records of the last deals run: warns on any, fails above the configured share.",
)
def deals_rejections(warehouse: WarehouseResource, pipeline: PipelineSettingsResource) -> dg.AssetCheckResult:
    with warehouse.connect() as connection:
        state = read_state(connection, STREAM)
    extracted = state.records_extracted if state else 0
    rejected = state.records_rejected if state else 0
    share = rejected / extracted if extracted else 0.0
    too_many = share > pipeline.max_rejected_share
    return dg.AssetCheckResult(
        passed=rejected == 0,
        severity=dg.AssetCheckSeverity.ERROR if too_many else dg.AssetCheckSeverity.WARN,
        metadata={
            "rejected": rejected,
            "extracted": extracted,
            "share": share,
            "max_share": pipeline.max_rejected_share,
        },
    )


@dg.asset_check(
    asset=deals,
    description="After the last full reconcile, live deals in the warehouse equal Zoho's count_deals.",
)
def deals_count_matches_zoho(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    reconcile = last_reconcile(warehouse.get_engine())
    if reconcile is None:
        return dg.AssetCheckResult(
            passed=True, severity=dg.AssetCheckSeverity.WARN, metadata={"status": "no full reconcile has run yet"}
        )
    zoho_count, warehouse_count = reconcile.get("zoho_count"), reconcile.get("warehouse_count")
    return dg.AssetCheckResult(
        passed=zoho_count == warehouse_count,
        metadata={
            "zoho_count": zoho_count,
            "warehouse_live_count": warehouse_count,
            "reconciled_at": str(reconcile.get("finished_at")),
        },
    )


@dg.asset_check(asset=deals, description="The last successful deals sync finished within twice the schedule interval.")
def deals_freshness(warehouse: WarehouseResource, pipeline: PipelineSettingsResource) -> dg.AssetCheckResult:
    with warehouse.connect() as connection:
        state = read_state(connection, STREAM)
    last = state.last_success_at if state else None
    allowed = timedelta(minutes=2 * pipeline.sync_interval_minutes)
    age = (utcnow() - last) if last else None
    return dg.AssetCheckResult(
        passed=age is not None and age <= allowed,
        metadata={
            "last_success_at": last.isoformat() if last else "never",
            "age_minutes": round(age.total_seconds() / 60, 1) if age else -1.0,
            "allowed_minutes": allowed.total_seconds() / 60,
        },
    )


DEAL_CHECKS = [
    deals_unique_ids,
    deals_no_negative_amounts,
    deals_stages_known,
    deals_currency_rates_present,
    deals_unassigned_share,
    deals_rejections,
    deals_count_matches_zoho,
    deals_freshness,
]
__all__ = ["DEAL_CHECKS"]
