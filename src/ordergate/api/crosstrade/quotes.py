"""Quotes: the ``GetQuote`` operation, in both of CrossTrade's forms.

- ``GET /market/quote`` (``args: {instrument}``): the current form, with ``quoteTimeUtc``,
  ``epoch`` (seconds) and ``isMarketOpen``; a list of instruments answers a JSON array.
- ``GET /accounts/{account}/quote`` (``args: {account, instrument}``; an ``account`` makes it
  this form): the deprecated per-account form, kept for old scripts: a flat object whose
  ``expiration`` and ``quoteTime`` are US-locale date-times (``3/1/2026 12:00:00 AM``, in
  UTC); a list answers ``{"quotes": [...], "success": true}``. The account is checked like
  any other path's (404 for one the caller may not use) and changes nothing in the quote.

Prices come from the market data (``venue/marketdata.py``): the synthetic feed, a replay, or
quotes pushed by an admin. A source that prints no trades has no last trade price; there, as
for the day's open/high/low, the quote's mid stands in for it. ``exchange``, ``tradingHours``
and ``type`` are NT8's, read from the symbol (``nt8.py``); a dated future's ``expiration``
is its contract month (NT8 dates it on the 1st), null for an instrument without one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any, Final, cast

from pydantic import Field

from ordergate.api.crosstrade.nt8 import describe
from ordergate.api.crosstrade.ops import AccountName, Args, Ctx, operation
from ordergate.api.crosstrade.wire import iso, num
from ordergate.api.openapi import SPACE
from ordergate.domain.contracts import parse_contract
from ordergate.domain.errors import InvalidInput
from ordergate.domain.instruments import Instrument

__all__ = [
    "MAX_QUOTES",
    "MarketQuoteArgs",
    "QuoteArgs",
    "expiration",
    "instrument_of",
    "is_open",
    "us_time",
]

#: Most instruments one quote request may name.
MAX_QUOTES: Final = 50

#: One name of a list: up to 32 characters, no comma, plain spaces around it.
_NAME = f" *[^,{SPACE}](?:[^,]{{0,30}}[^,{SPACE}])? *"


class MarketQuoteArgs(Args):
    """The query of ``GET /market/quote``."""

    instrument: str = Field(
        min_length=1,
        max_length=MAX_QUOTES * 33,
        examples=["ES 12-26"],
        description=f"NT8 name or alias; a comma-separated list of up to {MAX_QUOTES} for several",
        json_schema_extra={"pattern": f"^{_NAME}(?:,{_NAME}){{0,{MAX_QUOTES - 1}}}$"},
    )


class QuoteArgs(MarketQuoteArgs):
    """GetQuote's args: with an ``account``, the deprecated per-account form."""

    account: AccountName | None = None


async def instrument_of(ctx: Ctx, raw: str) -> Instrument:
    """The instrument ``raw`` names (NT8 name or alias)."""
    symbol = await ctx.symbol(raw)
    found = ctx.container.market.instrument(symbol)
    if found is None:  # added to the database while the server runs
        found = await ctx.engine.instrument(symbol)
    return found


def is_open(ctx: Ctx, instrument: Instrument, now: datetime) -> bool:
    """Within a session (always, when the venue ignores them), and not closed by the
    venue's operator."""
    return ctx.container.venue.is_open(instrument, now)


def expiration(symbol: str) -> date | None:
    """The contract month of a dated future, as NT8 dates it (its 1st); None for others."""
    contract = parse_contract(symbol)
    return None if contract is None else date(contract[1].year, contract[1].month, 1)


def us_time(at: datetime) -> str:
    """``at`` (UTC) as .NET's US-locale ``G`` format, ``M/D/YYYY h:mm:ss AM``."""
    at = at.astimezone(UTC)
    hour = at.hour % 12 or 12
    half = "AM" if at.hour < 12 else "PM"
    return f"{at.month}/{at.day}/{at.year} {hour}:{at.minute:02d}:{at.second:02d} {half}"


def _quote(ctx: Ctx, instrument: Instrument, now: datetime) -> dict[str, Any]:
    """The current form of the quote of ``instrument``."""
    snap = ctx.container.market.snapshot(instrument.symbol)
    nt8 = describe(instrument.symbol)
    expires = expiration(instrument.symbol)
    body: dict[str, Any] = {
        "instrument": instrument.symbol,
        "description": instrument.description,
        "type": nt8.type,
        "exchange": nt8.exchange,
        "tradingHours": nt8.trading_hours,
        "expiration": None if expires is None else expires.isoformat(),
        "bid": None,
        "ask": None,
        "last": None,
        "open": None,
        "high": None,
        "low": None,
        "close": None,
        "volume": None,
        "bidSize": None,
        "askSize": None,
        "tickSize": num(instrument.tick_size),
        "pointValue": num(instrument.point_value),
        "tickValue": num(instrument.tick_size * instrument.point_value),
        "currency": instrument.currency,
        "quoteTime": None,
        "quoteTimeUtc": None,
        "epoch": None,
        "isMarketOpen": is_open(ctx, instrument, now),
    }
    if snap is not None:
        last = snap.last if snap.last is not None else (snap.bid + snap.ask) / 2
        body.update(
            bid=num(snap.bid),
            ask=num(snap.ask),
            last=num(last),
            open=num(snap.open),
            high=num(snap.high),
            low=num(snap.low),
            close=num(snap.close),
            volume=num(snap.volume),
            bidSize=num(snap.bid_size),
            askSize=num(snap.ask_size),
            quoteTime=iso(snap.at),
            quoteTimeUtc=snap.at.strftime("%Y-%m-%d %H:%M:%S"),
            epoch=int(snap.at.timestamp()),  # seconds, as CrossTrade's quote (bars: ms)
        )
    return body


#: The legacy object's fields, in its order, from the current form.
_LEGACY: Final = (
    "instrument",
    "description",
    "type",
    "bid",
    "ask",
    "last",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "tickSize",
    "pointValue",
    "exchange",
)


def _legacy(ctx: Ctx, instrument: Instrument, now: datetime) -> dict[str, Any]:
    """The deprecated per-account form of the quote of ``instrument``."""
    current = _quote(ctx, instrument, now)
    snap = ctx.container.market.snapshot(instrument.symbol)
    expires = expiration(instrument.symbol)
    return {
        **{name: current[name] for name in _LEGACY},
        "expiration": None if expires is None else us_time(datetime.combine(expires, time(), UTC)),
        "tradingHours": current["tradingHours"],
        "quoteTime": None if snap is None else us_time(snap.at),
    }


def _names(raw: str) -> list[str]:
    names = [n.strip() for n in raw.split(",")]
    if not all(names):
        raise InvalidInput("instrument must be a name or a comma-separated list of names")
    if len(names) > MAX_QUOTES:
        raise InvalidInput(f"at most {MAX_QUOTES} instruments per request")
    return names


@operation("GetQuote", QuoteArgs)
async def get_quote(ctx: Ctx, args: QuoteArgs) -> dict[str, Any]:
    names = _names(args.instrument)
    legacy = args.account is not None
    if args.account is not None:
        await ctx.engine.account(ctx.principal, args.account)  # 404 for one not the caller's
    now = ctx.container.clock.now()
    shape = _legacy if legacy else _quote
    quotes = [shape(ctx, await instrument_of(ctx, n), now) for n in names]
    if "," not in args.instrument:
        return {**quotes[0], "success": True}
    if legacy:
        return {"quotes": quotes, "success": True}
    # A list names a list: the answer is a JSON array, over REST and WebSocket alike.
    return cast("dict[str, Any]", quotes)
