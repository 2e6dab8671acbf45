"""ScaleTrade's wire vocabulary: MT4 cmd and state codes, volumes in hundredths of a lot,
tickets as integers, times as Unix seconds, and the acknowledgment of a trade request."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from starlette.responses import JSONResponse

from ordergate.api.bodies import dumps, num
from ordergate.domain.ids import Ticket
from ordergate.domain.orders import Order, OrderStatus, OrderType, Side

__all__ = [
    "ACK_EXAMPLE",
    "CMD_OF",
    "MARKET_CMDS",
    "PENDING_CMDS",
    "ScaleTradeJson",
    "State",
    "ack",
    "cmd_of",
    "entry_price",
    "lots",
    "order_state",
    "price",
    "unix",
    "volume",
]


class State:
    """Trade states (TS_*) that ordergate answers."""

    OPEN_NORMAL = 0
    OPEN_REQUEST = 1
    CLOSED_NORMAL = 3
    DELETED = 6
    CLOSE_REQUEST = 7
    CANCEL_REQUEST = 9
    OPEN_UPDATE_REQUEST = 14
    PENDING_UPDATE_REQUEST = 16


CMD_OF: dict[tuple[Side, OrderType], int] = {
    (Side.BUY, OrderType.MARKET): 0,
    (Side.SELL, OrderType.MARKET): 1,
    (Side.BUY, OrderType.LIMIT): 2,
    (Side.SELL, OrderType.LIMIT): 3,
    (Side.BUY, OrderType.STOP): 4,
    (Side.SELL, OrderType.STOP): 5,
    (Side.BUY, OrderType.STOP_LIMIT): 10,
    (Side.SELL, OrderType.STOP_LIMIT): 11,
}
_OF_CMD = {cmd: key for key, cmd in CMD_OF.items()}
MARKET_CMDS = frozenset({0, 1})
PENDING_CMDS = frozenset({2, 3, 4, 5, 10, 11})
#: Balance and credit operations: cmd codes of the finance records, never of a trade request.
FINANCE_CMDS = frozenset({6, 7, 8, 9})

_STATE_OF_STATUS = {
    OrderStatus.SUBMITTED: State.OPEN_REQUEST,
    OrderStatus.ACCEPTED: State.OPEN_NORMAL,
    OrderStatus.WORKING: State.OPEN_NORMAL,
    OrderStatus.PARTIALLY_FILLED: State.OPEN_NORMAL,
    OrderStatus.PENDING_CHANGE: State.PENDING_UPDATE_REQUEST,
    OrderStatus.PENDING_CANCEL: State.CANCEL_REQUEST,
    OrderStatus.CANCELLED: State.DELETED,
    OrderStatus.EXPIRED: State.DELETED,
    OrderStatus.REJECTED: State.DELETED,
    OrderStatus.FILLED: State.OPEN_NORMAL,  # it became a trade with the same ticket
}
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")


def cmd_of(side: Side, kind: OrderType) -> int:
    return CMD_OF[(side, kind)]


def side_and_type(cmd: int) -> tuple[Side, OrderType]:
    return _OF_CMD[cmd]


def order_state(status: OrderStatus) -> int:
    return _STATE_OF_STATUS[status]


def entry_price(order: Order) -> Decimal | None:
    """The price a pending order's record shows as ``open_price``: the stop price of a stop
    order, else the limit price (none for a market order)."""
    return order.limit_price if order.type is not OrderType.STOP else order.stop_price


def volume(quantity: Decimal) -> int:
    """A quantity in lots as hundredths of a lot. A quantity finer than that (possible only
    through CrossTrade, on an instrument whose lot step is below 0.01) is rounded."""
    return int((quantity * _HUNDRED).to_integral_value(ROUND_HALF_EVEN))


def lots(hundredths: int) -> Decimal:
    return hundredths * _CENT


def unix(at: datetime | None) -> int:
    """Unix seconds; 0 for none (MT4's convention)."""
    return 0 if at is None else int(at.timestamp())


def from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def price(value: Decimal | None) -> Decimal:
    """A price for the wire; 0 for none (MT4's convention)."""
    found = num(value)
    return Decimal(0) if found is None else found


def ack(
    ticket: Ticket,
    state: int,
    login: int,
    symbol: str,
    cmd: int,
    quantity: Decimal,
    **extra: Any,
) -> dict[str, Any]:
    """The acknowledgment of a trade request: validated and queued; the outcome is seen
    through trade queries."""
    return {
        "accepted": True,
        "order": ticket,
        "state": state,
        "login": login,
        "symbol": symbol,
        "cmd": cmd,
        "volume": volume(quantity),
        **extra,
    }


#: An acknowledgment, as the OpenAPI examples show it.
ACK_EXAMPLE: dict[str, Any] = {
    "accepted": True,
    "order": 123456,
    "state": 1,
    "login": 1001,
    "symbol": "EURUSD",
    "cmd": 2,
    "volume": 100,
}


class ScaleTradeJson(JSONResponse):
    """JSON with prices as exact JSON numbers."""

    def render(self, content: Any) -> bytes:
        return dumps(content)
