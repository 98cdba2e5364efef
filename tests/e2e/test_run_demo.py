"""`make run` headless: ready, metrics for all-regions and region tokens, Ctrl-C leaves nothing, rerun is quick."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.fixtures.demo import READY_LINE, RunningDemo, start_demo

HISTORY_DAYS = 2


def _get(demo: RunningDemo, path: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{demo.api_url}/api/v1{path}", headers=headers, timeout=30)


def _assert_stops_cleanly(demo: RunningDemo) -> None:
    assert demo.demo_processes(), "the scan for demo processes finds nothing even while the demo runs"
    assert demo.stop() == 0, demo.text()
    deadline = time.monotonic() + 10
    while demo.demo_processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert demo.demo_processes() == [], f"orphans left after Ctrl-C:\n{demo.text()}"


def test_demo_end_to_end(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    started = time.monotonic()
    demo = start_demo(run_dir, history_days=HISTORY_DAYS)
    first_ready = time.monotonic() - started
    try:
        output = demo.text()
        assert READY_LINE in output
        assert demo.dagster_url in output
        assert demo.api_url in output
        assert set(demo.tokens) == {"ADMIN_TOKEN", "APAC_TOKEN"}
        assert output.count("curl -s -H") == 2

        admin = _get(demo, "/metrics/summary", demo.tokens["ADMIN_TOKEN"])
        apac = _get(demo, "/metrics/summary", demo.tokens["APAC_TOKEN"])
        assert admin.status_code == 200, admin.text
        assert apac.status_code == 200, apac.text
        assert admin.json()["open_deal_count"] > apac.json()["open_deal_count"] > 0
        assert float(apac.json()["open_pipeline"]) > 0

        regions = _get(demo, "/metrics/by-region", demo.tokens["APAC_TOKEN"]).json()["items"]
        assert [item["region"] for item in regions] == ["APAC"]
        assert len(_get(demo, "/metrics/by-region", demo.tokens["ADMIN_TOKEN"]).json()["items"]) > 1
        assert _get(demo, "/metrics/summary", None).status_code == 401
        # Every simulated day (day 0 .. day N = yesterday) is after the history start: a known trend point each.
        today = datetime.now(UTC).date()
        first_day = today - timedelta(days=HISTORY_DAYS + 1)
        trend = _get(
            demo,
            f"/metrics/trend?from={first_day}&to={today - timedelta(days=1)}&interval=day",
            demo.tokens["ADMIN_TOKEN"],
        ).json()["items"]
        assert [(item["state"], item["as_of_day"]) for item in trend] == [
            ("end_of_day", str(first_day + timedelta(days=n))) for n in range(HISTORY_DAYS + 1)
        ]
        assert all(item["open_deal_count"] > 0 for item in trend)
        assert httpx.get(f"{demo.dagster_url}/server_info", timeout=10).status_code == 200
    finally:
        _assert_stops_cleanly(demo)

    # The second run reuses the warehouse, the sandbox state and Dagster's runs.
    started = time.monotonic()
    again = start_demo(run_dir, history_days=HISTORY_DAYS)
    second_ready = time.monotonic() - started
    try:
        assert "history already simulated" in again.text()
        assert "generating the data set" not in again.text()
        summary = _get(again, "/metrics/summary", again.tokens["ADMIN_TOKEN"])
        assert summary.json()["open_deal_count"] == admin.json()["open_deal_count"]
    finally:
        _assert_stops_cleanly(again)
    print(f"first run ready in {first_ready:.0f}s, second in {second_ready:.0f}s")
    assert second_ready < first_ready


@pytest.mark.xdist_group("demo_session")
def test_demo_on_postgres(demo_session: RunningDemo) -> None:
    # `DATABASE_URL=postgresql://... make run`: the same path on an empty Postgres warehouse (the shared demo;
    # starting, stopping and rerunning are checked on SQLite above).
    assert "postgresql://" in demo_session.text()
    admin = _get(demo_session, "/metrics/summary", demo_session.tokens["ADMIN_TOKEN"]).json()
    apac = _get(demo_session, "/metrics/summary", demo_session.tokens["APAC_TOKEN"]).json()
    assert admin["open_deal_count"] > apac["open_deal_count"] > 0
