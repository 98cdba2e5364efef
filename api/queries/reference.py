"""Regions, stages and sync status."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas import RegionOut, StageOut, SyncStatus, SyncStream
from api.scope import RegionScope
from pipeline_pulse.models import Deal, PipelineMetric, PipelineStage, Region, SyncState, utcnow


async def region_codes(session: AsyncSession) -> frozenset[str]:
    """All known region codes (not scoped: used to decide whether a token's claim is usable)."""
    return frozenset((await session.execute(select(Region.code))).scalars())


async def regions(session: AsyncSession, scope: RegionScope) -> list[RegionOut]:
    rows = (await session.execute(select(Region).where(scope.clause(Region.code)).order_by(Region.code))).scalars()
    return [RegionOut.model_validate(row) for row in rows]


async def stages(session: AsyncSession, scope: RegionScope, pipeline: str | None) -> list[StageOut]:
    """Stage definitions are org-wide configuration, not regional data; the scope is required but unused."""
    del scope
    query = select(PipelineStage).order_by(PipelineStage.pipeline, PipelineStage.sequence)
    if pipeline is not None:
        query = query.where(PipelineStage.pipeline == pipeline)
    return [StageOut.model_validate(row) for row in (await session.execute(query)).scalars()]


async def sync_status(session: AsyncSession, scope: RegionScope) -> SyncStatus:
    streams = (await session.execute(select(SyncState).order_by(SyncState.stream))).scalars().all()
    live = (
        await session.execute(
            select(func.count()).select_from(Deal).where(Deal.deleted_at.is_(None), scope.clause(Deal.region))
        )
    ).scalar_one()
    refreshed: datetime | None = (await session.execute(select(func.max(PipelineMetric.refreshed_at)))).scalar_one()
    successes = [stream.last_success_at for stream in streams if stream.last_success_at is not None]
    last_success = max(successes) if successes else None
    return SyncStatus(
        last_success_at=last_success,
        freshness_seconds=(utcnow() - last_success).total_seconds() if last_success else None,
        live_deals=int(live),
        mart_refreshed_at=refreshed,
        streams=[SyncStream.model_validate(stream) for stream in streams],
    )
