"""The web blotter at ``/`` and the API docs at ``/docs`` and ``/redoc``, every asset served
from this package (no CDN: they work without internet).

The blotter is a static page (``static/index.html`` and its ES modules) that talks to the
CrossTrade REST API and ``/ws/stream`` with the user's bearer token, or to the ScaleTrade API
with a session JWT; the server renders nothing for it. A plain GET of ``/`` is the page; a
WebSocket upgrade at ``/`` still reaches the ScaleTrade stream (routes match by scope type).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import StaticFiles

__all__ = ["ASSETS", "STATIC", "install_web"]

#: The packaged files of the blotter and the vendored libraries.
STATIC = Path(__file__).parent / "static"
#: The URL prefix the files are served under.
ASSETS = "/static"

_DOCS = "/docs"
_OAUTH2_REDIRECT = "/docs/oauth2-redirect"
_REDOC = "/redoc"
_VENDOR = f"{ASSETS}/vendor"

# The page's own files may change with every release: the browser asks again each time, and
# gets a 304 when nothing changed.
_NO_STALE = {"Cache-Control": "no-cache"}


def install_web(app: FastAPI) -> None:
    """Serve the blotter at ``/``, its files under ``/static``, and Swagger UI and ReDoc on
    packaged assets at ``/docs`` and ``/redoc`` (create ``app`` with ``docs_url=None,
    redoc_url=None``)."""
    files = StaticFiles(directory=STATIC)

    async def blotter(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=_NO_STALE)

    async def asset(request: Request) -> Response:
        response = await files.get_response(request.path_params["path"], request.scope)
        response.headers.update(_NO_STALE)
        return response

    async def swagger(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_swagger_ui_html(
            openapi_url=root + (app.openapi_url or "/openapi.json"),
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{_VENDOR}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{_VENDOR}/swagger-ui.css",
            swagger_favicon_url=f"{root}{_VENDOR}/favicon-32x32.png",
            oauth2_redirect_url=root + _OAUTH2_REDIRECT,
        )

    async def swagger_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_redoc_html(
            openapi_url=root + (app.openapi_url or "/openapi.json"),
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{_VENDOR}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{_VENDOR}/favicon-32x32.png",
            with_google_fonts=False,
        )

    app.add_route("/", blotter, include_in_schema=False)
    app.add_route(ASSETS + "/{path:path}", asset, include_in_schema=False)
    app.add_route(_DOCS, swagger, include_in_schema=False)
    app.add_route(_OAUTH2_REDIRECT, swagger_redirect, include_in_schema=False)
    app.add_route(_REDOC, redoc, include_in_schema=False)


def _root(request: Request) -> str:
    """The prefix the app is served under (behind a proxy), without its trailing slash."""
    return str(request.scope.get("root_path", "")).rstrip("/")
