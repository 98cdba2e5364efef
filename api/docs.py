"""Swagger UI served from the API itself: FastAPI's default /docs loads it from a CDN, which fails offline."""

from __future__ import annotations

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_STATIC_PATH = "/static/swagger-ui"


def install_offline_docs(app: FastAPI, docs_url: str = "/docs") -> None:
    """Mount the vendored Swagger UI assets and serve /docs from them (create the app with docs_url=None)."""
    app.mount(SWAGGER_STATIC_PATH, StaticFiles(directory=str(swagger_ui_bundle.swagger_ui_path)), name="swagger-ui")
    redirect_url = f"{docs_url}/oauth2-redirect"

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - docs",
            oauth2_redirect_url=redirect_url,
            swagger_js_url=f"{SWAGGER_STATIC_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_STATIC_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_STATIC_PATH}/favicon-32x32.png",
        )

    @app.get(redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
