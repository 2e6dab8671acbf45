"""Domain objects as CrossTrade shows them (NT8 field names and casing)."""

from __future__ import annotations

from typing import Any

from ordergate.api.crosstrade.nt8 import describe
from ordergate.api.crosstrade.wire import (
    ACTION_OUT,
    ORDER_STATE,
    ORDER_TYPE_OUT,
    TIF_OUT,
    epoch_ms,
    iso,
    num,
)
from ordergate.domain.orders import Order

__all__ = ["instrument_type", "order_out"]


def instrument_type(symbol: str) -> str:
    """NT8's instrument type: ``Future``, ``Forex``, ``Cfd`` (spot metals) or
    ``CryptoCurrency``."""
    return describe(symbol).type


def order_out(order: Order, account: str) -> dict[str, Any]:
    return {
        "account": account,
        "orderId": order.id,
        "instrument": order.symbol,
        "instrumentType": instrument_type(order.symbol),
        "action": ACTION_OUT[order.side],
        "orderType": ORDER_TYPE_OUT[order.type],
        "orderState": ORDER_STATE[order.status],
        "quantity": num(order.quantity),
        "filled": num(order.filled),
        "remaining": num(order.remaining),
        "averageFillPrice": num(order.avg_fill_price) or 0,
        "limitPrice": num(order.limit_price) or 0,
        "stopPrice": num(order.stop_price) or 0,
        "timeInForce": TIF_OUT[order.tif],
        "gtd": None if order.expires_at is None else iso(order.expires_at),
        "oco": order.oco or "",
        "name": order.tag or "",
        "time": iso(order.created_at),
        "epoch": epoch_ms(order.created_at),
        "updated": iso(order.updated_at),
    }
