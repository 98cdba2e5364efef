"""The process settings: env and `.env`, overlaid with the production secret, checked complete, cached.

Production secrets are overlaid from AWS Secrets Manager (see `secrets.py`); the completeness checks run after
that overlay, so a production start never falls back to env values silently.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from pydantic import ValidationError

from pipeline_pulse.core.config import ConfigurationError, Settings, describe_validation_error
from pipeline_pulse.core.secrets import SecretsManager, SecretsUnavailableError

clock: Callable[[], float] = time.monotonic  # the settings cache's age; tests replace it
_lock = threading.Lock()
_cached: tuple[Settings, float] | None = None


def read_environment() -> Settings:
    """The settings as the environment and `.env` give them, without the secret overlay or checks."""
    try:
        return Settings()
    except ValidationError as exc:
        # `from None`: the chained pydantic error quotes input values (secrets, URLs with passwords).
        raise ConfigurationError(f"invalid configuration: {describe_validation_error(exc)}") from None
    except ValueError as exc:  # pydantic-settings' SettingsError: a complex value (e.g. a list) failed to parse
        raise ConfigurationError(f"invalid configuration: {' '.join(str(exc).split())}") from None


def load_settings() -> Settings:
    """Read env, overlay the production secret, validate completeness. Raises on any problem."""
    settings = read_environment()
    if settings.is_production:
        if not settings.aws_secret_id:
            raise settings.production_requires("AWS_SECRET_ID (production secrets live in AWS Secrets Manager)")
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
        now = clock()
        if _cached is None or (_cached[0].is_production and now - _cached[1] > _cached[0].secrets_cache_ttl_seconds):
            _cached = (load_settings(), now)
        return _cached[0]


def reset_settings_cache() -> None:
    """Forget cached settings (tests and tools that change the environment)."""
    global _cached
    with _lock:
        _cached = None
