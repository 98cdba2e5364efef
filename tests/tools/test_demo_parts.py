"""The demo's building blocks without starting the whole system: settings, markers, ports, process groups."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.fixtures.demo import REPO_ROOT, free_ports, processes_with_env
from tools.demo_config import DemoConfig, DemoConfigError, DemoMarker
from tools.processes import ChildFailedError, PortInUseError, ProcessGroupManager, ensure_ports_free


def test_config_defaults_and_overrides(tmp_path: Path) -> None:
    default = DemoConfig.from_env({})
    assert (default.api_port, default.dagster_port, default.sandbox_port) == (8000, 3000, 8900)
    assert (default.deals, default.seed, default.history_days) == (20_000, 7, 60)
    assert default.database_url == f"sqlite:///{REPO_ROOT / 'pipeline_pulse.db'}"
    assert default.dagster_home == REPO_ROOT / ".dagster_home"

    custom = DemoConfig.from_env(
        {
            "DEMO_API_PORT": "18000",
            "DEMO_DEALS": "500",
            "DEMO_RUN_DIR": str(tmp_path),
            "DATABASE_URL": "postgresql://u:pw@h/db",
        }
    )
    assert (custom.api_port, custom.deals, custom.run_dir) == (18000, 500, tmp_path)
    assert custom.masked_database_url == "postgresql://u:***@h/db"
    assert custom.identity != default.identity  # another warehouse keeps its own demo state
    env = custom.child_env({})
    assert env["ZOHO_API_URL"] == env["ZOHO_ACCOUNTS_URL"] == "http://127.0.0.1:8900"
    assert env["DAGSTER_HOME"] == str(custom.dagster_home)


def test_children_run_in_development_with_the_run_directory_s_own_random_keys(tmp_path: Path) -> None:
    config = DemoConfig.from_env({"DEMO_RUN_DIR": str(tmp_path / "run")})
    env = config.child_env({"APP_ENV": "production"})
    assert env["APP_ENV"] == "development"  # the demo is a development system, whatever the shell says
    assert len(env["JWT_SECRET"]) >= 32
    Fernet(env["TOKEN_ENCRYPTION_KEY"])  # a usable key
    assert config.dev_keys_path.stat().st_mode & 0o777 == 0o600
    again = config.child_env({})
    assert (again["JWT_SECRET"], again["TOKEN_ENCRYPTION_KEY"]) == (env["JWT_SECRET"], env["TOKEN_ENCRYPTION_KEY"])
    other = DemoConfig.from_env({"DEMO_RUN_DIR": str(tmp_path / "other")}).child_env({})
    assert other["JWT_SECRET"] != env["JWT_SECRET"]  # random per run directory, never a constant
    assert config.child_env({"JWT_SECRET": "mine-" * 8})["JWT_SECRET"] == "mine-" * 8  # explicit keys win


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEMO_API_PORT", "eighty", "valid integer"),
        ("DEMO_DEALS", "0", "greater than or equal to 10"),
        ("DEMO_HISTORY_DAYS", "999", "less than or equal to 365"),
    ],
)
def test_config_rejects_bad_values(name: str, value: str, message: str) -> None:
    with pytest.raises(DemoConfigError, match=f"^{name}: .*{message}"):
        DemoConfig.from_env({name: value})


def test_the_environment_is_read_through_the_settings_classes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("DEMO_API_PORT", "18123")
    monkeypatch.setenv("DEMO_RUN_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    config = DemoConfig.from_env()
    assert (config.api_port, config.run_dir) == (18123, tmp_path / "state")
    assert config.database_url == f"sqlite:///{tmp_path / 'w.db'}"
    monkeypatch.setenv("DEMO_SEED", "-1")
    with pytest.raises(DemoConfigError, match=r"^DEMO_SEED: "):
        DemoConfig.from_env()


def test_marker_round_trip_and_history_ends_yesterday(tmp_path: Path) -> None:
    config = DemoConfig.from_env({"DEMO_RUN_DIR": str(tmp_path), "DEMO_HISTORY_DAYS": "60"})
    marker = DemoMarker.new(config, today=datetime(2026, 11, 26, 15, 30, tzinfo=UTC))
    # day 0 = initial load, day 60 = yesterday (today's snapshot partition does not exist yet)
    assert marker.clock_start_dt == datetime(2026, 9, 26, tzinfo=UTC)
    marker.days_done = 12
    marker.save(config.marker_path)
    loaded = DemoMarker.load(config.marker_path)
    assert loaded == marker
    assert loaded.matches(config)
    assert not loaded.matches(DemoConfig.from_env({"DEMO_RUN_DIR": str(tmp_path), "DEMO_DEALS": "100"}))
    config.marker_path.write_text("{not json")
    assert DemoMarker.load(config.marker_path) is None


def test_port_in_use_is_named() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"port {port} .*DEMO_API_PORT"):
            ensure_ports_free("127.0.0.1", {"DEMO_SANDBOX_PORT": 0, "DEMO_API_PORT": port})


def test_run_demo_exits_with_a_clear_message_when_a_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        sandbox_port, api_port = free_ports(2)  # not the defaults: a developer's demo may hold those
        env = {
            **os.environ,
            "DEMO_RUN_DIR": str(tmp_path),
            "DEMO_SANDBOX_PORT": str(sandbox_port),
            "DEMO_API_PORT": str(api_port),
            "DEMO_DAGSTER_PORT": str(port),
        }
        result = subprocess.run(
            [sys.executable, "-m", "tools.run_demo"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use (DEMO_DAGSTER_PORT)" in result.stderr
    assert not (tmp_path / "logs").exists()  # nothing was started


def test_stop_all_ends_children_and_grandchildren(tmp_path: Path) -> None:
    manager = ProcessGroupManager(log_dir=tmp_path, grace_seconds=2)
    env = {**os.environ, "PP_PROCESS_TEST": str(tmp_path)}
    # A child that ignores SIGTERM and has a grandchild: both must still be gone after stop_all().
    manager.start("stubborn", ["sh", "-c", "trap '' TERM; sleep 300 & sleep 300; wait"], env, tmp_path)
    manager.start(
        "plain", [sys.executable, "-c", "import time; time.sleep(300)"], env, tmp_path, stop_signal=signal.SIGINT
    )
    deadline = time.monotonic() + 10
    while len(processes_with_env(f"PP_PROCESS_TEST={tmp_path}")) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(processes_with_env(f"PP_PROCESS_TEST={tmp_path}")) >= 4
    manager.stop_all()
    assert processes_with_env(f"PP_PROCESS_TEST={tmp_path}") == []


def test_failed_child_reports_its_log(tmp_path: Path) -> None:
    manager = ProcessGroupManager(log_dir=tmp_path)
    with pytest.raises(ChildFailedError, match=r"(?s)broken failed \(exit 3\).*boom"):
        manager.run(
            "broken",
            [sys.executable, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(3)"],
            os.environ,
            tmp_path,
        )


def test_demo_allows_local_dev_origins_unless_told_otherwise() -> None:
    import json

    config = DemoConfig.from_env({})
    origins = json.loads(config.child_env({})["CORS_ORIGINS"])
    assert {"http://localhost:5173", "http://localhost:3000", "http://127.0.0.1:5173"} <= set(origins)
    assert json.loads(config.child_env({"CORS_ORIGINS": '["https://app.example"]'})["CORS_ORIGINS"]) == [
        "https://app.example"
    ]
    assert "CORS_ORIGINS" in config.cors_origins_line
    assert "http://localhost:5173" in config.cors_origins_line or "CORS_ORIGINS" in os.environ
