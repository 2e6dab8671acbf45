"""Request bodies of the ScaleTrade routes. Unknown fields are refused (a misspelt ``symbol``
must not widen a group cancel to every symbol), integers are strict (``"1001"`` and ``true``
are not a login; a JSON number with a zero fraction, ``1001.0``, is the integer JSON Schema
says it is), and prices arrive as exact decimals.

Each model's JSON Schema is its documentation: what a route checks by hand beyond the
fields (a stop-limit's trigger price, a modify with something to change) is there too."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema

from ordergate.api.openapi import (
    TrimmedModel,
    absent,
    at_least_one,
    decimal_schema,
    given,
    when,
)
from ordergate.api.scaletrade.wire import CMD_OF, MARKET_CMDS, PENDING_CMDS
from ordergate.domain.orders import OrderType
from ordergate.domain.values import MAX_INTEGER_DIGITS, SCALE

__all__ = [
    "CancelGroupRequest",
    "CancelRequest",
    "CloseGroupRequest",
    "CloseRequest",
    "LoginField",
    "ModifyOpenRequest",
    "ModifyPendingRequest",
    "OpenPendingRequest",
    "OpenRequest",
    "SignInRequest",
    "TicketField",
]

_MAX_BIGINT = 2**63 - 1
#: Unix seconds up to the year 9999.
_MAX_UNIX = 253_402_300_799


def _whole(value: object) -> object:
    """A JSON number with a zero fraction (``1001.0``, ``1e3``) as the integer it equals, as
    JSON Schema reads it; anything else as it is, for the strict check to refuse."""
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() < 20:
        whole = value.to_integral_value()
        return int(whole) if whole == value else value
    return value


#: Strict integers, whole JSON numbers included (placed last, so it runs before the check).
Whole = BeforeValidator(_whole)
LoginField = Annotated[
    int, Field(strict=True, ge=0, le=_MAX_BIGINT, description="Account login."), Whole
]
TicketField = Annotated[
    int,
    Field(strict=True, gt=0, le=_MAX_BIGINT, description="Ticket of the order or trade."),
    Whole,
]
Volume = Annotated[
    int,
    Field(strict=True, gt=0, le=10**10, description="Hundredths of a lot (100 = 1.00 lot)."),
    Whole,
]
_EXACT = Field(max_digits=MAX_INTEGER_DIGITS + SCALE, decimal_places=SCALE, allow_inf_nan=False)
Price = Annotated[
    Decimal, _EXACT, Field(ge=0, description="0 = none."), WithJsonSchema(decimal_schema(minimum=0))
]
#: A price where 0 means nothing: pydantic takes 0, the domain refuses it (RET_TRADE_BAD_PRICES).
PositivePrice = Annotated[
    Decimal, _EXACT, Field(ge=0), WithJsonSchema(decimal_schema(exclusive_minimum=0))
]
Symbol = Annotated[str, Field(min_length=1, max_length=32, description="e.g. EURUSD")]
Comment = Annotated[str, Field(max_length=255)]
Expiration = Annotated[
    int, Field(strict=True, ge=0, le=_MAX_UNIX, description="Unix seconds; 0 = none."), Whole
]
_STOP_LIMIT_CMDS = sorted(cmd for (_, kind), cmd in CMD_OF.items() if kind is OrderType.STOP_LIMIT)


class Body(TrimmedModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SignInRequest(Body):
    # A password is compared exactly as it was set: spaces at its ends are part of it.
    model_config = ConfigDict(str_strip_whitespace=False)

    login: LoginField
    password: Annotated[str, Field(min_length=6, max_length=64)]


class OpenRequest(Body):
    login: LoginField
    cmd: Annotated[
        int,
        Field(
            strict=True,
            description="0 BUY or 1 SELL (market).",
            # A pending cmd is 409 RET_TRADE_INCORRECT_CMD, any other 400 INVALID_DATA.
            json_schema_extra={"enum": sorted(MARKET_CMDS)},
        ),
        Whole,
    ]
    volume: Volume
    symbol: Symbol
    sl: Price = Decimal(0)
    tp: Price = Decimal(0)
    comment: Comment = ""


class OpenPendingRequest(Body):
    # A stop-limit needs a trigger price, and only a stop-limit takes one (the route checks).
    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                when(
                    "cmd",
                    {"enum": _STOP_LIMIT_CMDS},
                    given("trigger_price", decimal_schema(exclusive_minimum=0)),
                    absent("trigger_price"),
                )
            ]
        }
    )

    login: LoginField
    cmd: Annotated[
        int,
        Field(
            strict=True,
            description="2 BUY_LIMIT, 3 SELL_LIMIT, 4 BUY_STOP, 5 SELL_STOP, "
            "10 BUY_STOP_LIMIT, 11 SELL_STOP_LIMIT.",
            json_schema_extra={"enum": sorted(PENDING_CMDS)},
        ),
        Whole,
    ]
    volume: Volume
    symbol: Symbol
    open_price: Annotated[
        Decimal,
        _EXACT,
        Field(gt=0, description="The limit price (2, 3, 10, 11) or the stop price (4, 5)."),
        WithJsonSchema(decimal_schema(exclusive_minimum=0)),
    ]
    trigger_price: Price | None = Field(
        default=None,
        description="Stop-limit orders (10, 11) only: the price that turns it into a limit "
        "order at open_price.",
    )
    sl: Price = Decimal(0)
    tp: Price = Decimal(0)
    expiration: Expiration = Field(
        default=0, description="Unix seconds, in the future; 0 = good till cancelled."
    )
    comment: Comment = ""


class ModifyOpenRequest(Body):
    model_config = ConfigDict(json_schema_extra=at_least_one("sl", "tp"))

    order: TicketField
    login: LoginField | None = None
    sl: Price | None = None
    tp: Price | None = None


class ModifyPendingRequest(Body):
    model_config = ConfigDict(
        json_schema_extra=at_least_one("open_price", "trigger_price", "sl", "tp", "expiration")
    )

    order: TicketField
    login: LoginField | None = None
    open_price: PositivePrice | None = None
    trigger_price: PositivePrice | None = Field(default=None, description="Stop-limit only.")
    sl: Price | None = None
    tp: Price | None = None
    expiration: Expiration | None = Field(
        default=None, description="Unix seconds, in the future; 0 = good till cancelled."
    )


class CloseRequest(Body):
    order: TicketField
    login: LoginField | None = None
    volume: Volume | None = Field(default=None, description="Close only this much.")
    comment: Comment = ""


class CloseGroupRequest(Body):
    login: LoginField
    type: Literal[0, 1, -1] = Field(description="0 all, 1 profitable, -1 losing.")
    symbol: Symbol | None = None
    comment: Comment | None = Field(
        default=None, description="Any text stamps GROUP_CLOSE on the closing orders."
    )


class CancelRequest(Body):
    order: TicketField
    login: LoginField | None = None


class CancelGroupRequest(Body):
    login: LoginField
    symbol: Symbol | None = None
