"""Loading the dimension tables from Zoho metadata: CRM users and pipeline stages."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, and_, not_, tuple_, update

from pipeline_pulse.models import CrmUser, PipelineStage, utcnow
from pipeline_pulse.services.zoho.records import CrmUserRecord, StageRecord
from pipeline_pulse.warehouse.data_version import bump_data_version
from pipeline_pulse.warehouse.regions import RegionMapper
from pipeline_pulse.warehouse.upsert import UpsertResult, UpsertSpec, upsert

FORECAST_STATUS = {"open": "open", "closed won": "won", "closed lost": "lost"}

_USER_DATA = (
    "full_name",
    "email",
    "role_name",
    "profile_name",
    "status",
    "is_active",
    "country",
    "region",
    "modified_time",
)
USER_UPSERT = UpsertSpec(
    table=CrmUser.__table__,  # type: ignore[arg-type]
    key=("id",),
    update=(*_USER_DATA, "synced_at"),
    compare=_USER_DATA,
)
_STAGE_DATA = (
    "zoho_stage_id",
    "sequence",
    "probability",
    "forecast_type",
    "forecast_category",
    "deal_status",
    "is_active",
)
STAGE_UPSERT = UpsertSpec(
    table=PipelineStage.__table__,  # type: ignore[arg-type]
    key=("pipeline", "stage"),
    update=(*_STAGE_DATA, "synced_at"),
    compare=_STAGE_DATA,
)


def status_of_forecast_type(forecast_type: str | None) -> str | None:
    """open / won / lost from Zoho's forecast type; None when it is missing or unrecognised."""
    if not forecast_type:
        return None
    return FORECAST_STATUS.get(forecast_type.strip().casefold())


def load_users(connection: Connection, users: Sequence[CrmUserRecord], regions: RegionMapper) -> UpsertResult:
    now = utcnow()
    rows = [
        {
            "id": user.id,
            "full_name": user.full_name,
            "email": user.email,
            "role_name": user.role_name,
            "profile_name": user.profile_name,
            "status": user.status,
            "is_active": (user.status or "active").casefold() == "active",
            "country": user.country,
            "region": regions.region_of_country(user.country),
            "modified_time": user.modified_time,
            "synced_at": now,
        }
        for user in users
    ]
    result = upsert(connection, USER_UPSERT, rows)
    if result.inserted or result.updated:
        bump_data_version(connection)  # owner names in /metrics/by-owner
    return result


def load_stages(connection: Connection, stages: Sequence[StageRecord]) -> tuple[UpsertResult, int]:
    """Upsert the stages Zoho lists; stages no longer listed are kept but flagged inactive. Returns
    (result, number newly deactivated). A stage with an unknown forecast type is treated as open."""
    now = utcnow()
    rows = [
        {
            "pipeline": stage.pipeline,
            "stage": stage.stage,
            "zoho_stage_id": stage.zoho_stage_id,
            "sequence": stage.sequence,
            "probability": min(max(stage.probability, 0), 100),
            "forecast_type": stage.forecast_type,
            "forecast_category": stage.forecast_category,
            "deal_status": status_of_forecast_type(stage.forecast_type) or "open",
            "is_active": stage.is_active,
            "synced_at": now,
        }
        for stage in stages
    ]
    result = upsert(connection, STAGE_UPSERT, rows)
    deactivated = 0
    if rows:
        listed = [(row["pipeline"], row["stage"]) for row in rows]
        deactivated = connection.execute(
            update(PipelineStage)
            .where(
                and_(
                    PipelineStage.is_active.is_(True),
                    not_(tuple_(PipelineStage.pipeline, PipelineStage.stage).in_(listed)),
                )
            )
            .values(is_active=False, synced_at=now)
        ).rowcount
    if result.inserted or result.updated or deactivated:
        bump_data_version(connection)  # /stages, stage sequence in /metrics/by-stage and /funnel
    return result, deactivated
