"""Bars: 1-minute OHLCV bars built from quotes, kept in a repository, rolled up on request.

Each quote adds one price to its symbol's bar of the quote's UTC minute (``MarketData``
decides which price: the trade's, else the mid) and its trade size to the volume. When a
quote arrives in a later minute, the open bar closes and waits in memory until ``flush``
saves it; ``close`` (at shutdown) saves the open bars too, and ``restore`` continues a saved
bar when the next start falls in its minute. N-minute bars are rolled up from the 1-minute
ones on request, aligned to UTC midnight, so N must divide 1440 (1, 5, 15, 60, 240, 1440...).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from ordergate.domain.errors import InvalidInput

__all__ = [
    "MINUTES_PER_DAY",
    "Bar",
    "BarAggregator",
    "BarRepository",
    "MemoryBarRepository",
    "check_period",
    "floor_to",
    "roll_up",
]

log = logging.getLogger(__name__)

MINUTES_PER_DAY = 1440
_ONE_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Bar:
    """Open, high, low, close and volume of ``symbol`` over the period starting at ``start``
    (UTC, on a period boundary)."""

    symbol: str
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    def extended(self, price: Decimal, size: Decimal) -> Bar:
        """This bar after one more price (and trade size) within its period."""
        return replace(
            self,
            high=max(self.high, price),
            low=min(self.low, price),
            close=price,
            volume=self.volume + size,
        )


class BarRepository(Protocol):
    """Where closed 1-minute bars are kept (``store.bars.SqlBarRepository``, or in memory)."""

    async def save_bars(self, bars: Sequence[Bar]) -> None:
        """Insert or replace each bar (by symbol and start)."""
        ...

    async def bars(
        self,
        symbol: str,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> list[Bar]:
        """Bars starting in [start, end), oldest first; with ``limit``, the newest ones."""
        ...

    async def any_bars(self) -> bool:
        """Whether any bar is stored."""
        ...


class MemoryBarRepository:
    """A BarRepository in memory: for tests, and for a market without a database."""

    def __init__(self) -> None:
        self._bars: dict[str, dict[datetime, Bar]] = {}

    async def save_bars(self, bars: Sequence[Bar]) -> None:
        for bar in bars:
            self._bars.setdefault(bar.symbol, {})[bar.start] = bar

    async def any_bars(self) -> bool:
        return any(self._bars.values())

    async def bars(
        self,
        symbol: str,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> list[Bar]:
        found = sorted(
            (
                b
                for b in self._bars.get(symbol, {}).values()
                if (start is None or b.start >= start) and (end is None or b.start < end)
            ),
            key=lambda b: b.start,
        )
        if limit is not None:
            found = found[-limit:] if limit > 0 else []
        return found


def check_period(period_minutes: int) -> None:
    """Raise unless bars of ``period_minutes`` can be aligned to UTC days."""
    if not 1 <= period_minutes <= MINUTES_PER_DAY or MINUTES_PER_DAY % period_minutes:
        raise InvalidInput(
            f"bar period must divide {MINUTES_PER_DAY} minutes (1, 5, 15, 60...), "
            f"got {period_minutes}"
        )


def floor_to(at: datetime, period_minutes: int = 1) -> datetime:
    """The start of the ``period_minutes`` bucket holding ``at`` (UTC, aligned to midnight)."""
    at = at.astimezone(UTC)
    minute = at.hour * 60 + at.minute
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + timedelta(minutes=minute - minute % period_minutes)


def _ceil_to(at: datetime, period_minutes: int) -> datetime:
    start = floor_to(at, period_minutes)
    return start if start == at else start + timedelta(minutes=period_minutes)


def roll_up(minutes: Iterable[Bar], period_minutes: int) -> list[Bar]:
    """N-minute bars from 1-minute ``minutes`` (oldest first, one symbol)."""
    rolled: list[Bar] = []
    for bar in minutes:
        start = floor_to(bar.start, period_minutes)
        last = rolled[-1] if rolled else None
        if last is not None and last.start == start:
            rolled[-1] = replace(
                last,
                high=max(last.high, bar.high),
                low=min(last.low, bar.low),
                close=bar.close,
                volume=last.volume + bar.volume,
            )
        else:
            rolled.append(replace(bar, start=start))
    return rolled


class BarAggregator:
    """Builds 1-minute bars per symbol and keeps the closed ones in ``repository``.

    ``add`` is synchronous (it runs on every quote); closed bars wait in memory until
    ``flush``. A failed save is logged and retried at the next flush; at most
    ``max_pending`` bars wait, the oldest are dropped beyond that.
    """

    def __init__(
        self, repository: BarRepository | None = None, *, max_pending: int = 100_000
    ) -> None:
        self.repository: BarRepository = repository or MemoryBarRepository()
        self.max_pending = max_pending
        self._open: dict[str, Bar] = {}
        self._pending: list[Bar] = []
        self._lock = asyncio.Lock()

    def add(self, symbol: str, price: Decimal, size: Decimal, at: datetime) -> None:
        """One more price (and trade size, 0 for none) of ``symbol`` at ``at``."""
        start = floor_to(at)
        bar = self._open.get(symbol)
        # A quote stamped before the open bar (a clock stepping back) joins that bar: a
        # closed bar is final.
        if bar is not None and start <= bar.start:
            self._open[symbol] = bar.extended(price, size)
            return
        if bar is not None:
            self._close(bar)
        self._open[symbol] = Bar(symbol, start, price, price, price, price, size)

    def restore(self, bar: Bar) -> None:
        """Continue ``bar`` (saved at the last shutdown) when prices arrive in its minute."""
        if bar.symbol not in self._open:
            self._open[bar.symbol] = bar

    def current(self, symbol: str) -> Bar | None:
        """The open 1-minute bar of ``symbol``."""
        return self._open.get(symbol)

    @property
    def pending(self) -> tuple[Bar, ...]:
        """Closed bars not saved yet."""
        return tuple(self._pending)

    def _close(self, bar: Bar) -> None:
        self._pending.append(bar)
        if len(self._pending) > self.max_pending:
            dropped = len(self._pending) - self.max_pending
            del self._pending[:dropped]
            log.warning("bar store is behind: dropped the %d oldest unsaved bars", dropped)

    async def flush(self) -> int:
        """Save the closed bars; how many were saved (0 when the save failed: they stay)."""
        async with self._lock:
            batch = list(self._pending)
            if not batch:
                return 0
            try:
                await self.repository.save_bars(batch)
            except Exception:  # the market must outlive a database hiccup; retried later
                log.exception("saving %d bars failed; will retry", len(batch))
                return 0
            # Bars closed while saving were appended after the batch: keep them.
            del self._pending[: len(batch)]
            return len(batch)

    async def close(self) -> None:
        """Close the open bars and save everything (shutdown: the market stops here)."""
        for bar in self._open.values():
            self._close(bar)
        self._open.clear()
        await self.flush()

    async def bars(
        self,
        symbol: str,
        period_minutes: int = 1,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> list[Bar]:
        """``period_minutes`` bars of ``symbol`` whose period starts in [start, end), oldest
        first, each made of all its minutes; with ``limit``, the newest ``limit`` of them.
        Saved bars, the unsaved closed ones and the open one alike."""
        check_period(period_minutes)
        if limit is not None and limit < 1:
            raise InvalidInput(f"limit must be at least 1, got {limit}")
        low = None if start is None else floor_to(start, period_minutes)
        high = None if end is None else _ceil_to(end.astimezone(UTC), period_minutes)
        # The newest limit * N minutes always hold the newest `limit` whole N-minute bars.
        wanted = None if limit is None else limit * period_minutes
        stored = await self.repository.bars(symbol, low, high, wanted)
        merged = {b.start: b for b in stored}
        unsaved = [*self._pending, *self._open.values()]
        for bar in unsaved:
            if (
                bar.symbol == symbol
                and (low is None or bar.start >= low)
                and (high is None or bar.start < high)
            ):
                merged[bar.start] = bar
        minutes = sorted(merged.values(), key=lambda b: b.start)
        if wanted is not None:
            minutes = minutes[-wanted:]
        rolled = roll_up(minutes, period_minutes)
        return rolled if limit is None else rolled[-limit:]
