"""The one place that initializes the Zoho SDK and runs every call through one policy.

* Initialization: once per process (the SDK's `Initializer` is process-wide), under a lock; re-initialized
  only when the configuration fingerprint changes (another API URL, client or token store). Explicit
  `resource_path` (never the current directory), SDK logging into Python logging (logger `SDKLogger`, no file),
  `update_api_domain=False` whenever ZOHO_API_URL / ZOHO_ACCOUNTS_URL are set, so a token response can never
  redirect traffic; otherwise the environment comes from ZOHO_DATA_CENTER + ZOHO_ENVIRONMENT.
* Calls: `call()` applies the retry policy (exponential backoff with full jitter on 429, 5xx, timeouts,
  connection errors and unreadable bodies; bounded in attempts and total time), refreshes the token once on a
  server-side 401 INVALID_TOKEN (by expiring the stored row), caps concurrency, charges the daily credit
  budget before each call (the warehouse's shared ledger, credit_ledger.py) and counts everything in the
  caller's `CallCounters`.
* Every wait is bounded: the SDK's connect / read timeouts from ZOHO_TIMEOUT_SECONDS, and the same on its
  OAuth token requests, which the SDK sends without one (sdk_token_timeout.py).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api.dc import (
    AUDataCenter,
    CADataCenter,
    CNDataCenter,
    EUDataCenter,
    INDataCenter,
    JPDataCenter,
    SADataCenter,
    USDataCenter,
)
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.util.api_response import APIResponse

from pipeline_pulse.core.config import ConfigurationError, Settings
from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.services.zoho import sdk_speedups, sdk_token_timeout
from pipeline_pulse.services.zoho.credit_ledger import CreditLedger
from pipeline_pulse.services.zoho.errors import (
    ZohoAuthError,
    ZohoConnectionError,
    ZohoError,
    ZohoServerError,
    ZohoTimeoutError,
    error_from_response,
)
from pipeline_pulse.services.zoho.records import CallCounters
from pipeline_pulse.services.zoho.token_store import ImprovedZohoTokenStore

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DATA_CENTERS: dict[str, Any] = {
    "US": USDataCenter,
    "EU": EUDataCenter,
    "IN": INDataCenter,
    "AU": AUDataCenter,
    "JP": JPDataCenter,
    "CA": CADataCenter,
    "SA": SADataCenter,
    "CN": CNDataCenter,
}
ENVIRONMENT_FACTORIES = {"production": "PRODUCTION", "sandbox": "SANDBOX", "developer": "DEVELOPER"}
# Zoho's credit cost per call (what the sandbox charges too): a Bulk Read job costs 50, polling it 0.
BULK_READ_CREATE_CREDITS = 50
INVALID_TOKEN_CODES = frozenset({"INVALID_TOKEN", "AUTHENTICATION_FAILURE"})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 6  # first try included
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_total_seconds: float = 120.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(max_attempts=settings.zoho_max_retries + 1, max_total_seconds=settings.zoho_retry_max_seconds)

    def delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2**attempt)] (attempt 0 = first retry)."""
        return random.uniform(0, min(self.max_delay, self.base_delay * (2**attempt)))


class _ProcessState:
    """What the SDK is initialized with in this process (the SDK itself is process-wide)."""

    lock = threading.RLock()
    fingerprint: tuple[Any, ...] | None = None
    semaphore: threading.BoundedSemaphore | None = None
    semaphore_size: int = 0


class ImprovedZohoSDKManager:
    """Initializes the SDK once per process and runs every call with retries, token repair, budget and cap."""

    def __init__(
        self,
        settings: Settings,
        token_store: ImprovedZohoTokenStore,
        *,
        retry_policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not settings.zoho_client_id or settings.zoho_client_secret is None or settings.zoho_refresh_token is None:
            raise ConfigurationError("Zoho access needs ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET and ZOHO_REFRESH_TOKEN")
        if bool(settings.zoho_api_url) != bool(settings.zoho_accounts_url):
            raise ConfigurationError("ZOHO_API_URL and ZOHO_ACCOUNTS_URL must be set together")
        self.settings = settings
        self.token_store = token_store
        self.retry_policy = retry_policy or RetryPolicy.from_settings(settings)
        self._sleep = sleep
        # One token row per (API endpoint, client, user): every process of this deployment shares it by id.
        identity = f"{self.environment().url}|{settings.zoho_client_id}|{settings.zoho_user_email or ''}"
        self.token_id = "zoho-" + hashlib.sha256(identity.encode()).hexdigest()[:32]
        self.credit_limit = int(settings.zoho_daily_credits * settings.zoho_credit_budget_share)

    @functools.cached_property
    def ledger(self) -> CreditLedger:
        """Today's credits of this client, shared with every process through the token store's warehouse."""
        return CreditLedger(self.token_id, self.token_store.engine)

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine | None = None) -> ImprovedZohoSDKManager:
        engine = (
            engine
            if engine is not None
            else create_sync_engine(settings.sqlalchemy_url(), bounds=settings.etl_db_bounds())
        )
        return cls(settings, ImprovedZohoTokenStore.from_settings(settings, engine))

    # -- configuration ------------------------------------------------------------------------------------
    @property
    def explicit_urls(self) -> bool:
        return bool(self.settings.zoho_api_url)

    def environment(self) -> DataCenter.Environment:
        if self.settings.zoho_api_url and self.settings.zoho_accounts_url:
            accounts = self.settings.zoho_accounts_url
            token_url = accounts if accounts.endswith("/oauth/v2/token") else accounts + "/oauth/v2/token"
            return DataCenter.Environment(self.settings.zoho_api_url, token_url, self.settings.zoho_api_url)
        data_center = DATA_CENTERS[self.settings.zoho_data_center]
        return getattr(data_center, ENVIRONMENT_FACTORIES[self.settings.zoho_environment])()

    def resource_path(self) -> Path:
        """Field caches live under ZOHO_RESOURCE_PATH (relative paths: below the project root), per API URL."""
        base = self.settings.zoho_resource_path
        base = base if base.is_absolute() else PROJECT_ROOT / base
        return base / hashlib.sha256(self.environment().url.encode()).hexdigest()[:12]

    def _fingerprint(self) -> tuple[Any, ...]:
        env = self.environment()
        return (
            env.url,
            env.accounts_url,
            self.settings.zoho_client_id,
            self.token_id,
            id(self.token_store),
            str(self.resource_path()),
            self.settings.zoho_timeout_seconds,
            self.settings.zoho_max_concurrency,
        )

    # -- initialization -----------------------------------------------------------------------------------
    def ensure_initialized(self) -> None:
        """Initialize the SDK for this configuration unless this process already is (thread-safe)."""
        fingerprint = self._fingerprint()
        with _ProcessState.lock:
            if _ProcessState.fingerprint == fingerprint:
                return
            sdk_speedups.install()
            timeout = self.settings.zoho_timeout_seconds
            sdk_token_timeout.install(min(timeout, 10.0), timeout)
            self.token_store.pinned_api_domain = self.environment().url if self.explicit_urls else None
            resource_path = self.resource_path()
            resource_path.mkdir(parents=True, exist_ok=True)
            self.token_store.ensure_client_token(
                self.token_id,
                self.settings.zoho_client_id or "",
                self.settings.zoho_client_secret.get_secret_value() if self.settings.zoho_client_secret else "",
                self.settings.zoho_refresh_token.get_secret_value() if self.settings.zoho_refresh_token else "",
            )
            sdk_config = SDKConfig(
                auto_refresh_fields=False,
                pick_list_validation=False,
                read_timeout=timeout,
                connect_timeout=min(timeout, 10.0),
                update_api_domain=not self.explicit_urls,
            )
            token = OAuthToken(id=self.token_id, find_user=False)
            logging.getLogger("SDKLogger").propagate = True  # SDK logs flow into Python logging, no file
            try:
                self._run_with_retries(
                    "initialize",
                    lambda: Initializer.initialize(
                        environment=self.environment(),
                        token=token,
                        store=self.token_store,
                        sdk_config=sdk_config,
                        resource_path=str(resource_path),
                        logger=Logger.get_instance(Logger.Levels.NOTSET, None),
                    ),
                    credits=0,
                    counters=None,
                    check_response=False,
                )
            except ZohoError:
                _ProcessState.fingerprint = None
                raise
            _ProcessState.fingerprint = fingerprint
            if _ProcessState.semaphore is None or _ProcessState.semaphore_size != self.settings.zoho_max_concurrency:
                _ProcessState.semaphore = threading.BoundedSemaphore(self.settings.zoho_max_concurrency)
                _ProcessState.semaphore_size = self.settings.zoho_max_concurrency
            logger.info("Zoho SDK initialized for %s (explicit URLs: %s)", self.environment().url, self.explicit_urls)

    @staticmethod
    def reset_process_state() -> None:
        """Forget the initialization (tests switching sandboxes; the next call re-initializes)."""
        with _ProcessState.lock:
            _ProcessState.fingerprint = None

    # -- calls --------------------------------------------------------------------------------------------
    def call(
        self,
        operation: str,
        fn: Callable[[], APIResponse | None],
        *,
        credits: int = 1,
        counters: CallCounters | None = None,
    ) -> APIResponse:
        """Run one SDK call with the full policy; returns a successful (< 400) APIResponse or raises ZohoError."""
        self.ensure_initialized()
        semaphore = _ProcessState.semaphore
        assert semaphore is not None
        with semaphore:
            return self._run_with_retries(operation, fn, credits=credits, counters=counters, check_response=True)

    def _run_with_retries(
        self,
        operation: str,
        fn: Callable[[], Any],
        *,
        credits: int,
        counters: CallCounters | None,
        check_response: bool,
    ) -> Any:
        policy = self.retry_policy
        started = time.monotonic()
        token_repaired = False
        attempt = 0
        while True:
            if credits:
                self.ledger.reserve(credits, self.credit_limit)
            if counters is not None:
                counters.calls += 1
            try:
                result = fn()
                if check_response:
                    self._check(operation, result)
                if counters is not None:
                    counters.credits += credits
                return result
            except ZohoError as error:
                failure = error
            except SDKException as exc:
                failure = sdk_exception_to_error(exc)
            if credits:
                self.ledger.refund(credits)  # Zoho charges no credits for failed calls
            if isinstance(failure, ZohoAuthError) and failure.code in INVALID_TOKEN_CODES and not token_repaired:
                token_repaired = True
                self._expire_stored_token()
                if counters is not None:
                    counters.retries += 1
                continue
            elapsed = time.monotonic() - started
            if not failure.retryable or attempt + 1 >= policy.max_attempts:
                raise failure
            delay = policy.delay(attempt)
            if elapsed + delay > policy.max_total_seconds:
                raise failure
            attempt += 1
            if counters is not None:
                counters.retries += 1
            logger.warning(
                "Zoho %s failed (%s); retry %d/%d in %.2fs",
                operation,
                failure.code,
                attempt,
                policy.max_attempts - 1,
                delay,
            )
            self._sleep(delay)

    def _check(self, operation: str, response: APIResponse | None) -> None:
        if response is None:
            # The SDK swallowed a parse failure of the body (e.g. an HTML error page or truncated JSON).
            raise ZohoServerError("UNREADABLE_RESPONSE", f"Zoho {operation}: the SDK could not read the response body")
        status = response.get_status_code()
        if status < 400:
            if status == 200 and response.get_response_json() is None and response.get_object() is None:
                raise ZohoServerError("UNREADABLE_RESPONSE", f"Zoho {operation}: HTTP 200 without a readable body")
            return
        body = response.get_response_json()
        if isinstance(body, Mapping):
            raise error_from_response(status, body.get("code"), body.get("message"), body.get("details"))
        raise error_from_response(status, None, f"Zoho {operation}: HTTP {status} without a JSON error body")

    def _expire_stored_token(self) -> None:
        stored = self.token_store.load(self.token_id)
        rejected = stored.access_token if stored is not None else None
        changed = self.token_store.expire_access_token(self.token_id, rejected)
        logger.warning(
            "Zoho rejected the access token (INVALID_TOKEN); %s and retrying once",
            "expired the stored token" if changed else "another process already replaced it",
        )


def sdk_exception_to_error(exc: SDKException) -> ZohoError:
    """Classify an SDKException by its cause: transport failures are retryable, token failures are auth."""
    cause = getattr(exc, "cause", None) or exc.__cause__
    code = str(getattr(exc, "code", None) or "SDK_ERROR")
    message = str(getattr(exc, "error_message", None) or (type(cause).__name__ if cause else "Zoho SDK error"))
    if isinstance(cause, requests.exceptions.Timeout):
        return ZohoTimeoutError("TIMEOUT", f"request timed out: {type(cause).__name__}")
    if isinstance(cause, requests.exceptions.ConnectionError):
        return ZohoConnectionError("CONNECTION_ERROR", f"could not reach Zoho: {type(cause).__name__}")
    if isinstance(cause, requests.exceptions.RequestException):
        return ZohoServerError("TRANSPORT_ERROR", f"HTTP transport failed: {type(cause).__name__}")
    if isinstance(cause, ValueError | KeyError):
        # Token endpoint answered with something that is not a token response (HTML, truncated JSON, ...).
        return ZohoServerError("UNREADABLE_RESPONSE", f"Zoho answered with an unreadable body ({type(cause).__name__})")
    if code in ("INVALID TOKEN ERROR", "INVALID_TOKEN_ERROR"):
        return ZohoAuthError("INVALID_OAUTH_GRANT", f"Zoho refused the OAuth token request: {message}")
    if code == "TOKEN_STORE":
        return ZohoError("TOKEN_STORE", message)
    return ZohoError(code, message)
