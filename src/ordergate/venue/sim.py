"""The in-process simulated exchange: acknowledges, rests, triggers and fills orders against
the quotes it is given, confirms or refuses cancels, expires day and good-till-date orders,
and can be made slow, picky or closed per instrument (``VenueConfig``) so that clients meet
the races of a real venue: cancel against fill, cancel while still submitted.

Every latency and expiry runs on the venue's ``Clock``: an action is due at the clock's time
plus its latency, and all venue work runs in one worker task in due-time order, so that
reports reach the engine in the order they happened. On a ``ManualClock`` nothing happens
until the test moves the clock; ``drain()`` then waits for what has fallen due.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from ordergate.domain.clock import Clock, SystemClock, Timer
from ordergate.domain.errors import InvalidPrice
from ordergate.domain.ids import Login, Ticket
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import OrderStatus, OrderType
from ordergate.venue.base import (
    Acknowledged,
    CancelConfirmed,
    CancelRefused,
    ChangeConfirmed,
    ChangeRefused,
    Expired,
    Quote,
    Refused,
    VenueListener,
    VenueOrder,
    VenueReport,
)
from ordergate.venue.book import Book, Resting
from ordergate.venue.rules import VenueConfig

__all__ = ["MARKET_CLOSED", "SimVenue"]

log = logging.getLogger(__name__)

MARKET_CLOSED = "market_closed"
#: At most this many due actions are run for one delivery of reports to the engine.
_MAX_BATCH = 1000
BUSY = "venue busy: cancel refused"
TOO_LATE = "too late: the order is no longer on the book"
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


async def _at_once(orders: Sequence[VenueOrder]) -> AsyncIterator[Sequence[VenueOrder]]:
    yield orders


class SimVenue:
    """A simulated venue. ``ack_delay_ms`` and ``cancel_delay_ms`` set the venue-wide rules;
    ``config`` holds all of them, per instrument too."""

    def __init__(
        self,
        *,
        ack_delay_ms: int | None = None,
        cancel_delay_ms: int | None = None,
        config: VenueConfig | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.config = config or VenueConfig()
        # The delay arguments override the config's venue-wide rules; a cancel takes as long
        # as an acknowledgement unless told otherwise.
        if ack_delay_ms is not None:
            self.config.set(ack_delay_ms=ack_delay_ms)
        cancel = ack_delay_ms if cancel_delay_ms is None else cancel_delay_ms
        if cancel is not None:
            self.config.set(cancel_delay_ms=cancel)
        self.clock: Clock = clock or SystemClock()
        #: refuse every cancel that reaches the venue (with this reason), when set
        self.refuse_cancels: str | None = None
        self._random = random.Random(self.config.seed)  # noqa: S311 - a simulation, not crypto
        self._listener: VenueListener | None = None
        self._quotes: dict[str, Quote] = {}
        self._instruments: dict[str, Instrument] = {}
        self._book = Book()
        #: tickets by expiry time, one timer per time (_file_expiry)
        self._expiring: dict[datetime, list[Ticket]] = {}
        self._expiry_timers: dict[datetime, Timer] = {}
        #: (due, sequence, action, owed), earliest first
        self._heap: list[tuple[datetime, int, Action, bool]] = []
        #: actions the venue owes an answer for, queued or being delivered (not expiries)
        self._owed = 0
        #: of those, the ones whose reports are with the listener now
        self._delivering = 0
        self._seq = itertools.count()
        self._wakeup = asyncio.Event()
        #: set (and replaced) each time the worker has delivered a batch: drain waits on it
        self._delivered = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def ack_delay_ms(self) -> int:
        return self.config.default.ack_delay_ms

    @ack_delay_ms.setter
    def ack_delay_ms(self, value: int) -> None:
        self.config.set(ack_delay_ms=value)

    @property
    def cancel_delay_ms(self) -> int:
        return self.config.default.cancel_delay_ms

    @cancel_delay_ms.setter
    def cancel_delay_ms(self, value: int) -> None:
        self.config.set(cancel_delay_ms=value)

    def bind(self, listener: VenueListener) -> None:
        self._listener = listener

    def load_instruments(self, instruments: Iterable[Instrument]) -> None:
        self._instruments.update({i.symbol: i for i in instruments})

    def quote(self, symbol: str) -> Quote | None:
        return self._quotes.get(symbol)

    def set_market_closed(self, symbol: str, closed: bool = True) -> None:
        self.config.set(symbol, market_closed=closed)

    def _closed_now(self, symbol: str, at: datetime) -> bool:
        instrument = self._instruments.get(symbol)
        return self.config.rules(symbol).market_closed or (
            instrument is not None and not self.config.in_session(instrument, at)
        )

    def is_open(self, instrument: Instrument, at: datetime) -> bool:
        """Whether ``instrument`` trades at ``at``: within its sessions (or the venue ignores
        them, ``config.sessions``) and not closed by the operator. What reads show as open."""
        return not self.config.rules(instrument.symbol).market_closed and self.config.in_session(
            instrument, at
        )

    def day_end(self, instrument: Instrument, at: datetime) -> datetime | None:
        """When a day order in ``instrument`` placed at ``at`` expires (``VenueConfig.day_end``)."""
        return self.config.day_end(instrument, at)

    def cancel_refusal(self, symbol: str, at: datetime) -> str | None:
        return MARKET_CLOSED if self._closed_now(symbol, at) else None

    def submission_refusal(self, symbol: str, at: datetime) -> str | None:
        return MARKET_CLOSED if self._closed_now(symbol, at) else None

    def resting(self, symbol: str | None = None) -> list[Ticket]:
        """Tickets on the book (all, or one symbol's): what the venue believes rests."""
        return self._book.tickets(symbol)

    # -- scheduling ------------------------------------------------------------------------

    def _schedule(self, delay_ms: int, action: Action) -> None:
        """Queue ``action``, due ``delay_ms`` after the clock's now."""
        self._schedule_at(self.clock.now() + timedelta(milliseconds=delay_ms), action)

    def _schedule_at(self, due: datetime, action: Action, *, owed: bool = True) -> None:
        """Queue ``action`` for ``due``; ``owed=False`` for an expiry, which nobody waits for."""
        loop = asyncio.get_running_loop()
        if self._closing:
            raise RuntimeError("the simulated venue is closed")
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._run(), name="sim-venue")
        heapq.heappush(self._heap, (due, next(self._seq), action, owed))
        if owed:
            self._owed += 1
        self._wakeup.set()

    def _later(self, delay_ms: int, reports: list[VenueReport]) -> list[VenueReport]:
        """Deliver ``reports`` now, or after ``delay_ms`` (a slow fill report)."""
        if delay_ms <= 0 or not reports:
            return reports
        self._schedule(delay_ms, partial(list, reports))
        return []

    async def _run(self) -> None:
        while not self._closing:
            if not self._heap:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            due = self._heap[0][0]
            if due > self.clock.now():
                # Sleep until the earliest action is due, or until an earlier one arrives.
                self._wakeup.clear()
                timer = self.clock.call_at(due, self._wakeup.set)
                try:
                    await self._wakeup.wait()
                finally:
                    timer.cancel()
                continue
            await self._run_due()

    async def _run_due(self) -> None:
        """Run every action due now and hand their reports to the engine together, in
        order: under load, many placements' acknowledgements in one delivery."""
        reports: list[VenueReport] = []
        owed = taken = 0
        now = self.clock.now()
        while self._heap and self._heap[0][0] <= now and taken < _MAX_BATCH:
            _, _, action, counts = heapq.heappop(self._heap)
            owed += counts
            taken += 1
            try:
                reports.extend(action())
            except Exception:  # the venue must outlive one bad action
                log.exception("simulated venue action failed")
        self._delivering = owed
        try:
            if reports and self._listener is not None:
                await self._listener.on_venue_reports(reports)
        except Exception:  # ... and one bad report
            log.exception("simulated venue reports not delivered")
        finally:
            self._owed -= owed
            self._delivering = 0
            self._tell_delivered()

    def _tell_delivered(self) -> None:
        delivered, self._delivered = self._delivered, asyncio.Event()
        delivered.set()

    async def drain(self) -> None:
        """Wait until every answer the venue owes that is due by the clock's now (read
        again as it waits) has been delivered and the listener has taken it. Answers due
        later are not waited for (on a ``ManualClock``, advance it first), nor are expiries."""
        while not self._settled():
            await self._delivered.wait()

    def _settled(self) -> bool:
        if not self._owed or self._worker is None or self._worker.done():
            return True
        return not self._delivering and not self._owes_by(self.clock.now())

    def _owes_by(self, now: datetime) -> bool:
        """Whether an owed action due by ``now`` is queued. Only the part of the heap due
        by then is visited: a heap entry is never due before its parent."""
        heap = self._heap
        stack = [0] if heap else []
        while stack:
            i = stack.pop()
            due, _, _, owed = heap[i]
            if due > now:
                continue
            if owed:
                return True
            stack.extend(c for c in (2 * i + 1, 2 * i + 2) if c < len(heap))
        return False

    async def close(self) -> None:
        """Stop the worker once its current action is done; what is still queued is dropped
        (as when a venue connection drops: a restart recovers it from the database)."""
        self._closing = True
        self._wakeup.set()
        if self._worker is not None:
            await self._worker
            self._worker = None
        self._heap.clear()
        for timer in self._expiry_timers.values():
            timer.cancel()
        self._expiry_timers.clear()
        self._expiring.clear()
        self._owed = self._delivering = 0
        self._tell_delivered()

    # -- orders ----------------------------------------------------------------------------

    async def submit(self, orders: Sequence[VenueOrder]) -> None:
        for order in orders:
            delay = self.config.rules(order.symbol).ack_delay_ms
            self._schedule(delay, partial(self._on_submit, order))

    async def cancel(self, login: Login, request_id: str, tickets: Sequence[Ticket]) -> None:
        by_delay: dict[int, list[Ticket]] = {}
        for ticket in tickets:
            resting = self._book.get(ticket)
            delay = self.config.rules(resting.symbol).cancel_delay_ms if resting else 0
            by_delay.setdefault(delay, []).append(ticket)
        for delay, group in by_delay.items():
            self._schedule(delay, partial(self._on_cancel, login, request_id, tuple(group)))

    async def change(self, order: VenueOrder) -> None:
        delay = self.config.rules(order.symbol).ack_delay_ms
        self._schedule(delay, partial(self._on_change, order))

    async def restore(
        self, orders: Sequence[VenueOrder] | AsyncIterable[Sequence[VenueOrder]]
    ) -> None:
        """Put the orders the database holds back on the book after a restart: a list, or
        chunks of it as they are read (recovery streams them: only a chunk is in memory at
        once). Nothing is acted on before all of them are on the book, so that a fill finds
        every OCO sibling to cancel; then, in ticket order, submissions are sent again,
        pending changes applied and expiry timers set."""
        owed: list[VenueOrder | datetime] = []  # submissions, changes, new expiry times
        symbols: set[str] = set()
        async for chunk in orders if isinstance(orders, AsyncIterable) else _at_once(orders):
            for order in chunk:
                self._put_back(order, owed, symbols)
        for item in owed:
            if isinstance(item, datetime):
                self._time_expiry(item)
            elif item.status is OrderStatus.SUBMITTED:
                await self.submit([item])
            else:
                await self.change(item)
        # Restored orders meet the market they come back to, as a new order does: what the
        # current quote crosses fills now, not at the next quote (a market order whose fill
        # was owed when the process died would otherwise rest unfilled).
        for symbol in sorted(symbols):
            quote = self._quotes.get(symbol)
            if quote is not None and self._book.has(symbol):
                self._schedule(0, partial(self._match, quote))

    def _put_back(
        self, order: VenueOrder, owed: list[VenueOrder | datetime], symbols: set[str]
    ) -> None:
        """Put a restored order back on the book; add to ``owed`` what is to be done about
        it once all are back, and its symbol to ``symbols`` if it rests."""
        if order.status is OrderStatus.SUBMITTED:
            owed.append(order)
        elif order.status in _RESTING:
            resting = Resting.of(order, new=False)
            self._book.add(resting)
            symbols.add(order.symbol)
            at = self._file_expiry(resting)
            if at is not None:
                owed.append(at)
            if order.status is OrderStatus.PENDING_CHANGE:
                owed.append(order)

    def _rest(self, order: Resting) -> None:
        self._book.add(order)
        self._schedule_expiry(order)

    def _schedule_expiry(self, order: Resting) -> None:
        at = self._file_expiry(order)
        if at is not None:
            self._time_expiry(at)

    def _file_expiry(self, order: Resting) -> datetime | None:
        """File ``order`` under its expiry time (orders expiring at one time, such as the
        day orders of a session, share one timer); that time if it needs a timer."""
        at = order.expires_at
        if at is None:
            return None
        tickets = self._expiring.get(at)
        if tickets is not None:
            tickets.append(order.ticket)
            return None
        self._expiring[at] = [order.ticket]
        return at

    def _time_expiry(self, at: datetime) -> None:
        self._expiry_timers[at] = self.clock.call_at(at, partial(self._expiry_due, at))

    def _expiry_due(self, at: datetime) -> None:
        """The clock reached ``at``: expire its orders through the worker, in due order with
        the other actions."""
        self._expiry_timers.pop(at, None)
        if not self._closing:
            self._schedule_at(at, partial(self._on_expiry, at), owed=False)

    def _on_submit(self, order: VenueOrder) -> list[VenueReport]:
        now = self.clock.now()
        if self._closed_now(order.symbol, now):
            return [Refused(order.ticket, MARKET_CLOSED)]
        if order.expires_at is not None and order.expires_at <= now:
            return [Refused(order.ticket, "expired before it reached the venue")]
        quote = self._quotes.get(order.symbol)
        if order.type is OrderType.MARKET and quote is None:
            return [Refused(order.ticket, f"no quote for {order.symbol}")]
        resting = Resting.of(order, new=True)
        self._rest(resting)
        rules = self.config.rules(order.symbol)
        fills: list[VenueReport] = []
        if quote is not None:
            fills = self._book.fill_now(
                resting, quote, partial=rules.partial_fills, at=self.clock.now()
            )
        if fills and resting.remaining == 0 and not rules.fill_delay_ms:
            return fills  # filled on arrival: the fill is the acknowledgement
        ack: list[VenueReport] = [Acknowledged(order.ticket, live=resting.live)]
        return [*ack, *self._later(rules.fill_delay_ms, fills)]

    def _on_cancel(
        self, login: Login, request_id: str, tickets: tuple[Ticket, ...]
    ) -> list[VenueReport]:
        refused: dict[str, list[Ticket]] = {}
        taken: list[Ticket] = []
        # What refuses every cancel of a symbol now is asked once per symbol; the random
        # refusal stays one draw per order, in ticket order (the same seed, the same refusals).
        standing: dict[str, tuple[str | None, int]] = {}
        now = self.clock.now()
        for ticket in dict.fromkeys(tickets):  # a ticket named twice is taken off once
            resting = self._book.get(ticket)
            if resting is None:
                refused.setdefault(TOO_LATE, []).append(ticket)
                continue
            symbol = resting.symbol
            if symbol not in standing:
                chance = self.config.rules(symbol).cancel_refusal_pct
                standing[symbol] = (self._standing_refusal(symbol, now), chance)
            reason, chance = standing[symbol]
            if reason is None and chance and self._random.randrange(100) < chance:
                reason = BUSY
            if reason is not None:
                refused.setdefault(reason, []).append(ticket)
            else:
                taken.append(ticket)
        self._book.remove_many(taken)
        reports: list[VenueReport] = [
            CancelRefused(tuple(group), reason) for reason, group in refused.items()
        ]
        if taken:
            reports.append(CancelConfirmed(login, request_id, tuple(taken)))
        return reports

    def _standing_refusal(self, symbol: str, at: datetime) -> str | None:
        """Why the venue refuses every cancel in ``symbol`` now, if it does."""
        if self.refuse_cancels is not None:
            return self.refuse_cancels
        if self._closed_now(symbol, at):
            return MARKET_CLOSED
        return None

    def _on_change(self, order: VenueOrder) -> list[VenueReport]:
        resting = self._book.amend(
            order.ticket, order.quantity, order.limit_price, order.stop_price
        )
        if resting is None:
            return [ChangeRefused(order.ticket, TOO_LATE)]
        if resting.expires_at != order.expires_at:
            # The earlier time's timer finds the new time on the order and leaves it (_on_expiry).
            resting.expires_at = order.expires_at
            self._schedule_expiry(resting)
        reports: list[VenueReport] = [ChangeConfirmed(order.ticket)]
        quote = self._quotes.get(order.symbol)
        if quote is not None:
            rules = self.config.rules(order.symbol)
            fills = self._book.fill_now(
                resting, quote, partial=rules.partial_fills, at=self.clock.now()
            )
            reports.extend(self._later(rules.fill_delay_ms, fills))
        return reports

    def _on_expiry(self, at: datetime) -> list[VenueReport]:
        now = self.clock.now()
        reports: list[VenueReport] = []
        # A ticket can be filed twice (its expiry changed and back): it expires once.
        for ticket in dict.fromkeys(self._expiring.pop(at, ())):
            resting = self._book.get(ticket)
            if resting is None or resting.expires_at is None:
                continue
            if resting.expires_at > now:
                # Changed to a later time since it was filed here.
                self._schedule_expiry(resting)
                continue
            self._book.remove(ticket)
            reports.append(Expired((ticket,)))
        return reports

    # -- market ----------------------------------------------------------------------------

    def set_quote(self, symbol: str, bid: Decimal, ask: Decimal) -> None:
        """A quote without sizes (full fills) at the current time."""
        self.on_quote(Quote(symbol, bid, ask, self.clock.now()))

    def on_quote(self, quote: Quote) -> None:
        """Take a new quote; resting orders it crosses fill (through the worker, in order)."""
        if quote.bid <= 0 or quote.ask < quote.bid:
            raise InvalidPrice(f"bad quote {quote.bid}/{quote.ask} for {quote.symbol}")
        self._quotes[quote.symbol] = quote
        if self._book.has(quote.symbol):
            # Match against this quote, not the latest: a crossing quote followed at once by
            # one that does not cross still fills.
            self._schedule(0, partial(self._match, quote))

    def _match(self, quote: Quote) -> list[VenueReport]:
        rules = self.config.rules(quote.symbol)
        return self._later(
            rules.fill_delay_ms,
            self._book.match(quote, partial=rules.partial_fills, at=self.clock.now()),
        )
