"""Time, as everything in ordergate reads it: timezone-aware UTC, from a clock that tests
can replace.

A ``Clock`` tells the time and runs callbacks at a time of its own, so that what waits (the
venue's latencies and expiries) waits on the same clock that stamps events. ``SystemClock``
is the wall clock on the running asyncio loop; ``ManualClock`` moves only when a test moves
it, and runs what falls due as it does.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock", "Timer"]


class Timer(Protocol):
    """A callback waiting for its time; ``cancel`` makes sure it never runs."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def call_at(self, when: datetime, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` once the clock reads ``when`` (on the running loop's next turn if
        it already does); the timer returned can call it off."""
        ...


class SystemClock:
    """The wall clock; callbacks run on the running asyncio loop."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def call_at(self, when: datetime, callback: Callable[[], None]) -> Timer:
        wait = (when - self.now()).total_seconds()
        return asyncio.get_running_loop().call_later(max(0.0, wait), callback)


class _ManualTimer:
    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError(f"{when} has no timezone")
    return when.astimezone(UTC)


class ManualClock:
    """A clock for tests: time stands still until ``advance`` or ``set`` moves it, and the
    callbacks that fall due on the way run then, in time order (ties in the order they were
    registered), each seeing ``now()`` at its own time.

    A callback's exception propagates out of ``advance``/``set``, which stop at its time
    with the later callbacks still waiting.
    """

    def __init__(self, start: datetime) -> None:
        self._now = _utc(start)
        self._due: list[tuple[datetime, int, _ManualTimer]] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return self._now

    def call_at(self, when: datetime, callback: Callable[[], None]) -> Timer:
        when = _utc(when)
        if when <= self._now:
            # As SystemClock would: not inside the caller, but on the loop's next turn.
            return asyncio.get_running_loop().call_soon(callback)
        timer = _ManualTimer(callback)
        heapq.heappush(self._due, (when, next(self._seq), timer))
        return timer

    def advance(self, by: timedelta) -> None:
        """Move time forward by ``by``."""
        step = by
        if step < timedelta(0):
            raise ValueError(f"a clock does not go back ({step})")
        self._move_to(self._now + step)

    def set(self, when: datetime) -> None:
        """Move time forward to ``when``."""
        when = _utc(when)
        if when < self._now:
            raise ValueError(f"a clock does not go back (from {self._now} to {when})")
        self._move_to(when)

    def _move_to(self, target: datetime) -> None:
        due = self._due
        while due and due[0][0] <= target:
            when, _, timer = heapq.heappop(due)
            if timer.cancelled:
                continue
            self._now = when
            timer.callback()
        self._now = target
