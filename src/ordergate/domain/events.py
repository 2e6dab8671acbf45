"""Events: what happened (past tense, frozen). The engine publishes them after each commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ordergate.domain.ids import Login, OrderId, Ticket
from ordergate.domain.orders import Order, OrderStatus, Side, Transition

__all__ = [
    "Event",
    "MarketQuote",
    "MonitorLogged",
    "OrderFilled",
    "OrderTransitioned",
    "PositionChanged",
    "transitioned",
]


@dataclass(frozen=True, slots=True)
class MarketQuote:
    """A new top of book (and last trade, when there is one) for ``symbol``."""

    symbol: str
    bid: Decimal
    ask: Decimal
    at: datetime
    bid_size: Decimal | None = None
    ask_size: Decimal | None = None
    last: Decimal | None = None
    last_size: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderTransitioned:
    order_id: OrderId
    ticket: Ticket
    login: Login
    symbol: str
    from_status: OrderStatus | None
    to_status: OrderStatus
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class OrderFilled:
    order_id: OrderId
    ticket: Ticket
    login: Login
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    at: datetime


@dataclass(frozen=True, slots=True)
class PositionChanged:
    ticket: Ticket
    login: Login
    symbol: str
    side: Side
    quantity: Decimal
    open_price: Decimal
    realized_pnl: Decimal
    at: datetime


@dataclass(frozen=True, slots=True)
class MonitorLogged:
    """A management log entry of an account: a risk rule fired, a reset, a setting changed,
    a kill switch or a dead man's switch; with the monitor's state and lock after it."""

    login: Login
    at: datetime
    type: str
    message: str
    actor: str
    state: str
    locked: str | None


Event = MarketQuote | OrderTransitioned | OrderFilled | PositionChanged | MonitorLogged


def transitioned(order: Order, step: Transition) -> OrderTransitioned:
    """The event for ``step`` of a stored ``order``."""
    return OrderTransitioned(
        order.id,
        order.key,
        order.login,
        order.symbol,
        step.from_status,
        step.to_status,
        step.reason,
        order.updated_at,
    )
