"""The in-process simulated exchange (first cut): acknowledges after a configurable delay,
rests limit and stop orders, fills market orders at the quote, triggers and fills resting
orders as quotes cross them, cancels OCO siblings, and confirms or refuses cancels.

All venue work runs in one worker task, in due-time order, so that reports reach the engine
in the order they happened. ``drain()`` waits until nothing is owed.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial

from ordergate.domain.errors import InvalidPrice
from ordergate.domain.ids import Login, Ticket
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import OrderStatus, OrderType, Side
from ordergate.venue.base import (
    Acknowledged,
    CancelConfirmed,
    CancelledByVenue,
    CancelRefused,
    ChangeConfirmed,
    ChangeRefused,
    Filled,
    Quote,
    Refused,
    VenueListener,
    VenueOrder,
    VenueReport,
)

__all__ = ["MARKET_CLOSED", "SimVenue"]

log = logging.getLogger(__name__)

MARKET_CLOSED = "market_closed"
Action = Callable[[], list[VenueReport]]
_RESTING = frozenset(
    {
        OrderStatus.ACCEPTED,
        OrderStatus.WORKING,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_CHANGE,
        OrderStatus.PENDING_CANCEL,
    }
)


@dataclass(slots=True)
class _Resting:
    ticket: Ticket
    login: Login
    symbol: str
    side: Side
    type: OrderType
    remaining: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    oco: str | None
    live: bool  # False while a stop waits for its trigger

    @classmethod
    def of(cls, o: VenueOrder) -> _Resting:
        live = o.type in (OrderType.MARKET, OrderType.LIMIT) or o.status in (
            OrderStatus.WORKING,
            OrderStatus.PARTIALLY_FILLED,
        )
        return cls(
            o.ticket,
            o.login,
            o.symbol,
            o.side,
            o.type,
            o.quantity,
            o.limit_price,
            o.stop_price,
            o.oco,
            live,
        )


class SimVenue:
    """A simulated venue. Delays are milliseconds; 0 means 'as soon as the worker runs'."""

    def __init__(self, *, ack_delay_ms: int = 0, cancel_delay_ms: int | None = None) -> None:
        self.ack_delay_ms = ack_delay_ms
        self.cancel_delay_ms = ack_delay_ms if cancel_delay_ms is None else cancel_delay_ms
        #: refuse every cancel that reaches the venue (with this reason), when set
        self.refuse_cancels: str | None = None
        self._listener: VenueListener | None = None
        self._quotes: dict[str, Quote] = {}
        self._instruments: dict[str, Instrument] = {}
        self._closed: set[str] = set()
        self._book: dict[str, dict[Ticket, _Resting]] = {}
        self._heap: list[tuple[float, int, Action]] = []
        self._seq = itertools.count()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._worker: asyncio.Task[None] | None = None
        self._closing = False

    def bind(self, listener: VenueListener) -> None:
        self._listener = listener

    def load_instruments(self, instruments: Iterable[Instrument]) -> None:
        self._instruments.update({i.symbol: i for i in instruments})

    def quote(self, symbol: str) -> Quote | None:
        return self._quotes.get(symbol)

    def set_market_closed(self, symbol: str, closed: bool = True) -> None:
        (self._closed.add if closed else self._closed.discard)(symbol)

    def _closed_now(self, symbol: str, at: datetime) -> bool:
        instrument = self._instruments.get(symbol)
        return symbol in self._closed or (instrument is not None and not instrument.is_open(at))

    def cancel_refusal(self, symbol: str, at: datetime) -> str | None:
        return MARKET_CLOSED if self._closed_now(symbol, at) else None

    def submission_refusal(self, symbol: str, at: datetime) -> str | None:
        return MARKET_CLOSED if self._closed_now(symbol, at) else None

    def resting(self, symbol: str | None = None) -> list[Ticket]:
        """Tickets on the book (all, or one symbol's): what the venue believes rests."""
        books = self._book.values() if symbol is None else [self._book.get(symbol, {})]
        return sorted(t for book in books for t in book)

    # -- scheduling ------------------------------------------------------------------------

    def _schedule(self, delay_ms: int, action: Action) -> None:
        loop = asyncio.get_running_loop()
        if self._closing:
            raise RuntimeError("the simulated venue is closed")
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._run(), name="sim-venue")
        heapq.heappush(self._heap, (loop.time() + delay_ms / 1000, next(self._seq), action))
        self._idle.clear()
        self._wakeup.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._closing:
            if not self._heap:
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            due = self._heap[0][0]
            if due > loop.time():
                # Sleep until the earliest action is due, or until an earlier one arrives.
                self._wakeup.clear()
                timer = loop.call_at(due, self._wakeup.set)
                try:
                    await self._wakeup.wait()
                finally:
                    timer.cancel()
                continue
            _, _, action = heapq.heappop(self._heap)
            try:
                reports = action()
                if reports and self._listener is not None:
                    await self._listener.on_venue_reports(reports)
            except Exception:  # the venue must outlive one bad report
                log.exception("simulated venue action failed")

    async def drain(self) -> None:
        while self._heap or not self._idle.is_set():
            if self._worker is None or self._worker.done():
                return
            await self._idle.wait()

    async def close(self) -> None:
        """Stop the worker once its current action is done; what is still queued is dropped
        (as when a venue connection drops: a restart recovers it from the database)."""
        self._closing = True
        self._wakeup.set()
        if self._worker is not None:
            await self._worker
            self._worker = None
        self._heap.clear()
        self._idle.set()

    # -- orders ----------------------------------------------------------------------------

    async def submit(self, orders: Sequence[VenueOrder]) -> None:
        for order in orders:
            self._schedule(self.ack_delay_ms, partial(self._on_submit, order))

    async def cancel(self, login: Login, request_id: str, tickets: Sequence[Ticket]) -> None:
        wanted = tuple(tickets)
        self._schedule(self.cancel_delay_ms, lambda: self._on_cancel(login, request_id, wanted))

    async def change(self, order: VenueOrder) -> None:
        self._schedule(self.ack_delay_ms, lambda: self._on_change(order))

    async def restore(self, orders: Sequence[VenueOrder]) -> None:
        for order in orders:
            if order.status is OrderStatus.SUBMITTED:
                await self.submit([order])
            elif order.status in _RESTING:
                self._book.setdefault(order.symbol, {})[order.ticket] = _Resting.of(order)
                if order.status is OrderStatus.PENDING_CHANGE:
                    confirm: list[VenueReport] = [ChangeConfirmed(order.ticket)]
                    self._schedule(self.ack_delay_ms, partial(list, confirm))

    def _on_submit(self, order: VenueOrder) -> list[VenueReport]:
        now = datetime.now(UTC)
        if self._closed_now(order.symbol, now):
            return [Refused(order.ticket, MARKET_CLOSED)]
        resting = _Resting.of(order)
        resting.live = order.type in (OrderType.MARKET, OrderType.LIMIT)
        if order.type is OrderType.MARKET and self._quotes.get(order.symbol) is None:
            return [Refused(order.ticket, f"no quote for {order.symbol}")]
        self._book.setdefault(order.symbol, {})[order.ticket] = resting
        reports = self._match_one(resting, now)
        if not reports:
            reports = [Acknowledged(order.ticket, live=resting.live)]
        return reports

    def _on_cancel(
        self, login: Login, request_id: str, tickets: tuple[Ticket, ...]
    ) -> list[VenueReport]:
        refused: list[Ticket] = []
        for ticket in tickets:
            book = self._book_of(ticket)
            if self.refuse_cancels is not None or book is None:
                refused.append(ticket)
            else:
                del book[ticket]
        reports: list[VenueReport] = []
        if refused:
            reason = self.refuse_cancels or "too late: the order is no longer on the book"
            reports.append(CancelRefused(tuple(refused), reason))
        if len(refused) < len(tickets):
            reports.append(CancelConfirmed(login, request_id, frozenset(refused)))
        return reports

    def _on_change(self, order: VenueOrder) -> list[VenueReport]:
        book = self._book_of(order.ticket)
        if book is None:
            return [ChangeRefused(order.ticket, "the order is no longer on the book")]
        resting = book[order.ticket]
        resting.remaining = order.quantity
        resting.limit_price, resting.stop_price = order.limit_price, order.stop_price
        return [ChangeConfirmed(order.ticket), *self._match_one(resting, datetime.now(UTC))]

    def _book_of(self, ticket: Ticket) -> dict[Ticket, _Resting] | None:
        return next((b for b in self._book.values() if ticket in b), None)

    # -- market ----------------------------------------------------------------------------

    def set_quote(self, symbol: str, bid: Decimal, ask: Decimal) -> None:
        """A quote without sizes (full fills) at the current time."""
        self.on_quote(Quote(symbol, bid, ask, datetime.now(UTC)))

    def on_quote(self, quote: Quote) -> None:
        """Take a new quote; resting orders it crosses fill (through the worker, in order)."""
        if quote.bid <= 0 or quote.ask < quote.bid:
            raise InvalidPrice(f"bad quote {quote.bid}/{quote.ask} for {quote.symbol}")
        self._quotes[quote.symbol] = quote
        if self._book.get(quote.symbol):
            self._schedule(0, lambda: self._match_symbol(quote.symbol))

    def _match_symbol(self, symbol: str) -> list[VenueReport]:
        now = datetime.now(UTC)
        reports: list[VenueReport] = []
        for resting in list(self._book.get(symbol, {}).values()):
            if resting.ticket in self._book.get(symbol, {}):
                reports.extend(self._match_one(resting, now))
        return reports

    def _match_one(self, o: _Resting, now: datetime) -> list[VenueReport]:
        quote = self._quotes.get(o.symbol)
        if quote is None:
            return []
        reports: list[VenueReport] = []
        touch = quote.ask if o.side is Side.BUY else quote.bid
        if not o.live:
            if o.stop_price is None or (touch - o.stop_price) * o.side.sign < 0:
                return []
            o.live = True
            if o.type is OrderType.STOP_LIMIT:
                reports.append(Acknowledged(o.ticket, live=True))
        if o.type is OrderType.MARKET or o.type is OrderType.STOP:
            price = touch
        else:
            if o.limit_price is None or (o.limit_price - touch) * o.side.sign < 0:
                return reports
            price = touch if (touch - o.limit_price) * o.side.sign < 0 else o.limit_price
        del self._book[o.symbol][o.ticket]
        reports.append(Filled(o.ticket, o.remaining, price, now))
        if o.oco:
            siblings = [
                t for t, r in self._book[o.symbol].items() if r.oco == o.oco and r.login == o.login
            ]
            for t in siblings:
                del self._book[o.symbol][t]
            if siblings:
                reports.append(CancelledByVenue(tuple(siblings), "OCO sibling filled"))
        return reports
