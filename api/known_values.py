"""Closed sets whose members live in the warehouse: region codes, pipelines and their stages.

A value outside them is a 422 listing the known ones, for every caller alike (an admin asking for `region=Mars`
gets the same answer as a regional token). Known pipelines and stages are those of `pipeline_stages` plus any
that live deals still carry (the mart's groups), so a stage removed from Zoho's picklist stays filterable while
deals sit in it. Region codes change only by migration and are read once per process; pipelines and stages are
re-read when the warehouse data version changes (with the response cache on), else at most every
KNOWN_VALUES_TTL_SECONDS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy import select, union
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.errors import ApiError
from pipeline_pulse.models import PipelineMetric, PipelineStage, Region

KNOWN_VALUES_TTL_SECONDS = 1.0
LISTED_AT_MOST = 40  # names listed in an error message


@dataclass(frozen=True)
class Catalogue:
    pipelines: frozenset[str]
    stages_by_pipeline: dict[str, frozenset[str]] = field(hash=False)
    stages: frozenset[str]


def _listing(names: frozenset[str] | set[str]) -> str:
    ordered = sorted(names)
    shown = ", ".join(ordered[:LISTED_AT_MOST])
    return shown + (f", ... ({len(ordered)} in all)" if len(ordered) > LISTED_AT_MOST else "") if ordered else "none"


def unknown_value(parameter: str, value: str, kind: str, known: frozenset[str] | set[str], where: str = "") -> ApiError:
    return ApiError(422, "validation_error", f"{parameter}: unknown {kind} {value!r}{where}; known: {_listing(known)}")


async def load_region_codes(connection: AsyncConnection) -> frozenset[str]:
    return frozenset((await connection.execute(select(Region.code))).scalars())


async def load_catalogue(connection: AsyncConnection) -> Catalogue:
    pairs = union(
        select(PipelineStage.pipeline, PipelineStage.stage),
        select(PipelineMetric.pipeline, PipelineMetric.stage).distinct(),
    )
    by_pipeline: dict[str, set[str]] = {}
    stages: set[str] = set()
    for pipeline, stage in (await connection.execute(pairs)).all():
        stages.add(stage)
        if pipeline is not None:
            by_pipeline.setdefault(pipeline, set()).add(stage)
    return Catalogue(
        pipelines=frozenset(by_pipeline),
        stages_by_pipeline={name: frozenset(values) for name, values in by_pipeline.items()},
        stages=frozenset(stages),
    )


async def region_codes(request: Request) -> frozenset[str]:
    cached: frozenset[str] | None = getattr(request.app.state, "region_codes", None)
    if cached is None:
        engine: AsyncEngine = request.app.state.engine
        async with engine.connect() as connection:
            cached = await load_region_codes(connection)
        request.app.state.region_codes = cached
    return cached


async def catalogue(request: Request) -> Catalogue:
    state = request.app.state
    cache = state.response_cache
    version = cache.version if cache is not None and cache.active else None
    held: tuple[Catalogue, int | None, float] | None = getattr(state, "known_catalogue", None)
    now = time.monotonic()
    if held is not None:
        values, held_version, loaded_at = held
        fresh = held_version == version if version is not None else now - loaded_at < KNOWN_VALUES_TTL_SECONDS
        if fresh:
            return values
    engine: AsyncEngine = state.engine
    async with engine.connect() as connection:
        values = await load_catalogue(connection)
    state.known_catalogue = (values, version, now)
    return values


async def check_region(request: Request, region: str | None) -> None:
    if region is not None:
        known = await region_codes(request)
        if region not in known:
            raise unknown_value("region", region, "region", known)


async def check_pipeline_and_stage(request: Request, pipeline: str | None, stage: str | None) -> None:
    if pipeline is None and stage is None:
        return
    values = await catalogue(request)
    if pipeline is not None and pipeline not in values.pipelines:
        raise unknown_value("pipeline", pipeline, "pipeline", values.pipelines)
    if stage is not None:
        if pipeline is not None:
            known = values.stages_by_pipeline[pipeline]
            if stage not in known:
                raise unknown_value("stage", stage, "stage", known, f" in pipeline {pipeline!r}")
        elif stage not in values.stages:
            raise unknown_value("stage", stage, "stage", values.stages)
