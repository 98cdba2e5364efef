"""The reference dashboard and /docs' Authorize button in headless Debian chromium (Playwright), against the API
served by uvicorn over real HTTP on a real PostgreSQL warehouse with known figures.

Every figure the page shows is compared with the API's own answer for the same token and selection.
Screenshots land in the test's tmp dir (dashboard-*.png, docs-authorized.png).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine, insert

from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.models import Deal, SalesTarget
from tests.fixtures.api import api_settings, deal_row, make_token, seed_reference_warehouse, serve

pytestmark = [pytest.mark.browser]

BIG_ID = 4876876000100012985
HEADLINE = ["open_pipeline", "weighted_pipeline", "win_rate_by_count", "sales_velocity_per_day", "stale_open_deals"]
RAISES, LOWERS = ("new", "increased", "pulled_in"), ("decreased", "won", "lost", "removed", "pushed_out")
TARGETS = [
    {
        "period": "2026-Q1",
        "period_start": date(2026, 1, 1),
        "period_end": date(2026, 3, 31),
        "region": region,
        "owner_id": None,
        "amount_home": Decimal(amount),
        "source": "tests",
        "loaded_at": datetime(2025, 12, 1, tzinfo=UTC),
    }
    for region, amount in (("APAC", "10000.00"), ("EMEA", "3000.00"))
]
ATTAINMENT = ("target", "won_to_date", "attainment", "gap", "open_pipeline", "weighted_pipeline", "coverage")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    # bypass_csp: Playwright evaluates its wait predicates as strings; the page's own scripts never need eval.
    context = browser.new_context(viewport={"width": 1600, "height": 1100}, accept_downloads=True, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        context.close()


class Served:
    def __init__(self, base: str, settings: Any) -> None:
        self.base = base
        self.settings = settings
        self.admin = make_token(settings, [], role="admin")
        self.apac = make_token(settings, ("APAC",))

    def api(self, token: str, path: str, **params: Any) -> Any:
        response = httpx.get(
            f"{self.base}/api/v1{path}", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def served(fresh_postgres_url: str) -> Iterator[Served]:
    engine: Engine = create_sync_engine(fresh_postgres_url)
    seed_reference_warehouse(engine)
    with engine.begin() as conn:  # an id beyond 2^53 in the deals table and the CSV; 2026-Q1 targets
        conn.execute(insert(Deal), [deal_row(BIG_ID, region="APAC", amount_home="55.00", probability=50)])
        conn.execute(insert(SalesTarget), TARGETS)
        from pipeline_pulse.warehouse.metrics_mart import refresh_pipeline_metrics

        refresh_pipeline_metrics(conn)
    engine.dispose()
    settings = api_settings(fresh_postgres_url)
    for base in serve(settings):
        yield Served(base, settings)


def _wait_ready(page: Page) -> None:
    page.wait_for_function("document.body.dataset.state === 'ready'")
    page.wait_for_function("[...document.querySelectorAll('section.panel')].every(p => p.dataset.state !== 'loading')")


def _number(text: Any) -> Decimal | None:
    return None if text in (None, "") else Decimal(str(text))


def _shown_headline(page: Page) -> dict[str, Decimal | None]:
    locate = page.locator
    return {metric: _number(locate(f'[data-metric="{metric}"]').get_attribute("data-value")) for metric in HEADLINE}


def _expected_headline(summary: dict[str, Any]) -> dict[str, Decimal | None]:
    return {metric: _number(summary[metric]) for metric in HEADLINE}


def _table(page: Page, selector: str, column: str) -> list[str]:
    cells = page.locator(f'{selector} tbody td[data-column="{column}"]')
    return [cells.nth(index).get_attribute("data-value") or "" for index in range(cells.count())]


def test_dashboard_shows_the_apis_figures(served: Served, page: Page, tmp_path: Path) -> None:
    external: list[str] = []
    page.on("request", lambda request: external.append(request.url) if "127.0.0.1" not in request.url else None)
    page.goto(f"{served.base}/dashboard#token={served.admin}")
    _wait_ready(page)
    assert external == [], f"the dashboard loads assets from elsewhere: {external}"
    assert "#token" not in page.url  # taken out of the address bar
    assert page.evaluate("sessionStorage.getItem('pipeline-pulse-token')") == served.admin
    page.screenshot(path=str(tmp_path / "dashboard-admin.png"), full_page=True)

    everything = served.api(served.admin, "/metrics/summary")
    assert _shown_headline(page) == _expected_headline(everything)
    regions = served.api(served.admin, "/metrics/by-region", deal_status="open")["items"]
    assert _table(page, "#panel-by-region", "region") == [item["region"] for item in regions]
    assert _table(page, "#panel-by-region", "amount") == [item["amount"] for item in regions]
    stages = served.api(served.admin, "/metrics/by-stage", deal_status="open")["items"]
    assert _table(page, "#panel-by-stage", "amount") == [item["amount"] for item in stages]

    # Switching the region changes every figure to the API's answer for that region.
    page.select_option("#region", "EMEA")
    _wait_ready(page)
    emea = served.api(served.admin, "/metrics/summary", region="EMEA")
    assert _shown_headline(page) == _expected_headline(emea)
    assert _shown_headline(page) != _expected_headline(everything)
    page.screenshot(path=str(tmp_path / "dashboard-admin-emea.png"), full_page=True)
    page.select_option("#region", "")
    _wait_ready(page)

    # The waterfall between two snapshots adds up and shows the API's components; a component drills down.
    page.fill("#movement-from", "2026-01-31")
    page.fill("#movement-to", "2026-02-28")
    page.dispatch_event("#movement-to", "change")
    # The panel's earlier figures (its default range) are already on the page: wait for this range's.
    page.wait_for_function("document.querySelector('#panel-movement .body').dataset.range === '2026-01-31/2026-02-28'")
    movement = served.api(served.admin, "/metrics/movement", **{"from": "2026-01-31", "to": "2026-02-28"})
    shown = dict(
        zip(_table(page, "#movement-table", "component"), _table(page, "#movement-table", "amount"), strict=True)
    )
    assert Decimal(shown["start"]) == Decimal(movement["start"])
    assert Decimal(shown["end"]) == Decimal(movement["end"])
    steps = [key for key in shown if key not in ("start", "end")]
    assert steps
    assert Decimal(shown["start"]) + sum(Decimal(shown[key]) for key in steps) == Decimal(shown["end"])
    for key in steps:
        sign = 1 if key in RAISES else -1
        assert key in RAISES + LOWERS
        assert Decimal(shown[key]) == sign * Decimal(movement[key])
    page.locator('#movement-table tr[data-component="won"]').click()
    # Not the "deals in ..." placeholder: the answer (its component set) or the problem it met.
    page.wait_for_function(
        "document.querySelector('#movement-deals').dataset.component === 'won'"
        " || document.querySelector('#movement-deals .problem') !== null"
    )
    paths = httpx.get(f"{served.base}/openapi.json", timeout=30).json()["paths"]
    if "/api/v1/metrics/movement/deals" in paths:  # the drill-down lists the API's deals of the component
        params = {"from": "2026-01-31", "to": "2026-02-28", "component": "won"}
        drilled = served.api(served.admin, "/metrics/movement/deals", **params)["items"]
        shown_ids = _table(page, "#movement-deals", "deal_id")
        assert shown_ids == [str(item.get("deal_id", item.get("id"))) for item in drilled]
    else:  # until the endpoint exists the panel says so instead of showing nothing
        assert "drill-down: Not Found" in page.inner_text("#movement-deals")
    page.screenshot(path=str(tmp_path / "dashboard-movement.png"), full_page=True)

    # Deals table: the API's first page for the panel's selection; CSV download: every matching deal.
    page.select_option("#deals-status", "all")
    _wait_ready(page)
    first = served.api(served.admin, "/deals", deal_status="all", sort="-amount_home", page_size=25)["items"]
    assert _table(page, "#deals-table", "id") == [item["id"] for item in first]
    assert str(BIG_ID) in _table(page, "#deals-table", "id")
    with page.expect_download() as download_info:
        page.click("#deals-csv")
    path = tmp_path / "deals.csv"
    download_info.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))
    ids = [row["id"].removeprefix('="').removesuffix('"') for row in rows]
    assert ids == [item["id"] for item in first]  # fewer than one page: the whole selection
    assert f'="{BIG_ID}"' in [row["id"] for row in rows]


def test_regional_token_pasted_into_the_page(served: Served, page: Page, tmp_path: Path) -> None:
    page.goto(f"{served.base}/dashboard")
    page.wait_for_function("document.body.dataset.state === 'no-token'")
    assert "Paste a token" in page.inner_text("#error")
    page.fill("#token-input", served.apac)
    page.click("#token-form button[type=submit]")
    _wait_ready(page)
    apac = served.api(served.apac, "/metrics/summary")
    assert _shown_headline(page) == _expected_headline(apac)
    assert _table(page, "#panel-by-region", "region") == ["APAC"]
    assert page.locator("#region option").count() == 1  # nothing else to switch to
    # Switching the closing period changes the figures to the API's for that range.
    page.select_option("#period", "custom")
    page.fill("#closing-from", "2026-02-01")
    page.fill("#closing-to", "2026-02-28")
    page.dispatch_event("#closing-to", "change")
    _wait_ready(page)
    february = served.api(served.apac, "/metrics/summary", closing_from="2026-02-01", closing_to="2026-02-28")
    assert _shown_headline(page) == _expected_headline(february)
    assert _shown_headline(page) != _expected_headline(apac)
    page.screenshot(path=str(tmp_path / "dashboard-apac.png"), full_page=True)
    assert page.evaluate("sessionStorage.getItem('pipeline-pulse-token')") == served.apac
    page.click("#token-forget")
    page.wait_for_function("document.body.dataset.state === 'no-token'")
    assert page.evaluate("sessionStorage.getItem('pipeline-pulse-token')") is None


def test_docs_authorize_button_works(served: Served, page: Page, tmp_path: Path) -> None:
    page.goto(f"{served.base}/docs")
    page.locator(".swagger-ui .info .title").wait_for(state="visible")
    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".modal-ux")
    dialog.locator("input").first.fill(served.apac)
    dialog.locator("button.modal-btn.authorize").click()
    dialog.locator("button.btn-done").click()
    operation = page.locator("#operations-reference-list_regions_api_v1_regions_get")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for(state="visible")
    page.screenshot(path=str(tmp_path / "docs-authorized.png"), full_page=True)
    assert status.inner_text().strip() == "200"
    assert '"APAC"' in operation.locator(".live-responses-table .microlight").first.inner_text()


def _shown_attainment(page: Page) -> dict[str, Decimal | None]:
    locate = page.locator
    return {key: _number(locate(f'[data-metric="attainment.{key}"]').get_attribute("data-value")) for key in ATTAINMENT}


def _set_period(page: Page, period: str) -> None:
    page.fill("#attainment-period", period)
    page.dispatch_event("#attainment-period", "change")
    page.wait_for_function(f"document.querySelector('#panel-attainment .body').dataset.period === '{period}'")


def test_insight_panels_show_the_apis_figures(served: Served, page: Page, tmp_path: Path) -> None:
    page.goto(f"{served.base}/dashboard#token={served.admin}")
    _wait_ready(page)
    _set_period(page, "2026-Q1")
    attainment = served.api(served.admin, "/metrics/attainment", period="2026-Q1", group_by="region")
    assert _shown_attainment(page) == {key: _number(attainment["total"][key]) for key in ATTAINMENT}
    assert _shown_attainment(page)["target"] == Decimal("13000.00")
    assert _table(page, "#attainment-table", "group") == [group["region"] for group in attainment["groups"]]
    assert [_number(value) for value in _table(page, "#attainment-table", "coverage")] == [
        _number(group["coverage"]) for group in attainment["groups"]
    ]
    forecast = served.api(served.admin, "/metrics/forecast", period="2026-Q1")
    assert _table(page, "#forecast-table", "amount") == [row["amount"] for row in forecast["total"]["categories"]]

    attention = served.api(served.admin, "/deals/attention", page_size=15)["items"]
    assert attention  # the reference deals were last touched in early 2026
    assert _table(page, "#attention-table", "id") == [item["id"] for item in attention]
    assert _table(page, "#attention-table", "health") == [item["health"]["status"] for item in attention]
    assert _table(page, "#attention-table", "amount_at_risk") == [item["amount_at_risk"] for item in attention]

    window = {"from": page.input_value("#stages-from"), "to": page.input_value("#stages-to")}
    stages = served.api(served.admin, "/metrics/stages", pipeline="Standard", **window)["stages"]
    assert _table(page, "#stages-table", "stage") == [row["stage"] for row in stages]
    for column in ("entered", "moved_forward", "won", "still_in_stage", "stuck_beyond_sla"):
        assert _table(page, "#stages-table", column) == [str(row[column]) for row in stages], column
    page.screenshot(path=str(tmp_path / "dashboard-insight.png"), full_page=True)

    # Switching the region switches the insight panels too.
    page.select_option("#region", "EMEA")
    _wait_ready(page)
    _set_period(page, "2026-Q1")
    emea = served.api(served.admin, "/metrics/attainment", period="2026-Q1", group_by="region", region="EMEA")
    assert _shown_attainment(page) == {key: _number(emea["total"][key]) for key in ATTAINMENT}
    assert _shown_attainment(page)["target"] == Decimal("3000.00")
    emea_attention = served.api(served.admin, "/deals/attention", page_size=15, region="EMEA")["items"]
    assert _table(page, "#attention-table", "id") == [item["id"] for item in emea_attention]
    page.screenshot(path=str(tmp_path / "dashboard-insight-emea.png"), full_page=True)
