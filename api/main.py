"""The FastAPI app factory; `app` is what `uvicorn api.main:app` serves."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware

from api.dashboard_page import install_dashboard
from api.docs import install_offline_docs
from api.errors import install_error_handlers
from api.hit_path import HitPathMiddleware
from api.log_safety import SafeFormatter
from api.middleware import DropAll, RequestIdLogFilter, RequestIdMiddleware
from api.response_cache import GZIP_MINIMUM_BYTES, CacheConfig, ResponseCache, version_poller
from api.routers import attention, deals, forecast, health, metrics, reference, stage_analytics
from api.security import TokenVerifier
from api.strict_query import reject_unknown_query_parameters
from pipeline_pulse.core.config import Settings
from pipeline_pulse.core.db import create_async_db_engine, is_sqlite
from pipeline_pulse.core.startup import exit_on_configuration_error, settings_or_exit

API_PREFIX = "/api/v1"
DESCRIPTION = """Region-scoped pipeline metrics from the Pipeline Pulse warehouse, in home currency.

Every endpoint except /health and /ready needs `Authorization: Bearer <JWT>` (the Authorize button); answers
only ever include the regions in the token (`regions` claim, or all for `"*"` / role `admin`). Errors are
`{"error": {"code", "message"}}`. Zoho ids are decimal strings in answers, paths and filters. Unknown query
parameters, region codes, pipelines and stages are 422s that name the parameter.
Metrics carry an ETag; send it back as If-None-Match to get 304 while nothing changed.

Answers of the metrics endpoints, /deals pages, /regions and /stages are cached in each server process per
(endpoint, your effective region scope, parameters) and dropped when the warehouse's data version changes
(polled every API_CACHE_VERSION_POLL_SECONDS, default 1 s): an answer may lag a finished ETL write by up to
one poll interval. /sync/status, /deals/{id}, /health and /ready are never cached."""


def configure_logging(level: str) -> None:
    """Log lines of the `api` loggers carry the request id; `level` is API_LOG_LEVEL. The access
    log is ours (api.access: escaped target, redacted query, request id); uvicorn's is silenced, however
    uvicorn was started (a logger filter survives uvicorn's own logging set-up)."""
    uvicorn_access = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, DropAll) for existing in uvicorn_access.filters):
        uvicorn_access.addFilter(DropAll())
    logger = logging.getLogger("api")
    logger.setLevel(level)
    if not any(isinstance(handler_filter, RequestIdLogFilter) for h in logger.handlers for handler_filter in h.filters):
        handler = logging.StreamHandler()
        handler.addFilter(RequestIdLogFilter())
        handler.setFormatter(SafeFormatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False


def api_engine_options(settings: Settings) -> dict[str, object]:
    """The read API's engine: autocommit (reads only; under READ COMMITTED every statement already takes its own
    snapshot, so an explicit BEGIN / ROLLBACK per request bought nothing but two round trips) and, on Postgres,
    no pre-ping round trip per checkout: connections are recycled after 30 minutes, a connection found dead
    mid-query invalidates the pool (SQLAlchemy) and that request answers 503. The pool holds as many
    connections as a worker serves concurrent requests (API_DB_POOL_SIZE) so a burst does not open and close
    overflow connections per request; statements, connects and checkouts are bounded (API_DB_*_TIMEOUT_SECONDS)
    so a stuck or saturated database answers 503 within seconds instead of holding the request."""
    options: dict[str, object] = {"isolation_level": "AUTOCOMMIT", "bounds": settings.api.db_bounds()}
    if not is_sqlite(settings.database_url):
        options.update(
            pool_pre_ping=False,
            pool_recycle=1800,
            pool_size=settings.api.db_pool_size,
            max_overflow=settings.api.db_max_overflow,
        )
    return options


def create_app(
    settings: Settings | None = None, *, ready_timeout_seconds: float = 2.0, cache: CacheConfig | None = None
) -> FastAPI:
    """`settings`: default the process settings, and a misconfigured start (e.g. production without its secret,
    or no JWT key) exits with one line, not a traceback. `cache`: the response cache's poll interval and bounds
    (default: the API_CACHE_* settings)."""
    if settings is None:
        settings = settings_or_exit()
        token_verifier = exit_on_configuration_error(TokenVerifier, settings)
    else:
        token_verifier = TokenVerifier(settings)
    configure_logging(settings.api.log_level)
    engine = create_async_db_engine(settings.sqlalchemy_url(), **api_engine_options(settings))
    cache_config = cache or CacheConfig.from_settings(settings.api)
    response_cache = ResponseCache(cache_config) if cache_config.enabled else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with version_poller(engine, response_cache):
            # The app, its routes, models and compiled statements live as long as the process: out of the
            # collector's sight, so a full collection (every few hundred /deals pages) scans only what requests
            # allocate instead of the whole import-time heap (p99 of /deals misses ~75 ms at p50 ~15 ms before).
            gc.freeze()
            yield
        try:  # a wedged connection must not keep the process from exiting
            await asyncio.wait_for(engine.dispose(), timeout=10)
        except TimeoutError:
            logging.getLogger("api").warning("database pool did not close within 10 s; exiting anyway")

    app = FastAPI(
        title="Pipeline Pulse API",
        version="1.5.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served offline by install_offline_docs
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.response_cache = response_cache  # None when disabled; bypassed until the first version poll
    app.state.token_verifier = token_verifier
    app.state.ready_timeout_seconds = ready_timeout_seconds

    install_offline_docs(app)
    install_dashboard(app)
    install_error_handlers(app)
    if response_cache is not None:  # innermost: the middleware below apply to recalled answers too
        app.add_middleware(HitPathMiddleware, cache=response_cache, verifier=token_verifier, state=app.state)
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "OPTIONS"],
            allow_headers=["Authorization", "If-None-Match", "X-Request-ID"],
            expose_headers=["ETag", "X-Request-ID"],
        )
    app.add_middleware(RequestIdMiddleware)

    v1 = APIRouter(prefix=API_PREFIX, dependencies=[Depends(reject_unknown_query_parameters)])
    v1.include_router(metrics.router)
    v1.include_router(forecast.router)
    v1.include_router(stage_analytics.router)
    v1.include_router(attention.router)  # before deals: /deals/attention is not a deal id
    v1.include_router(deals.router)
    v1.include_router(reference.router)
    app.include_router(v1)
    app.include_router(health.router)
    app.include_router(health.router, prefix=API_PREFIX, include_in_schema=False)
    return app


def __getattr__(name: str) -> FastAPI:
    # `uvicorn api.main:app` builds the app when it asks for it: importing this module reads no settings.
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    built = globals()["app"] = create_app()
    return built
