"""Settings: the ARCHITECTURE.md variables, typed and validated at start-up, secrets never printed."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from pipeline_pulse.core.config import DEFAULT_DATABASE_URL, AppEnv, ConfigurationError, Settings
from pipeline_pulse.core.settings import get_settings, load_settings, read_environment, reset_settings_cache
from tests.pipeline_pulse.core.conftest import HS_SECRET

# Every variable of the ARCHITECTURE.md table with a non-default value, and what it must parse to.
TABLE_ENV = {
    "DATABASE_URL": "postgresql://etl@db.internal:5433/warehouse",
    "APP_ENV": "test",
    "AWS_SECRET_ID": "pipeline-pulse/test",
    "AWS_REGION": "eu-west-1",
    "ZOHO_DATA_CENTER": "eu",
    "ZOHO_ENVIRONMENT": "sandbox",
    "ZOHO_API_URL": "http://127.0.0.1:8900/",
    "ZOHO_ACCOUNTS_URL": "http://127.0.0.1:8900/accounts",
    "ZOHO_CLIENT_ID": "1000.CLIENTID",
    "ZOHO_CLIENT_SECRET": "zoho-client-secret-value",
    "ZOHO_REFRESH_TOKEN": "1000.refresh-token-value",
    "ZOHO_USER_EMAIL": "etl@example.com",
    "JWT_ALGORITHM": "HS256",
    "JWT_SECRET": HS_SECRET,
    "JWT_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
    "JWT_ISSUER": "issuer-x",
    "JWT_AUDIENCE": "audience-y",
}
TOKEN_KEY = Fernet.generate_key().decode()
SECRET_VALUES = ("zoho-client-secret-value", "1000.refresh-token-value", HS_SECRET, "MIIB")


def _assert_table_parsed(settings: Settings, jwks: Path) -> None:
    assert settings.database_url == TABLE_ENV["DATABASE_URL"]
    assert settings.app_env is AppEnv.TEST
    assert (settings.aws_secret_id, settings.aws_region) == ("pipeline-pulse/test", "eu-west-1")
    assert settings.zoho_data_center == "EU"  # normalised to upper case
    assert settings.zoho_environment == "sandbox"
    assert settings.zoho_api_url == "http://127.0.0.1:8900"  # trailing slash dropped
    assert settings.zoho_accounts_url == "http://127.0.0.1:8900/accounts"
    assert settings.zoho_client_id == "1000.CLIENTID"
    assert settings.zoho_user_email == "etl@example.com"
    for field, raw in (
        ("zoho_client_secret", "ZOHO_CLIENT_SECRET"),
        ("zoho_refresh_token", "ZOHO_REFRESH_TOKEN"),
        ("jwt_secret", "JWT_SECRET"),
        ("jwt_public_key", "JWT_PUBLIC_KEY"),
    ):
        value = getattr(settings, field)
        assert isinstance(value, SecretStr), field
        assert value.get_secret_value() == TABLE_ENV[raw]
    assert settings.jwt_algorithm == "HS256"
    assert settings.jwt_jwks_file == jwks
    assert isinstance(settings.jwt_jwks_file, Path)
    assert (settings.jwt_issuer, settings.jwt_audience) == ("issuer-x", "audience-y")


def test_every_table_variable_is_read_from_the_environment(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    for name, value in TABLE_ENV.items():
        clean_env.setenv(name, value)
    clean_env.setenv("JWT_JWKS_FILE", str(jwks))
    _assert_table_parsed(load_settings(), jwks)


def test_every_table_variable_is_read_from_a_dotenv_file(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    lines = [f'{name}="{value}"' for name, value in TABLE_ENV.items() if name != "JWT_PUBLIC_KEY"]
    lines.append(f"JWT_JWKS_FILE={jwks}")
    lines.append('JWT_PUBLIC_KEY="-----BEGIN PUBLIC KEY-----\\nMIIB\\n-----END PUBLIC KEY-----"')
    (tmp_path / ".env").write_text("\n".join(lines) + "\n")  # clean_env made tmp_path the cwd
    _assert_table_parsed(load_settings(), jwks)


def test_environment_beats_dotenv(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"ZOHO_DATA_CENTER=IN\nJWT_SECRET={HS_SECRET}\nAPP_ENV=test\n")
    clean_env.setenv("ZOHO_DATA_CENTER", "AU")
    assert load_settings().zoho_data_center == "AU"


def test_defaults_match_the_architecture_table(clean_env: pytest.MonkeyPatch) -> None:
    settings = read_environment()  # nothing set at all
    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite:///./pipeline_pulse.db"
    assert settings.app_env is AppEnv.PRODUCTION  # fail closed: production unless told otherwise
    assert settings.api.db_pool_size == 20
    assert settings.pipeline.zoho_sync_interval_minutes == 15
    assert (settings.zoho_data_center, settings.zoho_environment) == ("US", "production")
    assert settings.zoho_api_url is None
    assert settings.zoho_accounts_url is None
    assert settings.jwt_algorithm == "HS256"
    assert (settings.jwt_issuer, settings.jwt_audience) == ("pipeline-pulse", "pipeline-pulse")
    assert settings.aws_secret_id is None


@pytest.mark.parametrize("center", ["US", "EU", "IN", "AU", "JP", "CA", "SA", "CN"])
def test_every_known_data_center_is_accepted(clean_env: pytest.MonkeyPatch, center: str) -> None:
    clean_env.setenv("APP_ENV", "test")
    clean_env.setenv("ZOHO_DATA_CENTER", center.lower())
    assert load_settings().zoho_data_center == center


def _start_error(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    env.setdefault("APP_ENV", "test")
    env.setdefault("JWT_SECRET", HS_SECRET)
    for name, value in env.items():
        if value == "<unset>":
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    message = str(info.value)
    assert "\n" not in message, "start-up errors are one line"
    assert info.value.__cause__ is None or not isinstance(info.value.__cause__, ValueError)
    return message


@pytest.mark.parametrize(
    ("env", "must_mention"),
    [
        ({"ZOHO_DATA_CENTER": "XX"}, "ZOHO_DATA_CENTER"),
        ({"ZOHO_ENVIRONMENT": "staging"}, "ZOHO_ENVIRONMENT"),
        ({"APP_ENV": "prod"}, "APP_ENV"),
        ({"JWT_ALGORITHM": "HS512"}, "JWT_ALGORITHM"),
        ({"TOKEN_ENCRYPTION_KEY": "not-a-fernet-key"}, "TOKEN_ENCRYPTION_KEY"),
        ({"API_DB_POOL_SIZE": "0"}, "API_DB_POOL_SIZE"),
        ({"API_LOG_LEVEL": "chatty"}, "API_LOG_LEVEL"),
        ({"API_CACHE_VERSION_POLL_SECONDS": "soon"}, "API_CACHE_VERSION_POLL_SECONDS"),
        ({"ZOHO_SYNC_INTERVAL_MINUTES": "7"}, "ZOHO_SYNC_INTERVAL_MINUTES"),
        ({"ZOHO_RECONCILE_CRON": "nightly"}, "ZOHO_RECONCILE_CRON"),
        ({"PIPELINE_MAX_REJECTED_SHARE": "2"}, "PIPELINE_MAX_REJECTED_SHARE"),
        ({"JWT_SECRET": "too-short"}, "JWT_SECRET"),
        ({"JWT_ALGORITHM": "RS256"}, "JWT_PUBLIC_KEY"),
        ({"JWT_ALGORITHM": "RS256", "JWT_JWKS_FILE": "/nonexistent/jwks.json"}, "JWT_JWKS_FILE"),
        ({"ZOHO_API_URL": "http://127.0.0.1:8900"}, "ZOHO_ACCOUNTS_URL"),
        ({"ZOHO_ACCOUNTS_URL": "http://127.0.0.1:8900"}, "ZOHO_API_URL"),
        ({"ZOHO_API_URL": "ftp://x", "ZOHO_ACCOUNTS_URL": "http://y"}, "ZOHO_API_URL"),
        ({"DATABASE_URL": "mysql://etl@db/warehouse"}, "DATABASE_URL"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"SECRETS_CACHE_TTL_SECONDS": "-1"}, "SECRETS_CACHE_TTL_SECONDS"),
        ({"CORS_ORIGINS": "not-a-json-list"}, "cors_origins"),
        ({"APP_ENV": "production", "AWS_SECRET_ID": "<unset>"}, "AWS_SECRET_ID"),
    ],
)
def test_bad_configuration_fails_at_start_with_the_variable_named(
    clean_env: pytest.MonkeyPatch, env: dict[str, str], must_mention: str
) -> None:
    assert must_mention in _start_error(clean_env, **env)


def test_hs256_without_secret_in_production_is_refused_even_after_the_overlay(clean_env: pytest.MonkeyPatch) -> None:
    settings = Settings(app_env="production", aws_secret_id="x", token_encryption_key=Fernet.generate_key().decode())
    with pytest.raises(ConfigurationError, match="APP_ENV=production requires JWT_SECRET"):
        settings.check_complete()
    settings.with_overlay({"jwt_secret": HS_SECRET}).check_complete()  # the secret supplies it: fine


def test_bad_values_are_not_echoed_in_the_error(clean_env: pytest.MonkeyPatch) -> None:
    message = _start_error(clean_env, DATABASE_URL="mysql://etl:hunter2-password@db/warehouse")
    assert "hunter2" not in message
    assert "mysql" in message  # still says what is wrong


def test_no_environment_has_a_built_in_key(clean_env: pytest.MonkeyPatch) -> None:
    for env in ("development", "test"):
        clean_env.setenv("APP_ENV", env)
        settings = load_settings()  # a process that needs no key (e.g. alembic) may start
        assert settings.jwt_secret is None
        assert settings.token_encryption_key is None
        with pytest.raises(ConfigurationError, match="requires JWT_SECRET"):
            settings.require_jwt_secret()
        with pytest.raises(ConfigurationError, match="TOKEN_ENCRYPTION_KEY is not set"):
            settings.require_token_encryption_key()
    explicit = Settings(app_env="development", jwt_secret=HS_SECRET)
    assert explicit.require_jwt_secret() == HS_SECRET


def test_unset_app_env_means_production_and_says_so_in_one_line(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith("APP_ENV is not set, so production rules apply: AWS_SECRET_ID")
    assert "APP_ENV=development" in message  # says how to run locally
    assert "\n" not in message
    clean_env.setenv("APP_ENV", "production")
    with pytest.raises(ConfigurationError, match=r"^APP_ENV=production requires AWS_SECRET_ID"):
        load_settings()


def test_rs256_accepts_a_public_key_or_a_jwks_file(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("APP_ENV", "test")
    clean_env.setenv("JWT_ALGORITHM", "RS256")
    clean_env.setenv("JWT_PUBLIC_KEY", "-----BEGIN PUBLIC KEY-----")
    assert load_settings().jwt_algorithm == "RS256"
    clean_env.delenv("JWT_PUBLIC_KEY")
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    clean_env.setenv("JWT_JWKS_FILE", str(jwks))
    assert load_settings().jwt_jwks_file == jwks


def test_secret_values_never_appear_in_repr_str_json_or_logs(
    clean_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name, value in TABLE_ENV.items():
        clean_env.setenv(name, value)
    clean_env.setenv("DATABASE_URL", "postgresql://etl:inline-db-password@db/warehouse")
    clean_env.setenv("DATABASE_PASSWORD", "db-password-value")
    clean_env.setenv("TOKEN_ENCRYPTION_KEY", TOKEN_KEY)
    caplog.set_level(logging.DEBUG)
    settings = load_settings()
    logging.getLogger("test").info("settings: %s / %r", settings, settings)
    secrets = (*SECRET_VALUES, "inline-db-password", "db-password-value", TOKEN_KEY)
    rendered = {
        "repr": repr(settings),
        "str": str(settings),
        "json": settings.model_dump_json(),
        "logs": "\n".join(record.getMessage() for record in caplog.records),
    }
    assert "settings:" in rendered["logs"]
    for where, text in rendered.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked via {where}"
    assert "etl:***@db" in rendered["repr"]  # the URL stays readable, the password masked
    # The values are still usable by code that asks for them.
    assert settings.zoho_client_secret.get_secret_value() == "zoho-client-secret-value"  # type: ignore[union-attr]
    assert settings.database_url.endswith("etl:inline-db-password@db/warehouse")


def test_sqlalchemy_url_fills_in_database_password(clean_env: pytest.MonkeyPatch) -> None:
    password = "p@ss/w:rd#?%"  # characters that must be escaped in a URL
    settings = Settings(database_url="postgresql://etl@db.internal:5433/warehouse", database_password=password)
    url = make_url(settings.sqlalchemy_url())
    assert url.password == password
    assert (url.username, url.host, url.port, url.database) == ("etl", "db.internal", 5433, "warehouse")
    assert password not in repr(settings)
    # Without DATABASE_PASSWORD the URL (and any password inline in it) is used as given.
    assert Settings(database_url="postgresql://etl:inline@db/w").sqlalchemy_url() == "postgresql://etl:inline@db/w"


def test_get_settings_caches_until_reset(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("APP_ENV", "test")
    clean_env.setenv("ZOHO_DATA_CENTER", "JP")
    first = get_settings()
    clean_env.setenv("ZOHO_DATA_CENTER", "CA")
    assert get_settings() is first
    reset_settings_cache()
    assert get_settings().zoho_data_center == "CA"
