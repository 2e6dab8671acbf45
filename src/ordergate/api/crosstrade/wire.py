"""CrossTrade's wire vocabulary: NT8 enums (case-insensitive in, NT8 casing out), exact
decimal numbers in and out of JSON, and timestamps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.responses import JSONResponse

from ordergate.api.bodies import dumps, num, parse_json
from ordergate.api.openapi import any_case
from ordergate.domain.errors import InvalidInput
from ordergate.domain.orders import OrderStatus, OrderType, Side, TimeInForce

__all__ = [
    "ACTION_OUT",
    "ACTION_PATTERN",
    "ORDER_STATE",
    "ORDER_TYPE_OUT",
    "TIF_OUT",
    "CrossTradeJson",
    "dumps",
    "epoch_ms",
    "iso",
    "num",
    "order_type_pattern",
    "parse_action",
    "parse_json",
    "parse_order_type",
    "parse_tif",
    "tif_pattern",
]

ORDER_STATE = {
    OrderStatus.SUBMITTED: "Submitted",
    OrderStatus.ACCEPTED: "Accepted",
    OrderStatus.WORKING: "Working",
    OrderStatus.PARTIALLY_FILLED: "PartFilled",
    OrderStatus.PENDING_CHANGE: "ChangePending",
    OrderStatus.PENDING_CANCEL: "CancelPending",
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.EXPIRED: "Cancelled",  # NT8 has no expired state: a day order is cancelled
    OrderStatus.FILLED: "Filled",
    OrderStatus.REJECTED: "Rejected",
}
ACTION_OUT = {Side.BUY: "Buy", Side.SELL: "Sell"}
ORDER_TYPE_OUT = {
    OrderType.MARKET: "Market",
    OrderType.LIMIT: "Limit",
    OrderType.STOP: "StopMarket",
    OrderType.STOP_LIMIT: "StopLimit",
}
TIF_OUT = {TimeInForce.DAY: "Day", TimeInForce.GTC: "Gtc", TimeInForce.GTD: "Gtd"}

_ACTIONS = {"buy": Side.BUY, "sell": Side.SELL, "buytocover": Side.BUY, "sellshort": Side.SELL}
_TYPES = {
    "market": OrderType.MARKET,
    "limit": OrderType.LIMIT,
    "stop": OrderType.STOP,
    "stopmarket": OrderType.STOP,
    "stoplimit": OrderType.STOP_LIMIT,
}
_TIFS = {"day": TimeInForce.DAY, "gtc": TimeInForce.GTC, "gtd": TimeInForce.GTD}


#: The action names ``parse_action`` takes, as a pattern (any case).
ACTION_PATTERN = any_case(*_ACTIONS)


def order_type_pattern(*kinds: OrderType) -> str:
    """A pattern of the orderType names ``parse_order_type`` reads as one of ``kinds``
    (every type without ``kinds``), in any case."""
    return any_case(*(name for name, kind in _TYPES.items() if not kinds or kind in kinds))


def tif_pattern(*tifs: TimeInForce) -> str:
    """A pattern of the timeInForce names ``parse_tif`` reads as one of ``tifs`` (every one
    without ``tifs``), in any case."""
    return any_case(*(name for name, tif in _TIFS.items() if not tifs or tif in tifs))


def _key(raw: str) -> str:
    return raw.replace("_", "").replace(" ", "").casefold()


def _lookup(table: dict[str, Any], raw: str, what: str) -> Any:
    found = table.get(_key(raw))
    if found is None:
        raise InvalidInput(f"unknown {what} {raw!r}; use one of {', '.join(sorted(table))}")
    return found


def parse_action(raw: str) -> Side:
    result: Side = _lookup(_ACTIONS, raw, "action")
    return result


def parse_order_type(raw: str) -> OrderType:
    result: OrderType = _lookup(_TYPES, raw, "orderType")
    return result


def parse_tif(raw: str) -> TimeInForce:
    result: TimeInForce = _lookup(_TIFS, raw, "timeInForce")
    return result


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def epoch_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class CrossTradeJson(JSONResponse):
    def render(self, content: Any) -> bytes:
        return dumps(content)
