"""SecretsManager against a real moto server over HTTP (boto3 → AWS_ENDPOINT_URL), through load_settings()."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

import pipeline_pulse.core.settings as settings_module
from pipeline_pulse.core.config import ConfigurationError, Settings
from pipeline_pulse.core.secrets import SecretsManager, SecretsUnavailableError
from pipeline_pulse.core.settings import get_settings, load_settings
from tests.fixtures.aws import LocalAws
from tests.pipeline_pulse.core.conftest import HS_SECRET, SETTINGS_VARIABLES

REPO_ROOT = Path(__file__).resolve().parents[3]

GOOD_SECRET = {
    "ZOHO_CLIENT_SECRET": "from-aws-zoho-client-secret",
    "zoho_refresh_token": "from-aws-refresh-token",  # keys are matched case-insensitively
    "JWT_SECRET": "from-aws-jwt-secret-0123456789-0123456789",
    "DATABASE_PASSWORD": "from-aws-db-password",
    "TOKEN_ENCRYPTION_KEY": "ZnJvbS1hd3MtdG9rZW4tZW5jcnlwdGlvbi1rZXktMzI=",  # a Fernet key
    "unrelated_key": "from-aws-ignored-value",
}
ENV_VALUES = {
    "ZOHO_CLIENT_SECRET": "from-env-zoho-client-secret",
    "ZOHO_REFRESH_TOKEN": "from-env-refresh-token",
    "JWT_SECRET": "from-env-jwt-secret-0123456789-0123456789",
    "DATABASE_PASSWORD": "from-env-db-password",
    "TOKEN_ENCRYPTION_KEY": "ZnJvbS1lbnYtdG9rZW4tZW5jcnlwdGlvbi1rZXktMzI=",
}


def _production(env: pytest.MonkeyPatch, secret_id: str, **extra: str) -> None:
    env.setenv("APP_ENV", "production")
    env.setenv("AWS_SECRET_ID", secret_id)
    env.setenv("AWS_REGION", "us-east-1")
    env.setenv("DATABASE_URL", "postgresql://etl@db.internal/warehouse")
    for name, value in {**ENV_VALUES, **extra}.items():
        env.setenv(name, value)


def _unreadable(env: pytest.MonkeyPatch, secret_id: str) -> str:
    """load_settings() must refuse to start; returns the one-line message (checked to name the secret id)."""
    with pytest.raises(SecretsUnavailableError) as info:
        load_settings()
    message = str(info.value)
    assert secret_id in message
    assert "\n" not in message
    return message


def _all_log_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(record.getMessage() for record in caplog.records)


def test_production_overlays_the_aws_secret_on_env(
    clean_env: pytest.MonkeyPatch, local_aws: LocalAws, caplog: pytest.LogCaptureFixture
) -> None:
    secret_id = local_aws.create_secret(GOOD_SECRET)
    _production(clean_env, secret_id)
    caplog.set_level(logging.DEBUG)  # botocore included: its DEBUG output would print response bodies
    settings = load_settings()
    assert settings.zoho_client_secret.get_secret_value() == "from-aws-zoho-client-secret"  # type: ignore[union-attr]
    assert settings.zoho_refresh_token.get_secret_value() == "from-aws-refresh-token"  # type: ignore[union-attr]
    assert settings.jwt_secret.get_secret_value() == GOOD_SECRET["JWT_SECRET"]  # type: ignore[union-attr]
    assert settings.database_password.get_secret_value() == "from-aws-db-password"  # type: ignore[union-attr]
    assert settings.token_encryption_key.get_secret_value() == GOOD_SECRET["TOKEN_ENCRYPTION_KEY"]  # type: ignore[union-attr]
    assert settings.sqlalchemy_url() == "postgresql://etl:from-aws-db-password@db.internal/warehouse"
    assert not hasattr(settings, "unrelated_key")
    # The server really was asked: botocore logged the call, and we logged the load (without values).
    logs = _all_log_text(caplog)
    assert "GetSecretValue" in logs
    assert f"loaded AWS secret {secret_id}" in logs
    for value in (*GOOD_SECRET.values(), *ENV_VALUES.values()):
        assert value not in logs, f"secret value {value!r} in a log line"
        assert value not in repr(settings)


def test_production_start_without_the_secret_in_env_works_from_aws_alone(
    clean_env: pytest.MonkeyPatch, local_aws: LocalAws
) -> None:
    secret_id = local_aws.create_secret(GOOD_SECRET)
    _production(clean_env, secret_id)
    for name in ENV_VALUES:
        clean_env.delenv(name)
    settings = load_settings()
    assert settings.jwt_secret.get_secret_value() == GOOD_SECRET["JWT_SECRET"]  # type: ignore[union-attr]


def test_missing_secret_is_a_start_up_error_not_a_fallback_to_env(
    clean_env: pytest.MonkeyPatch, local_aws: LocalAws, caplog: pytest.LogCaptureFixture
) -> None:
    # Env holds a complete, valid set of values: a silent fallback would start fine.
    _production(clean_env, "pipeline-pulse/does-not-exist")
    caplog.set_level(logging.DEBUG)
    message = _unreadable(clean_env, "pipeline-pulse/does-not-exist")
    assert "ResourceNotFoundException" in message
    with pytest.raises(SecretsUnavailableError):
        get_settings()
    logs = _all_log_text(caplog)
    for value in ENV_VALUES.values():
        assert value not in logs
        assert value not in message


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        ("ZOHO_CLIENT_SECRET=not-json-value", "not valid JSON"),
        ('["a", "json", "array-value"]', "must be a JSON object"),
        ('"just-a-json-string-value"', "must be a JSON object"),
        ('{"DATABASE_PASSWORD": 12345678}', "'DATABASE_PASSWORD' must be a string"),
        ('{"JWT_SECRET": {"nested": "nested-value"}}', "'JWT_SECRET' must be a string"),
    ],
)
def test_malformed_secret_is_a_start_up_error_that_never_quotes_it(
    clean_env: pytest.MonkeyPatch, local_aws: LocalAws, caplog: pytest.LogCaptureFixture, stored: str, reason: str
) -> None:
    secret_id = local_aws.create_secret(stored)
    _production(clean_env, secret_id)
    caplog.set_level(logging.DEBUG)
    message = _unreadable(clean_env, secret_id)
    assert reason in message
    for fragment in ("not-json-value", "array-value", "just-a-json-string-value", "12345678", "nested-value"):
        assert fragment not in message
        assert fragment not in _all_log_text(caplog)


def test_secret_that_fails_settings_validation_names_the_key_not_the_value(
    clean_env: pytest.MonkeyPatch, local_aws: LocalAws
) -> None:
    secret_id = local_aws.create_secret({"JWT_SECRET": "short-jwt-value"})
    _production(clean_env, secret_id)
    clean_env.delenv("JWT_SECRET")
    with pytest.raises(Exception, match="JWT_SECRET") as info:
        load_settings()
    assert "short-jwt-value" not in str(info.value)


def test_access_denied_by_iam_is_a_start_up_error(
    clean_env: pytest.MonkeyPatch, local_aws: LocalAws, caplog: pytest.LogCaptureFixture
) -> None:
    secret_id = local_aws.create_secret(GOOD_SECRET)
    key_id, key_secret = local_aws.user_without_get_secret_value()
    _production(clean_env, secret_id)
    clean_env.setenv("AWS_ACCESS_KEY_ID", key_id)
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", key_secret)
    caplog.set_level(logging.DEBUG)
    with local_aws.iam_enforced():
        # The server itself refuses (not a client-side stub): the same user may describe but not read it.
        user = boto3.session.Session().client("secretsmanager")  # a fresh session reads the user's keys
        assert user.describe_secret(SecretId=secret_id)["Name"] == secret_id
        with pytest.raises(ClientError) as denied:
            user.get_secret_value(SecretId=secret_id)
        assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert "not authorized to perform: secretsmanager:GetSecretValue" in str(denied.value)

        message = _unreadable(clean_env, secret_id)
    assert "Forbidden (HTTP 403)" in message
    logs = _all_log_text(caplog)
    for value in (*GOOD_SECRET.values(), *ENV_VALUES.values(), key_secret):
        assert value not in logs
        assert value not in message


def test_unreachable_endpoint_is_a_start_up_error(clean_env: pytest.MonkeyPatch, local_aws: LocalAws) -> None:
    clean_env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: connection refused
    clean_env.setenv("AWS_MAX_ATTEMPTS", "1")
    _production(clean_env, "pipeline-pulse/any")
    assert "EndpointConnectionError" in _unreadable(clean_env, "pipeline-pulse/any")


@dataclass
class StepClock:
    """A monotonic clock the test moves: a cache age is then exact, whatever the machine's load."""

    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_rotation_is_picked_up_after_the_ttl(clean_env: pytest.MonkeyPatch, local_aws: LocalAws) -> None:
    ttl = 3.0
    secret_id = local_aws.create_secret(GOOD_SECRET)
    _production(clean_env, secret_id, SECRETS_CACHE_TTL_SECONDS=str(ttl))
    clock = StepClock()
    clean_env.setattr(settings_module, "clock", clock)  # the process settings' cache ...
    SecretsManager.for_settings(Settings()).clock = clock  # ... and the process-wide manager it reads
    assert get_settings().database_password.get_secret_value() == "from-aws-db-password"  # type: ignore[union-attr]

    local_aws.rotate_secret(secret_id, {**GOOD_SECRET, "DATABASE_PASSWORD": "rotated-db-password"})
    clock.now += ttl - 0.001
    # Still the cached value inside the TTL, both from the manager and from the process settings.
    cached = get_settings().database_password.get_secret_value()  # type: ignore[union-attr]
    manager_value = SecretsManager.for_settings(get_settings()).get_secret()["DATABASE_PASSWORD"]
    assert cached == manager_value == "from-aws-db-password"

    clock.now += 0.002
    assert get_settings().database_password.get_secret_value() == "rotated-db-password"  # type: ignore[union-attr]
    assert get_settings().sqlalchemy_url().endswith(":rotated-db-password@db.internal/warehouse")


def test_manager_rereads_after_its_ttl(local_aws: LocalAws) -> None:
    secret_id = local_aws.create_secret({"JWT_SECRET": "first"})
    clock = StepClock()
    manager = SecretsManager(secret_id, "us-east-1", ttl_seconds=2.0, clock=clock)
    assert manager.get_secret() == {"JWT_SECRET": "first"}
    local_aws.rotate_secret(secret_id, {"JWT_SECRET": "second"})
    clock.now += 1.999
    assert manager.get_secret() == {"JWT_SECRET": "first"}
    clock.now += 0.001
    assert manager.get_secret() == {"JWT_SECRET": "second"}


def test_manager_is_shared_per_secret_and_region(clean_env: pytest.MonkeyPatch) -> None:
    a = Settings(aws_secret_id="s", aws_region="eu-west-1")
    assert SecretsManager.for_settings(a) is SecretsManager.for_settings(a)
    assert SecretsManager.for_settings(a) is not SecretsManager.for_settings(Settings(aws_secret_id="s"))
    with pytest.raises(SecretsUnavailableError, match="AWS_SECRET_ID"):
        SecretsManager.for_settings(Settings())


def test_secrets_are_not_read_outside_production(clean_env: pytest.MonkeyPatch, local_aws: LocalAws) -> None:
    clean_env.setenv("APP_ENV", "test")
    clean_env.setenv("JWT_SECRET", HS_SECRET)
    clean_env.setenv("AWS_SECRET_ID", "pipeline-pulse/does-not-exist")  # would fail if it were read
    assert load_settings().jwt_secret.get_secret_value() == HS_SECRET  # type: ignore[union-attr]


def _run(code: str, local_aws: LocalAws, **env: str) -> subprocess.CompletedProcess[str]:
    child_env = {k: v for k, v in os.environ.items() if k.upper() not in SETTINGS_VARIABLES}
    child_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=child_env, capture_output=True, text=True, timeout=120
    )


def test_production_process_without_its_secret_exits_naming_the_secret(local_aws: LocalAws) -> None:
    # The exact command of the issue: a non-zero exit whose last stderr line is the reason.
    result = _run(
        "from pipeline_pulse.core.settings import load_settings; load_settings()",
        local_aws,
        APP_ENV="production",
        AWS_SECRET_ID="missing",
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "SecretsUnavailableError" in last
    assert "'missing'" in last
    assert "During handling" not in result.stderr  # no chained boto traceback


def test_settings_or_exit_prints_exactly_one_line_and_exits_2(local_aws: LocalAws) -> None:
    result = _run(
        "from pipeline_pulse.core.startup import settings_or_exit; settings_or_exit(); print('started')",
        local_aws,
        APP_ENV="production",
        AWS_SECRET_ID="missing",
    )
    assert result.returncode == 2
    assert "started" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pipeline-pulse: configuration error: cannot read AWS secret 'missing'")


def test_startup_check_module_passes_with_a_good_secret(local_aws: LocalAws) -> None:
    secret_id = local_aws.create_secret(GOOD_SECRET)
    result = _run(
        "import runpy; runpy.run_module('pipeline_pulse.core.startup', run_name='__main__')",
        local_aws,
        APP_ENV="production",
        AWS_SECRET_ID=secret_id,
        AWS_REGION="us-east-1",
    )
    assert result.returncode == 0, result.stderr
    assert "configuration ok (APP_ENV=production)" in result.stdout
    for value in GOOD_SECRET.values():
        assert value not in result.stdout + result.stderr


@pytest.mark.parametrize("missing", ["JWT_SECRET", "TOKEN_ENCRYPTION_KEY"])
def test_production_secret_without_required_material_is_refused(
    clean_env: pytest.MonkeyPatch, local_aws: LocalAws, missing: str
) -> None:
    secret_id = local_aws.create_secret({k: v for k, v in GOOD_SECRET.items() if k != missing})
    _production(clean_env, secret_id)
    clean_env.delenv(missing)  # nowhere to be found: neither in the secret nor in env
    with pytest.raises(ConfigurationError, match=missing) as info:
        load_settings()
    assert "\n" not in str(info.value)
