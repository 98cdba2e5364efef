"""GET /dashboard serves the page and its vendored assets from the API itself, with a same-origin-only CSP."""

from __future__ import annotations

import hashlib
import re

from api.dashboard_page import DASHBOARD_DIR
from tests.fixtures.api import ApiClient

CHART_JS_SHA256 = "2812cb8825fdc57469eb2f7bb055e9429244e599920511ee477e828499b632cb"  # chart.js 4.4.7 dist/chart.umd.js


def test_page_and_every_asset_it_names_are_served(seeded_api: ApiClient) -> None:
    page = seeded_api.client.get("/dashboard")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "unsafe" not in policy
    assert page.headers["referrer-policy"] == "no-referrer"
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets
    for asset in assets:
        assert asset.startswith("/dashboard/static/"), asset  # nothing from another origin
        served = seeded_api.client.get(asset)
        assert served.status_code == 200, asset
    assert "/dashboard" not in seeded_api.client.get("/openapi.json").json()["paths"]


def test_vendored_chart_js_is_the_published_file() -> None:
    assert hashlib.sha256((DASHBOARD_DIR / "vendor" / "chart.umd.js").read_bytes()).hexdigest() == CHART_JS_SHA256
    assert (DASHBOARD_DIR / "vendor" / "chart.js-LICENSE.md").is_file()
