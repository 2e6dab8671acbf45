"""Market sources: the deterministic synthetic feed (``CsvReplay`` is in ``venue/replay.py``).

A source's ``run(market)`` pushes quotes into ``MarketData`` until it is cancelled (or, for a
replay, the file ends); bootstrap runs it as a task and shutdown cancels it. Sources push a
quote only while its instrument's session is open: a closed market does not tick (unless the
sessions are ignored, ``sessions="ignore"``: then every market ticks every day).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from ordergate.domain.clock import Clock, SystemClock
from ordergate.domain.errors import DomainError, InvalidInput
from ordergate.domain.instruments import Instrument
from ordergate.venue.base import Quote
from ordergate.venue.marketdata import MarketData, MarketSnapshot
from ordergate.venue.rules import SessionRule, in_session

__all__ = [
    "MAX_QUOTE_LOTS",
    "MAX_TRADE_LOTS",
    "MIN_INTERVAL_MS",
    "SPOT_SPREAD",
    "TRADE_CHANCE_PCT",
    "VOLATILITY_PER_MINUTE",
    "WIGGLE",
    "WIGGLE_PULL",
    "MarketSource",
    "SyntheticFeed",
]

log = logging.getLogger(__name__)

#: The walk's typical move per minute relative to the price (about 15% a year, an equity
#: index's); it never moves less than one tick a step.
VOLATILITY_PER_MINUTE = Decimal("0.00025")
#: Spot instruments (fractional lots) quote one to two times this wide, relative to the
#: price: 1-2 pips for EURUSD; contracts traded in whole lots (futures) quote one tick wide.
SPOT_SPREAD = Decimal("0.0001")
#: Each step takes back 1/WIGGLE_PULL of the wiggle around the trend (a quarter: it fades
#: within a few seconds at the default pace).
WIGGLE_PULL = 4
#: Each step adds up to WIGGLE spreads (ticks, for futures) to the wiggle, either way.
WIGGLE = 2
#: Chance, in percent, that a step also reports a trade at the bid or the ask.
TRADE_CHANCE_PCT = 25
#: Sizes on the bid and the ask are 1..MAX_QUOTE_LOTS lots, trades 1..MAX_TRADE_LOTS.
MAX_QUOTE_LOTS = 50
MAX_TRADE_LOTS = 10
MIN_INTERVAL_MS = 10
_MINUTE_MS = 60_000
_SQRT_3 = Decimal(3).sqrt()  # a uniform step on [-n, n] has a deviation of about n / sqrt(3)


class MarketSource(Protocol):
    """Something that feeds ``market`` until cancelled (or done)."""

    async def run(self, market: MarketData) -> None: ...


@dataclass(slots=True)
class _Walk:
    """One instrument's bid, in whole ticks: a slow random walk (``trend``) plus a quick
    mean-reverting wiggle, the noise of a real book, which is what fills a limit order
    resting a spread or so from the market within a minute or so."""

    instrument: Instrument
    trend: int
    home: int  # where the walk started: the trend stays within half and twice this
    wiggle: int = 0
    last: tuple[Decimal, Decimal] | None = None  # the (bid, ask) the feed last produced


class SyntheticFeed:
    """A seeded random walk of each instrument's bid on its tick grid, every ``interval_ms``.

    Same seed, same instruments and start prices, same session states: same quotes. Each
    step moves the trend by a whole number of ticks (uniform, scaled to
    ``VOLATILITY_PER_MINUTE``) and the wiggle around it, quotes a spread (one tick for
    whole-lot contracts, ``SPOT_SPREAD`` to twice that for spot), sizes on both sides, and
    now and then a trade.
    An instrument ticks once it has a start price: from ``start_prices``, or (when run) the
    market's current quote, which the walk also follows when someone else moves it.
    """

    def __init__(
        self,
        instruments: Iterable[Instrument],
        *,
        seed: int = 42,
        interval_ms: int = 250,
        start_prices: Mapping[str, Decimal] | None = None,
        clock: Clock | None = None,
        sessions: SessionRule = "enforce",
    ) -> None:
        if interval_ms < MIN_INTERVAL_MS:
            raise InvalidInput(f"interval_ms must be at least {MIN_INTERVAL_MS}")
        self.interval_ms = interval_ms
        self.sessions: SessionRule = sessions
        self.clock: Clock = clock or SystemClock()
        self._random = random.Random(seed)  # noqa: S311 - a simulation, not cryptography
        self._instruments = sorted(instruments, key=lambda i: i.symbol)
        self._walks: dict[str, _Walk] = {}
        # Largest step, relative to the price, for the step's share of a minute.
        self._reach = VOLATILITY_PER_MINUTE * (Decimal(interval_ms) / _MINUTE_MS).sqrt() * _SQRT_3
        for symbol, price in (start_prices or {}).items():
            self.anchor(symbol, price)

    def anchor(self, symbol: str, price: Decimal) -> None:
        """(Re)start ``symbol``'s walk with its bid at ``price`` (snapped down to the grid)."""
        instrument = next((i for i in self._instruments if i.symbol == symbol), None)
        if instrument is None:
            return
        ticks = max(int(price // instrument.tick_size), 1)
        self._walks[symbol] = _Walk(instrument, trend=ticks, home=ticks)

    def follow(self, market: MarketData) -> None:
        """Re-anchor each walk whose market someone else has moved (an admin quote), and
        start the walks of instruments that have a quote but no walk yet."""
        for instrument in self._instruments:
            snapshot = market.snapshot(instrument.symbol)
            if snapshot is None:
                continue
            walk = self._walks.get(instrument.symbol)
            if walk is None or walk.last != (snapshot.bid, snapshot.ask):
                self.anchor(instrument.symbol, snapshot.bid)

    def next_quotes(self, at: datetime) -> list[Quote]:
        """One step: a quote for each instrument with a walk whose session is open at ``at``
        (each one with a walk, when the sessions are ignored)."""
        quotes = []
        for instrument in self._instruments:
            walk = self._walks.get(instrument.symbol)
            if walk is not None and in_session(instrument, at, self.sessions):
                quotes.append(self._step(walk, at))
        return quotes

    def _step(self, walk: _Walk, at: datetime) -> Quote:
        instrument, rng = walk.instrument, self._random
        tick = instrument.tick_size
        reach = max(int(walk.trend * self._reach), 1)
        move = rng.randint(-reach, reach)
        if not walk.home // 2 <= walk.trend + move <= walk.home * 2:
            move = -move  # reflect: the walk never wanders off to zero or to the moon
        walk.trend += move
        # Whole-lot contracts (futures) quote one tick wide and wiggle by ticks; spot quotes
        # and wiggles by basis points of its price.
        base = 1 if instrument.lot_step >= 1 else max(int(walk.trend * SPOT_SPREAD), 1)
        pull = abs(walk.wiggle) // WIGGLE_PULL * (1 if walk.wiggle > 0 else -1)
        walk.wiggle += rng.randint(-WIGGLE * base, WIGGLE * base) - pull
        spread = 1 if instrument.lot_step >= 1 else rng.randint(base, 2 * base)
        bid_ticks = max(walk.trend + walk.wiggle, 1)
        bid, ask = bid_ticks * tick, (bid_ticks + spread) * tick
        bid_size = self._lots(instrument, MAX_QUOTE_LOTS)
        ask_size = self._lots(instrument, MAX_QUOTE_LOTS)
        last = last_size = None
        if rng.randrange(100) < TRADE_CHANCE_PCT:
            last = ask if rng.randrange(2) else bid
            last_size = self._lots(instrument, MAX_TRADE_LOTS)
        walk.last = (bid, ask)
        return Quote(instrument.symbol, bid, ask, at, bid_size, ask_size, last, last_size)

    def _lots(self, instrument: Instrument, most: int) -> Decimal:
        lots = Decimal(self._random.randint(1, most))
        on_step = (lots // instrument.lot_step) * instrument.lot_step
        return min(max(on_step, instrument.lot_min), instrument.lot_max)

    def step(self, market: MarketData) -> list[MarketSnapshot]:
        """Follow the market, then push one step's quotes into it (no timer: for tests)."""
        self.follow(market)
        pushed = []
        for quote in self.next_quotes(self.clock.now()):
            try:
                pushed.append(market.push(quote))
            except DomainError as exc:  # e.g. an instrument whose tick changed: skip it
                log.warning("synthetic quote for %s refused: %s", quote.symbol, exc.message)
        return pushed

    async def run(self, market: MarketData, *, steps: int | None = None) -> None:
        """Step every ``interval_ms`` (``steps`` times, or until cancelled)."""
        loop = asyncio.get_running_loop()
        interval = self.interval_ms / 1000
        due = loop.time()
        done = 0
        while steps is None or done < steps:
            self.step(market)
            await market.flush()
            done += 1
            due += interval
            now = loop.time()
            if due < now - interval:
                due = now  # fell behind (a busy loop): carry on, do not burst to catch up
            await asyncio.sleep(max(due - now, 0))
