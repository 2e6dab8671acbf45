"""Market data: quotes (``quotes.py`` holds the operation), an instrument's session and
trading bounds, and OHLCV bars.

Prices come from the market data (``venue/marketdata.py``): the synthetic feed, a replay, or
quotes pushed by an admin.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from fastapi import APIRouter
from pydantic import ConfigDict, Field, JsonValue
from starlette.requests import Request
from starlette.responses import Response

from ordergate.api.crosstrade.answers import BarsAnswer, MarketInfoAnswer, QuoteAnswer, QuoteOut
from ordergate.api.crosstrade.context import CallerDep
from ordergate.api.crosstrade.docs import query_parameters_of, reply, request_body, responses
from ordergate.api.crosstrade.ops import Args, Ctx, body_args, operation, query_args, run
from ordergate.api.crosstrade.quotes import (
    MAX_QUOTES,
    MarketQuoteArgs,
    QuoteArgs,
    instrument_of,
    is_open,
)
from ordergate.api.crosstrade.views import instrument_type
from ordergate.api.crosstrade.wire import epoch_ms, iso, num
from ordergate.api.openapi import DocumentedRoute, any_case, when
from ordergate.domain.errors import InstrumentNotFound, InvalidInput
from ordergate.domain.instruments import Instrument, TradingSession
from ordergate.venue.bars import MINUTES_PER_DAY

__all__ = ["MAX_BARS", "MAX_QUOTES", "router"]

router = APIRouter(tags=["market"], route_class=DocumentedRoute)

#: Most bars one request may ask for (the default too).
MAX_BARS: Final = 5000
#: What a market request may answer besides 200 (404: an unknown instrument).
_ERRORS: Final = (400, 401, 404, 429)
_PERIOD_MINUTES: Final = {"minute": 1, "hour": 60, "day": MINUTES_PER_DAY}
_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


# -- info ------------------------------------------------------------------------------------


class InfoArgs(Args):
    instrument: str = Field(
        min_length=1, max_length=32, examples=["ES 12-26"], description="NT8 name or alias"
    )


def _window(session: TradingSession, day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, session.start, tzinfo=UTC)
    end = datetime.combine(day, session.end, tzinfo=UTC)
    return start, end + timedelta(days=1) if session.end <= session.start else end


def _windows(instrument: Instrument, now: datetime) -> list[tuple[datetime, datetime]]:
    """The instrument's session windows from yesterday to a week ahead, overlapping and
    touching ones merged, in time order."""
    today = now.astimezone(UTC).date()
    raw = sorted(
        _window(s, day)
        for offset in range(-1, 9)
        for day in [today + timedelta(days=offset)]
        for s in instrument.sessions
        if day.weekday() in s.days
    )
    merged: list[tuple[datetime, datetime]] = []
    for start, end in raw:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _countdown(seconds: float) -> str:
    whole = max(0, int(seconds))
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _sessions(instrument: Instrument, now: datetime) -> tuple[dict[str, Any], Any]:
    """The ``session`` (current, else next) and ``upcoming`` objects of the info."""
    if not instrument.sessions:
        always = {"label": "Current Session", "utcStart": None, "utcEnd": None}
        return {
            **always,
            "countdown": None,
            "action": "Always Open",
            "secondsRemaining": None,
        }, None
    windows = _windows(instrument, now)
    current = next(((s, e) for s, e in windows if s <= now < e), None)
    later = [(s, e) for s, e in windows if s > now]
    if current is not None:
        label, action, (start, end), until = "Current Session", "Until Close", current, current[1]
    else:
        start, end = later[0]
        label, action, until = "Next Session", "Until Open", start
        later = later[1:]
    left = (until - now).total_seconds()
    session = {
        "label": label,
        "utcStart": iso(start),
        "utcEnd": iso(end),
        "countdown": _countdown(left),
        "action": action,
        "secondsRemaining": round(left, 3),
    }
    upcoming = {"utcStart": iso(later[0][0]), "utcEnd": iso(later[0][1])} if later else None
    return session, upcoming


@operation("GetMarketInfo", InfoArgs)
async def get_market_info(ctx: Ctx, args: InfoArgs) -> dict[str, Any]:
    instrument = await instrument_of(ctx, args.instrument)
    now = ctx.container.clock.now().astimezone(UTC)
    open_now = is_open(ctx, instrument, now)
    # A venue that ignores trading hours trades around the clock; the sessions stay listed.
    ignored = ctx.container.venue.config.sessions == "ignore"
    session, upcoming = _sessions(replace(instrument, sessions=()) if ignored else instrument, now)
    return {
        "timestamp": iso(now),
        "instrument": instrument.symbol,
        "description": instrument.description,
        "type": instrument_type(instrument.symbol),
        "timeZone": "UTC",
        "status": {"isOpen": open_now, "state": "Open" if open_now else "Closed"},
        "session": session,
        "upcoming": upcoming,
        "sessions": [
            {
                "days": [_DAYS[d] for d in sorted(s.days)],
                "start": s.start.strftime("%H:%M"),
                "end": s.end.strftime("%H:%M"),
            }
            for s in instrument.sessions
        ],
        "bounds": {
            "tickSize": num(instrument.tick_size),
            "pointValue": num(instrument.point_value),
            "tickValue": num(instrument.tick_size * instrument.point_value),
            "digits": instrument.digits,
            "lotMin": num(instrument.lot_min),
            "lotMax": num(instrument.lot_max),
            "lotStep": num(instrument.lot_step),
            "currency": instrument.currency,
        },
        "success": True,
    }


# -- bars ------------------------------------------------------------------------------------


def _periods(unit: int) -> list[int]:
    """The periods of ``unit``-minute bars that divide a day."""
    return [n for n in range(1, MINUTES_PER_DAY // unit + 1) if MINUTES_PER_DAY % (unit * n) == 0]


def _period_rules() -> list[JsonValue]:
    """The periods each periodType takes (``_period_minutes``' check), as schema rules; the
    default periodType is minute."""

    def periods(unit: int) -> dict[str, Any]:
        return {"properties": {"period": {"enum": _periods(unit)}}}

    rules: list[JsonValue] = [
        when("periodType", {"pattern": any_case(name)}, periods(unit))
        for name, unit in _PERIOD_MINUTES.items()
    ]
    return [*rules, {"if": {"not": {"required": ["periodType"]}}, "then": periods(1)}]


class BarsArgs(Args):
    # "from must be before to" compares two fields (or from and now): no schema says it.
    model_config = ConfigDict(json_schema_extra={"allOf": _period_rules()})

    instrument: str = Field(min_length=1, max_length=32, examples=["ES 12-26"])
    periodType: str = Field(
        default="minute",
        description="minute, hour or day",
        json_schema_extra={"pattern": any_case(*_PERIOD_MINUTES)},
    )
    period: int = Field(default=1, ge=1, le=MINUTES_PER_DAY, description="Bars of N periods")
    daysBack: int = Field(default=1, ge=1, le=3660, description="History when from is absent")
    from_: datetime | None = Field(default=None, alias="from", description="Start (UTC)")
    to: datetime | None = Field(default=None, description="End (UTC), default now")
    limit: int = Field(default=MAX_BARS, ge=1, le=MAX_BARS, description="The newest N bars")


def _utc(at: datetime) -> datetime:
    """A time as UTC; one without a zone is read as UTC (CrossTrade's convention)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _period_minutes(period_type: str, period: int) -> int:
    unit = _PERIOD_MINUTES.get(period_type.strip().lower())
    if unit is None:
        raise InvalidInput(f"periodType must be one of {', '.join(_PERIOD_MINUTES)}")
    minutes = unit * period
    if minutes > MINUTES_PER_DAY or MINUTES_PER_DAY % minutes:
        raise InvalidInput(
            f"{period} {period_type} bars do not divide a day: use a period that does "
            "(minute: 1, 5, 15, 30, 60...; hour: 1, 2, 4, 6, 12; day: 1)"
        )
    return minutes


@operation("GetBars", BarsArgs)
async def get_bars(ctx: Ctx, args: BarsArgs) -> dict[str, Any]:
    minutes = _period_minutes(args.periodType, args.period)
    symbol = await ctx.symbol(args.instrument)
    end = _utc(args.to) if args.to is not None else ctx.container.clock.now().astimezone(UTC)
    start = _utc(args.from_) if args.from_ is not None else end - timedelta(days=args.daysBack)
    if start >= end:
        raise InvalidInput("from must be before to")
    if ctx.container.market.instrument(symbol) is None:
        raise InstrumentNotFound(f"no market data for instrument '{symbol}'")
    bars = await ctx.container.market.bars(symbol, minutes, start, end, args.limit)
    return {
        "instrument": symbol,
        "periodType": args.periodType.strip().lower(),
        "period": args.period,
        "count": len(bars),
        "bars": [
            {
                "time": iso(b.start),
                "epoch": epoch_ms(b.start),
                "open": num(b.open),
                "high": num(b.high),
                "low": num(b.low),
                "close": num(b.close),
                "volume": num(b.volume),
            }
            for b in bars
        ],
        "success": True,
    }


# -- routes ----------------------------------------------------------------------------------


_INFO_EXAMPLE: dict[str, Any] = {
    "timestamp": "2026-11-20T15:30:00Z",
    "instrument": "ES 12-26",
    "description": "E-mini S&P 500",
    "type": "Future",
    "timeZone": "UTC",
    "status": {"isOpen": True, "state": "Open"},
    "session": {
        "label": "Current Session",
        "utcStart": "2026-11-19T23:00:00Z",
        "utcEnd": "2026-11-20T22:00:00Z",
        "countdown": "06:30:00",
        "action": "Until Close",
        "secondsRemaining": 23400.0,
    },
    "upcoming": {
        "utcStart": "2026-11-20T23:00:00Z",
        "utcEnd": "2026-11-21T22:00:00Z",
    },
    "sessions": [
        {
            "days": ["Sun", "Mon", "Tue", "Wed", "Thu"],
            "start": "23:00",
            "end": "22:00",
        }
    ],
    "bounds": {
        "tickSize": 0.25,
        "pointValue": 50,
        "tickValue": 12.5,
        "digits": 2,
        "lotMin": 1,
        "lotMax": 500,
        "lotStep": 1,
        "currency": "USD",
    },
    "success": True,
}

_QUOTE_EXAMPLE: dict[str, Any] = {
    "instrument": "ES 12-26",
    "description": "E-mini S&P 500",
    "type": "Future",
    "exchange": "Globex",
    "tradingHours": "CME US Index Futures ETH",
    "expiration": "2026-12-01",
    "bid": 6000.0,
    "ask": 6000.25,
    "last": 6000.25,
    "open": 5990.5,
    "high": 6010.0,
    "low": 5985.25,
    "close": 5992.0,
    "volume": 1250,
    "bidSize": None,
    "askSize": None,
    "tickSize": 0.25,
    "pointValue": 50,
    "tickValue": 12.5,
    "currency": "USD",
    "quoteTime": "2026-11-20T15:30:00Z",
    "quoteTimeUtc": "2026-11-20 15:30:00",
    "epoch": 1795707000,
    "isMarketOpen": True,
    "success": True,
}


@router.get(
    "/market/quote",
    summary="Quotes of one or more instruments",
    description=(
        "The latest quote of an instrument, or of each in a comma-separated list (then the "
        "answer is a JSON array, in the order asked). open/high/low/volume are of the UTC "
        "day, close is the previous day's; last is the last trade, or the mid where the "
        "source prints no trades. epoch is in seconds. An instrument not quoted yet has "
        "null prices. type (NT8's instrument type), exchange and tradingHours (NT8's "
        "trading-hours template) are NT8's names for the instrument; expiration is a dated "
        "future's contract month (YYYY-MM-01, as NT8 dates it), null for an instrument "
        "without one. WebSocket: GetQuote with {instrument}."
    ),
    openapi_extra=query_parameters_of(MarketQuoteArgs),
    responses=responses(QuoteAnswer | list[QuoteOut], _QUOTE_EXAMPLE, *_ERRORS),
)
async def quote_route(request: Request, ctx: CallerDep) -> Response:
    query = query_args(request, MarketQuoteArgs)
    return reply(await run(ctx, "GetQuote", QuoteArgs(instrument=query.instrument)))


@router.get(
    "/market/info",
    summary="An instrument's session and trading bounds",
    description=(
        "Whether the market is open now (within a session and not closed by the operator), "
        "the current session (or the next one when closed) with a countdown, the one after, "
        "the weekly sessions (UTC; none means around the clock), and the bounds an order must "
        "keep: tick size, lot min/max/step."
    ),
    openapi_extra=query_parameters_of(InfoArgs),
    responses=responses(MarketInfoAnswer, _INFO_EXAMPLE, *_ERRORS),
)
async def info_route(request: Request, ctx: CallerDep) -> Response:
    return reply(await run(ctx, "GetMarketInfo", query_args(request, InfoArgs)))


@router.post(
    "/market/bars",
    summary="Historical OHLCV bars",
    description=(
        "Bars of period times periodType (minute, hour or day; the period must divide a day) "
        "starting in [from, to), aligned to UTC midnight, oldest first; the newest limit of "
        "them (default and most 5000). Without from, the daysBack days (default 1) before to "
        "(default now). Times without a zone are UTC; epoch is in milliseconds. Built from "
        "the quotes the server has seen: a mid-only source has zero volume."
    ),
    openapi_extra=request_body(
        BarsArgs,
        {
            "instrument": "ES 12-26",
            "periodType": "minute",
            "period": 5,
            "from": "2026-11-20T14:00:00Z",
            "to": "2026-11-20T15:00:00Z",
            "limit": 3,
        },
        (),
    ),
    responses=responses(
        BarsAnswer,
        {
            "instrument": "ES 12-26",
            "periodType": "minute",
            "period": 5,
            "count": 1,
            "bars": [
                {
                    "time": "2026-11-20T14:55:00Z",
                    "epoch": 1795704900000,
                    "open": 6000.0,
                    "high": 6001.25,
                    "low": 5999.5,
                    "close": 6001.0,
                    "volume": 12,
                }
            ],
            "success": True,
        },
        *_ERRORS,
    ),
)
async def bars_route(request: Request, ctx: CallerDep) -> Response:
    return reply(await run(ctx, "GetBars", await body_args(request, BarsArgs)))
