"""Fatal Zoho errors skip the extract retry policy; everything else is left to it."""

from __future__ import annotations

import dagster as dg
import pytest

from orchestration.assets.common import failing_fast_on_fatal_zoho_errors
from pipeline_pulse.core.secrets import SecretsUnavailableError
from pipeline_pulse.services.zoho.errors import (
    ZohoAuthError,
    ZohoBudgetExhaustedError,
    ZohoError,
    ZohoRateLimitError,
    ZohoServerError,
)


@pytest.mark.parametrize("error_type", [ZohoAuthError, ZohoBudgetExhaustedError])
def test_fatal_errors_become_a_failure_without_retries(error_type: type[ZohoError]) -> None:
    with pytest.raises(dg.Failure) as raised, failing_fast_on_fatal_zoho_errors():
        raise error_type("INVALID_TOKEN", "refresh token revoked", status=401)
    assert raised.value.allow_retries is False
    assert error_type.__name__ in (raised.value.description or "")
    assert "refresh token revoked" in (raised.value.description or "")


@pytest.mark.parametrize("error_type", [ZohoRateLimitError, ZohoServerError])
def test_retryable_errors_pass_through(error_type: type[ZohoError]) -> None:
    with pytest.raises(error_type), failing_fast_on_fatal_zoho_errors():
        raise error_type("TOO_MANY_REQUESTS", "slow down", status=429)


def test_unreadable_production_secrets_are_not_retried() -> None:
    with pytest.raises(dg.Failure) as raised, failing_fast_on_fatal_zoho_errors():
        raise SecretsUnavailableError("cannot read AWS secret 'pp/prod': AccessDeniedException (HTTP 400)")
    assert raised.value.allow_retries is False
    assert "'pp/prod'" in (raised.value.description or "")
