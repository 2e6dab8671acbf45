"""ScaleTrade's market reads: ``GET /market`` (every symbol, keyed by name) and ``GET
/market/symbol`` (one symbol's specification and quote), with the trading sessions in
ScaleTrade's weekly form.

Where ScaleTrade is silent or its pages disagree, the decisions (documented on the routes):
lots in hundredths on ``/market`` and in lots on ``/market/symbol`` (as each page shows
them); ``market_state`` 1 open, 0 closed; ``market_reason`` "" when open, else why not;
``sessions`` seven days from Sunday, in UTC (the server's time), quote hours equal to the
trade hours (the simulated venue quotes when it trades); one security group.
"""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Annotated, Any, Final

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from ordergate.api.bodies import num
from ordergate.api.openapi import DocumentedRoute, field_schema
from ordergate.api.scaletrade.answers import ScaleTradeMarket, ScaleTradeSymbol
from ordergate.api.scaletrade.args import read_args
from ordergate.api.scaletrade.docs import query_parameters, responses
from ordergate.api.scaletrade.models import LoginField
from ordergate.api.scaletrade.session import Session, SessionDep
from ordergate.api.scaletrade.wire import ScaleTradeJson, price, unix, volume
from ordergate.domain.instruments import Instrument, TradingSession
from ordergate.engine import queries

__all__ = ["GROUP", "router", "sessions"]

router = APIRouter(tags=["ScaleTrade"], route_class=DocumentedRoute)

#: The one security group: the simulated venue keeps no groups of symbols.
GROUP: Final = "default"
#: ``trade``: full access (MT4's 2); whether the market is open now is ``market_state``.
_TRADE_FULL = 2
_MIDNIGHT = (0, 0)
_DAY_END = (24, 0)  # written 23:59, ScaleTrade's "to the end of the day"
_UNUSED = {"open_hour": 0, "open_min": 0, "close_hour": 0, "close_min": 0}
_AROUND_THE_CLOCK = (TradingSession(frozenset(range(7)), time(0), time(0)),)

Range = tuple[tuple[int, int], tuple[int, int]]


def _ranges(windows: tuple[TradingSession, ...]) -> list[list[Range]]:
    """Each day's trading ranges, index 0 Sunday: a window past midnight is split at it."""
    days: list[list[Range]] = [[] for _ in range(7)]
    for window in windows:
        start, end = (window.start.hour, window.start.minute), (window.end.hour, window.end.minute)
        for weekday in window.days:  # 0 Monday
            day = (weekday + 1) % 7
            if start < end:
                days[day].append((start, end))
                continue
            days[day].append((start, _DAY_END))
            if end != _MIDNIGHT:
                days[(day + 1) % 7].append((_MIDNIGHT, end))
    return [_merged(ranges) for ranges in days]


def _merged(ranges: list[Range]) -> list[Range]:
    out: list[Range] = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _range(r: Range) -> dict[str, int]:
    (oh, om), (ch, cm) = r
    close = (23, 59) if (ch, cm) == _DAY_END else (ch, cm)
    return {"open_hour": oh, "open_min": om, "close_hour": close[0], "close_min": close[1]}


def sessions(instrument: Instrument, ignored: bool = False) -> list[dict[str, Any]]:
    """The weekly sessions as ScaleTrade writes them: seven days from Sunday, each with three
    trade and three quote ranges (unused ones all zeros; more only if a day has more), and
    ``trade_overnight`` 1 when the day's session runs on past midnight into the next day.
    Around the clock with no sessions, or when the venue ignores them (``ignored``)."""
    windows = _AROUND_THE_CLOCK if ignored or not instrument.sessions else instrument.sessions
    days = _ranges(windows)
    out = []
    for day, ranges in enumerate(days):
        follows = days[(day + 1) % 7]
        overnight = int(
            bool(ranges and follows) and ranges[-1][1] == _DAY_END and follows[0][0] == _MIDNIGHT
        )
        trade = [_range(r) for r in ranges] + [dict(_UNUSED)] * max(0, 3 - len(ranges))
        out.append(
            {
                "trade_overnight": overnight,
                "trade": trade,
                "quote_overnight": overnight,
                "quote": [dict(r) for r in trade],
            }
        )
    return out


def _figures(s: Session, instrument: Instrument, now: datetime) -> dict[str, Any]:
    """What both reads show of ``instrument`` now: its quote, spread and market state."""
    venue = s.container.venue
    quote = venue.quote(instrument.symbol)
    bid = None if quote is None else quote.bid
    ask = None if quote is None else quote.ask
    point = Decimal(1).scaleb(-instrument.digits)
    spread = 0 if bid is None or ask is None else int((ask - bid) / point)
    is_open = venue.is_open(instrument, now)
    if is_open:
        reason = ""
    elif venue.config.rules(instrument.symbol).market_closed:
        reason = "MARKET_CLOSED"
    else:
        reason = "SESSION_CLOSED"
    return {
        "symbol": instrument.symbol,
        "description": instrument.description,
        "digits": instrument.digits,
        "bid": price(bid),
        "ask": price(ask),
        "quote_time": unix(None if quote is None else quote.at),
        "point": num(point),
        "spread": spread,
        "contract_size": num(instrument.point_value),
        "currency": instrument.currency,
        "trade": _TRADE_FULL,
        "market_state": int(is_open),
        "market_reason": reason,
        "sessions": sessions(instrument, venue.config.sessions == "ignore"),
    }


class MarketQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: LoginField | None = None


class SymbolQuery(MarketQuery):
    symbol: Annotated[str, Field(min_length=1, max_length=32)]


_LOGIN = (
    "login",
    "Account login (default: a client session's own; a manager or admin names one)",
    field_schema(MarketQuery, "login"),
    False,
)
_WEEKDAY = {"open_hour": 1, "open_min": 0, "close_hour": 21, "close_min": 55}
_SESSION_EXAMPLE = {
    "trade_overnight": 0,
    "trade": [_WEEKDAY, _UNUSED, _UNUSED],
    "quote_overnight": 0,
    "quote": [_WEEKDAY, _UNUSED, _UNUSED],
}
_ASSET_EXAMPLE = {
    "symbol": "EURUSD",
    "description": "Euro / US Dollar",
    "currency": "USD",
    "margin_currency": "USD",
    "quote_currency": "USD",
    "group": GROUP,
    "digits": 5,
    "trade": 2,
    "spread": 2,
    "swap_enable": 0,
    "margin_divider": 1,
    "contract_size": 100000,
    "ask": 1.10002,
    "bid": 1.1,
    "market_state": 1,
    "market_reason": "",
    "lot_min": 1,
    "lot_max": 10000,
    "lot_step": 1,
    "sessions": [_SESSION_EXAMPLE] * 7,
}
_SHARED_DECISIONS = """\
`market_state` 1 open, 0 closed (the SDK's enum says the reverse, ScaleTrade's examples show
1 on an open symbol: the examples win); `market_reason` "" while open, `SESSION_CLOSED`
outside the trading sessions, `MARKET_CLOSED` closed by the venue's operator. `sessions`:
seven entries, index 0 Sunday, times in UTC (the server's time); each day has three `trade`
ranges (all zeros: unused; a range closing 23:59 runs to the end of the day; a day with more
than three windows lists them all) and `quote` ranges equal to them (the venue quotes when it
trades); `trade_overnight` (and `quote_overnight`) 1 when the day's session runs on past
midnight into the next day. A symbol with no sessions, or a venue that ignores them, trades
around the clock. `spread` in points (10^-digits), from the current quote (0 without one)."""


@router.get(
    "/market",
    operation_id="ScaleTradeGetMarketInfo",
    summary="Every symbol's specification and quote",
    description=(
        "`assets`: every symbol, keyed by its name; `groups`: the security groups (one, "
        f'`"{GROUP}"`: the simulated venue keeps no groups). login in the query string or '
        "a JSON body. Lots here are in hundredths, like `volume` (lot_min 1 = 0.01 lot; "
        "`/market/symbol` shows lots: ScaleTrade's two pages differ, each is followed). "
        "`currency`, `margin_currency` and `quote_currency` are the symbol's currency (the "
        "venue values everything in it); `swap_enable` 0 (no swaps), `margin_divider` 1 "
        "(margin is notional / the account's leverage), `trade` 2 (full access), no "
        "commissions.\n\n" + _SHARED_DECISIONS + "\n\n"
        "The operationId is `ScaleTradeGetMarketInfo`, not ScaleTrade's `GetMarketInfo`: "
        "that name is also CrossTrade's operation `GET /v1/api/market/info`, and an "
        "operationId must be unique in the document (and to a generated client)."
    ),
    openapi_extra=query_parameters(_LOGIN),
    responses=responses(
        {"assets": {"EURUSD": _ASSET_EXAMPLE}, "groups": [GROUP]}, 400, model=ScaleTradeMarket
    ),
)
async def market(request: Request, s: SessionDep) -> Response:
    query = await read_args(request, MarketQuery, ints=("login",))
    await s.engine.account(s.principal, s.login(query.login))
    now = s.container.clock.now()
    assets = {}
    for instrument in await queries.instruments(s.engine):
        figures = _figures(s, instrument, now)
        assets[instrument.symbol] = {
            **{k: figures[k] for k in ("symbol", "description", "currency")},
            "margin_currency": instrument.currency,
            "quote_currency": instrument.currency,
            "group": GROUP,
            **{k: figures[k] for k in ("digits", "trade", "spread")},
            "swap_enable": 0,
            "margin_divider": 1,
            **{k: figures[k] for k in ("contract_size", "ask", "bid")},
            **{k: figures[k] for k in ("market_state", "market_reason")},
            "lot_min": volume(instrument.lot_min),
            "lot_max": volume(instrument.lot_max),
            "lot_step": volume(instrument.lot_step),
            "sessions": figures["sessions"],
        }
    return ScaleTradeJson({"assets": assets, "groups": [GROUP]})


_SYMBOL_EXAMPLE = {
    "symbol": "EURUSD",
    "description": "Euro / US Dollar",
    "digits": 5,
    "bid": 1.1,
    "ask": 1.10002,
    "quote_time": 1767600000,
    "point": 0.00001,
    "spread": 2,
    "contract_size": 100000,
    "currency": "USD",
    "trade": 2,
    "market_state": 1,
    "market_reason": "",
    "sessions": [_SESSION_EXAMPLE] * 7,
    "tick_size": 0.00001,
    "tick_value": 1,
    "lot_min": 0.01,
    "lot_max": 100,
    "lot_step": 0.01,
    "trade_allowed": True,
}


@router.get(
    "/market/symbol",
    operation_id="GetMarketSymbol",
    summary="An instrument's specification and quote",
    description=(
        "login and symbol (required) in the query string or a JSON body. Lots in lots "
        "(lot_min 0.01 is volume 1); bid and ask 0 with no quote yet; `tick_value` is what "
        "one tick is worth on one lot, in `currency`; `trade_allowed` is `market_state` as "
        "a boolean. ScaleTrade's page lists more (swap, commission and margin settings, "
        "exchange metadata, `performance`, and `seasons`, whose meaning it does not give): "
        "the simulated venue keeps none of them, so they are left out, not made up.\n\n"
        + _SHARED_DECISIONS
    ),
    # symbol is documented as required in the query: a client sends it there or, as the
    # description says, in a JSON body, which a GET's documentation has no place for.
    openapi_extra=query_parameters(
        _LOGIN,
        (
            "symbol",
            "e.g. EURUSD (required, here or in the body)",
            field_schema(SymbolQuery, "symbol"),
            True,
        ),
    ),
    responses=responses(
        _SYMBOL_EXAMPLE,
        400,
        model=ScaleTradeSymbol,
        extra={404: ("RET_SYMBOL_NOT_FOUND", "No such symbol")},
    ),
)
async def market_symbol(request: Request, s: SessionDep) -> Response:
    query = await read_args(request, SymbolQuery, ints=("login",))
    engine = s.engine
    await engine.account(s.principal, s.login(query.login))
    instrument = await engine.instrument(query.symbol)
    figures = _figures(s, instrument, s.container.clock.now())
    return ScaleTradeJson(
        {
            **figures,
            "tick_size": num(instrument.tick_size),
            "tick_value": num(instrument.tick_size * instrument.point_value),
            "lot_min": num(instrument.lot_min),
            "lot_max": num(instrument.lot_max),
            "lot_step": num(instrument.lot_step),
            "trade_allowed": bool(figures["market_state"]),
        }
    )
