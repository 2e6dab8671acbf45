"""The app factory: one FastAPI app over one container, with error mapping installed."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ordergate import __version__
from ordergate.api import admin, admin_faults, admin_manage, crosstrade, health, metrics, scaletrade
from ordergate.api.allow import install_allow
from ordergate.api.errors import install_error_handlers
from ordergate.api.limits import BodyLimit
from ordergate.api.metrics import Telemetry
from ordergate.api.openapi import finish_document
from ordergate.api.web import install_web
from ordergate.bootstrap import Container, bootstrap, shutdown
from ordergate.settings import Settings

__all__ = ["DESCRIPTION", "GC_THRESHOLDS", "create_app"]

#: The server's garbage collector thresholds (``gc.set_threshold``), set once it has started.
GC_THRESHOLDS = (100_000, 50, 100)

DESCRIPTION = """\
Self-hosted order-management server with a built-in simulated exchange.

It speaks two trading APIs over one order engine: the **CrossTrade v1 API**
(under `/v1/api`, bearer tokens) and the **ScaleTrade client REST API** (`/sign/in`,
`/trade/...`, `/trades`, `/market...`, `/account/...`; JWT from `/sign/in`) with its
WebSocket event stream at `/` (send `{"authorization": JWT}`; see docs/scaletrade-stream.md).
Orders placed through one are visible and cancellable through the other.

Errors outside a dialect's paths have the form `{"error": "<CODE>", "message": "..."}`.
"""


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> FastAPI:
    """The ordergate app. Its lifespan bootstraps a container from ``settings`` (default:
    the environment) and shuts it down at exit; a given ``container`` is used as it is and
    left to its owner to shut down (tests)."""
    if settings is None:
        settings = container.settings if container is not None else Settings()
    config = settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if container is not None:
            yield
            return
        built = await bootstrap(config, feed=True)
        app.state.container = built
        app.state.owns_container = True  # POST /admin/reset may replace it
        # What start-up built lives as long as the server: out of the collector's sight, it
        # is not traversed again by every full collection.
        gc.collect()
        gc.freeze()
        # A request's objects die young by reference counting; collecting young objects less
        # often keeps what survives a few collections from bringing frequent full ones.
        gc.set_threshold(*GC_THRESHOLDS)
        try:
            yield
        finally:
            await shutdown(app.state.container)

    app = FastAPI(
        title="ordergate",
        version=__version__,
        summary="Order management with a simulated exchange for CrossTrade and ScaleTrade clients.",
        description=DESCRIPTION,
        lifespan=lifespan,
        # Served by install_web on packaged assets, not a CDN's.
        docs_url=None,
        redoc_url=None,
    )
    if container is not None:
        # Set now, not in the lifespan: a test's transport may not run the lifespan.
        app.state.container = container
    registry = install_error_handlers(app)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        body_timeout=settings.body_timeout_s,
        registry=registry,
    )
    # Added last, so outermost: 413s and 408s get a request id and are counted too.
    app.add_middleware(Telemetry)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(admin.router)
    app.include_router(admin_manage.router)
    app.include_router(admin_faults.router)
    crosstrade.install(app, settings)
    scaletrade.install(app)
    install_web(app)
    install_allow(app)
    finish_document(app)
    return app
