"""Market data: the one entry point for quotes, whatever their source.

``MarketData.push`` checks a quote against its instrument, updates the symbol's snapshot
(top of book, last trade, the trading day's open/high/low, the previous day's close, volume)
and its 1-minute bars, then hands the quote to every subscriber (the venue's ``on_quote``,
later the engine's watchers) and, when someone listens, publishes a ``MarketQuote`` event.

Prices of the day and of the bars: a quote that carries a trade (``last``) contributes the
trade's price and size; one without contributes its mid and no volume. The trading day is the
UTC calendar day of the quote; ``close`` is the last price of the previous trading day that
had one (None before any), so it survives restarts through the stored bars (``restore``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Protocol

from ordergate.domain.clock import Clock, SystemClock
from ordergate.domain.errors import (
    InstrumentNotFound,
    InvalidInput,
    InvalidPrice,
    InvalidQuantity,
)
from ordergate.domain.events import MarketQuote
from ordergate.domain.instruments import Instrument
from ordergate.domain.values import SCALE, Price, Quantity
from ordergate.venue.bars import MINUTES_PER_DAY, Bar, BarAggregator, BarRepository, floor_to
from ordergate.venue.base import Quote

__all__ = ["MarketData", "MarketSink", "MarketSnapshot", "QuoteConsumer"]

log = logging.getLogger(__name__)

QuoteConsumer = Callable[[Quote], None]
_QUANTUM = Decimal(1).scaleb(-SCALE)


class MarketSink(Protocol):
    """Where market events go (the engine's ``EventSink`` fits); ``active``: anyone listens."""

    @property
    def active(self) -> bool: ...

    def publish(self, events: Sequence[MarketQuote]) -> None: ...


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """One instrument's market as of its latest quote (``at``). ``open``/``high``/``low``
    and ``volume`` are of the quote's trading day (UTC), ``close`` is the previous day's."""

    symbol: str
    bid: Decimal
    ask: Decimal
    bid_size: Decimal | None
    ask_size: Decimal | None
    last: Decimal | None
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal | None
    volume: Decimal
    at: datetime


@dataclass(slots=True)
class _Day:
    """One symbol's statistics for one trading day."""

    day: date
    open: Decimal
    high: Decimal
    low: Decimal
    last: Decimal
    volume: Decimal
    prev_close: Decimal | None

    @classmethod
    def starting(cls, day: date, price: Decimal, size: Decimal, prev: Decimal | None) -> _Day:
        return cls(day, price, price, price, price, size, prev)

    def add(self, day: date, price: Decimal, size: Decimal) -> _Day:
        if day > self.day:
            return _Day.starting(day, price, size, self.last)
        # A quote stamped on an earlier day (a clock stepping back) counts for this one.
        self.high, self.low = max(self.high, price), min(self.low, price)
        self.last = price
        self.volume += size
        return self


def _tidy_price(instrument: Instrument, value: Decimal) -> Decimal:
    """``value`` written with the instrument's digits ("6000.00", not "6000.00000000" as
    numbers read from the database come), or as it is when it needs more."""
    shown = value.quantize(Decimal(1).scaleb(-instrument.digits))
    return shown if shown == value else _tidy_size(value)


def _tidy_size(value: Decimal) -> Decimal:
    """``value`` without trailing zeros (and never in exponent form: 100, not 1E+2)."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _price(instrument: Instrument, value: Decimal, what: str) -> Decimal:
    try:
        price = Price.of(value)
    except InvalidInput as exc:
        raise InvalidPrice(f"{what}: {exc.message}") from None
    instrument.check_price(price, what)
    return _tidy_price(instrument, price.value)


def _size(value: Decimal | None, what: str) -> Decimal | None:
    if value is None:
        return None
    try:
        size = Quantity.of(value).value
    except InvalidInput as exc:
        raise InvalidQuantity(f"{what}: {exc.message}") from None
    if size <= 0:
        raise InvalidQuantity(f"{what} must be positive, got {size}")
    return _tidy_size(size)


class MarketData:
    """Quotes in, snapshots and bars kept, subscribers and the event sink fed."""

    def __init__(
        self,
        instruments: Iterable[Instrument] = (),
        *,
        bars: BarRepository | None = None,
        sink: MarketSink | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.sink = sink
        self.clock: Clock = clock or SystemClock()
        self._bars = BarAggregator(bars)
        self._instruments: dict[str, Instrument] = {}
        self._snapshots: dict[str, MarketSnapshot] = {}
        self._days: dict[str, _Day] = {}
        self._consumers: list[QuoteConsumer] = []
        self.add_instruments(instruments)

    def add_instruments(self, instruments: Iterable[Instrument]) -> None:
        self._instruments.update({i.symbol: i for i in instruments})

    def instrument(self, symbol: str) -> Instrument | None:
        return self._instruments.get(symbol)

    def instruments(self) -> list[Instrument]:
        return [self._instruments[s] for s in sorted(self._instruments)]

    def subscribe(self, consumer: QuoteConsumer) -> Callable[[], None]:
        """Call ``consumer`` with every accepted quote, in order; returns the unsubscribe."""
        self._consumers.append(consumer)
        return lambda: self._consumers.remove(consumer)

    # -- quotes ----------------------------------------------------------------------------

    def check(self, quote: Quote) -> Quote:
        """``quote`` validated against its instrument (its time in UTC); raises
        InstrumentNotFound, InvalidPrice, InvalidQuantity or InvalidInput."""
        instrument = self._instruments.get(quote.symbol)
        if instrument is None:
            raise InstrumentNotFound(f"instrument {quote.symbol} not found")
        if quote.at.tzinfo is None:
            raise InvalidInput("quote time must be timezone-aware")
        bid = _price(instrument, quote.bid, "bid")
        ask = _price(instrument, quote.ask, "ask")
        if ask < bid:
            raise InvalidPrice(f"ask {ask} is below bid {bid} for {quote.symbol}")
        last = None if quote.last is None else _price(instrument, quote.last, "last")
        last_size = _size(quote.last_size, "last_size")
        if last_size is not None and last is None:
            raise InvalidInput("last_size needs last (the trade's price)")
        return replace(
            quote,
            bid=bid,
            ask=ask,
            last=last,
            bid_size=_size(quote.bid_size, "bid_size"),
            ask_size=_size(quote.ask_size, "ask_size"),
            last_size=last_size,
            at=quote.at.astimezone(UTC),
        )

    def push(self, quote: Quote) -> MarketSnapshot:
        """Take one quote (validated first: a refused quote changes nothing)."""
        return self._apply(self.check(quote))

    def push_all(self, quotes: Sequence[Quote]) -> list[MarketSnapshot]:
        """Take several quotes, all or none: every one is validated before any is applied."""
        checked = [self.check(q) for q in quotes]
        return [self._apply(q) for q in checked]

    def _apply(self, quote: Quote) -> MarketSnapshot:
        symbol = quote.symbol
        if quote.last is not None:
            price, size = quote.last, quote.last_size or Decimal(0)
        else:
            mid, size = (quote.bid + quote.ask) / 2, Decimal(0)
            # A mid falls between ticks: one place more than the prices, at most the 8 kept.
            rounded = mid.quantize(_QUANTUM)
            price = mid if rounded == mid else rounded
        today, day = quote.at.date(), self._days.get(symbol)
        day = (
            _Day.starting(today, price, size, None) if day is None else day.add(today, price, size)
        )
        self._days[symbol] = day
        self._bars.add(symbol, price, size, quote.at)
        last = quote.last
        if last is None and (previous := self._snapshots.get(symbol)) is not None:
            last = previous.last  # the last trade stands until the next one
        snapshot = MarketSnapshot(
            symbol=symbol,
            bid=quote.bid,
            ask=quote.ask,
            bid_size=quote.bid_size,
            ask_size=quote.ask_size,
            last=last,
            open=day.open,
            high=day.high,
            low=day.low,
            close=day.prev_close,
            volume=day.volume,
            at=quote.at,
        )
        self._snapshots[symbol] = snapshot
        self._fan_out(quote)
        return snapshot

    def _fan_out(self, quote: Quote) -> None:
        for consumer in list(self._consumers):
            try:
                consumer(quote)
            except Exception:  # one failing subscriber must not starve the others
                log.exception("quote subscriber %r failed on %s", consumer, quote.symbol)
        sink = self.sink
        if sink is not None and sink.active:
            event = MarketQuote(
                quote.symbol,
                quote.bid,
                quote.ask,
                quote.at,
                quote.bid_size,
                quote.ask_size,
                quote.last,
                quote.last_size,
            )
            try:
                sink.publish([event])
            except Exception:
                log.exception("publishing the quote of %s failed", quote.symbol)

    def snapshot(self, symbol: str) -> MarketSnapshot | None:
        return self._snapshots.get(symbol)

    def snapshots(self) -> list[MarketSnapshot]:
        """Every quoted instrument's snapshot, by symbol."""
        return [self._snapshots[s] for s in sorted(self._snapshots)]

    # -- bars ------------------------------------------------------------------------------

    async def bars(
        self,
        symbol: str,
        period_minutes: int = 1,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> list[Bar]:
        """``period_minutes`` bars of ``symbol`` starting in [start, end), oldest first; with
        ``limit``, the newest ones (see ``BarAggregator.bars``)."""
        if symbol not in self._instruments:
            raise InstrumentNotFound(f"instrument {symbol} not found")
        found = await self._bars.bars(symbol, period_minutes, start, end, limit)
        return [self._tidy(bar) for bar in found]

    async def any_stored_bars(self) -> bool:
        """Whether any bar is stored (a new database has none to read)."""
        return await self._bars.repository.any_bars()

    def _tidy(self, bar: Bar) -> Bar:
        instrument = self._instruments[bar.symbol]
        return replace(
            bar,
            open=_tidy_price(instrument, bar.open),
            high=_tidy_price(instrument, bar.high),
            low=_tidy_price(instrument, bar.low),
            close=_tidy_price(instrument, bar.close),
            volume=_tidy_size(bar.volume),
        )

    async def flush(self) -> int:
        """Save the closed 1-minute bars; the sources and the API call it after pushing."""
        return await self._bars.flush()

    async def restore(self) -> None:
        """Pick up where the last run stopped: today's open/high/low/volume and the previous
        day's close from the stored bars, and the bar of the current minute if it was
        saved at shutdown. Call before the first quote."""
        now = self.clock.now()
        midnight = floor_to(now, MINUTES_PER_DAY)
        repository = self._bars.repository
        if not await repository.any_bars():
            return
        for symbol in sorted(self._instruments):
            today = [self._tidy(b) for b in await repository.bars(symbol, midnight)]
            before = [self._tidy(b) for b in await repository.bars(symbol, None, midnight, 1)]
            prev_close = before[-1].close if before else None
            if today:
                self._days[symbol] = _Day(
                    midnight.date(),
                    today[0].open,
                    max(b.high for b in today),
                    min(b.low for b in today),
                    today[-1].close,
                    sum((b.volume for b in today), Decimal(0)),
                    prev_close,
                )
                if today[-1].start == floor_to(now):
                    self._bars.restore(today[-1])
            elif before:
                # Nothing today yet: the first quote starts the day and closes that one.
                last = before[-1]
                self._days[symbol] = _Day.starting(last.start.date(), last.close, Decimal(0), None)

    async def close(self) -> None:
        """Save every bar, the open ones included (at shutdown)."""
        await self._bars.close()
