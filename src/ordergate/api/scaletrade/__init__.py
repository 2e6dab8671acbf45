"""The ScaleTrade client dialect: REST (/sign/in, /trade/..., /trades, /market...,
/account/..., /balances/list) and its WebSocket stream at /."""

from __future__ import annotations

from fastapi import FastAPI

from ordergate.api.errors import error_registry
from ordergate.api.scaletrade import (
    accounts,
    groups,
    market,
    queries,
    signin,
    stream,
    trade,
)
from ordergate.api.scaletrade.errors import install_errors
from ordergate.api.scaletrade.wire import ScaleTradeJson

__all__ = ["install"]


def install(app: FastAPI) -> None:
    """Add the ScaleTrade routes and error form to ``app``."""
    install_errors(app, error_registry(app))
    for module in (signin, trade, groups, queries, market, accounts):
        app.include_router(module.router, default_response_class=ScaleTradeJson)
    app.include_router(stream.router)  # the WebSocket at /
