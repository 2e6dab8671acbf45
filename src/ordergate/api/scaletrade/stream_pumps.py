"""What a ScaleTrade stream pushes: the ``o``, ``b`` and ``n`` events of its account login and
the ``t`` quotes of its symbols.

Each stream is one task reading one bus subscription in batches (what is already waiting, up
to ``BATCH``) and sending through the session's outbox. Records are rendered as the engine holds
them when the batch is read, the state from the event itself, so that the request's
acknowledgement reaches the client before its fill or cancel however fast the venue is. A
ticket changed several times in one batch is sent once, as it stands; quotes are conflated
to the newest of each symbol.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from ordergate.api.scaletrade.stream_events import (
    ENDED,
    Code,
    Event,
    Level,
    balance,
    closed_trade,
    notification,
    open_trade,
    order_record,
    settled_order,
    tick,
)
from ordergate.domain.errors import DomainError
from ordergate.domain.events import MarketQuote, OrderTransitioned, PositionChanged
from ordergate.domain.ids import Login, Ticket
from ordergate.domain.orders import Order, OrderStatus, OrderType
from ordergate.domain.positions import PositionTicket
from ordergate.domain.principal import Principal
from ordergate.engine import queries
from ordergate.engine.accounting import AccountState
from ordergate.engine.bus import Subscription, SubscriptionClosed
from ordergate.engine.engine import OrderEngine
from ordergate.engine.schema import Envelope, Lagged

__all__ = [
    "BATCH",
    "AccountStream",
    "Send",
    "TooSlow",
    "pump_ticks",
    "read_batch",
    "resolve_symbols",
    "stop_stream",
]

log = logging.getLogger(__name__)

Send = Callable[[Event], Awaitable[None]]

#: The most envelopes handled as one batch.
BATCH: Final = 500
_FILLS = frozenset({OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED})


class TooSlow(Exception):
    """The session read its account's events more slowly than they came: the bus dropped
    ``missed`` of them, and the client's picture of its trades can no longer be trusted."""

    def __init__(self, missed: int) -> None:
        super().__init__(f"{missed} events missed")
        self.missed = missed


def read_batch(sub: Subscription, first: Envelope) -> list[Envelope]:
    """``first`` and whatever else is already waiting (up to BATCH)."""
    batch = [first]
    try:
        while len(batch) < BATCH and (more := sub.get_nowait()) is not None:
            batch.append(more)
    except SubscriptionClosed:
        pass  # the loop reading ``sub`` ends on its next read
    return batch


async def stop_stream(task: asyncio.Task[None], sub: Subscription | None) -> None:
    """Stop a stream's subscription and its task."""
    if sub is not None:
        sub.close()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def resolve_symbols(engine: OrderEngine, names: list[str]) -> tuple[list[str], list[str]]:
    """``names`` as the server spells its symbols (matched ignoring case, each once), and the
    names of no symbol."""
    known = {i.symbol.casefold(): i.symbol for i in await engine.records.instruments()}
    found = [known[n.casefold()] for n in names if n.casefold() in known]
    return list(dict.fromkeys(found)), [n for n in names if n.casefold() not in known]


async def pump_ticks(sub: Subscription, send: Send) -> None:
    """A ``t`` event for each quote of the subscription's symbols (the newest per batch)."""
    async for first in sub:
        latest: dict[str, MarketQuote] = {}
        for envelope in read_batch(sub, first):
            if isinstance(envelope.data, MarketQuote):
                latest[envelope.data.symbol] = envelope.data
        for quote in latest.values():
            await send(tick(quote.symbol, quote.bid, quote.ask, quote.at))


class _View:
    """The account as it stands while one batch is rendered, read once and only if needed."""

    def __init__(self, engine: OrderEngine, principal: Principal, login: Login) -> None:
        self._engine, self._principal, self._login = engine, principal, login
        self._state: AccountState | None = None
        self._read = False
        self._closing: set[Ticket] | None = None

    async def state(self) -> AccountState | None:
        if not self._read:
            self._read = True
            try:
                self._state = await queries.account_state(
                    self._engine, self._principal, self._login
                )
            except DomainError as exc:  # out of reach since the account was selected
                log.debug("no state for login %s: %s", self._login, exc)
        return self._state

    async def closing(self) -> set[Ticket]:
        """The trades an order that closes them is on its way for."""
        if self._closing is None:
            try:
                orders = await queries.open_orders(self._engine, self._principal, self._login)
            except DomainError:
                orders = []
            self._closing = {o.closes_ticket for o in orders if o.closes_ticket is not None}
        return self._closing


class AccountStream:
    """The ``o``, ``b`` and ``n`` events of one login, read as ``principal`` (which the
    session replaces when it checks its token again)."""

    def __init__(self, engine: OrderEngine, principal: Principal, login: Login, send: Send):
        self.engine = engine
        self.principal = principal
        self.login = login
        self._send = send

    async def run(self, sub: Subscription) -> None:
        """Until ``sub`` closes; ``TooSlow`` once the bus dropped events of it."""
        async for first in sub:
            await self._batch(read_batch(sub, first))

    async def send_balance(self) -> None:
        """A ``b`` event of the login as it stands now."""
        state = await _View(self.engine, self.principal, self.login).state()
        if state is not None:
            await self._send(balance(state))

    async def _batch(self, batch: list[Envelope]) -> None:
        # A ticket is sent where its last event of the batch is, as it stands then.
        last = {
            e.data.ticket: i for i, e in enumerate(batch) if isinstance(e.data, PositionChanged)
        }
        view = _View(self.engine, self.principal, self.login)
        activated: set[Ticket] = set()
        for i, envelope in enumerate(batch):
            data = envelope.data
            if isinstance(data, Lagged):
                raise TooSlow(data.missed)
            if isinstance(data, OrderTransitioned):
                await self._order(data, view, activated)
            elif isinstance(data, PositionChanged) and last[data.ticket] == i:
                await self._position(data, view, activated)
        if last:
            state = await view.state()
            if state is not None:
                await self._send(balance(state))

    async def _order(self, e: OrderTransitioned, view: _View, activated: set[Ticket]) -> None:
        try:
            order = await queries.get_order(self.engine, self.principal, self.login, e.ticket)
        except DomainError:  # out of reach since the account was selected
            return
        if order.closes_ticket is not None:
            # Not a record of its own: the trade it closes shows state 7 while it is on its way.
            if e.from_status is None or e.to_status in ENDED:
                await self._trade(order.closes_ticket, Code.UPDATE, view)
        elif e.to_status is OrderStatus.FILLED:
            if order.type is not OrderType.MARKET:
                activated.add(order.key)
            if self.engine.state.position_ticket(order.key) is None:
                await self._send(settled_order(order))
            # else the trade it opened, with the same ticket, is the record now
        else:
            if e.to_status in _FILLS and order.type is not OrderType.MARKET:
                activated.add(order.key)
            code = Code.ADD if e.from_status is None else Code.UPDATE
            await self._send(order_record(order, e.to_status, _ended(e.to_status, code)))
        if e.to_status is OrderStatus.REJECTED:
            await self._send(_rejected(order, e))

    async def _trade(self, ticket: Ticket, code: Code, view: _View) -> None:
        state = await view.state()
        value = None
        if state is not None:
            value = next((v for v in state.positions if v.ticket.ticket == ticket), None)
        if value is not None:  # else it closed meanwhile: its close is on its way
            await self._send(open_trade(value, ticket in await view.closing(), code))

    async def _position(self, e: PositionChanged, view: _View, activated: set[Ticket]) -> None:
        if e.quantity > 0:
            # The first fill of a pending order activates its trade; a market order's trade
            # was its request's record (state 1), now open: an update.
            found = self.engine.state.position_ticket(e.ticket)
            opened = found is not None and found.opened_at == e.at and e.ticket in activated
            await self._trade(e.ticket, Code.ACTIVATE if opened else Code.UPDATE, view)
            return
        closed = await self._closed(e.ticket)
        if closed is None:
            return
        await self._send(closed_trade(closed))
        await self._send(
            notification(
                "Position closed",
                "Ticket {order} closed",
                "CLOSE_ORDER",
                Level.INFO,
                e.login,
                e.at,
                {"order": e.ticket},
                200,
            )
        )

    async def _closed(self, ticket: Ticket) -> PositionTicket | None:
        """Closed ticket ``ticket``: from memory, else (long closed) from the journal."""
        found = self.engine.state.position_ticket(ticket)
        if found is None:
            older = await self.engine.records.closed_tickets(self.login)
            found = next((t for t in older if t.ticket == ticket), None)
        return None if found is None or found.is_open else found  # open: it opened again


def _ended(status: OrderStatus, code: Code) -> Code:
    return Code.DELETE if status in ENDED else code


def _rejected(order: Order, e: OrderTransitioned) -> Event:
    """The notification of a request the venue refused, with its reason."""
    return notification(
        "Order rejected",
        e.reason or "rejected",
        "ORDER_REJECTED",
        Level.ERROR,
        order.login,
        e.at,
        {"order": order.closes_ticket or order.key, "reason": e.reason},
        400,
    )
