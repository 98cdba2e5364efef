"""Typed settings for every process (ETL, API, tools), read from the environment and `.env`.

Production secrets are overlaid from AWS Secrets Manager by `load_settings()` (see `secrets.py`); the
completeness checks run after that overlay, so a production start never falls back to env values silently.
"""

from __future__ import annotations

import threading
import time
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_serializer, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from pipeline_pulse.core.db import API_DB_BOUNDS, ETL_DB_BOUNDS, DbBounds

DEFAULT_DATABASE_URL = "sqlite:///./pipeline_pulse.db"
# Used only when APP_ENV=development and no JWT_SECRET is set; refused everywhere else.
DEV_JWT_SECRET = "pipeline-pulse-development-only-secret-do-not-use-in-production"  # noqa: S105


class ConfigurationError(RuntimeError):
    """Start-up configuration is missing or inconsistent; the message says which variable and why."""


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming each bad variable (as its env name) and why, never the input value.

    Pydantic's own message quotes `input_value`, which may be a secret or a URL with a password in it.
    """
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        name = ".".join(str(part) for part in error.get("loc", ())).upper() or "SETTINGS"
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        parts.append(f"{name}: {message}")
    return "; ".join(parts).replace("\n", " ")


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


class Settings(BaseSettings):
    """Every variable of the ARCHITECTURE.md contract, plus tuning knobs with safe defaults."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False)

    database_url: str = DEFAULT_DATABASE_URL
    database_password: SecretStr | None = None
    app_env: AppEnv = AppEnv.DEVELOPMENT

    aws_secret_id: str | None = None
    aws_region: str | None = None
    secrets_cache_ttl_seconds: float = Field(default=300.0, ge=0)

    zoho_data_center: ZohoDataCenter = "US"
    zoho_environment: ZohoEnvironment = "production"
    zoho_api_url: str | None = None
    zoho_accounts_url: str | None = None
    zoho_client_id: str | None = None
    zoho_client_secret: SecretStr | None = None
    zoho_refresh_token: SecretStr | None = None
    zoho_user_email: str | None = None
    zoho_resource_path: Path = Path(".zoho_sdk")
    zoho_timeout_seconds: float = Field(default=30.0, gt=0)
    zoho_max_retries: int = Field(default=5, ge=0)
    zoho_retry_max_seconds: float = Field(default=120.0, gt=0)
    zoho_max_concurrency: int = Field(default=5, ge=1)
    zoho_daily_credits: int = Field(default=100_000, ge=1)
    zoho_credit_budget_share: float = Field(default=0.8, gt=0, le=1)
    zoho_bulk_threshold: int = Field(default=50_000, ge=0)
    # Incremental reads re-read this many seconds before the committed cursor (same-second edits, clock skew).
    zoho_incremental_overlap_seconds: float = Field(default=30.0, ge=0, le=3600)
    zoho_bulk_poll_timeout_seconds: float = Field(default=600.0, gt=0)
    token_encryption_key: SecretStr | None = None

    jwt_algorithm: JwtAlgorithm = "HS256"
    jwt_secret: SecretStr | None = None
    jwt_public_key: SecretStr | None = None
    jwt_private_key: SecretStr | None = None
    jwt_jwks_file: Path | None = None
    jwt_issuer: str = "pipeline-pulse"
    jwt_audience: str = "pipeline-pulse"
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300)

    # Bounds of every database wait (seconds; see core/db.DbBounds). API: fail fast with 503; ETL: stop a stuck run.
    api_db_statement_timeout_seconds: float = Field(default=API_DB_BOUNDS.statement_timeout_seconds, gt=0, le=600)
    api_db_lock_timeout_seconds: float = Field(default=API_DB_BOUNDS.lock_timeout_seconds, gt=0, le=600)
    api_db_connect_timeout_seconds: float = Field(default=API_DB_BOUNDS.connect_timeout_seconds, gt=0, le=600)
    api_db_pool_timeout_seconds: float = Field(default=API_DB_BOUNDS.pool_timeout_seconds, gt=0, le=600)
    # Per API worker process; workers x (size + overflow) must stay below Postgres max_connections.
    api_db_pool_size: int = Field(default=20, ge=1, le=200)
    api_db_max_overflow: int = Field(default=10, ge=0, le=200)
    etl_db_statement_timeout_seconds: float = Field(default=ETL_DB_BOUNDS.statement_timeout_seconds, gt=0)
    etl_db_lock_timeout_seconds: float = Field(default=ETL_DB_BOUNDS.lock_timeout_seconds, gt=0)
    etl_db_connect_timeout_seconds: float = Field(default=ETL_DB_BOUNDS.connect_timeout_seconds, gt=0, le=600)
    etl_db_pool_timeout_seconds: float = Field(default=ETL_DB_BOUNDS.pool_timeout_seconds, gt=0)

    cors_origins: list[str] = Field(default_factory=list)
    home_currency: str | None = None

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

    def effective_jwt_secret(self) -> SecretStr | None:
        """The HS256 secret; the fixed dev secret only ever applies in development."""
        if self.jwt_secret is not None:
            return self.jwt_secret
        if self.app_env is AppEnv.DEVELOPMENT:
            return SecretStr(DEV_JWT_SECRET)
        return None

    def api_db_bounds(self) -> DbBounds:
        return DbBounds(
            statement_timeout_seconds=self.api_db_statement_timeout_seconds,
            lock_timeout_seconds=self.api_db_lock_timeout_seconds,
            connect_timeout_seconds=self.api_db_connect_timeout_seconds,
            pool_timeout_seconds=self.api_db_pool_timeout_seconds,
        )

    def etl_db_bounds(self) -> DbBounds:
        return DbBounds(
            statement_timeout_seconds=self.etl_db_statement_timeout_seconds,
            lock_timeout_seconds=self.etl_db_lock_timeout_seconds,
            connect_timeout_seconds=self.etl_db_connect_timeout_seconds,
            pool_timeout_seconds=self.etl_db_pool_timeout_seconds,
        )

    def sqlalchemy_url(self) -> str:
        """DATABASE_URL with the password from DATABASE_PASSWORD (Secrets Manager) filled in, if any."""
        url = make_url(self.database_url)
        if self.database_password is not None:
            url = url.set(password=self.database_password.get_secret_value())
        return url.render_as_string(hide_password=False)

    def check_complete(self) -> None:
        """Raise ConfigurationError naming the first missing or inconsistent setting."""
        if self.is_production and not self.aws_secret_id:
            raise ConfigurationError("APP_ENV=production requires AWS_SECRET_ID (production secrets live there)")
        if self.jwt_algorithm == "HS256" and self.effective_jwt_secret() is None:
            raise ConfigurationError(f"JWT_ALGORITHM=HS256 requires JWT_SECRET when APP_ENV={self.app_env.value}")
        if self.jwt_algorithm == "HS256" and len(self.effective_jwt_secret().get_secret_value()) < 32:  # type: ignore[union-attr]
            raise ConfigurationError("JWT_SECRET must be at least 32 characters for HS256")
        if self.jwt_algorithm == "RS256" and self.jwt_public_key is None and self.jwt_jwks_file is None:
            raise ConfigurationError("JWT_ALGORITHM=RS256 requires JWT_PUBLIC_KEY or JWT_JWKS_FILE")
        if self.jwt_jwks_file is not None and not self.jwt_jwks_file.is_file():
            raise ConfigurationError(f"JWT_JWKS_FILE {self.jwt_jwks_file} does not exist")
        if bool(self.zoho_api_url) != bool(self.zoho_accounts_url):
            raise ConfigurationError("ZOHO_API_URL and ZOHO_ACCOUNTS_URL must be set together")
        if self.is_production and self.token_encryption_key is None:
            raise ConfigurationError("APP_ENV=production requires TOKEN_ENCRYPTION_KEY (in the AWS secret)")

    def with_overlay(self, values: dict[str, Any]) -> Settings:
        """A copy with `values` (already filtered to SECRET_KEYS) taking precedence over env."""
        merged = {name: getattr(self, name) for name in type(self).model_fields}
        merged.update(values)
        return type(self).model_validate(merged)


_lock = threading.Lock()
_cached: tuple[Settings, float] | None = None


def load_settings() -> Settings:
    """Read env, overlay the production secret, validate completeness. Raises on any problem."""
    # local imports: secrets imports this module
    from pipeline_pulse.core.secrets import SecretsManager, SecretsUnavailableError

    try:
        settings = Settings()
    except ValidationError as exc:
        # `from None`: the chained pydantic error quotes input values (secrets, URLs with passwords).
        raise ConfigurationError(f"invalid configuration: {describe_validation_error(exc)}") from None
    except ValueError as exc:  # pydantic-settings' SettingsError: a complex value (e.g. a list) failed to parse
        raise ConfigurationError(f"invalid configuration: {' '.join(str(exc).split())}") from None
    if settings.is_production:
        if not settings.aws_secret_id:
            raise ConfigurationError("APP_ENV=production requires AWS_SECRET_ID (production secrets live there)")
        overlay = SecretsManager.for_settings(settings).get_overlay()
        try:
            settings = settings.with_overlay(overlay)
        except ValidationError as exc:
            raise SecretsUnavailableError(
                f"AWS secret {settings.aws_secret_id!r} has invalid values: {describe_validation_error(exc)}"
            ) from None
    settings.check_complete()
    return settings


def get_settings() -> Settings:
    """Process-wide settings, re-read after SECRETS_CACHE_TTL_SECONDS so secret rotation is picked up."""
    global _cached
    with _lock:
        now = time.monotonic()
        if _cached is None or (_cached[0].is_production and now - _cached[1] > _cached[0].secrets_cache_ttl_seconds):
            _cached = (load_settings(), now)
        return _cached[0]


def reset_settings_cache() -> None:
    """Forget cached settings (tests and tools that change the environment)."""
    global _cached
    with _lock:
        _cached = None
