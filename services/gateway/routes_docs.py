"""API documents served without internet: Swagger UI at ``/docs`` and ReDoc at ``/redoc`` with their
JavaScript and CSS bundled (the pinned ``fastapi-offline`` package ships them; served under
``/static-docs``), and the bus's AsyncAPI document at ``/asyncapi.json`` with a rendered page at
``/asyncapi``."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from services.gateway.asyncapi import asyncapi_document, asyncapi_html

__all__ = ["STATIC_URL", "install_docs"]

STATIC_URL = "/static-docs"
_ASSETS = Path(fastapi_offline.__file__).parent / "static"


def install_docs(app: FastAPI) -> None:
    """Add the document routes to ``app`` (created with ``docs_url=None, redoc_url=None``)."""
    app.mount(STATIC_URL, StaticFiles(directory=_ASSETS), name="static-docs")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_js_url=f"{STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{STATIC_URL}/favicon.png",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{STATIC_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{STATIC_URL}/favicon.png",
            with_google_fonts=False,
        )

    @app.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi_json() -> JSONResponse:
        return JSONResponse(asyncapi_document(app.version))

    @app.get("/asyncapi", include_in_schema=False)
    async def asyncapi_page() -> HTMLResponse:
        return HTMLResponse(asyncapi_html())
