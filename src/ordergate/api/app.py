"""The app factory: one FastAPI app over one container, with error mapping installed."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ordergate import __version__
from ordergate.api import admin, crosstrade, health, scaletrade
from ordergate.api.errors import install_error_handlers
from ordergate.api.fastroutes import CatchBugs, FastRoutedAPI, FastRoutes
from ordergate.api.limits import BodyLimit
from ordergate.bootstrap import Container, bootstrap, shutdown
from ordergate.settings import Settings

__all__ = ["DESCRIPTION", "GC_THRESHOLDS", "create_app"]

#: The server's garbage collector thresholds (``gc.set_threshold``), set once it has started.
GC_THRESHOLDS = (100_000, 50, 100)

DESCRIPTION = """\
Self-hosted order-management server with a built-in simulated exchange.

It speaks two trading APIs over one order engine: the **CrossTrade v1 API**
(under `/v1/api`, bearer tokens) and the **ScaleTrade client REST API** (`/sign/in`,
`/trade/...`, `/trades`, `/market/symbol`; JWT from `/sign/in`). Orders placed through
one are visible and cancellable through the other.

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
        # What start-up built lives as long as the server: move it out of the collector's
        # sight, so that full collections (50-70 ms with it) stay rare and short.
        gc.collect()
        gc.freeze()
        # Collect young objects less often: a request's objects die young by reference
        # counting, and with the default thresholds (700, 10, 10) what survives a few
        # collections brought a full collection every 2-3 s under load, 6-22 ms each, the
        # worst latencies of the load bench (bench/README.md, load.py).
        gc.set_threshold(*GC_THRESHOLDS)
        try:
            yield
        finally:
            await shutdown(built)

    app = FastRoutedAPI(
        title="ordergate",
        version=__version__,
        summary="Order management with a simulated exchange for CrossTrade and ScaleTrade clients.",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    if container is not None:
        # Set now, not in the lifespan: a test's transport may not run the lifespan.
        app.state.container = container
    registry = install_error_handlers(app)
    limit, timeout = settings.max_body_bytes, settings.body_timeout_s
    app.add_middleware(BodyLimit, max_bytes=limit, body_timeout=timeout, registry=registry)
    # The dialects add their fast routes (api/fastroutes.py) when they install.
    fast = BodyLimit(FastRoutes(app), max_bytes=limit, body_timeout=timeout, registry=registry)
    app.fast_front = CatchBugs(fast, owner=app)
    app.fast_direct, app.fast_body_limit = CatchBugs(FastRoutes(app), owner=app), limit
    app.include_router(health.router)
    app.include_router(admin.router)
    crosstrade.install(app, settings)
    scaletrade.install(app)
    return app
