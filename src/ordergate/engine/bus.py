"""The in-process event bus: the engine (and the market data feed) publish, the dialects'
WebSocket streams subscribe. The wire form of what they receive is in engine/schema.py.

A slow subscriber never slows the publisher or the other subscribers. Each subscription has a
bounded queue; when it overflows, the oldest unread events are dropped and the subscriber's
next read is a ``lagged`` envelope saying how many it missed and their seq range, after which
it reads on from the newest events it still holds (tokio ``broadcast``'s ``Lagged``).

Why drop and announce rather than close the subscription: a quote stream does not care about a
gap, it wants the freshest price, and closing it would only make it reconnect and still miss
the same quotes; an order stream that must not miss anything turns the notice into a resync
(or closes the socket itself) in one line. Dropping the oldest rather than the newest puts the
notice first, so a subscriber learns it is behind on its next read instead of after working
through a backlog that is already stale.

The bus is not thread-safe: publish and read on the event loop's thread, as the engine does.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Collection, Sequence
from datetime import datetime
from types import TracebackType
from typing import Final, TypeVar

from ordergate.domain.clock import Clock, SystemClock
from ordergate.domain.events import Event, MarketQuote, MonitorLogged
from ordergate.engine.schema import KINDS, Envelope, Lagged, kind_of

__all__ = ["DEFAULT_MAXSIZE", "EventBus", "Subscription", "SubscriptionClosed"]

log = logging.getLogger(__name__)

DEFAULT_MAXSIZE: Final = 10_000

_T = TypeVar("_T")


class SubscriptionClosed(Exception):
    """Reading from a subscription that was closed (by its reader or by the bus)."""


class Subscription:
    """One subscriber's view of the bus: a bounded queue of envelopes, read by one task.

    ``async for envelope in sub`` reads until the subscription is closed; ``await sub.get()``
    reads one and raises ``SubscriptionClosed`` once it is closed. Built by
    ``EventBus.subscribe``.
    """

    def __init__(
        self,
        bus: EventBus,
        *,
        accounts: frozenset[int] | None,
        symbols: frozenset[str] | None,
        kinds: frozenset[str] | None,
        maxsize: int,
    ) -> None:
        self._bus = bus
        self.accounts = accounts
        self.symbols = symbols
        self.kinds = kinds
        self.maxsize = maxsize
        self._filtered = accounts is not None or symbols is not None or kinds is not None
        # deque(maxlen) drops from the left as it is extended: the oldest go first.
        self._queue: deque[Envelope] = deque(maxlen=maxsize)
        # What the reader missed and has not been told yet, and when the last of it was.
        self._gap: tuple[Lagged, datetime] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        """How many envelopes are waiting to be read (a lagged notice counts as one)."""
        return len(self._queue) + (self._gap is not None)

    def matches(self, envelope: Envelope) -> bool:
        """Whether this subscription's filters let ``envelope`` through. Quotes belong to no
        account, so the account filter does not apply to them (they are public)."""
        if self.kinds is not None and envelope.type not in self.kinds:
            return False
        event = envelope.data
        if isinstance(event, Lagged):
            return True
        if (
            self.symbols is not None
            and not isinstance(event, MonitorLogged)  # an account's, of no one instrument
            and event.symbol not in self.symbols
        ):
            return False
        return (
            self.accounts is None or isinstance(event, MarketQuote) or event.login in self.accounts
        )

    def _offer(self, envelopes: list[Envelope], at: datetime) -> None:
        """Queue what matches; on overflow drop the oldest and owe the reader a notice."""
        batch = [e for e in envelopes if self.matches(e)] if self._filtered else envelopes
        if not batch:
            return
        queue = self._queue
        held = len(queue)
        overflow = held + len(batch) - self.maxsize
        if overflow > 0:
            # The dropped ones are the first ``overflow`` of (queue + batch), in seq order.
            first = queue[0] if held else batch[0]
            last = queue[overflow - 1] if overflow <= held else batch[overflow - held - 1]
            self._note_gap(first.seq, last.seq, overflow, at)
            if overflow >= held:
                queue.clear()
                batch = batch[overflow - held :]
        queue.extend(batch)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _note_gap(self, first: int, last: int, missed: int, at: datetime) -> None:
        if self._gap is not None:
            # Still untold, so the new losses directly follow the old ones: one notice.
            prior = self._gap[0]
            first, missed = prior.first_seq, prior.missed + missed
        self._gap = (Lagged(missed, first, last), at)

    def get_nowait(self) -> Envelope | None:
        """The next envelope if one is waiting, else None; raises once closed."""
        if self._closed:
            raise SubscriptionClosed("subscription closed")
        if self._gap is not None:
            (gap, at), self._gap = self._gap, None
            return Envelope(gap.last_seq, "lagged", at, gap)
        return self._queue.popleft() if self._queue else None

    async def get(self) -> Envelope:
        """The next envelope, waiting for one; raises ``SubscriptionClosed`` once closed."""
        while True:
            envelope = self.get_nowait()
            if envelope is not None:
                return envelope
            if self._waiter is not None:
                raise RuntimeError("a subscription has one reader; another task is waiting")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def close(self) -> None:
        """Stop delivery, drop what is queued and leave the bus; a waiting reader wakes to
        ``SubscriptionClosed`` (or the end of its ``async for``). Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._queue.clear()
        self._gap = None
        self._bus._leave(self)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Envelope:
        try:
            return await self.get()
        except SubscriptionClosed:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _frozen(values: Collection[_T] | None) -> frozenset[_T] | None:
    return None if values is None else frozenset(values)


class EventBus:
    """Fans published events out to subscriptions, numbering them; an ``EventSink``."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or SystemClock()
        self._subscriptions: dict[Subscription, None] = {}  # a set that keeps its order
        self._last_seq = 0

    @property
    def active(self) -> bool:
        """True while anyone is subscribed; the engine builds no events otherwise."""
        return bool(self._subscriptions)

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    @property
    def last_seq(self) -> int:
        """The seq of the newest published event (0 before the first)."""
        return self._last_seq

    def subscribe(
        self,
        *,
        accounts: Collection[int] | None = None,
        symbols: Collection[str] | None = None,
        kinds: Collection[str] | None = None,
        maxsize: int = DEFAULT_MAXSIZE,
    ) -> Subscription:
        """A new subscription to the events that pass every given filter (None: no filter;
        an empty collection lets nothing of that dimension through).

        ``accounts`` are logins and apply to order, fill and position events; ``symbols`` are
        canonical instrument symbols; ``kinds`` are wire types (``quote``, ``order``,
        ``fill``, ``position``). A lagged notice always gets through.
        """
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, not {maxsize}")
        if kinds is not None and (unknown := set(kinds) - KINDS):
            # A typo would otherwise subscribe to silence.
            raise ValueError(f"unknown event kinds {sorted(unknown)}; known: {sorted(KINDS)}")
        subscription = Subscription(
            self,
            accounts=_frozen(accounts),
            symbols=_frozen(symbols),
            kinds=_frozen(kinds),
            maxsize=maxsize,
        )
        self._subscriptions[subscription] = None
        return subscription

    def publish(self, events: Sequence[Event]) -> None:
        """Number ``events`` and queue them for every subscription they match. Never waits
        and never raises because of a subscriber; with nobody subscribed it does nothing."""
        if not self._subscriptions or not events:
            return
        at = self._clock.now()
        envelopes = [
            Envelope(seq, kind_of(e), at, e) for seq, e in enumerate(events, self._last_seq + 1)
        ]
        self._last_seq = envelopes[-1].seq
        for subscription in list(self._subscriptions):
            try:
                subscription._offer(envelopes, at)
            except Exception:
                # The engine publishes after its commit: a failure here would turn a done
                # order into an error. Drop the one broken subscriber (its loop is gone...).
                log.exception("dropping a subscription that failed to take events")
                subscription.close()

    def close(self) -> None:
        """Close every subscription (shutdown): their readers see the end of the stream."""
        for subscription in list(self._subscriptions):
            subscription.close()

    def _leave(self, subscription: Subscription) -> None:
        self._subscriptions.pop(subscription, None)
