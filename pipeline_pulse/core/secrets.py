"""Production secrets from AWS Secrets Manager: one JSON object, cached with a TTL, never logged."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline_pulse.core.config import SECRET_KEYS, ConfigurationError, Settings

logger = logging.getLogger(__name__)


class _DropResponseBodies(logging.Filter):
    """botocore logs every response body at DEBUG, which for GetSecretValue is the secret itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Response body")


# A logger-level filter: it applies to records botocore.parsers emits, whatever handlers the app configures.
logging.getLogger("botocore.parsers").addFilter(_DropResponseBodies())


def _error_reason(exc: ClientError) -> str:
    """`AccessDeniedException (HTTP 400)`; a bare numeric code (non-JSON error bodies) becomes its phrase."""
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = str(exc.response.get("Error", {}).get("Code") or "ClientError")
    if code.isdigit():
        with contextlib.suppress(ValueError):
            code = HTTPStatus(int(code)).phrase
    return f"{code} (HTTP {status})" if status else code


class SecretsUnavailableError(ConfigurationError):
    """The production secret cannot be read or is malformed. The message names the secret id, never a value."""


class SecretsManager:
    """Reads `AWS_SECRET_ID` with boto3 and hands out the allow-listed keys as a settings overlay.

    The boto3 client honours the standard AWS environment (credentials, `AWS_ENDPOINT_URL` for a local
    moto server in tests). Values are re-fetched once the cache is older than `ttl_seconds`, so a rotated
    secret is picked up without a restart.
    """

    _instances: dict[tuple[str, str | None], SecretsManager] = {}
    _instances_lock = threading.Lock()

    def __init__(
        self,
        secret_id: str,
        region: str | None,
        ttl_seconds: float,
        client: Any | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.secret_id = secret_id
        self.region = region
        self.ttl_seconds = ttl_seconds
        self._client = client
        self._lock = threading.Lock()
        self._cached: tuple[dict[str, Any], float] | None = None
        self.clock = clock  # seconds, monotonic; tests move their own clock instead of sleeping through the TTL

    @classmethod
    def for_settings(cls, settings: Settings) -> SecretsManager:
        """One manager (and one cache) per secret id and region for the process."""
        if not settings.aws_secret_id:
            raise SecretsUnavailableError("AWS_SECRET_ID is not set")
        key = (settings.aws_secret_id, settings.aws_region)
        with cls._instances_lock:
            manager = cls._instances.get(key)
            if manager is None:
                manager = cls(settings.aws_secret_id, settings.aws_region, settings.secrets_cache_ttl_seconds)
                cls._instances[key] = manager
            return manager

    @classmethod
    def clear_instances(cls) -> None:
        with cls._instances_lock:
            cls._instances.clear()

    def _boto_client(self) -> Any:
        if self._client is None:
            # Imported here: boto3 takes 0.5-1.5 s to import, and only production reads a secret (every
            # `dagster job execute`, run worker and API process in development would pay it for nothing).
            import boto3

            # A session of its own: boto3's default session caches the first credentials it resolved and
            # is not thread-safe for creating clients.
            self._client = boto3.session.Session(region_name=self.region).client("secretsmanager")
        return self._client

    def get_secret(self) -> dict[str, Any]:
        """The whole secret as a dict (cached for `ttl_seconds`)."""
        with self._lock:
            now = self.clock()
            if self._cached is not None and now - self._cached[1] < self.ttl_seconds:
                return self._cached[0]
            value = self._fetch()
            self._cached = (value, now)
            return value

    def get_overlay(self) -> dict[str, Any]:
        """Allow-listed keys (case-insensitive, e.g. `ZOHO_CLIENT_SECRET`) mapped to settings field names."""
        overlay: dict[str, Any] = {}
        for raw_key, value in self.get_secret().items():
            key = raw_key.lower()
            if key in SECRET_KEYS:
                if not isinstance(value, str):
                    # Name the key and the type only: the value may be the secret.
                    raise SecretsUnavailableError(
                        f"AWS secret {self.secret_id!r}: key {raw_key!r} must be a string, got {type(value).__name__}"
                    )
                overlay[key] = value
            else:
                logger.warning("secret %s: ignoring unknown key %r", self.secret_id, raw_key)
        return overlay

    def _fetch(self) -> dict[str, Any]:
        try:
            response = self._boto_client().get_secret_value(SecretId=self.secret_id)
        except ClientError as exc:
            raise SecretsUnavailableError(f"cannot read AWS secret {self.secret_id!r}: {_error_reason(exc)}") from None
        except BotoCoreError as exc:
            raise SecretsUnavailableError(f"cannot read AWS secret {self.secret_id!r}: {type(exc).__name__}") from None
        text = response.get("SecretString")
        if text is None:
            raise SecretsUnavailableError(
                f"AWS secret {self.secret_id!r} has no SecretString (binary secrets unsupported)"
            )
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            # `from None`: the decode error would quote the secret's text.
            raise SecretsUnavailableError(f"AWS secret {self.secret_id!r} is not valid JSON") from None
        if not isinstance(value, dict):
            raise SecretsUnavailableError(f"AWS secret {self.secret_id!r} must be a JSON object")
        logger.info("loaded AWS secret %s (%d keys)", self.secret_id, len(value))
        return value
