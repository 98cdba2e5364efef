"""/health (process up, no auth) and /ready (database answers within a timeout, else 503)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from sqlalchemy import select

from api.errors import ApiError
from api.schemas import ErrorBody, Health, Ready
from pipeline_pulse.models import Region

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
async def health() -> Health:
    return Health()


@router.get("/ready", response_model=Ready, responses={503: {"model": ErrorBody}})
async def ready(request: Request) -> Ready:
    async def probe() -> None:
        async with request.app.state.engine.connect() as connection:
            await connection.execute(select(Region.code).limit(1))

    try:
        await asyncio.wait_for(probe(), timeout=request.app.state.ready_timeout_seconds)
    except TimeoutError as exc:
        raise ApiError(503, "service_unavailable", "the warehouse did not answer in time") from exc
    except Exception as exc:  # any driver error means not ready; the reason stays in the server log
        raise ApiError(503, "service_unavailable", "the warehouse is unreachable") from exc
    return Ready()
