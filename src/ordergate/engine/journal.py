"""The journal: what one batch of applied commands writes, in one transaction, before anyone
is answered; and what a restart reads back.

A ``Batch`` holds the batch's events (the audit trail and the fills) and the snapshot rows
they changed (orders, position tickets, balances). The engine fills it while it applies
commands; a ``Journal`` (store/) appends it atomically. Many orders that take the same step
together (a bulk cancel, the venue's confirmation of it) are one ``Moved`` entry, which the
store writes set-wise, not row by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple, Protocol

from ordergate.domain.accounts import Account
from ordergate.domain.ids import Login, Ticket
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import Order, OrderStatus
from ordergate.domain.positions import Fill, PositionTicket

__all__ = ["Batch", "Journal", "Moved", "Snapshot", "Transitioned"]


class Transitioned(NamedTuple):
    """One row of an order's audit trail: who moved it, when, from where to where, why (a
    tuple: every step of every order builds one)."""

    ticket: Ticket
    from_status: OrderStatus | None
    to_status: OrderStatus
    reason: str
    actor: str
    request_id: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Moved:
    """Many orders taking the same step at once: each moved from ``from_status`` to
    ``to_status``, now holds ``prior_status`` and (unless it is None) ``request_id``, and
    counts one more version. Their audit rows share everything but the ticket."""

    tickets: Sequence[Ticket]
    from_status: OrderStatus
    to_status: OrderStatus
    prior_status: OrderStatus | None
    request_id: str | None
    reason: str
    actor: str
    at: datetime


@dataclass(slots=True)
class Batch:
    """Everything one group commit writes. Orders in ``orders`` are written whole after the
    trail, so an order both moved and changed otherwise in one batch ends as it stands."""

    new_orders: dict[Ticket, Order] = field(default_factory=dict)
    orders: dict[Ticket, Order] = field(default_factory=dict)
    trail: list[Transitioned | Moved] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    positions: dict[Ticket, PositionTicket] = field(default_factory=dict)
    balances: dict[Login, Decimal] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.new_orders or self.orders or self.trail or self.fills or self.balances)

    def changed(self, order: Order) -> None:
        """``order`` (stored before this batch, or new in it) is to be written whole."""
        if order.key not in self.new_orders:
            self.orders[order.key] = order

    @property
    def size(self) -> int:
        """How many rows the batch writes, about (what a log line or a bench reports)."""
        moved = sum(len(t.tickets) if isinstance(t, Moved) else 1 for t in self.trail)
        return len(self.new_orders) + len(self.orders) + moved + len(self.fills)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a restart starts from: every account and instrument, the orders that have not
    ended, the open position tickets, and the running totals the engine keeps."""

    accounts: list[Account]
    instruments: list[Instrument]
    open_orders: list[Order]
    open_tickets: list[PositionTicket]
    #: per account, the profit or loss its tickets have realized, ever
    realized: dict[Login, Decimal]
    #: per account, the symbols it has ever held a ticket in
    traded: dict[Login, set[str]]
    #: the highest ticket ever given to an order or a position
    last_ticket: int
    #: per account, the contracts (lots) it has ever had filled: what commission is charged on
    filled: dict[Login, Decimal] = field(default_factory=dict)


class Journal(Protocol):
    """Where the engine's batches go (store/), and where a restart reads them back."""

    async def append(self, batch: Batch) -> None:
        """Write ``batch`` in one transaction; raise if it was not committed."""
        ...

    async def load(self) -> Snapshot: ...

    async def close(self) -> None: ...
