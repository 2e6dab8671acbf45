"""The ordergate Python SDK: typed clients for the CrossTrade v1 API, the ScaleTrade client
API and the admin API, sync and async, on httpx; their event streams; TradingView-style
webhook alerts. Numbers come back as exact ``Decimal``s; every failure is an
``OrdergateError`` (see ``ordergate.client.errors`` for the tree).

    from ordergate.client import CrossTradeClient

    with CrossTradeClient("http://127.0.0.1:8000", token) as ct:
        placed = ct.place_order("Sim101", "BTCUSD", "Buy", Decimal("0.01"), "Limit",
                                limit_price=Decimal("99990"))
        ct.cancel_orders("Sim101")
"""

from ordergate.client.admin import AdminClient, AsyncAdminClient, quote
from ordergate.client.crosstrade import AsyncCrossTradeClient, CrossTradeClient, OrderOptions
from ordergate.client.errors import (
    AdminError,
    ApiError,
    CrossTradeError,
    OrdergateError,
    ScaleTradeError,
    TransportError,
)
from ordergate.client.scaletrade import (
    BUY,
    BUY_LIMIT,
    BUY_STOP,
    BUY_STOP_LIMIT,
    SELL,
    SELL_LIMIT,
    SELL_STOP,
    SELL_STOP_LIMIT,
    AsyncScaleTradeClient,
    ScaleTradeClient,
)
from ordergate.client.stream import CrossTradeStream, ScaleTradeStream
from ordergate.client.webhook import async_send_alert, send_alert

__all__ = [
    "BUY",
    "BUY_LIMIT",
    "BUY_STOP",
    "BUY_STOP_LIMIT",
    "SELL",
    "SELL_LIMIT",
    "SELL_STOP",
    "SELL_STOP_LIMIT",
    "AdminClient",
    "AdminError",
    "ApiError",
    "AsyncAdminClient",
    "AsyncCrossTradeClient",
    "AsyncScaleTradeClient",
    "CrossTradeClient",
    "CrossTradeError",
    "CrossTradeStream",
    "OrderOptions",
    "OrdergateError",
    "ScaleTradeClient",
    "ScaleTradeError",
    "ScaleTradeStream",
    "TransportError",
    "async_send_alert",
    "quote",
    "send_alert",
]
