"""The event arrays of the ScaleTrade stream, element by element as ScaleTrade documents them
(docs/scaletrade-stream.md): ``t`` a quote, ``b`` an account's figures, ``o`` a trade record,
``n`` a notification.

An ``o`` carries what ``GET /trades`` shows for the same ticket (the same state numbers, cmd
codes, volumes in hundredths of a lot, prices and Unix-second times), in the stream's own
order: ``tp`` before ``sl``. Its last element, like that of ``b``, is the SDK's record-event
code (``Code``).
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from ordergate.api.scaletrade.wire import (
    State,
    cmd_of,
    entry_price,
    order_state,
    price,
    unix,
    volume,
)
from ordergate.domain.orders import Order, OrderStatus, OrderType
from ordergate.domain.positions import PositionTicket
from ordergate.engine.accounting import AccountState, TicketValue

__all__ = [
    "ENDED",
    "Code",
    "Level",
    "balance",
    "closed_trade",
    "ctm",
    "notification",
    "open_trade",
    "order_record",
    "settled_order",
    "tick",
]

Event = list[Any]

#: Order statuses that delete a record: it ended without becoming a trade.
ENDED: Final = frozenset({OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED})
_ZERO = Decimal(0)
#: A notification ``status``: sent.
_SENT = 1


class Code(enum.IntEnum):
    """What happened to a record (the SDK's record-event enum, last element of ``b``/``o``)."""

    ADD = 0
    UPDATE = 1
    DELETE = 2
    RESTORE = 3
    ARCHIVE = 4
    ACTIVATE = 5  # a pending order became a trade
    CLOSE = 6


class Level(enum.IntEnum):
    """A notification's ``level``."""

    INFO = 10
    WARNING = 20
    ERROR = 30


def ctm(at: datetime) -> int:
    """A quote's time in Unix milliseconds (the stream's one millisecond field)."""
    return int(at.timestamp() * 1000)


def tick(symbol: str, bid: Decimal, ask: Decimal, at: datetime) -> Event:
    """``["t", symbol, bid, ask, ctm]``."""
    return ["t", symbol, price(bid), price(ask), ctm(at)]


def balance(state: AccountState, code: Code = Code.UPDATE) -> Event:
    """``["b", login, balance, margin, margin_free, margin_level, equity, credit, level_type,
    profit, code]``: margin_level is equity / margin x 100 (0 with no margin in use); credit
    and level_type are 0, as the simulated venue keeps no credit and calls no margin."""
    return [
        "b",
        state.login,
        price(state.balance),
        price(state.margin_used),
        price(state.free_margin),
        price(state.margin_level),
        price(state.equity),
        _ZERO,
        0,
        price(state.unrealized_pnl),
        int(code),
    ]


def _record(
    ticket: int,
    login: int,
    symbol: str,
    cmd: int,
    lots: int,
    prices: tuple[Decimal | None, Decimal | None],
    times: tuple[datetime | None, datetime | None],
    stops: tuple[Decimal | None, Decimal | None],
    state: int,
    profit: Decimal,
    comment: str,
    code: Code,
) -> Event:
    open_price, close_price = prices
    opened, closed = times
    stop_loss, take_profit = stops
    return [
        "o",
        ticket,
        login,
        symbol,
        cmd,
        lots,
        price(open_price),
        price(close_price),
        unix(opened),
        unix(closed),
        price(take_profit),
        price(stop_loss),
        state,
        _ZERO,  # storage: the simulated venue charges no swap
        _ZERO,  # commission: nor commission
        price(profit),
        comment,
        int(code),
    ]


def order_record(order: Order, status: OrderStatus, code: Code) -> Event:
    """A pending order or a market request as ``status`` left it (the other figures as the
    order stands now; a filled order shows its full volume)."""
    return _record(
        order.key,
        order.login,
        order.symbol,
        cmd_of(order.side, order.type),
        volume(order.remaining or order.quantity),
        (entry_price(order), None),
        (order.created_at, order.updated_at if status in ENDED else None),
        (order.stop_loss, order.take_profit),
        order_state(status),
        _ZERO,
        order.comment,
        code,
    )


def settled_order(order: Order) -> Event:
    """A filled order that opened no trade of its own (on a netting account it only closed
    opposite trades, which have their own records): its record closes."""
    return _record(
        order.key,
        order.login,
        order.symbol,
        cmd_of(order.side, OrderType.MARKET),
        volume(order.quantity),
        (order.avg_fill_price, order.avg_fill_price),
        (order.created_at, order.updated_at),
        (order.stop_loss, order.take_profit),
        State.CLOSED_NORMAL,
        _ZERO,
        order.comment,
        Code.CLOSE,
    )


def open_trade(value: TicketValue, closing: bool, code: Code) -> Event:
    """An open trade (close_price 0 while open, as GET /trades shows it; profit: floating);
    state 7 while an order that closes it is on its way."""
    t = value.ticket
    return _record(
        t.ticket,
        t.login,
        t.symbol,
        cmd_of(t.side, OrderType.MARKET),
        volume(t.quantity),
        (t.open_price, None),
        (t.opened_at, None),
        (t.stop_loss, t.take_profit),
        State.CLOSE_REQUEST if closing else State.OPEN_NORMAL,
        value.unrealized_pnl,
        "",
        code,
    )


def closed_trade(t: PositionTicket) -> Event:
    """A trade closed in full, with the profit it realized."""
    return _record(
        t.ticket,
        t.login,
        t.symbol,
        cmd_of(t.side, OrderType.MARKET),
        volume(t.closed_quantity),
        (t.open_price, t.close_price),
        (t.opened_at, t.closed_at),
        (t.stop_loss, t.take_profit),
        State.CLOSED_NORMAL,
        t.realized_pnl,
        "",
        Code.CLOSE,
    )


def notification(
    title: str,
    description: str,
    token: str,
    level: Level,
    login: int,
    at: datetime,
    data: dict[str, Any],
    code: int,
) -> Event:
    """``["n", message, description, token, status, level, user_id, create_time, data,
    code]`` (status 1: sent)."""
    return ["n", title, description, token, _SENT, int(level), login, unix(at), data, code]
