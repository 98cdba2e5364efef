"""What the data team sees, in a real browser: the Dagster UI on the demo state and the API's /docs page.

Headless Debian `chromium` through the `browser` / `page` fixtures (tests/fixtures/browser.py: skipped with the
install command when chromium is missing). Screenshots land in each test's tmp dir.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.fixtures.demo import RunningDemo

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("demo_session")]

RUNS_QUERY = "{ runsOrError(limit: 1) { ... on Runs { results { runId jobName status } } } }"


def _pipeline_assets() -> tuple[list[str], list[str]]:
    """Asset names and group names of the code location, as the UI shows them."""
    from orchestration.definitions import defs

    specs = list(defs().resolve_all_asset_specs())
    return sorted(spec.key.to_user_string() for spec in specs), sorted({spec.group_name or "default" for spec in specs})


def _latest_finished_run(dagster_url: str, timeout: float = 300) -> dict[str, str]:
    """The newest run once it has finished (a scheduled sync may be in flight when the test looks)."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.post(f"{dagster_url}/graphql", json={"query": RUNS_QUERY}, timeout=30)
        run = response.json()["data"]["runsOrError"]["results"][0]
        if run["status"] not in ("QUEUED", "NOT_STARTED", "STARTING", "STARTED") or time.monotonic() > deadline:
            return run
        time.sleep(2)


def _dismiss_community_dialog(page: Page) -> None:
    # Dagster's one-time "join the community" dialog opens shortly after a fresh instance's first page load.
    skip = page.get_by_role("button", name="Skip")
    with contextlib.suppress(PlaywrightTimeoutError):
        skip.wait_for(state="visible", timeout=10_000)
        skip.click()


def test_dagster_ui_lists_the_assets_and_the_latest_run_succeeded(
    demo_session: RunningDemo, page: Page, tmp_path: Path
) -> None:
    assets, groups = _pipeline_assets()
    assert {"deals", "deal_snapshots", "stage_history_import", "pipeline_metrics"} <= set(assets)

    # The catalog lists every asset with its group. (Not the lineage graph: it keeps re-rendering while runs
    # report, which detaches any node a click aims at — a wait that depends on the machine's speed.)
    page.goto(f"{demo_session.dagster_url}/assets")
    _dismiss_community_dialog(page)
    for name in [*assets, *groups]:
        page.get_by_text(name, exact=True).first.wait_for(state="visible")
    page.screenshot(path=str(tmp_path / "dagster-asset-catalog.png"))
    page.goto(f"{demo_session.dagster_url}/asset-groups")
    page.locator("foreignObject").get_by_text(groups[0], exact=True).first.wait_for(state="visible")
    page.screenshot(path=str(tmp_path / "dagster-lineage.png"))

    latest = _latest_finished_run(demo_session.dagster_url)
    assert latest["status"] == "SUCCESS", latest
    page.goto(f"{demo_session.dagster_url}/runs")
    page.get_by_text(latest["runId"][:8], exact=True).first.wait_for(state="visible")
    # The list is a virtualized grid of divs: read it as text. The first row follows the header's last column.
    rows = page.inner_text("body").split("Duration", 1)[1]
    first_row = rows.split("View\n", 1)[0]
    assert first_row.split()[0] == latest["runId"][:8], first_row
    assert "Success" in first_row, first_row
    page.screenshot(path=str(tmp_path / "dagster-runs.png"))


def test_api_docs_render(demo_session: RunningDemo, page: Page, tmp_path: Path) -> None:
    external = []
    page.on("request", lambda request: external.append(request.url) if "127.0.0.1" not in request.url else None)
    page.goto(f"{demo_session.api_url}/docs")
    page.wait_for_load_state("load")
    page.screenshot(path=str(tmp_path / "api-docs-loading.png"))
    # Offline (CI) a page that needs a CDN renders blank: say so instead of timing out.
    assert external == [], f"/docs loads assets from outside the API, which fails offline: {external}"
    page.locator(".swagger-ui .info .title").wait_for(state="visible")
    assert "/api/v1/metrics/summary" in page.locator(".swagger-ui").inner_text()
    page.screenshot(path=str(tmp_path / "api-docs.png"), full_page=True)
