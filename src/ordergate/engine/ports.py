"""The small protocols the engine talks through, besides the journal (engine/journal.py):
where its events go, and the records it reads but does not hold in memory.

``store/`` implements ``Records`` over the database the journal writes: reference data the
engine learns on first use (an account or an instrument added while it runs) and history
(ended orders no longer in memory, closed tickets, fills, the audit trail).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from ordergate.domain.accounts import Account
from ordergate.domain.clock import Clock, SystemClock
from ordergate.domain.commands import AccountRef, OrderRef
from ordergate.domain.events import Event
from ordergate.domain.ids import Login, OrderId, Ticket
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import Order, OrderStatus, Side
from ordergate.domain.positions import PositionTicket

__all__ = [
    "Clock",
    "EventSink",
    "Execution",
    "FillRecord",
    "KeptMonitor",
    "LogEntry",
    "NullSink",
    "Records",
    "RiskRecords",
    "StateChange",
    "SystemClock",
    "Timeline",
]


class EventSink(Protocol):
    """Receives events once their batch is committed; ``active`` says anyone listens."""

    @property
    def active(self) -> bool: ...

    def publish(self, events: Sequence[Event]) -> None: ...


class NullSink:
    active = False

    def publish(self, events: Sequence[Event]) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Execution:
    """One fill of the ledger with the order it executed."""

    id: int
    login: Login
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    at: datetime
    order_id: OrderId
    order_ticket: Ticket
    #: the caller's tag on the order (CrossTrade ``strategy``), if any
    tag: str | None
    #: the position ticket the order was sent to close, if it was a close
    closes_ticket: Ticket | None


@dataclass(frozen=True, slots=True)
class StateChange:
    """One transition of an order; ``from_status`` is None for its creation."""

    at: datetime
    from_status: OrderStatus | None
    to_status: OrderStatus
    reason: str
    actor: str


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One execution of (part of) an order; ``id`` is the fill's id in the ledger."""

    id: int
    at: datetime
    side: Side
    quantity: Decimal
    price: Decimal


@dataclass(frozen=True, slots=True)
class Timeline:
    """The first entries of an order's life, oldest first; ``truncated`` when there are
    more."""

    entries: tuple[StateChange | FillRecord, ...]
    truncated: bool


class Records(Protocol):
    """What the journal's database holds beyond the engine's memory."""

    async def ping(self) -> None:
        """Raise unless the database answers."""
        ...

    async def account(self, ref: AccountRef) -> Account | None: ...

    async def accounts(self) -> list[Account]: ...

    async def instrument(self, symbol: str) -> Instrument | None: ...

    async def instruments(self) -> list[Instrument]: ...

    async def order(self, ref: OrderRef) -> Order | None:
        """A stored order by id or ticket (an ended one memory no longer holds)."""
        ...

    async def client_order(self, login: Login, client_id: str) -> Order | None:
        """A stored order of account ``login`` by the caller's own id for it."""
        ...

    async def deleted_pending(self, login: Login) -> list[Order]:
        """The account's non-market orders that were cancelled, expired or rejected."""
        ...

    async def closed_tickets(self, login: Login) -> list[PositionTicket]:
        """The account's position tickets closed in full, oldest first."""
        ...

    async def executions(
        self, login: Login, since: datetime, limit: int | None = None
    ) -> list[Execution]:
        """The account's fills at or after ``since``, in the ledger's order."""
        ...

    async def execution(self, login: Login, execution_id: int) -> Execution | None: ...

    async def timeline(self, ticket: Ticket, *, include_fills: bool, limit: int) -> Timeline:
        """The transitions (and fills) of order ``ticket``, oldest first, at most ``limit``."""
        ...


@dataclass(frozen=True, slots=True)
class KeptMonitor:
    """An account's monitor as kept: settings and watermarks in their JSON-safe forms."""

    login: int
    settings: dict[str, Any]
    state: str
    stopped_rule: str | None
    marks: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One line of an account's management log: a rule firing, a reset, a setting changed,
    a kill switch, a dead man's switch."""

    login: int
    at: datetime
    type: str
    message: str
    actor: str


class RiskRecords(Protocol):
    """Where risk keeps its monitors, kill switches and management log."""

    async def monitors(self) -> list[KeptMonitor]: ...

    async def save_monitors(self, kept: Sequence[KeptMonitor], at: datetime) -> None: ...

    async def kill_switches(self) -> list[tuple[str, int]]: ...

    async def set_kill_switch(
        self, scope: str, ref: int, on: bool, actor: str, at: datetime
    ) -> None: ...

    async def append_log(self, entries: Sequence[LogEntry]) -> None: ...

    async def log(
        self, login: int, since: datetime | None = None, limit: int = 100
    ) -> list[LogEntry]: ...
