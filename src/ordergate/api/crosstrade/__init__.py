"""The CrossTrade v1 dialect: REST under /v1/api and the WebSocket at /ws/stream."""

from __future__ import annotations

from fastapi import FastAPI

from ordergate.api.crosstrade import (
    accounts,
    alerts,
    discovery,
    executions,
    legacy,
    market,
    orders,
    orders_more,
    positions,
    risk,
    sweep,
    webhook,
    ws,
)
from ordergate.api.crosstrade.discovery import operation_id
from ordergate.api.crosstrade.errors import PREFIX, install_errors
from ordergate.api.crosstrade.ratelimit import RateLimiter
from ordergate.api.crosstrade.webhook_run import RateLimits
from ordergate.api.crosstrade.wire import CrossTradeJson
from ordergate.api.errors import error_registry
from ordergate.settings import Settings

__all__ = ["install"]


def install(app: FastAPI, settings: Settings) -> None:
    """Add the CrossTrade routes, error form and rate limiter to ``app``."""
    # The alerts' own rate limits (rate_limit=N/S; id=…): one set per app, in memory.
    app.state.webhook_limits = RateLimits()
    app.state.crosstrade_limiter = RateLimiter(
        settings.rate_limit_per_s, settings.rate_limit_burst, enabled=settings.rate_limit_enabled
    )
    install_errors(app, error_registry(app))
    for module in (
        accounts,
        orders,
        orders_more,
        positions,
        sweep,
        executions,
        market,
        legacy,
        alerts,
        risk,
        discovery,
    ):
        app.include_router(
            module.router,
            prefix=PREFIX,
            default_response_class=CrossTradeJson,
            generate_unique_id_function=operation_id,
        )
    app.include_router(ws.router)  # /ws/stream, outside /v1/api
    # /v1/send/{webhookId}: TradingView alerts, outside /v1/api
    app.include_router(webhook.router, default_response_class=CrossTradeJson)
