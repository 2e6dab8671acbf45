"""Lookups kept for a while: what a request reads about its caller on every request (a token's
user, a webhook's owner) costs more than the request's own work under load.

A value found is kept ``seconds``; a lookup that found nothing (None) is not kept, so that a
thing made elsewhere works at once and made-up keys cannot fill the memory. One lookup at a
time per key: when a kept value expires under load, the requests that miss it together wait
for one lookup instead of each making its own. ``forget`` drops everything, and a lookup
started before it keeps nothing (the thing changed meanwhile).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["Kept"]

V = TypeVar("V")


class Kept(Generic[V]):
    """Values found by key, each kept ``seconds`` (given per lookup)."""

    _LIMIT = 10_000

    def __init__(self) -> None:
        self.found: dict[Hashable, tuple[float, V]] = {}
        self._pending: dict[Hashable, asyncio.Future[V | None]] = {}
        self._generation = 0  # a lookup started before a change keeps nothing

    async def find(
        self, key: Hashable, seconds: float, lookup: Callable[[], Awaitable[V | None]]
    ) -> V | None:
        if seconds <= 0:
            return await lookup()
        hit = self.found.get(key)
        if hit is not None and hit[0] >= time.monotonic():
            return hit[1]
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._look(key, seconds, lookup))
            pending.add_done_callback(_retrieved)
            self._pending[key] = pending
        # Shielded: a caller that goes away does not cancel the others' lookup.
        return await asyncio.shield(pending)

    async def _look(
        self, key: Hashable, seconds: float, lookup: Callable[[], Awaitable[V | None]]
    ) -> V | None:
        generation = self._generation
        try:
            value = await lookup()
        finally:
            if generation == self._generation:
                self._pending.pop(key, None)
        if value is not None and generation == self._generation:
            if len(self.found) >= self._LIMIT:
                self.found.clear()
            self.found[key] = (time.monotonic() + seconds, value)
        return value

    def forget(self) -> None:
        """Drop every kept value and the lookups under way (what they name changed)."""
        self._generation += 1
        self.found.clear()
        self._pending.clear()


def _retrieved(future: asyncio.Future[V | None]) -> None:
    """Mark a shared lookup's failure seen: its waiters get it, but all may have gone."""
    if not future.cancelled():
        future.exception()
