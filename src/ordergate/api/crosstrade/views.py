"""Domain objects as CrossTrade shows them (NT8 field names and casing)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from ordergate.api.crosstrade.errors import Unsuccessful
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
from ordergate.domain.orders import Order, OrderStatus
from ordergate.domain.reports import CancelFailure

__all__ = ["cancel_answer", "instrument_type", "not_cancelled", "order_out"]


def instrument_type(symbol: str) -> str:
    """NT8's instrument type: ``Future``, ``Forex``, ``Cfd`` (spot metals) or
    ``CryptoCurrency``."""
    return describe(symbol).type


def order_out(order: Order, account: str) -> dict[str, Any]:
    out = _order_fields(order, account)
    if order.client_id is not None:  # the id the caller gave it at placement
        out["originalOrderId"] = order.client_id
    return out


def _order_fields(order: Order, account: str) -> dict[str, Any]:
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


def _refused_line(cause: str, symbol: str, status: OrderStatus, message: str) -> str:
    """One line on why an order's cancel was not accepted now."""
    state = ORDER_STATE[status]
    if cause == "MARKET_CLOSED":
        return f"the market for {symbol} is closed: cancels are refused until it opens ({state})"
    if cause == "ORDER_LOCKED":
        return f"the venue is still processing the order ({state}); retry when it is Working"
    if cause == "ALREADY_PENDING_CANCEL":
        return "a cancel of this order is already pending"
    return message


def not_cancelled(failures: Iterable[CancelFailure]) -> list[dict[str, Any]]:
    """The ``notCancelled`` list: each matched order whose cancel was not accepted, and why."""
    return [
        {
            "orderId": f.order_id,
            "code": f.cause,
            "error": _refused_line(f.cause, f.symbol, f.status, f.message),
        }
        for f in failures
    ]


def cancel_answer(
    body: dict[str, Any], accepted: int, refused: list[dict[str, Any]]
) -> dict[str, Any]:
    """``body`` with ``notCancelled`` and ``success`` (true only when nothing was refused).
    Raises ``Unsuccessful`` (400) when orders matched and none could be cancelled: ``error``
    says how many and why. ``accepted`` counts what the operation did (cancels accepted,
    and for flatten closes sent)."""
    answer = {**body, "notCancelled": refused, "success": not refused}
    if refused and not accepted:
        causes = Counter(r["code"] for r in refused)
        why = ", ".join(f"{n} {code}" for code, n in causes.most_common())
        answer["error"] = (
            f"None of the {len(refused)} matched order(s) could be cancelled now ({why}); "
            "see notCancelled"
        )
        answer["code"] = next(iter(causes)) if len(causes) == 1 else "NOT_CANCELLED"
        raise Unsuccessful(answer, 400)
    return answer
