"""The trade records of ``GET /trades``: one row per ticket, the 20 columns of ScaleTrade's
``structure`` in its order, and the totals over the rows a query matched.

Each record is a list in ``COLUMNS`` order: integers, exact decimals (``double`` on the wire)
and text. The simulated venue charges no commission and no swap, so ``commission`` and
``storage`` are 0 and ``net_profit`` (profit + commission + storage) equals ``profit``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from ordergate.engine.accounting import TicketValue
from ordergate.engine.trades import AccountTrades

__all__ = ["COLUMNS", "INDEX", "REASON_API", "TEXT", "Record", "records", "totals"]

Record = list[Any]

#: The columns of a trade record, in the order of ``structure``; filters take only these.
COLUMNS: Final = (
    "order",
    "login",
    "cmd",
    "state",
    "symbol",
    "reason",
    "volume",
    "open_time",
    "close_time",
    "open_price",
    "close_price",
    "sl",
    "tp",
    "profit",
    "net_profit",
    "commission",
    "storage",
    "comment",
    "digits",
    "expiration",
)
INDEX: Final = {name: i for i, name in enumerate(COLUMNS)}
#: The text columns; every other column holds a number.
TEXT: Final = frozenset({"symbol", "comment"})
#: ``reason`` (the SDK's 0 client ... 7 API): every order reaches ordergate through an API
#: (ScaleTrade's, CrossTrade's or a webhook), and none records which.
REASON_API: Final = 7

_ZERO = Decimal(0)
_ENDED = frozenset({OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED})


def _record(
    head: tuple[int, int, int, int, str],
    lots: int,
    times: tuple[int, int],
    prices: tuple[Decimal | None, Decimal | None, Decimal | None, Decimal | None],
    profit: Decimal,
    comment: str,
    digits: int,
    expiration: int,
) -> Record:
    """A record from its parts: (order, login, cmd, state, symbol), volume, (open, close)
    times, (open, close, sl, tp) prices, profit, comment, digits and expiration."""
    order, login, cmd, state, symbol = head
    open_price, close_price, sl, tp = prices
    gross = price(profit)
    return [
        order,
        login,
        cmd,
        state,
        symbol,
        REASON_API,
        lots,
        *times,
        price(open_price),
        price(close_price),
        price(sl),
        price(tp),
        gross,
        gross,  # net_profit: no commission, no swap
        _ZERO,  # commission
        _ZERO,  # storage
        comment,
        digits,
        expiration,
    ]


def _pending(order: Order, digits: int) -> Record:
    """A pending order (or a market order on its way, with no price yet)."""
    ended = order.status in _ENDED
    return _record(
        (
            order.key,
            order.login,
            cmd_of(order.side, order.type),
            order_state(order.status),
            order.symbol,
        ),
        volume(order.remaining),
        (unix(order.created_at), unix(order.updated_at) if ended else 0),
        (entry_price(order), None, order.stop_loss, order.take_profit),
        _ZERO,
        order.comment,
        digits,
        unix(order.expires_at),
    )


def _open(value: TicketValue, closing: bool, digits: int) -> Record:
    """An open trade: close_price 0 while open (as ScaleTrade shows it), profit floating at
    the price it would close at now; state 7 while an order that closes it is on its way."""
    t = value.ticket
    state = State.CLOSE_REQUEST if closing else State.OPEN_NORMAL
    return _record(
        (t.ticket, t.login, cmd_of(t.side, OrderType.MARKET), state, t.symbol),
        volume(t.quantity),
        (unix(t.opened_at), 0),
        (t.open_price, None, t.stop_loss, t.take_profit),
        value.unrealized_pnl,
        "",
        digits,
        0,
    )


def _closed(t: PositionTicket, digits: int) -> Record:
    return _record(
        (t.ticket, t.login, cmd_of(t.side, OrderType.MARKET), State.CLOSED_NORMAL, t.symbol),
        volume(t.closed_quantity),
        (unix(t.opened_at), unix(t.closed_at)),
        (t.open_price, t.close_price, t.stop_loss, t.take_profit),
        t.realized_pnl,
        "",
        digits,
        0,
    )


def records(trades: AccountTrades, trade_type: int) -> list[Record]:
    """The records of one trade type, by ticket: 1 open trades (and market orders on their
    way), 2 closed trades and deleted pending orders, 3 pending orders, 0 all of them, 4
    finance (balance operations: none are recorded). An order that closes a trade is not a
    record of its own: the trade shows state 7 until it fills."""
    digits: Mapping[str, int] = trades.digits

    def of(symbol: str) -> int:
        return digits.get(symbol, 0)

    closing = {o.closes_ticket for o in trades.working if o.closes_ticket is not None}
    in_flight = [
        o for o in trades.working if o.type is OrderType.MARKET and o.closes_ticket is None
    ]
    pending = [o for o in trades.working if o.type is not OrderType.MARKET]
    groups: dict[int, list[Record]] = {
        1: [_open(v, v.ticket.ticket in closing, of(v.ticket.symbol)) for v in trades.open]
        + [_pending(o, of(o.symbol)) for o in in_flight],
        2: [_closed(t, of(t.symbol)) for t in trades.closed]
        + [_pending(o, of(o.symbol)) for o in trades.deleted],
        3: [_pending(o, of(o.symbol)) for o in pending],
    }
    found = (
        [r for t in (1, 2, 3) for r in groups[t]] if trade_type == 0 else groups.get(trade_type, [])
    )
    # A pending order that filled in part is a trade and a pending order with one ticket.
    found.sort(key=lambda r: (r[INDEX["order"]], r[INDEX["state"]]))
    return found


def totals(rows: Sequence[Record]) -> dict[str, Any]:
    """``count`` and the ``total_*`` figures of ``rows`` (every row a query matched)."""

    def total(column: str) -> Decimal:
        at = INDEX[column]
        return price(sum((r[at] for r in rows), _ZERO))

    return {
        "count": len(rows),
        "total_profit": total("profit"),
        "total_net_profit": total("net_profit"),
        "total_storage": total("storage"),
        "total_commission": total("commission"),
        "total_volume": sum(r[INDEX["volume"]] for r in rows),
    }
