"""GET /dashboard: the reference dashboard, one static page and its assets from api/dashboard/ (no CDN).

The page itself needs no token; it reads the API with the bearer token it takes from the URL fragment or the
token field (see api/dashboard/app.js). The content security policy allows nothing but this server.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

DASHBOARD_DIR = Path(__file__).with_name("dashboard")
STATIC_PATH = "/dashboard/static"
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def install_dashboard(app: FastAPI) -> None:
    app.mount(STATIC_PATH, StaticFiles(directory=str(DASHBOARD_DIR)), name="dashboard-static")

    @app.get("/dashboard", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(DASHBOARD_DIR / "index.html", media_type="text/html", headers=PAGE_HEADERS)
