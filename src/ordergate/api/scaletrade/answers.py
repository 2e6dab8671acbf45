"""The ScaleTrade answers as models: what each route's body holds, for the OpenAPI document
and the clients generated from it.

The routes build their bodies themselves (wire.py, records.py and the route modules), with
exact JSON numbers; these models only describe them. Every answer the tests receive is held
against its route's schema (tests/conformance.py), so the two cannot drift apart. A field
sent only in some answers is not required (None: left out, never sent as null).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema

from ordergate.api.openapi import JsonNumber, WireModel
from ordergate.api.scaletrade.records import COLUMNS, TEXT

__all__ = [
    "ScaleTradeAccount",
    "ScaleTradeAck",
    "ScaleTradeAsset",
    "ScaleTradeBalances",
    "ScaleTradeCancelGroup",
    "ScaleTradeCancelGroupPartial",
    "ScaleTradeCancelGroupRefused",
    "ScaleTradeCloseAck",
    "ScaleTradeCloseGroup",
    "ScaleTradeCloseGroupPartial",
    "ScaleTradeCloseGroupRefused",
    "ScaleTradeError",
    "ScaleTradeFailure",
    "ScaleTradeFigures",
    "ScaleTradeMarket",
    "ScaleTradeProfile",
    "ScaleTradeSession",
    "ScaleTradeSymbol",
    "ScaleTradeTimeRange",
    "ScaleTradeTrades",
]

_UNIX = "Unix seconds; 0 = none"
_NOT_KEPT = "Always empty: ordergate keeps no value for it"


class ScaleTradeError(WireModel):
    """ScaleTrade's error form."""

    error: str = Field(description="The return code, e.g. INVALID_DATA, RET_NOT_FOUND")
    message: str = Field(description="What was refused, for a person")


# -- trade requests ----------------------------------------------------------------------------


class ScaleTradeAck(WireModel):
    """The acknowledgment of a trade request: checked and queued; its outcome is seen
    through ``GET /trades``."""

    accepted: Literal[True]
    order: int = Field(description="Ticket of the order or trade")
    state: int = Field(
        description="Trade state now: 1 open request, 7 close request, 9 cancel request, "
        "14 open update request, 16 pending update request"
    )
    login: int = Field(description="Account login")
    symbol: str
    cmd: int = Field(
        description="0 BUY, 1 SELL, 2 BUY_LIMIT, 3 SELL_LIMIT, 4 BUY_STOP, 5 SELL_STOP, "
        "10 BUY_STOP_LIMIT, 11 SELL_STOP_LIMIT"
    )
    volume: int = Field(description="Hundredths of a lot (of the order, or the open trade)")


class ScaleTradeCloseAck(ScaleTradeAck):
    """The acknowledgment of a close: the trade's volume and the volume being closed."""

    close_volume: int = Field(description="Hundredths of a lot being closed")


class ScaleTradeFailure(WireModel):
    """A matched ticket whose close or cancel was refused, with its return code."""

    order: int = Field(description="Ticket of the order or trade")
    error: str = Field(description="The return code, e.g. RET_TRADE_ORDER_LOCKED")
    message: str


_MATCHED = "Tickets matched: the accepted ones (rows) and the refused ones (failures)"
_FAILED = "Refused tickets (failures)"
_PARTIAL_ROWS = "An acknowledgment per ticket accepted"
_REFUSED_ROWS = "Empty: none was accepted"


class ScaleTradeCloseGroup(WireModel):
    """Every matched trade is being closed (or none matched: no rows)."""

    data: Literal["OK"]
    rows: list[ScaleTradeAck] = Field(description="An acknowledgment per trade (state 7)")
    matched: int = Field(description=_MATCHED)
    closed: int = Field(description="Trades being closed (rows)")
    failed: Literal[0]


class ScaleTradeCloseGroupPartial(WireModel):
    """Some matched trades are being closed, the others were refused (207)."""

    rows: list[ScaleTradeAck] = Field(min_length=1, description=_PARTIAL_ROWS + " (state 7)")
    failures: list[ScaleTradeFailure] = Field(min_length=1)
    matched: int = Field(description=_MATCHED)
    closed: int = Field(description="Trades being closed (rows)")
    failed: int = Field(description=_FAILED)


class ScaleTradeCloseGroupRefused(ScaleTradeError):
    """A refused group close (409). When trades matched but none could be closed, the
    failures and counts come with it; the error is their code (RET_ERROR when they differ)."""

    rows: list[ScaleTradeAck] | None = Field(default=None, max_length=0, description=_REFUSED_ROWS)
    failures: list[ScaleTradeFailure] | None = None
    matched: int | None = Field(default=None, description=_MATCHED)
    closed: Literal[0] | None = None
    failed: int | None = Field(default=None, description=_FAILED)


class ScaleTradeCancelGroup(WireModel):
    """Every matched pending order is being cancelled."""

    rows: list[ScaleTradeAck] = Field(description="An acknowledgment per order (state 9)")
    matched: int = Field(description=_MATCHED)
    cancelled: int = Field(description="Orders being cancelled (rows)")
    failed: Literal[0]


class ScaleTradeCancelGroupPartial(WireModel):
    """Some matched pending orders are being cancelled, the others were refused (207)."""

    rows: list[ScaleTradeAck] = Field(min_length=1, description=_PARTIAL_ROWS + " (state 9)")
    failures: list[ScaleTradeFailure] = Field(min_length=1)
    matched: int = Field(description=_MATCHED)
    cancelled: int = Field(description="Orders being cancelled (rows)")
    failed: int = Field(description=_FAILED)


class ScaleTradeCancelGroupRefused(ScaleTradeError):
    """A refused group cancel (409). When orders matched but none could be cancelled, the
    failures and counts come with it; the error is their code (RET_ERROR when they differ)."""

    rows: list[ScaleTradeAck] | None = Field(default=None, max_length=0, description=_REFUSED_ROWS)
    failures: list[ScaleTradeFailure] | None = None
    matched: int | None = Field(default=None, description=_MATCHED)
    cancelled: Literal[0] | None = None
    failed: int | None = Field(default=None, description=_FAILED)


# -- sign-in and accounts ----------------------------------------------------------------------


class ScaleTradeProfile(WireModel):
    """The signed-in holder's profile and its session token. An account login has a
    ``balance``; a staff login (manager, admin) a ``role``, ``currency`` "" and
    ``leverage`` 0."""

    id: int = Field(description="The account's login, or the staff user's id")
    login: int
    type: Literal[0, 1, 3] = Field(description="Session type: 0 client, 1 manager, 3 admin")
    regdate: int = Field(description="When the login was registered (" + _UNIX + ")")
    leverage: int
    email: str = Field(description=_NOT_KEPT)
    avatar: str = Field(description=_NOT_KEPT)
    phone: str = Field(description=_NOT_KEPT)
    address: str = Field(description=_NOT_KEPT)
    city: str = Field(description=_NOT_KEPT)
    state: str = Field(description=_NOT_KEPT)
    country: str = Field(description=_NOT_KEPT)
    zipcode: str = Field(description=_NOT_KEPT)
    name: str
    group: str = Field(description="The account's group; a staff user's groups, comma-separated")
    currency: str
    balance: JsonNumber | None = Field(default=None, description="Account logins only")
    role: Literal["manager", "admin"] | None = Field(default=None, description="Staff logins only")
    enable: Literal[1]
    token: str = Field(alias="__token", description="The session JWT, for the Authorization header")


class ScaleTradeFigures(WireModel):
    """An account's figures at the current quotes (the stream's ``b`` event)."""

    login: int
    balance: JsonNumber
    credit: JsonNumber = Field(description="Always 0: no credit is kept")
    equity: JsonNumber = Field(description="balance + profit")
    margin: JsonNumber = Field(description="Margin in use")
    margin_free: JsonNumber
    margin_level: JsonNumber = Field(description="equity / margin x 100; 0 with no margin")
    level_type: int = Field(description="0 OK (the venue calls no margin)")
    profit: JsonNumber = Field(description="Floating profit of the open trades")
    storage: JsonNumber = Field(description="Always 0: no swap is charged")
    commission: JsonNumber = Field(description="Always 0: no commission is charged")


class ScaleTradeBalances(WireModel):
    """The figures of the logins asked for, in their order."""

    rows: list[ScaleTradeFigures]


class ScaleTradeAccount(WireModel):
    """An account's profile and figures."""

    id: int = Field(description="The account's login")
    login: int
    currency: str
    group: str
    comment: str = Field(description=_NOT_KEPT)
    enable: int = Field(description="1 enabled, 0 disabled")
    enable_read_only: int = Field(description="Always 0")
    enable_change_password: int = Field(description="Always 0")
    leverage: int
    avatar: str = Field(description=_NOT_KEPT)
    email: str = Field(description=_NOT_KEPT)
    name: str
    phone: str = Field(description=_NOT_KEPT)
    address: str = Field(description=_NOT_KEPT)
    city: str = Field(description=_NOT_KEPT)
    country: str = Field(description=_NOT_KEPT)
    zipcode: str = Field(description=_NOT_KEPT)
    regdate: int = Field(description="When the account was added (" + _UNIX + ")")
    prevbalance: JsonNumber = Field(description="The balance at 00:00 UTC today")
    prevmonthbalance: JsonNumber = Field(description="The balance at 00:00 UTC on the 1st")
    balance: JsonNumber
    storage: JsonNumber = Field(description="Always 0")
    commission: JsonNumber = Field(description="Always 0")
    credit: JsonNumber = Field(description="Always 0")
    margin: JsonNumber
    margin_free: JsonNumber
    margin_level: JsonNumber = Field(description="equity / margin x 100; 0 with no margin")
    equity: JsonNumber


# -- market ------------------------------------------------------------------------------------


class ScaleTradeTimeRange(WireModel):
    """A trading (or quoting) range of a day, UTC; all zeros: unused; 23:59 closes at the
    end of the day."""

    open_hour: int
    open_min: int
    close_hour: int
    close_min: int


class ScaleTradeSession(WireModel):
    """A day's sessions: at least three ranges each (more only if the day has more)."""

    trade_overnight: int = Field(description="1: the session runs on past midnight")
    trade: list[ScaleTradeTimeRange] = Field(min_length=3)
    quote_overnight: int = Field(description="Equal to trade_overnight")
    quote: list[ScaleTradeTimeRange] = Field(min_length=3, description="Equal to trade")


_SESSIONS = "Seven days, index 0 Sunday"


class ScaleTradeAsset(WireModel):
    """A symbol as ``GET /market`` shows it; lots in hundredths (1 = 0.01 lot)."""

    symbol: str
    description: str
    currency: str
    margin_currency: str
    quote_currency: str
    group: str
    digits: int
    trade: int = Field(description="2: full access")
    spread: int = Field(description="In points (10^-digits); 0 without a quote")
    swap_enable: int = Field(description="Always 0")
    margin_divider: int = Field(description="Always 1")
    contract_size: JsonNumber
    ask: JsonNumber = Field(description="0 without a quote")
    bid: JsonNumber = Field(description="0 without a quote")
    market_state: int = Field(description="1 open, 0 closed")
    market_reason: str = Field(description='"" when open, else SESSION_CLOSED or MARKET_CLOSED')
    lot_min: int
    lot_max: int
    lot_step: int
    sessions: list[ScaleTradeSession] = Field(min_length=7, max_length=7, description=_SESSIONS)


class ScaleTradeMarket(WireModel):
    """Every symbol, keyed by name, and the security groups."""

    assets: dict[str, ScaleTradeAsset]
    groups: list[str]


class ScaleTradeSymbol(WireModel):
    """A symbol's specification and quote; lots in lots (0.01 = volume 1)."""

    symbol: str
    description: str
    digits: int
    bid: JsonNumber = Field(description="0 without a quote")
    ask: JsonNumber = Field(description="0 without a quote")
    quote_time: int = Field(description=_UNIX)
    point: JsonNumber = Field(description="10^-digits")
    spread: int = Field(description="In points; 0 without a quote")
    contract_size: JsonNumber
    currency: str
    trade: int = Field(description="2: full access")
    market_state: int = Field(description="1 open, 0 closed")
    market_reason: str = Field(description='"" when open, else SESSION_CLOSED or MARKET_CLOSED')
    sessions: list[ScaleTradeSession] = Field(min_length=7, max_length=7, description=_SESSIONS)
    tick_size: JsonNumber
    tick_value: JsonNumber = Field(description="What a tick is worth on one lot, in currency")
    lot_min: JsonNumber
    lot_max: JsonNumber
    lot_step: JsonNumber
    trade_allowed: bool = Field(description="market_state as a boolean")


# -- trades ------------------------------------------------------------------------------------

#: The columns holding exact decimals (prices, money); the others but TEXT hold integers.
_DECIMAL = frozenset(
    {"open_price", "close_price", "sl", "tp", "profit", "net_profit", "commission", "storage"}
)


def _cell(column: str) -> dict[str, Any]:
    kind = "string" if column in TEXT else "number" if column in _DECIMAL else "integer"
    return {"type": kind, "title": column}


#: A trade record: a cell per column of ``structure``, in its order.
_ROW_SCHEMA: dict[str, Any] = {
    "type": "array",
    "prefixItems": [_cell(c) for c in COLUMNS],
    "minItems": len(COLUMNS),
    "maxItems": len(COLUMNS),
    "description": "A trade record: one cell per column of structure, in its order",
}
Row = Annotated[list[str | int | Decimal], WithJsonSchema(_ROW_SCHEMA)]
Structure = Annotated[
    list[str],
    WithJsonSchema(
        {
            "type": "array",
            "items": {"type": "string", "enum": list(COLUMNS)},
            "minItems": len(COLUMNS),
            "maxItems": len(COLUMNS),
            "description": "The columns of each row, in order: " + ", ".join(COLUMNS),
        }
    ),
]


class ScaleTradeTrades(WireModel):
    """A page of a login's trade records, and the totals of every record the query
    matched. Volumes in hundredths of a lot; times in Unix seconds (0: none)."""

    structure: Structure
    rows: list[Row]
    count: int = Field(description="Records matched (on every page)")
    total_profit: JsonNumber
    total_net_profit: JsonNumber
    total_storage: JsonNumber
    total_commission: JsonNumber
    total_volume: int
