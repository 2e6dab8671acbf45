"""The in-process feed of Alert History records: the webhook edge publishes each record as it
writes or finishes it, and every WebSocket session of the record's user pushes it.

Publishing never waits. Each subscription has a bounded queue; when a subscriber falls that
far behind, the oldest unread records are dropped and counted, and the reader learns how
many it missed (``take_missed``) before its next record: the same choice as the event bus
(engine/bus.py), for the same reason. The dropped records are in the Alert History, so a
reader that is told resyncs from it (GetAlerts); closing the subscription instead would
only make its client reconnect and still miss them.

Closing the feed (server shutdown) closes every subscription: their readers see the end of
the stream. Not thread-safe: publish and read on the event loop's thread.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType
from typing import Final

from ordergate.engine.bus import SubscriptionClosed
from ordergate.store.alerts import AlertRecord

__all__ = ["DEFAULT_MAXSIZE", "AlertFeed", "AlertSubscription", "SubscriptionClosed"]

#: The most records a subscription holds unread before it loses the oldest.
DEFAULT_MAXSIZE: Final = 1000


class AlertSubscription:
    """One reader's view of a user's alerts, read by one task: ``async for record in sub``
    until it is closed, or ``await sub.get()`` (``SubscriptionClosed`` once it is closed).
    Built by ``AlertFeed.subscribe``."""

    def __init__(self, feed: AlertFeed, user_id: int, maxsize: int) -> None:
        self._feed = feed
        self.user_id = user_id
        self.maxsize = maxsize
        self._queue: deque[AlertRecord] = deque(maxlen=maxsize)
        self._missed = 0
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        """How many records are waiting to be read."""
        return len(self._queue)

    def _offer(self, record: AlertRecord) -> None:
        if len(self._queue) == self.maxsize:
            self._missed += 1  # the deque drops its oldest as the new one goes in
        self._queue.append(record)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def take_missed(self) -> int:
        """How many records were dropped unread since the last call (they are all older
        than any record still to be read)."""
        missed, self._missed = self._missed, 0
        return missed

    def get_nowait(self) -> AlertRecord | None:
        """The next record if one is waiting, else None; raises once closed."""
        if self._closed:
            raise SubscriptionClosed("subscription closed")
        return self._queue.popleft() if self._queue else None

    async def get(self) -> AlertRecord:
        """The next record, waiting for one; raises ``SubscriptionClosed`` once closed."""
        while True:
            record = self.get_nowait()
            if record is not None:
                return record
            if self._waiter is not None:
                raise RuntimeError("a subscription has one reader; another task is waiting")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def close(self) -> None:
        """Stop delivery, drop what is queued and leave the feed; a waiting reader wakes to
        ``SubscriptionClosed`` (or the end of its ``async for``). Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._queue.clear()
        self._feed._leave(self)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __aiter__(self) -> AlertSubscription:
        return self

    async def __anext__(self) -> AlertRecord:
        try:
            return await self.get()
        except SubscriptionClosed:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> AlertSubscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AlertFeed:
    """Fans each published alert record out to the subscriptions of its user."""

    def __init__(self, *, maxsize: int = DEFAULT_MAXSIZE) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, not {maxsize}")
        self.maxsize = maxsize
        # user id -> its subscriptions (a dict as a set that keeps its order)
        self._users: dict[int, dict[AlertSubscription, None]] = {}
        self._closed = False

    @property
    def subscribers(self) -> int:
        return sum(len(subs) for subs in self._users.values())

    def subscribe(self, user_id: int, *, maxsize: int | None = None) -> AlertSubscription:
        """A new subscription to the alerts of ``user_id`` (holding at most ``maxsize``
        unread, the feed's bound by default). Once the feed is closed, it comes closed."""
        size = self.maxsize if maxsize is None else maxsize
        if size < 1:
            raise ValueError(f"maxsize must be at least 1, not {size}")
        subscription = AlertSubscription(self, user_id, size)
        if self._closed:
            subscription.close()
        else:
            self._users.setdefault(user_id, {})[subscription] = None
        return subscription

    def publish(self, record: AlertRecord) -> None:
        """Queue ``record`` for every subscription of its user. Never waits; a subscriber
        that is behind loses its oldest unread record instead."""
        for subscription in list(self._users.get(record.user_id, ())):
            subscription._offer(record)

    def close(self) -> None:
        """Close every subscription (shutdown); later ones come closed. Idempotent."""
        self._closed = True
        for subs in list(self._users.values()):
            for subscription in list(subs):
                subscription.close()

    def _leave(self, subscription: AlertSubscription) -> None:
        subs = self._users.get(subscription.user_id)
        if subs is None:
            return
        subs.pop(subscription, None)
        if not subs:
            del self._users[subscription.user_id]
