"""Dagster resources: the warehouse (a SQLAlchemy engine) and Zoho (the service layer), plus pipeline knobs.

Both default to the process settings (`get_settings()`: env, `.env`, AWS Secrets Manager in production), so
`dagster job execute` needs nothing but the environment; tests pass explicit values or subclass them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr
from sqlalchemy import Connection, Engine, text

from pipeline_pulse.core.config import PipelineSettings, Settings
from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.core.settings import get_settings
from pipeline_pulse.services.zoho.port import ZohoPort

# Postgres advisory-lock key of "a Zoho sync is writing" (any constant bigint; this one spells PPZOHO).
SYNC_LOCK_KEY = 0x50505A4F484F


class SyncAlreadyRunningError(RuntimeError):
    pass


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse database. `database_url` None = DATABASE_URL from the settings."""

    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default: settings DATABASE_URL.")
    _engine: Engine | None = PrivateAttr(default=None)

    def url(self) -> str:
        return self.database_url or get_settings().sqlalchemy_url()

    def get_engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_sync_engine(self.url(), bounds=get_settings().etl_db_bounds())
        return self._engine

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.get_engine().connect() as connection:
            yield connection

    @contextmanager
    def sync_guard(self) -> Iterator[None]:
        """Refuse to run when another sync holds the lock. Postgres: a session advisory lock on its own
        connection (released on disconnect, so a killed run never leaves it held). SQLite allows a single
        writer anyway; there the run-queue concurrency limit is the guard."""
        engine = self.get_engine()
        if engine.dialect.name != "postgresql":
            yield
            return
        with engine.connect() as lock_connection:
            acquired = lock_connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": SYNC_LOCK_KEY}
            ).scalar()
            lock_connection.commit()
            if not acquired:
                raise SyncAlreadyRunningError(
                    "another Zoho sync holds the warehouse sync lock; not starting a second one"
                )
            try:
                yield
            finally:
                lock_connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SYNC_LOCK_KEY})
                lock_connection.commit()


class ZohoResource(dg.ConfigurableResource):
    """Zoho CRM as a `ZohoPort` (`UnifiedZohoCRMService`; endpoints and OAuth from the settings). It owns the
    wiring: the SDK's token store lives in `warehouse`, and one port serves every step of a run (field
    metadata and the SDK initialization are paid once). Tests subclass it and override `build_port`."""

    warehouse: WarehouseResource
    bulk_threshold: int | None = Field(
        default=None, description="Use Bulk Read above this many deals; default: settings ZOHO_BULK_THRESHOLD."
    )
    _port: ZohoPort | None = PrivateAttr(default=None)

    def effective_bulk_threshold(self) -> int:
        return self.bulk_threshold if self.bulk_threshold is not None else get_settings().zoho_bulk_threshold

    def build_port(self) -> ZohoPort:
        from pipeline_pulse.services.zoho.crm_service import UnifiedZohoCRMService

        return UnifiedZohoCRMService.from_settings(get_settings(), engine=self.warehouse.get_engine())

    def port(self) -> ZohoPort:
        """The run's port, its counters reset (each asset reports the calls it made)."""
        if self._port is None:
            self._port = self.build_port()
        self._port.reset_counters()
        return self._port

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._port = None


_DEFAULTS = PipelineSettings.model_fields


class PipelineSettingsResource(dg.ConfigurableResource):
    """Thresholds of the asset checks, the schedule interval the freshness check compares against, and how
    often the dimension assets re-read Zoho and the derived ones rebuild without a change.

    The code location builds it `from_settings` (the environment); the defaults are `PipelineSettings`' own."""

    sync_interval_minutes: int = Field(default=_DEFAULTS["zoho_sync_interval_minutes"].default, ge=1)
    max_rejected_share: float = Field(default=_DEFAULTS["pipeline_max_rejected_share"].default, ge=0, le=1)
    max_unassigned_share: float = Field(default=_DEFAULTS["pipeline_max_unassigned_share"].default, ge=0, le=1)
    dimension_refresh_minutes: int = Field(default=_DEFAULTS["zoho_dimension_refresh_minutes"].default, ge=0)
    derived_max_age_minutes: int = Field(default=_DEFAULTS["pipeline_derived_max_age_minutes"].default, ge=0)
    home_currency: str | None = Field(default=None, description="Override Zoho's home currency (ISO code).")

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> PipelineSettingsResource:
        values: dict[str, Any] = {
            "sync_interval_minutes": settings.pipeline.zoho_sync_interval_minutes,
            "max_rejected_share": settings.pipeline.pipeline_max_rejected_share,
            "max_unassigned_share": settings.pipeline.pipeline_max_unassigned_share,
            "dimension_refresh_minutes": settings.pipeline.zoho_dimension_refresh_minutes,
            "derived_max_age_minutes": settings.pipeline.pipeline_derived_max_age_minutes,
        }
        return cls(**{**values, **overrides})

    def effective_home_currency(self) -> str | None:
        return self.home_currency or get_settings().home_currency
