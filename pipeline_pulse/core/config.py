"""The settings classes: every environment variable the code reads is a field of one of them.

`Settings` holds what every process shares; `ApiSettings` (prefix `API_`), `EtlSettings` (prefix `ETL_`) and
`PipelineSettings` are its per-area parts, read from the same environment and `.env` (`settings.api`,
`settings.etl`, `settings.pipeline`); `DemoSettings` (`DEMO_*`) is read by `make run` only. Nothing here
reads anything at import time: `pipeline_pulse.core.settings.load_settings()` builds them, overlays the
production secret and runs `check_complete()`. To add a setting: add a typed field with a `description` to
the class of its area, then run `python -m tools.settings_doc` (the README table is generated from here).
"""

from __future__ import annotations

import base64
import binascii
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_serializer, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from pipeline_pulse.core.db import API_DB_BOUNDS, ETL_DB_BOUNDS, DbBounds

DEFAULT_DATABASE_URL = "sqlite:///./pipeline_pulse.db"
# Where `make run` writes its generated development keys (named in the errors that ask for a key).
DEV_KEYS_HINT = "`make run` generates development keys into .run/dev-keys.env"


class ConfigurationError(RuntimeError):
    """Start-up configuration is missing or inconsistent; the message says which variable and why."""


def mask_url_password(url: str) -> str:
    """The URL with any password replaced by ***, for reprs and messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: show nothing of it rather than risk a secret
        return "<unparseable url>"


class AppEnv(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


ZohoDataCenter = Literal["US", "EU", "IN", "AU", "JP", "CA", "SA", "CN"]
ZohoEnvironment = Literal["production", "sandbox", "developer"]
JwtAlgorithm = Literal["HS256", "RS256"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
ArrowMemoryPool = Literal["jemalloc", "mimalloc", "system"]

# Keys of the production secret (a JSON object) that may override settings; anything else is ignored.
SECRET_KEYS: tuple[str, ...] = (
    "zoho_client_id",
    "zoho_client_secret",
    "zoho_refresh_token",
    "zoho_user_email",
    "jwt_secret",
    "jwt_public_key",
    "jwt_private_key",
    "database_password",
    "token_encryption_key",
)
_ENV_FILE = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False)


def _db_bounds(part: ApiSettings | EtlSettings) -> DbBounds:
    return DbBounds(
        statement_timeout_seconds=part.db_statement_timeout_seconds,
        lock_timeout_seconds=part.db_lock_timeout_seconds,
        connect_timeout_seconds=part.db_connect_timeout_seconds,
        pool_timeout_seconds=part.db_pool_timeout_seconds,
    )


class ApiSettings(BaseSettings):
    """The read API's knobs (`API_*`)."""

    model_config = SettingsConfigDict(**_ENV_FILE, env_prefix="API_")

    log_level: LogLevel = Field(default="INFO", description="level of the `api` loggers")
    # Per API worker process; workers x (size + overflow) must stay below Postgres max_connections.
    db_pool_size: int = Field(
        default=20,
        ge=1,
        le=200,
        description="warehouse connections kept per API worker process (workers × (size + overflow) < Postgres `max_connections`)",
    )
    db_max_overflow: int = Field(default=10, ge=0, le=200, description="extra connections allowed under a burst")
    # Bounds of every database wait (see core/db.DbBounds): a frozen database answers 503 within them.
    db_statement_timeout_seconds: float = Field(
        default=API_DB_BOUNDS.statement_timeout_seconds,
        gt=0,
        le=600,
        description="server-side bound of an API statement; the driver gives up 1 s later (a frozen server answers nothing), so the request answers 503",
    )
    db_lock_timeout_seconds: float = Field(
        default=API_DB_BOUNDS.lock_timeout_seconds, gt=0, le=600, description="longest wait for a lock"
    )
    db_connect_timeout_seconds: float = Field(
        default=API_DB_BOUNDS.connect_timeout_seconds, gt=0, le=600, description="longest wait for a connection"
    )
    db_pool_timeout_seconds: float = Field(
        default=API_DB_BOUNDS.pool_timeout_seconds, gt=0, le=600, description="longest wait for a pooled connection"
    )
    cache_version_poll_seconds: float = Field(
        default=1.0, ge=0, le=3600, description="how often the response cache polls the data version; 0 disables it"
    )
    cache_max_entries: int = Field(default=4096, ge=0, description="response cache entries per API process")
    cache_max_bytes: int = Field(default=32 * 1024 * 1024, ge=0, description="response cache bytes per API process")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    def db_bounds(self) -> DbBounds:
        return _db_bounds(self)


class EtlSettings(BaseSettings):
    """Bounds of the pipeline's database waits (`ETL_*`): a stuck run stops instead of hanging."""

    model_config = SettingsConfigDict(**_ENV_FILE, env_prefix="ETL_")

    db_statement_timeout_seconds: float = Field(
        default=ETL_DB_BOUNDS.statement_timeout_seconds,
        gt=0,
        description="server-side bound of a pipeline / tools / migrations statement: stops a stuck run, not a long COPY",
    )
    db_lock_timeout_seconds: float = Field(
        default=ETL_DB_BOUNDS.lock_timeout_seconds, gt=0, description="longest wait for a lock"
    )
    db_connect_timeout_seconds: float = Field(
        default=ETL_DB_BOUNDS.connect_timeout_seconds, gt=0, le=600, description="longest wait for a connection"
    )
    db_pool_timeout_seconds: float = Field(
        default=ETL_DB_BOUNDS.pool_timeout_seconds, gt=0, description="longest wait for a pooled connection"
    )

    def db_bounds(self) -> DbBounds:
        return _db_bounds(self)


class PipelineSettings(BaseSettings):
    """The Dagster code location's schedules and asset-check thresholds."""

    model_config = _ENV_FILE

    zoho_sync_interval_minutes: int = Field(
        default=15, description="incremental sync schedule, in minutes; must divide 60"
    )
    zoho_reconcile_cron: str = Field(default="30 2 * * *", description="nightly full reconcile (cron, UTC)")
    zoho_dimension_refresh_minutes: int = Field(
        default=60,
        ge=0,
        description="re-read users, stages and currencies from Zoho when their last refresh is older than this "
        "(currencies also once per UTC day; the full reconcile always), one of them per sync when several are "
        "due; 0 = all of them every sync",
    )
    pipeline_derived_max_age_minutes: int = Field(
        default=60,
        ge=0,
        description="recompute deal health and the deal content checks when deals changed since their last run, "
        "or when that run is older than this or from an earlier UTC day; the metrics mart applies the changed deals "
        "and is rebuilt in full once per UTC day (its only clock input); 0 = all of them in full every sync",
    )
    pipeline_max_rejected_share: float = Field(
        default=0.05, ge=0, le=1, description="asset check: largest share of rejected deal records that passes"
    )
    pipeline_max_unassigned_share: float = Field(
        default=0.10, ge=0, le=1, description="asset check: largest share of deals without a region that passes"
    )
    history_start_date: date | None = Field(
        default=None,
        description="first day of the daily snapshot partitions (YYYY-MM-DD); unset: the history start recorded in "
        "the warehouse, else today",
    )
    zoho_sync_max_runtime_seconds: float = Field(
        default=3600,
        gt=0,
        description="run monitoring fails a zoho_sync run still going after this long (frees its slots)",
    )
    zoho_reconcile_max_runtime_seconds: float = Field(
        default=4 * 3600, gt=0, description="the same bound for a zoho_full_reconcile run"
    )
    snapshots_max_runtime_seconds: float = Field(
        default=3600, gt=0, description="the same bound for a deal_snapshots_job run"
    )
    stage_history_import_credit_share: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="share of ZOHO_DAILY_CREDITS the Stage_History import (history before the first sync) may "
        "spend per UTC day",
    )
    stage_history_import_cron: str = Field(
        default="7 * * * *", description="schedule of stage_history_import_job (cron, UTC); each run resumes"
    )
    stage_history_import_max_deals: int = Field(
        default=5_000, ge=1, description="most deals one stage_history_import_job run reads (one Zoho call each)"
    )
    stage_history_import_max_runtime_seconds: float = Field(
        default=3600, gt=0, description="run monitoring bound of a stage_history_import_job run"
    )
    deal_health_cron: str = Field(
        default="10 * * * *",
        description="deal_health_job (stage durations and the health rule counts; not part of each sync), cron, UTC",
    )
    deal_health_max_runtime_seconds: float = Field(
        default=3600, gt=0, description="run monitoring bound of a deal_health_job run"
    )

    @field_validator("zoho_sync_interval_minutes")
    @classmethod
    def _divides_an_hour(cls, value: int) -> int:
        if not 1 <= value <= 60 or 60 % value:
            raise ValueError("must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)")
        return value

    @field_validator("zoho_reconcile_cron", "stage_history_import_cron")
    @classmethod
    def _five_fields(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError("must be a 5-field cron expression, e.g. '30 2 * * *'")
        return " ".join(value.split())


class DemoSettings(BaseSettings):
    """`make run` (tools/run_demo.py): ports on 127.0.0.1, the sandbox data set, where the demo keeps its state."""

    model_config = SettingsConfigDict(**_ENV_FILE, env_prefix="DEMO_")

    api_port: int = Field(default=8000, ge=1, le=65535, description="`make run`: the API's port")
    dagster_port: int = Field(default=3000, ge=1, le=65535, description="`make run`: the Dagster UI's port")
    sandbox_port: int = Field(default=8900, ge=1, le=65535, description="`make run`: the Zoho sandbox's port")
    deals: int = Field(default=20_000, ge=10, le=5_000_000, description="`make run`: deals in the sandbox data set")
    seed: int = Field(default=7, ge=0, le=2**31, description="`make run`: seed of the sandbox data set")
    history_days: int = Field(
        default=60, ge=0, le=365, description="`make run`: days of simulated history (one snapshot partition each)"
    )
    run_dir: Path = Field(default=Path(".run"), description="`make run`: its state (markers, dev keys, logs)")
    dagster_home: Path = Field(default=Path(".dagster_home"), description="`make run`: Dagster's instance directory")


class Settings(BaseSettings):
    """What every process shares: warehouse, environment, secrets, Zoho, JWT; plus the per-area parts."""

    model_config = _ENV_FILE

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL, description="the warehouse (PostgreSQL or SQLite SQLAlchemy URL)"
    )
    database_password: SecretStr | None = Field(
        default=None, description="password filled into DATABASE_URL (production: from the AWS secret)"
    )
    app_env: AppEnv = Field(
        default=AppEnv.PRODUCTION,
        description="`development`, `test` or `production`; unset means production (keys and AWS secret required)",
    )

    aws_secret_id: str | None = Field(default=None, description="the Secrets Manager secret read in production")
    aws_region: str | None = Field(default=None, description="its AWS region")
    secrets_cache_ttl_seconds: float = Field(default=300.0, ge=0, description="how long the secret is cached")

    zoho_data_center: ZohoDataCenter = Field(default="US", description="`US EU IN AU JP CA SA CN`")
    zoho_environment: ZohoEnvironment = Field(default="production", description="Zoho's own environment")
    zoho_api_url: str | None = Field(default=None, description="explicit API endpoint (the sandbox in dev/test)")
    zoho_accounts_url: str | None = Field(default=None, description="explicit OAuth endpoint, set with ZOHO_API_URL")
    zoho_client_id: str | None = Field(default=None, description="OAuth client id")
    zoho_client_secret: SecretStr | None = Field(default=None, description="OAuth client secret")
    zoho_refresh_token: SecretStr | None = Field(default=None, description="OAuth refresh token (the grant)")
    zoho_user_email: str | None = Field(default=None, description="the Zoho user the SDK acts as")
    zoho_resource_path: Path = Field(default=Path(".zoho_sdk"), description="the SDK's field-metadata cache")
    zoho_timeout_seconds: float = Field(
        default=30.0, gt=0, description="timeout of one Zoho call (API calls and OAuth token requests alike)"
    )
    zoho_max_retries: int = Field(default=5, ge=0, description="retries of a failed Zoho call")
    zoho_retry_max_seconds: float = Field(default=120.0, gt=0, description="total time one call may spend retrying")
    zoho_max_concurrency: int = Field(default=5, ge=1, description="concurrent Zoho calls per process")
    zoho_daily_credits: int = Field(
        default=100_000,
        ge=1,
        description="the org's daily Zoho API credits; the spend is counted in the warehouse (`zoho_credit_ledger`), shared by every process",
    )
    zoho_credit_budget_share: float = Field(
        default=0.8, gt=0, le=1, description="share of the daily credits the pipeline may spend"
    )
    zoho_bulk_threshold: int = Field(default=50_000, ge=0, description="use Bulk Read above this many deals")
    zoho_incremental_overlap_seconds: float = Field(
        default=30.0, ge=0, le=3600, description="incremental reads re-read this far before the cursor"
    )
    zoho_bulk_poll_timeout_seconds: float = Field(default=600.0, gt=0, description="longest wait for a Bulk Read job")
    zoho_bulk_chunk_rows: int = Field(
        default=10_000,
        ge=100,
        description="a Bulk Read result file is decoded, transformed and loaded this many rows at a time (bounds memory)",
    )
    arrow_memory_pool: ArrowMemoryPool = Field(
        default="jemalloc",
        description="allocator of the pipeline's Arrow buffers; jemalloc hands freed chunks back to the OS, so the backfill's memory stays flat",
    )
    token_encryption_key: SecretStr | None = Field(
        default=None, description="Fernet key encrypting stored Zoho tokens; required to store them, and in production"
    )

    jwt_algorithm: JwtAlgorithm = Field(default="HS256", description="`HS256` or `RS256`")
    jwt_secret: SecretStr | None = Field(
        default=None, description="HS256 key (≥ 32 characters); required by the API and token minting"
    )
    jwt_public_key: SecretStr | None = Field(default=None, description="RS256 verification key (PEM)")
    jwt_private_key: SecretStr | None = Field(default=None, description="RS256 signing key (token minting only)")
    jwt_jwks_file: Path | None = Field(default=None, description="RS256 keys as a JWKS file (picked by `kid`)")
    jwt_issuer: str = Field(default="pipeline-pulse", description="required `iss` claim")
    jwt_audience: str = Field(default="pipeline-pulse", description="required `aud` claim")
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300, description="clock skew allowed on `exp`/`nbf`/`iat`")

    cors_origins: list[str] = Field(
        default_factory=list,
        description="browser origins the API allows (JSON list; preflights with `Authorization` succeed for them); `make run` allows the local dev servers' origins (`localhost` / `127.0.0.1` on 5173, 3000, 4200, 8080)",
    )
    home_currency: str | None = Field(default=None, description="override Zoho's home currency (ISO code)")

    # The per-area parts read their own variables (same environment, same `.env`).
    api: ApiSettings = Field(default_factory=ApiSettings, validation_alias=AliasChoices("api"), exclude=True)
    etl: EtlSettings = Field(default_factory=EtlSettings, validation_alias=AliasChoices("etl"), exclude=True)
    pipeline: PipelineSettings = Field(
        default_factory=PipelineSettings, validation_alias=AliasChoices("pipeline"), exclude=True
    )

    @field_validator("zoho_data_center", mode="before")
    @classmethod
    def _upper_data_center(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        try:
            backend = make_url(value).get_backend_name()
        except Exception as exc:  # sqlalchemy raises ArgumentError with the raw URL; keep it out of logs
            raise ValueError("DATABASE_URL is not a valid SQLAlchemy URL") from exc
        if backend not in ("postgresql", "sqlite"):
            raise ValueError(f"DATABASE_URL must be PostgreSQL or SQLite, got {backend!r}")
        return value

    @field_validator("zoho_api_url", "zoho_accounts_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if value else value

    @field_validator("token_encryption_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        try:
            valid = len(base64.urlsafe_b64decode(value.get_secret_value().encode())) == 32
        except (binascii.Error, ValueError):
            valid = False
        if not valid:  # never echo the value: it is the key
            raise ValueError("must be a Fernet key: 32 bytes, url-safe base64 (e.g. from Fernet.generate_key())")
        return value

    @field_serializer("database_url", when_used="json")
    def _mask_database_url(self, value: str) -> str:
        # JSON dumps are for display and logs; a password inline in DATABASE_URL must not end up there.
        return mask_url_password(value)

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, mask_url_password(value) if name == "database_url" else value

    @property
    def is_production(self) -> bool:
        return self.app_env is AppEnv.PRODUCTION

    @property
    def app_env_source(self) -> str:
        """How the environment was chosen, for messages: `APP_ENV=x`, or that it defaulted to production."""
        if "app_env" in self.model_fields_set:
            return f"APP_ENV={self.app_env.value}"
        return "APP_ENV is not set, so production rules apply"

    def production_requires(self, what: str) -> ConfigurationError:
        """The one-line reason every entry point prints when production configuration is incomplete."""
        if "app_env" in self.model_fields_set:
            return ConfigurationError(f"APP_ENV=production requires {what}")
        return ConfigurationError(
            f"{self.app_env_source}: {what} is required (for local use set APP_ENV=development; {DEV_KEYS_HINT})"
        )

    def api_db_bounds(self) -> DbBounds:
        return self.api.db_bounds()

    def etl_db_bounds(self) -> DbBounds:
        return self.etl.db_bounds()

    def sqlalchemy_url(self) -> str:
        """DATABASE_URL with the password from DATABASE_PASSWORD (Secrets Manager) filled in, if any."""
        url = make_url(self.database_url)
        if self.database_password is not None:
            url = url.set(password=self.database_password.get_secret_value())
        return url.render_as_string(hide_password=False)

    def require_jwt_secret(self) -> str:
        """The HS256 key; there is no default key anywhere (not even in development)."""
        if self.jwt_secret is None:
            raise ConfigurationError(
                f"JWT_ALGORITHM=HS256 requires JWT_SECRET (APP_ENV={self.app_env.value}; {DEV_KEYS_HINT})"
            )
        return self.jwt_secret.get_secret_value()

    def require_token_encryption_key(self) -> bytes:
        """The Fernet key of the Zoho token store; there is no default key anywhere."""
        if self.token_encryption_key is None:
            raise ConfigurationError(
                f"TOKEN_ENCRYPTION_KEY is not set: Zoho tokens cannot be stored (APP_ENV={self.app_env.value}; "
                f"{DEV_KEYS_HINT})"
            )
        return self.token_encryption_key.get_secret_value().encode()

    def check_complete(self) -> None:
        """Raise ConfigurationError naming the first missing or inconsistent setting.

        Production needs every key up front (so every entry point stops at once with the same line);
        development and test need a key only where it is used (the API, minting, the token store).
        """
        if self.is_production and not self.aws_secret_id:
            raise self.production_requires("AWS_SECRET_ID (production secrets live in AWS Secrets Manager)")
        if self.jwt_algorithm == "HS256":
            if self.jwt_secret is None and self.is_production:
                raise self.production_requires("JWT_SECRET (in the AWS secret) for JWT_ALGORITHM=HS256")
            if self.jwt_secret is not None and len(self.jwt_secret.get_secret_value()) < 32:
                raise ConfigurationError("JWT_SECRET must be at least 32 characters for HS256")
        if self.jwt_algorithm == "RS256" and self.jwt_public_key is None and self.jwt_jwks_file is None:
            raise ConfigurationError("JWT_ALGORITHM=RS256 requires JWT_PUBLIC_KEY or JWT_JWKS_FILE")
        if self.jwt_jwks_file is not None and not self.jwt_jwks_file.is_file():
            raise ConfigurationError(f"JWT_JWKS_FILE {self.jwt_jwks_file} does not exist")
        if bool(self.zoho_api_url) != bool(self.zoho_accounts_url):
            raise ConfigurationError("ZOHO_API_URL and ZOHO_ACCOUNTS_URL must be set together")
        if self.is_production and self.token_encryption_key is None:
            raise self.production_requires("TOKEN_ENCRYPTION_KEY (in the AWS secret)")

    def with_overlay(self, values: dict[str, Any]) -> Settings:
        """A copy with `values` (already filtered to SECRET_KEYS) taking precedence over env."""
        merged = {name: getattr(self, name) for name in type(self).model_fields}
        merged.update(values)
        return type(self).model_validate(merged)


AREA_SETTINGS: tuple[type[BaseSettings], ...] = (Settings, ApiSettings, EtlSettings, PipelineSettings, DemoSettings)


def env_name(model: type[BaseSettings], field: str) -> str:
    """The environment variable of one field (its class's prefix + the field name, upper case)."""
    return (str(model.model_config.get("env_prefix", "")) + field).upper()


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming each bad variable (as its env name) and why, never the input value.

    Pydantic's own message quotes `input_value`, which may be a secret or a URL with a password in it.
    """
    model = next((cls for cls in AREA_SETTINGS if cls.__name__ == exc.title), Settings)
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [str(part) for part in error.get("loc", ())]
        name = env_name(model, loc[0]) if loc and loc[0] in model.model_fields else ".".join(loc).upper()
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        parts.append(f"{name or 'SETTINGS'}: {message}")
    return "; ".join(parts).replace("\n", " ")
