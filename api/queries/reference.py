"""Regions, stages and sync status."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import KeyedColumnElement

from api.schemas import RegionOut, StageOut, SyncStatus, SyncStream
from api.scope import RegionScope
from pipeline_pulse.models import Base, Deal, PipelineMetric, PipelineStage, Region, SyncState, utcnow
from pipeline_pulse.warehouse.history import HISTORY_START_QUERY
from pipeline_pulse.warehouse.sync_state import NOT_RUN_STREAMS


def _columns(model: type[Base], schema: type[BaseModel]) -> list[KeyedColumnElement[object]]:
    """The table columns a response model shows (Core rows, no ORM entities)."""
    return [model.__table__.c[name] for name in schema.model_fields]


async def regions(connection: AsyncConnection, scope: RegionScope) -> list[RegionOut]:
    query = select(*_columns(Region, RegionOut)).where(scope.clause(Region.code)).order_by(Region.code)
    rows = (await connection.execute(query)).all()
    return [RegionOut.model_validate(row) for row in rows]


async def stages(connection: AsyncConnection, scope: RegionScope, pipeline: str | None) -> list[StageOut]:
    """Stage definitions are org-wide configuration, not regional data; the scope is required but unused."""
    del scope
    query = select(*_columns(PipelineStage, StageOut)).order_by(PipelineStage.pipeline, PipelineStage.sequence)
    if pipeline is not None:
        query = query.where(PipelineStage.pipeline == pipeline)
    return [StageOut.model_validate(row) for row in (await connection.execute(query)).all()]


# Counters of a run cover every region: shown only to a caller who sees all regions.
ORG_WIDE_STREAM_FIELDS = tuple(name for name in SyncStream.model_fields if name.startswith("records_"))


def _stream_for(scope: RegionScope, row: object) -> SyncStream:
    stream = SyncStream.model_validate(row)
    return stream if scope.is_all else stream.model_copy(update=dict.fromkeys(ORG_WIDE_STREAM_FIELDS))


async def sync_status(connection: AsyncConnection, scope: RegionScope) -> SyncStatus:
    streams = (
        await connection.execute(
            select(*_columns(SyncState, SyncStream))
            .where(SyncState.stream.not_in(NOT_RUN_STREAMS))
            .order_by(SyncState.stream)
        )
    ).all()
    history_start = (await connection.execute(HISTORY_START_QUERY)).scalar()
    live = (
        await connection.execute(
            select(func.count()).select_from(Deal).where(Deal.deleted_at.is_(None), scope.clause(Deal.region))
        )
    ).scalar_one()
    refreshed: datetime | None = (await connection.execute(select(func.max(PipelineMetric.refreshed_at)))).scalar_one()
    successes = [stream.last_success_at for stream in streams if stream.last_success_at is not None]
    last_success = max(successes) if successes else None
    return SyncStatus(
        last_success_at=last_success,
        freshness_seconds=(utcnow() - last_success).total_seconds() if last_success else None,
        live_deals=int(live),
        mart_refreshed_at=refreshed,
        history_starts_at=history_start,
        streams=[_stream_for(scope, stream) for stream in streams],
    )
