"""Asset checks on the warehouse after each load, evaluated by one step (`deal_checks`).

One multi-asset check instead of eight single ones: each step of a run costs Dagster events (planned, start,
output, success) written to the instance, and eight check steps were most of the events of a sync with nothing
to do. Each check keeps its own key, history and severity in the UI; `can_subset` lets a run select some of
them (a check that is not selected is not evaluated), and they share one warehouse connection. The content
checks are skipped while the deals are unchanged (CONTENT_CHECKS)."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import dagster as dg
from sqlalchemy import Connection, func, select

from orchestration.assets.deals import deals
from orchestration.deal_sync import last_reconcile
from orchestration.resources import PipelineSettingsResource, WarehouseResource
from orchestration.transforms.deals import STREAM
from pipeline_pulse.models import UNASSIGNED_REGION, Currency, Deal, PipelineStage, utcnow
from pipeline_pulse.warehouse.derived import deal_change_marker, last_build, rebuild_due, record_build
from pipeline_pulse.warehouse.sync_state import read_state

LIVE = Deal.deleted_at.is_(None)


@dataclass(frozen=True, slots=True)
class CheckInputs:
    connection: Connection
    warehouse: WarehouseResource
    pipeline: PipelineSettingsResource


def deals_unique_ids(inputs: CheckInputs) -> dg.AssetCheckResult:
    dupes = inputs.connection.execute(
        select(func.count()).select_from(select(Deal.id).group_by(Deal.id).having(func.count() > 1).subquery())
    ).scalar_one()
    return dg.AssetCheckResult(passed=dupes == 0, metadata={"duplicate_ids": dupes})


def deals_no_negative_amounts(inputs: CheckInputs) -> dg.AssetCheckResult:
    negative = inputs.connection.execute(
        select(func.count()).where(LIVE, (Deal.amount < 0) | (Deal.amount_home < 0))
    ).scalar_one()
    return dg.AssetCheckResult(passed=negative == 0, metadata={"negative_amount_deals": negative})


def deals_stages_known(inputs: CheckInputs) -> dg.AssetCheckResult:
    known = select(PipelineStage.stage).where(PipelineStage.is_active.is_(True))
    rows = inputs.connection.execute(
        select(Deal.stage, func.count()).where(LIVE, Deal.stage.not_in(known)).group_by(Deal.stage).order_by(Deal.stage)
    ).all()
    unknown = {stage: count for stage, count in rows}
    return dg.AssetCheckResult(
        passed=not unknown,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"deals_with_unknown_stage": sum(unknown.values()), "unknown_stages": dg.MetadataValue.json(unknown)},
    )


def deals_currency_rates_present(inputs: CheckInputs) -> dg.AssetCheckResult:
    rated = select(Currency.iso_code)
    missing = (
        inputs.connection.execute(
            select(Deal.currency).where(LIVE, Deal.currency.is_not(None), Deal.currency.not_in(rated)).distinct()
        )
        .scalars()
        .all()
    )
    no_home_amount = inputs.connection.execute(
        select(func.count()).where(LIVE, Deal.amount.is_not(None), Deal.amount_home.is_(None))
    ).scalar_one()
    return dg.AssetCheckResult(
        passed=not missing and no_home_amount == 0,
        metadata={
            "currencies_without_rate": ", ".join(sorted(missing)) or "none",
            "deals_without_home_amount": no_home_amount,
        },
    )


def deals_unassigned_share(inputs: CheckInputs) -> dg.AssetCheckResult:
    total, unassigned = inputs.connection.execute(
        select(func.count(), func.count().filter(Deal.region == UNASSIGNED_REGION)).where(LIVE)
    ).one()
    share = unassigned / total if total else 0.0
    max_share = inputs.pipeline.max_unassigned_share
    return dg.AssetCheckResult(
        passed=share <= max_share,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"unassigned": unassigned, "live_deals": total, "share": share, "max_share": max_share},
    )


def deals_rejections(inputs: CheckInputs) -> dg.AssetCheckResult:
    state = read_state(inputs.connection, STREAM)
    extracted = state.records_extracted if state else 0
    rejected = state.records_rejected if state else 0
    share = rejected / extracted if extracted else 0.0
    max_share = inputs.pipeline.max_rejected_share
    return dg.AssetCheckResult(
        passed=rejected == 0,
        severity=dg.AssetCheckSeverity.ERROR if share > max_share else dg.AssetCheckSeverity.WARN,
        metadata={"rejected": rejected, "extracted": extracted, "share": share, "max_share": max_share},
    )


def deals_count_matches_zoho(inputs: CheckInputs) -> dg.AssetCheckResult | None:
    """None before the first full reconcile: nothing to compare yet, so not evaluated (the UI shows it skipped),
    never passed."""
    reconcile = last_reconcile(inputs.warehouse.get_engine())
    if reconcile is None:
        return None
    zoho_count, warehouse_count = reconcile.get("zoho_count"), reconcile.get("warehouse_count")
    return dg.AssetCheckResult(
        passed=zoho_count == warehouse_count,
        metadata={
            "zoho_count": zoho_count,
            "warehouse_live_count": warehouse_count,
            "reconciled_at": str(reconcile.get("finished_at")),
        },
    )


def deals_freshness(inputs: CheckInputs) -> dg.AssetCheckResult:
    state = read_state(inputs.connection, STREAM)
    last = state.last_success_at if state else None
    allowed = timedelta(minutes=2 * inputs.pipeline.sync_interval_minutes)
    age = (utcnow() - last) if last else None
    return dg.AssetCheckResult(
        passed=age is not None and age <= allowed,
        metadata={
            "last_success_at": last.isoformat() if last else "never",
            "age_minutes": round(age.total_seconds() / 60, 1) if age else -1.0,
            "allowed_minutes": allowed.total_seconds() / 60,
        },
    )


Check = Callable[[CheckInputs], dg.AssetCheckResult | None]  # None: not evaluated this run
# name -> (evaluation, description shown in the UI).
CHECKS: dict[str, tuple[Check, str]] = {
    "deals_unique_ids": (deals_unique_ids, "Deal ids are unique (one row per Zoho deal)."),
    "deals_no_negative_amounts": (deals_no_negative_amounts, "No live deal has a negative amount or home amount."),
    "deals_stages_known": (
        deals_stages_known,
        "Every live deal's stage is an active stage in pipeline_stages (warns: unknown stages fall back to "
        "Zoho's probability for open/won/lost).",
    ),
    "deals_currency_rates_present": (
        deals_currency_rates_present,
        "Every currency used by a live deal has an exchange rate in currencies.",
    ),
    "deals_unassigned_share": (
        deals_unassigned_share,
        "Share of live deals in region Unassigned stays below the configured share.",
    ),
    "deals_rejections": (
        deals_rejections,
        "Rejected records of the last deals run: warns on any, fails above the configured share.",
    ),
    "deals_count_matches_zoho": (
        deals_count_matches_zoho,
        "After the last full reconcile, live deals in the warehouse equal Zoho's count_deals.",
    ),
    "deals_freshness": (
        deals_freshness,
        "The last successful deals sync finished within twice the schedule interval.",
    ),
}


# Checks of the deals' content alone (and of the slowly changing stages and currencies): when the deals have not
# changed since they last ran (warehouse/derived.py), running them again can only repeat that answer, at the cost
# of a scan of `deals` each. The others read sync state or the clock and always run.
CONTENT_CHECKS = frozenset(
    {
        "deals_unique_ids",
        "deals_no_negative_amounts",
        "deals_stages_known",
        "deals_currency_rates_present",
        "deals_unassigned_share",
    }
)


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(name, asset=deals, description=description) for name, (_, description) in CHECKS.items()],
    can_subset=True,
    name="deal_checks",
    description="The deals asset's checks, in one step. The content checks are evaluated when the deals changed "
    "since their last evaluation, or when it is PIPELINE_DERIVED_MAX_AGE_MINUTES old or from an earlier UTC day; "
    "otherwise this run does not evaluate them and the UI keeps their last result.",
)
def deal_checks(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, pipeline: PipelineSettingsResource
) -> Iterator[dg.AssetCheckResult]:
    selected = sorted(key.name for key in context.selected_asset_check_keys)
    with warehouse.connect() as connection:
        marker = deal_change_marker(connection)
        build = last_build(connection, "deal_checks")
        content_current = build is not None and not rebuild_due(
            build, marker, utcnow(), pipeline.derived_max_age_minutes
        )
        if content_current and build is not None:
            context.log.info(
                "content checks not re-evaluated: the deals are unchanged since their evaluation at %s",
                build.built_at.isoformat(),
            )
        inputs = CheckInputs(connection, warehouse, pipeline)
        for name in selected:
            if content_current and name in CONTENT_CHECKS:
                continue
            evaluate, _ = CHECKS[name]
            result = evaluate(inputs)
            if result is None:
                # Not evaluated: Dagster records the planned check as skipped once the run succeeds.
                context.log.info("%s: not evaluated (nothing to check yet)", name)
                continue
            yield dg.AssetCheckResult(
                check_name=name,
                asset_key=deals.key,
                passed=result.passed,
                severity=result.severity,
                metadata=result.metadata,
            )
        if not content_current and set(selected) >= CONTENT_CHECKS:
            record_build(connection, "deal_checks", marker, context.run.run_id)
            connection.commit()


DEAL_CHECKS = [deal_checks]
__all__ = ["CHECKS", "CONTENT_CHECKS", "DEAL_CHECKS"]
