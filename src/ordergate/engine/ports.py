"""The small protocols the engine talks through: a store of units of work, a clock, a sink.

``store/`` implements Store over SQLAlchemy; tests can hand in their own clock and sink.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple, Protocol

from ordergate.domain.accounts import Account
from ordergate.domain.clock import Clock, SystemClock
from ordergate.domain.commands import AccountRef, OrderRef
from ordergate.domain.events import Event
from ordergate.domain.ids import Login, OrderId, Ticket
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import Order, OrderStatus, Transition
from ordergate.domain.positions import Fill, PositionTicket
from ordergate.domain.reports import CancelAccepted

__all__ = [
    "AccountRepository",
    "BatchCancel",
    "Clock",
    "EventSink",
    "MovedOrder",
    "NullSink",
    "OrderRepository",
    "PositionRepository",
    "SaveOrder",
    "Store",
    "SystemClock",
    "Transaction",
]


class EventSink(Protocol):
    """Receives events after their transaction committed; ``active`` says anyone listens."""

    @property
    def active(self) -> bool: ...

    def publish(self, events: Sequence[Event]) -> None: ...


class NullSink:
    active = False

    def publish(self, events: Sequence[Event]) -> None:
        return None


class SaveOrder(NamedTuple):
    """One order for ``OrderRepository.save_many``: as ``save`` takes it."""

    order: Order
    steps: Sequence[Transition]
    actor: str
    request_id: str
    expected_version: int


class MovedOrder(NamedTuple):
    """An order a batch statement moved, with what an event about it needs."""

    ticket: Ticket
    order_id: OrderId
    login: Login
    symbol: str
    status: OrderStatus


@dataclass(frozen=True, slots=True)
class BatchCancel:
    """One bulk cancel request as the store carries it out."""

    login: Login
    symbol: str | None
    refused_symbols: dict[str, str]  # symbol -> venue reason: these are not touched
    cancellable: frozenset[OrderStatus]
    target: OrderStatus  # pending_cancel, from the transition table
    reason: str
    actor: str
    request_id: str
    at: datetime


class AccountRepository(Protocol):
    async def get(self, ref: AccountRef) -> Account | None: ...

    async def add(self, account: Account, password_hash: str | None = None) -> None: ...

    async def instrument(self, symbol: str) -> Instrument | None: ...

    async def add_instrument(self, instrument: Instrument) -> None: ...

    async def instruments(self) -> list[Instrument]: ...

    async def credit(self, login: Login, amount: Decimal) -> None:
        """Add ``amount`` (negative: a debit) to the account's balance."""
        ...

    async def exposure(self, login: Login) -> dict[str, Decimal]:
        """Per symbol: quantity resting in live orders plus quantity held in open tickets."""
        ...


class OrderRepository(Protocol):
    async def add(self, order: Order, step: Transition, actor: str, request_id: str) -> Ticket: ...

    async def add_many(self, placed: Sequence[tuple[Order, Transition, str, str]]) -> None:
        """Insert new orders, each (order, first step, actor, request id), with their events,
        in a fixed number of statements; each order gets its ticket."""
        ...

    async def get(self, login: Login, ref: OrderRef, *, lock: bool = False) -> Order | None: ...

    async def by_ticket(self, ticket: Ticket, *, lock: bool = False) -> Order | None: ...

    async def get_many(
        self, login: Login, refs: Collection[OrderRef], *, lock: bool = False
    ) -> list[Order]:
        """The orders of ``login`` that ``refs`` (ids or tickets) name, in one statement;
        refs that name none are left out."""
        ...

    async def logins_of(self, refs: Collection[OrderRef]) -> dict[OrderRef, Login]:
        """The account of each order ``refs`` (ids or tickets) name, in one statement; refs
        that name none are left out."""
        ...

    async def save_many(self, saves: Sequence[SaveOrder]) -> None:
        """``save`` for many orders in a fixed number of statements; StaleOrder if any of them
        was changed since it was read (then none is written: the transaction fails)."""
        ...

    async def save(
        self,
        order: Order,
        steps: Sequence[Transition],
        actor: str,
        request_id: str,
        *,
        expected_version: int,
        keep_request_id: bool = False,
    ) -> None:
        """Write ``order`` if nobody changed it since it was read; raise StaleOrder if so.
        ``request_id`` names the request on the events; the order's own request id becomes it
        too, unless ``keep_request_id`` (a fill of an order whose cancel is on its way keeps
        the cancel's, so that the venue's confirmation by that id still finds it)."""
        ...

    async def open_orders(
        self, login: Login | None = None, symbol: str | None = None
    ) -> list[Order]: ...

    def open_chunks(self, size: int) -> AsyncIterator[list[Order]]:
        """Every non-terminal order in ticket order, ``size`` at a time, read as the chunks
        are taken (recovery hands a million of them to the venue without holding them all)."""
        ...

    async def by_oco(self, login: Login, oco: str) -> list[Order]: ...

    async def closing(self, login: Login, symbol: str, ticket: Ticket) -> Decimal:
        """How much the account's working orders that close ``ticket`` have left to fill."""
        ...

    async def deleted_pending(self, login: Login) -> list[Order]:
        """The account's non-market orders that were cancelled, expired or rejected."""
        ...

    async def cancel_batch(
        self, batch: BatchCancel
    ) -> tuple[list[CancelAccepted], list[tuple[Order, str | None]]]:
        """Move every cancellable order in scope to ``batch.target`` and write their events,
        one statement per batch; return them and the other non-terminal orders in scope
        (with the venue's refusal reason where that is why they were left alone)."""
        ...

    async def confirm_batch(
        self,
        login: Login,
        request_ids: Collection[str],
        except_tickets: Collection[Ticket],
        source: OrderStatus,
        target: OrderStatus,
        actor: str,
        new_request_id: str,
        at: datetime,
    ) -> list[MovedOrder]:
        """Move the orders of ``login`` that any of ``request_ids`` names, still in
        ``source``, but ``except_tickets``, to ``target`` with events."""
        ...

    async def acknowledge_batch(
        self,
        tickets: Collection[Ticket],
        live: Collection[Ticket],
        source: OrderStatus,
        targets: tuple[OrderStatus, OrderStatus],
        actor: str,
        reason: str,
        new_request_id: str,
        at: datetime,
    ) -> list[MovedOrder]:
        """Move the ``tickets`` still in ``source`` to ``targets`` = (waiting, working): those
        in ``live`` to working, the rest to waiting, with events; one statement each."""
        ...

    async def restore_batch(
        self,
        tickets: Collection[Ticket],
        source: OrderStatus,
        restore: Mapping[OrderStatus, tuple[OrderStatus, OrderStatus]],
        actor: str,
        reason: str,
        new_request_id: str,
        at: datetime,
    ) -> list[MovedOrder]:
        """Move the ``tickets`` still in ``source`` back to their resting status:
        ``restore[prior] = (status without fills, status with fills)``, with events."""
        ...


class PositionRepository(Protocol):
    async def open_tickets(self, login: Login, symbol: str) -> list[PositionTicket]: ...

    async def get(self, ticket: Ticket, *, lock: bool = False) -> PositionTicket | None: ...

    async def save(self, tickets: Sequence[PositionTicket], new: bool = False) -> None: ...

    async def set_levels(
        self, ticket: Ticket, stop_loss: Decimal | None, take_profit: Decimal | None
    ) -> bool:
        """Set an open ticket's stop-loss and take-profit; False if it is not open."""
        ...

    async def add_fill(self, fill: Fill) -> None: ...

    async def protected(self) -> list[PositionTicket]:
        """Every open ticket with a stop-loss or a take-profit."""
        ...

    async def for_account(
        self, login: Login, *, include_closed: bool = False
    ) -> list[PositionTicket]: ...


class Transaction(Protocol):
    """One unit of work: rolls back unless ``commit`` is called."""

    # Read-only members, so that an implementation may hold its own repository types.
    @property
    def accounts(self) -> AccountRepository: ...

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def positions(self) -> PositionRepository: ...

    async def commit(self) -> None: ...


class Store(Protocol):
    #: The store runs one write transaction at a time (SQLite): the engine's placements,
    #: cancels and acknowledgements then share one group commit instead of queueing for it.
    serial_writes: bool

    def transaction(
        self, *, readonly: bool = False, brief: bool = False
    ) -> AbstractAsyncContextManager[Transaction]:
        """A unit of work. ``brief``: a hint that its statements are few and touch few rows
        (the engine's group commit); the store may run them more cheaply (SQLite does)."""
        ...
