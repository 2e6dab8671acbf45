"""The execution side as the engine sees it: the Venue protocol and the reports it sends back.

The engine journals an order's new state first and then tells the venue; the venue answers
later (or at once) with reports, which the engine applies as commands of their own. A crash
between the two leaves the order in its journaled state, from which ``restore`` resumes.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from ordergate.domain.ids import Login, Ticket
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import OrderStatus, OrderType, Side

__all__ = [
    "Acknowledged",
    "CancelConfirmed",
    "CancelRefused",
    "CancelledByVenue",
    "ChangeConfirmed",
    "ChangeRefused",
    "Expired",
    "Filled",
    "Quote",
    "Refused",
    "Venue",
    "VenueListener",
    "VenueOrder",
    "VenueReport",
]


@dataclass(frozen=True, slots=True)
class Quote:
    """Top of book, and the last trade when the source has one. Sizes are in the
    instrument's quantity units; None means 'unlimited' (full fills)."""

    symbol: str
    bid: Decimal
    ask: Decimal
    at: datetime
    bid_size: Decimal | None = None
    ask_size: Decimal | None = None
    last: Decimal | None = None
    last_size: Decimal | None = None

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """What the venue needs of an order: ``quantity`` is what remains to fill."""

    ticket: Ticket
    login: Login
    symbol: str
    side: Side
    type: OrderType
    quantity: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    oco: str | None
    status: OrderStatus
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Acknowledged:
    ticket: Ticket
    live: bool  # False: resting untriggered (a stop), True: working on the book


@dataclass(frozen=True, slots=True)
class Refused:
    ticket: Ticket
    reason: str


@dataclass(frozen=True, slots=True)
class Filled:
    ticket: Ticket
    quantity: Decimal
    price: Decimal
    at: datetime


@dataclass(frozen=True, slots=True)
class CancelConfirmed:
    """The venue took ``tickets`` off the book for the cancel request ``request_id`` of
    ``login`` (one order, or a bulk cancel's many). The request's other tickets are in a
    ``CancelRefused``; a request whose orders have different cancel latencies is answered in
    parts, one per latency."""

    login: Login
    request_id: str
    tickets: tuple[Ticket, ...]


@dataclass(frozen=True, slots=True)
class CancelRefused:
    tickets: tuple[Ticket, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class ChangeConfirmed:
    ticket: Ticket


@dataclass(frozen=True, slots=True)
class ChangeRefused:
    ticket: Ticket
    reason: str


@dataclass(frozen=True, slots=True)
class Expired:
    tickets: tuple[Ticket, ...]


@dataclass(frozen=True, slots=True)
class CancelledByVenue:
    tickets: tuple[Ticket, ...]
    reason: str


VenueReport = (
    Acknowledged
    | Refused
    | Filled
    | CancelConfirmed
    | CancelRefused
    | ChangeConfirmed
    | ChangeRefused
    | Expired
    | CancelledByVenue
)


class VenueListener(Protocol):
    """Who receives the venue's reports (the engine), in the order they happened."""

    async def on_venue_reports(self, reports: Sequence[VenueReport]) -> None: ...


class Venue(Protocol):
    """An execution venue: the simulated exchange, or later a bridge to a real one."""

    def bind(self, listener: VenueListener) -> None: ...

    def load_instruments(self, instruments: Iterable[Instrument]) -> None:
        """Know these instruments' trading sessions (new ones, or again)."""
        ...

    def quote(self, symbol: str) -> Quote | None: ...

    def cancel_refusal(self, symbol: str, at: datetime) -> str | None:
        """Why the venue would refuse a cancel in ``symbol`` now (e.g. ``market_closed``)."""
        ...

    def submission_refusal(self, symbol: str, at: datetime) -> str | None:
        """Why the venue would refuse a new order in ``symbol`` now."""
        ...

    def is_open(self, instrument: Instrument, at: datetime) -> bool:
        """Whether ``instrument`` trades at ``at``, as the venue judges hours and closes."""
        ...

    def day_end(self, instrument: Instrument, at: datetime) -> datetime | None:
        """When a day order in ``instrument`` placed at ``at`` expires (None: no session is
        open then, as the venue judges trading hours)."""
        ...

    async def submit(self, orders: Sequence[VenueOrder]) -> None: ...

    async def cancel(self, login: Login, request_id: str, tickets: Sequence[Ticket]) -> None: ...

    async def change(self, order: VenueOrder) -> None: ...

    async def restore(
        self, orders: Sequence[VenueOrder] | AsyncIterable[Sequence[VenueOrder]]
    ) -> None:
        """Rebuild the book after a restart from the orders the database holds (a list, or
        chunks of it as they are read); act on none of them before all are back."""
        ...

    async def drain(self) -> None:
        """Wait until every report the venue owes for what is due by now has been delivered
        (a latency still running, or an expiry, is not waited for)."""
        ...
