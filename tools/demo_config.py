"""What the demo runs with: ports, data-set size, paths and the warehouse URL.

The `DEMO_*` variables are `DemoSettings` and the warehouse is `DATABASE_URL`, both in
pipeline_pulse/core/config.py (the README's configuration table lists them). Children get `CORS_ORIGINS`
defaulting to the local frontend dev servers (`DEV_CORS_ORIGINS`).

Every child runs with `APP_ENV=development` and the development keys of the run directory
(`DEMO_RUN_DIR/dev-keys.env`: a random `JWT_SECRET` and `TOKEN_ENCRYPTION_KEY`, created on the first run and
kept, so stored Zoho tokens stay readable and printed tokens keep verifying); keys already in the environment win.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from pipeline_pulse.core.config import (
    DEFAULT_DATABASE_URL,
    ConfigurationError,
    DemoSettings,
    describe_validation_error,
    env_name,
)
from pipeline_pulse.core.settings import read_environment

REPO_ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
# The sandbox's OAuth client (its defaults): the demo's pipeline authenticates with these.
SANDBOX_CLIENT = {
    "ZOHO_CLIENT_ID": "sandbox-client-id",
    "ZOHO_CLIENT_SECRET": "sandbox-client-secret",
    "ZOHO_REFRESH_TOKEN": "sandbox-refresh-token",
}


# Browser origins of the usual local frontend dev servers (Vite, Create React App / Next, Angular, generic).
DEV_CORS_ORIGINS = [f"http://{host}:{port}" for port in (5173, 3000, 4200, 8080) for host in ("localhost", "127.0.0.1")]


DEV_KEYS_FILE = "dev-keys.env"


def load_or_create_dev_keys(path: Path) -> dict[str, str]:
    """The run directory's random development keys, created once (mode 0600) and reused afterwards."""
    if path.exists():
        pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if "=" in line)
        keys = {name.strip(): value.strip() for name, value in pairs}
        if keys.keys() >= {"JWT_SECRET", "TOKEN_ENCRYPTION_KEY"}:
            return keys
    keys = {"JWT_SECRET": secrets.token_urlsafe(48), "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text("".join(f"{name}={value}\n" for name, value in keys.items()), encoding="utf-8")
    tmp.replace(path)
    return keys


class DemoConfigError(ValueError):
    """A DEMO_* variable is not usable; the message names it."""


def _absolute(path: Path) -> Path:
    return path if path.is_absolute() else REPO_ROOT / path


def _absolute_sqlite(url: str) -> str:
    """Relative SQLite paths are relative to the repo root, whatever the children's working directory."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not path.is_absolute():
            return parsed.set(database=str(REPO_ROOT / path)).render_as_string(hide_password=False)
    return url


@dataclass(frozen=True)
class DemoConfig:
    api_port: int
    dagster_port: int
    sandbox_port: int
    deals: int
    seed: int
    history_days: int
    run_dir: Path
    dagster_home: Path
    database_url: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DemoConfig:
        """From the environment (and `.env`), or only from `env` when given (tests)."""
        try:
            if env is None:
                demo, database_url = DemoSettings(), read_environment().database_url
            else:
                names = {env_name(DemoSettings, field): field for field in DemoSettings.model_fields}
                given = {names[key]: value for key, value in env.items() if key in names and value.strip()}
                demo = DemoSettings.model_validate(given)
                database_url = env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
        except ValidationError as exc:
            raise DemoConfigError(describe_validation_error(exc)) from None
        except ConfigurationError as exc:
            raise DemoConfigError(str(exc)) from None
        return cls(
            api_port=demo.api_port,
            dagster_port=demo.dagster_port,
            sandbox_port=demo.sandbox_port,
            deals=demo.deals,
            seed=demo.seed,
            history_days=demo.history_days,
            run_dir=_absolute(demo.run_dir),
            dagster_home=_absolute(demo.dagster_home),
            database_url=_absolute_sqlite(database_url),
        )

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    @property
    def dagster_url(self) -> str:
        return f"http://{HOST}:{self.dagster_port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://{HOST}:{self.sandbox_port}"

    @property
    def cors_origins_line(self) -> str:
        try:
            origins = ", ".join(json.loads(self.child_env().get("CORS_ORIGINS", "[]"))) or "none"
        except ValueError:
            origins = "(CORS_ORIGINS is not a JSON list)"
        return f"browser origins allowed: {origins} (CORS_ORIGINS, a JSON list, controls it)"

    @property
    def masked_database_url(self) -> str:
        return make_url(self.database_url).render_as_string(hide_password=True)

    @property
    def identity(self) -> str:
        """Demo state belongs to one warehouse + data set; another one starts its own history."""
        key = f"{make_url(self.database_url).render_as_string(hide_password=True)}|{self.deals}|{self.seed}"
        return hashlib.sha256(key.encode()).hexdigest()[:12]

    @property
    def marker_path(self) -> Path:
        return self.run_dir / f"demo-{self.identity}.json"

    @property
    def sandbox_state_path(self) -> Path:
        return self.run_dir / f"sandbox-state-{self.identity}.sqlite"

    @property
    def log_dir(self) -> Path:
        return self.run_dir / "logs"

    def ports(self) -> dict[str, int]:
        return {
            "DEMO_SANDBOX_PORT": self.sandbox_port,
            "DEMO_API_PORT": self.api_port,
            "DEMO_DAGSTER_PORT": self.dagster_port,
        }

    @property
    def dev_keys_path(self) -> Path:
        return self.run_dir / DEV_KEYS_FILE

    def child_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment of every process the demo starts: development, its keys, the warehouse, the sandbox as
        Zoho, Dagster's home."""
        env = dict(os.environ if base is None else base)
        env["APP_ENV"] = "development"
        for name, value in load_or_create_dev_keys(self.dev_keys_path).items():
            env.setdefault(name, value)
        env.setdefault("CORS_ORIGINS", json.dumps(DEV_CORS_ORIGINS))
        env.update(SANDBOX_CLIENT)
        env.update(
            {
                "DATABASE_URL": self.database_url,
                "ZOHO_API_URL": self.sandbox_url,
                "ZOHO_ACCOUNTS_URL": self.sandbox_url,
                "ZOHO_RESOURCE_PATH": str(self.run_dir / "zoho_sdk"),
                "DAGSTER_HOME": str(self.dagster_home),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.setdefault("ZOHO_USER_EMAIL", "demo@pipeline-pulse.local")
        return env


@dataclass
class DemoMarker:
    """Progress of the simulated history, saved after every step so an interrupted run resumes."""

    identity: str
    deals: int
    seed: int
    history_days: int
    clock_start: str  # ISO UTC; the sandbox data set is generated relative to it
    days_done: int = 0  # simulated days synced and snapshotted (0 = only the initial load, -1 = nothing)
    complete: bool = False

    @classmethod
    def new(cls, config: DemoConfig, today: datetime | None = None) -> DemoMarker:
        # Day 0 is the initial load, day N is yesterday: today's snapshot partition only exists tomorrow.
        midnight = (today or datetime.now(UTC)).replace(hour=0, minute=0, second=0, microsecond=0)
        start = midnight - timedelta(days=config.history_days + 1)
        return cls(
            identity=config.identity,
            deals=config.deals,
            seed=config.seed,
            history_days=config.history_days,
            clock_start=start.isoformat(),
            days_done=-1,
        )

    @property
    def clock_start_dt(self) -> datetime:
        return datetime.fromisoformat(self.clock_start)

    def matches(self, config: DemoConfig) -> bool:
        return (self.identity, self.deals, self.seed, self.history_days) == (
            config.identity,
            config.deals,
            config.seed,
            config.history_days,
        )

    @classmethod
    def load(cls, path: Path) -> DemoMarker | None:
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        tmp.replace(path)  # atomic: a Ctrl-C never leaves half a marker
