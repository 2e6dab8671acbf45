"""Commands: what a caller asks the engine to do (imperative, frozen).

An account is named by ``AccountRef``: its integer login (ScaleTrade) or its case-insensitive
name (CrossTrade). Numbers arrive already parsed to Decimal by the dialect; the engine checks
them against the instrument.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ordergate.domain.ids import OrderId, Ticket
from ordergate.domain.orders import OrderType, Side, TimeInForce

__all__ = [
    "AccountRef",
    "CancelOrder",
    "CancelOrders",
    "ChangeOrder",
    "ClosePosition",
    "Flatten",
    "ModifyTrade",
    "OrderRef",
    "PlaceOrder",
    "new_level",
]

AccountRef = int | str
OrderRef = OrderId | Ticket


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaceOrder:
    account: AccountRef
    symbol: str
    side: Side
    type: OrderType
    quantity: Decimal
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    expires_at: datetime | None = None
    oco: str | None = None
    tag: str | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    comment: str = ""
    #: the caller's own id: placing again with one the account already has places nothing
    #: and answers that order
    client_id: str | None = None
    #: the positions in the instrument the order may be placed at: "flat", "long", "short"
    require_position: frozenset[str] | None = None
    #: refuse an order that would open a position when the account holds this many
    max_positions: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeOrder:
    """Change a resting order; a field left None stays as it is.

    A stop-loss or take-profit of 0 removes it (MT4's convention). An ``expires_at`` makes the
    order good-till-date; ``clear_expiry`` makes it good-till-cancelled."""

    account: AccountRef
    order: OrderRef
    quantity: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    expires_at: datetime | None = None
    clear_expiry: bool = False

    @property
    def empty(self) -> bool:
        return not self.clear_expiry and all(
            v is None
            for v in (
                self.quantity,
                self.limit_price,
                self.stop_price,
                self.stop_loss,
                self.take_profit,
                self.expires_at,
            )
        )


def new_level(current: Decimal | None, asked: Decimal | None) -> Decimal | None:
    """A stop-loss or take-profit after a change that asks for ``asked``: None keeps the
    current level, 0 removes it."""
    if asked is None:
        return current
    return None if asked == 0 else asked


@dataclass(frozen=True, slots=True, kw_only=True)
class ModifyTrade:
    """Set or remove (0) the stop-loss and take-profit of an open position ticket; None
    leaves a level as it is."""

    account: AccountRef
    ticket: Ticket
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrder:
    """Cancel one order. ``account`` None: the account the order is in, if the caller may act
    on it (else the order is not found, as an unknown one). ``resting_only``: a market order
    is refused (OrderNotCancellable), however it stands: to ScaleTrade it is a trade."""

    account: AccountRef | None
    order: OrderRef
    resting_only: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrders:
    """Cancel every working order of the account, or only those of ``symbol``."""

    account: AccountRef
    symbol: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClosePosition:
    """Close the account's position in ``symbol`` (all, or ``quantity`` of it), or one ticket."""

    account: AccountRef
    symbol: str | None = None
    ticket: Ticket | None = None
    quantity: Decimal | None = None
    comment: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Flatten:
    """Cancel the account's orders and close its positions (all, or one instrument's)."""

    account: AccountRef
    symbol: str | None = None
