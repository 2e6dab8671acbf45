"""Request bodies of the ScaleTrade routes. Unknown fields are refused (a misspelt ``symbol``
must not widen a group cancel to every symbol), integers are strict (``"1001"`` is not a
login), and prices arrive as exact decimals."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

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

LoginField = Annotated[int, Field(strict=True, ge=0, le=_MAX_BIGINT, description="Account login.")]
TicketField = Annotated[
    int, Field(strict=True, gt=0, le=_MAX_BIGINT, description="Ticket of the order or trade.")
]
Volume = Annotated[
    int,
    Field(strict=True, gt=0, le=10**10, description="Hundredths of a lot (100 = 1.00 lot)."),
]
Price = Annotated[
    Decimal,
    Field(ge=0, max_digits=18, decimal_places=8, allow_inf_nan=False, description="0 = none."),
]
Symbol = Annotated[str, Field(min_length=1, max_length=32, description="e.g. EURUSD")]
Comment = Annotated[str, Field(max_length=255)]
Expiration = Annotated[
    int, Field(strict=True, ge=0, le=_MAX_UNIX, description="Unix seconds; 0 = none.")
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SignInRequest(Body):
    # A password is compared exactly as it was set: spaces at its ends are part of it.
    model_config = ConfigDict(str_strip_whitespace=False)

    login: LoginField
    password: Annotated[str, Field(min_length=6, max_length=64)]


class OpenRequest(Body):
    login: LoginField
    cmd: Annotated[int, Field(strict=True, description="0 BUY or 1 SELL (market).")]
    volume: Volume
    symbol: Symbol
    sl: Price = Decimal(0)
    tp: Price = Decimal(0)
    comment: Comment = ""


class OpenPendingRequest(Body):
    login: LoginField
    cmd: Annotated[
        int,
        Field(
            strict=True,
            description="2 BUY_LIMIT, 3 SELL_LIMIT, 4 BUY_STOP, 5 SELL_STOP, "
            "10 BUY_STOP_LIMIT, 11 SELL_STOP_LIMIT.",
        ),
    ]
    volume: Volume
    symbol: Symbol
    open_price: Annotated[
        Decimal,
        Field(
            gt=0,
            max_digits=18,
            decimal_places=8,
            allow_inf_nan=False,
            description="The limit price (2, 3, 10, 11) or the stop price (4, 5).",
        ),
    ]
    trigger_price: Price | None = Field(
        default=None,
        description="Stop-limit orders (10, 11) only: the price that turns it into a limit "
        "order at open_price.",
    )
    sl: Price = Decimal(0)
    tp: Price = Decimal(0)
    expiration: Expiration = 0
    comment: Comment = ""


class ModifyOpenRequest(Body):
    order: TicketField
    login: LoginField | None = None
    sl: Price | None = None
    tp: Price | None = None


class ModifyPendingRequest(Body):
    order: TicketField
    login: LoginField | None = None
    open_price: Price | None = None
    trigger_price: Price | None = None
    sl: Price | None = None
    tp: Price | None = None
    expiration: Expiration | None = None


class CloseRequest(Body):
    order: TicketField
    login: LoginField | None = None
    volume: Volume | None = Field(default=None, description="Close only this much.")
    comment: Comment = ""


class CloseGroupRequest(Body):
    login: LoginField
    type: Literal[0, 1, -1] = Field(description="0 all, 1 profitable, -1 losing.")
    symbol: Symbol | None = None
    comment: Comment = ""


class CancelRequest(Body):
    order: TicketField
    login: LoginField | None = None


class CancelGroupRequest(Body):
    login: LoginField
    symbol: Symbol | None = None
