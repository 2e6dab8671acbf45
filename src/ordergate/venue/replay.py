"""Replay of a CSV file of quotes or of bars into ``MarketData``.

The file is UTF-8 with a header row naming its columns (in any order):

- quotes: ``time,symbol,bid,ask`` and optionally ``bid_size,ask_size,last,last_size``
  (an empty cell means none);
- bars: ``time,symbol,open,high,low,close,volume``; each bar is replayed as four locked
  quotes (bid = ask = last) along its path, open, low, high, close for a bar that closed at
  or above its open and open, high, low, close for one below, spread evenly over the bar's
  period (the time to the symbol's next bar; one minute for a single bar). The bar's volume
  is the close's trade size.

``time`` is ISO 8601 (``2026-11-20T15:30:00Z``; without an offset it is UTC) and rows may
come in any order. Numbers are exact decimals. The whole file is read and checked when the
replay is made, so a bad file stops the server at start with the line at fault.

Replaying keeps the file's pace at ``speed`` percent (100: real time, 200: twice as fast,
0: no pauses), and stamps each quote with the time it is pushed: the market is live, the file
gives its prices and rhythm. Quotes of an instrument whose session is closed are skipped
(none are when the sessions are ignored, ``sessions="ignore"``).
"""

from __future__ import annotations

import asyncio
import csv
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from ordergate.domain.clock import Clock, SystemClock
from ordergate.domain.errors import DomainError, InvalidInput
from ordergate.domain.values import to_decimal
from ordergate.venue.base import Quote
from ordergate.venue.marketdata import MarketData
from ordergate.venue.rules import SessionRule, in_session

__all__ = ["BAR_COLUMNS", "QUOTE_COLUMNS", "CsvReplay", "Tick", "load_ticks"]

log = logging.getLogger(__name__)

QUOTE_COLUMNS = ("time", "symbol", "bid", "ask")
_QUOTE_OPTIONAL = ("bid_size", "ask_size", "last", "last_size")
BAR_COLUMNS = ("time", "symbol", "open", "high", "low", "close", "volume")
_DEFAULT_PERIOD = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Tick:
    """One quote of the tape, at its time in the file."""

    at: datetime
    symbol: str
    bid: Decimal
    ask: Decimal
    bid_size: Decimal | None = None
    ask_size: Decimal | None = None
    last: Decimal | None = None
    last_size: Decimal | None = None

    def quote(self, at: datetime) -> Quote:
        return Quote(
            self.symbol,
            self.bid,
            self.ask,
            at,
            self.bid_size,
            self.ask_size,
            self.last,
            self.last_size,
        )


def _time(raw: str) -> datetime:
    try:
        at = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(f"time {raw!r} is not ISO 8601") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _number(row: dict[str, str], name: str) -> Decimal:
    return to_decimal(row[name], name)


def _optional(row: dict[str, str], name: str) -> Decimal | None:
    raw = row.get(name, "").strip()
    return to_decimal(raw, name) if raw else None


def _quote_tick(row: dict[str, str]) -> Tick:
    return Tick(
        _time(row["time"]),
        row["symbol"],
        _number(row, "bid"),
        _number(row, "ask"),
        *(_optional(row, name) for name in _QUOTE_OPTIONAL),
    )


@dataclass(frozen=True, slots=True)
class _BarRow:
    at: datetime
    symbol: str
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    @classmethod
    def of(cls, row: dict[str, str]) -> _BarRow:
        o, h, lo, c, v = (_number(row, n) for n in ("open", "high", "low", "close", "volume"))
        if not lo <= min(o, c) or not h >= max(o, c):
            raise InvalidInput("a bar's low must not exceed its open and close, nor its high")
        if v < 0:
            raise InvalidInput("volume must not be negative")
        return cls(_time(row["time"]), row["symbol"], o, h, lo, c, v)

    def path(self, period: timedelta) -> Iterator[Tick]:
        points = (
            (self.open, self.low, self.high, self.close)
            if self.close >= self.open
            else (self.open, self.high, self.low, self.close)
        )
        for k, price in enumerate(points):
            size = self.volume if k == len(points) - 1 and self.volume > 0 else None
            at = self.at + period * k / len(points)
            yield Tick(at, self.symbol, price, price, None, None, price, size)


def _bar_ticks(bars: Sequence[_BarRow]) -> list[Tick]:
    by_symbol: dict[str, list[_BarRow]] = {}
    for bar in sorted(bars, key=lambda b: b.at):
        by_symbol.setdefault(bar.symbol, []).append(bar)
    ticks: list[Tick] = []
    for series in by_symbol.values():
        period = _DEFAULT_PERIOD
        for this, after in zip(series, [*series[1:], None], strict=True):
            if after is not None and after.at > this.at:
                period = after.at - this.at
            ticks.extend(this.path(period))  # the last bar lasts as long as the one before
    return ticks


def _columns(path: Path, header: list[str]) -> str:
    """Which kind of file this is ("quotes" or "bars"), or why it is neither."""
    names = set(header)
    if len(names) != len(header):
        raise InvalidInput(f"{path}: a column appears twice")
    for kind, required, optional in (
        ("quotes", QUOTE_COLUMNS, _QUOTE_OPTIONAL),
        ("bars", BAR_COLUMNS, ()),
    ):
        if names >= set(required):
            unknown = names - set(required) - set(optional)
            if unknown:
                raise InvalidInput(f"{path}: unknown columns {', '.join(sorted(unknown))}")
            return kind
    raise InvalidInput(
        f"{path}: the header must name the columns {','.join(QUOTE_COLUMNS)} (quotes) "
        f"or {','.join(BAR_COLUMNS)} (bars)"
    )


def load_ticks(path: Path) -> tuple[str, list[Tick]]:
    """The kind of the file and its quotes in time order; InvalidInput names the bad line."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file)
            header = [name.strip() for name in next(reader, [])]
            if not header:
                raise InvalidInput(f"{path}: the file is empty")
            kind = _columns(path, header)
            ticks: list[Tick] = []
            bars: list[_BarRow] = []
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) > len(header):
                    raise InvalidInput(f"{path}:{reader.line_num}: more cells than columns")
                row = {name: cell.strip() for name, cell in zip(header, cells, strict=False)}
                try:
                    if not row.get("symbol"):
                        raise InvalidInput("symbol is missing")
                    if kind == "quotes":
                        ticks.append(_quote_tick(row))
                    else:
                        bars.append(_BarRow.of(row))
                except (InvalidInput, KeyError) as exc:
                    why = exc.message if isinstance(exc, InvalidInput) else f"no {exc} cell"
                    raise InvalidInput(f"{path}:{reader.line_num}: {why}") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InvalidInput(f"{path}: not a UTF-8 CSV file ({exc})") from None
    ticks = ticks if kind == "quotes" else _bar_ticks(bars)
    ticks.sort(key=lambda t: t.at)  # stable: rows of the same time keep the file's order
    return kind, ticks


class CsvReplay:
    """Plays a CSV file of quotes or bars into the market (see the module docstring)."""

    def __init__(
        self,
        path: Path,
        *,
        speed: int = 100,
        clock: Clock | None = None,
        sessions: SessionRule = "enforce",
    ) -> None:
        if speed < 0:
            raise InvalidInput("replay speed must not be negative")
        self.path = path
        self.speed = speed
        self.sessions: SessionRule = sessions
        self.clock: Clock = clock or SystemClock()
        self.kind, self.ticks = load_ticks(path)

    async def run(self, market: MarketData) -> None:
        """Push the file's quotes at its pace, then return."""
        pushed = skipped = 0
        previous: datetime | None = None
        for tick in self.ticks:
            if previous is not None and self.speed:
                pause = (tick.at - previous) * 100 / self.speed
                if pause > timedelta(0):
                    await asyncio.sleep(pause.total_seconds())
            previous = tick.at
            now = self.clock.now()
            instrument = market.instrument(tick.symbol)
            if instrument is not None and not in_session(instrument, now, self.sessions):
                skipped += 1
                continue
            try:
                market.push(tick.quote(now))
            except DomainError as exc:
                log.warning("replay of %s: %s quote refused: %s", self.path, tick.symbol, exc)
                skipped += 1
                continue
            pushed += 1
            await market.flush()
        log.info("replay of %s done: %d quotes pushed, %d skipped", self.path, pushed, skipped)
