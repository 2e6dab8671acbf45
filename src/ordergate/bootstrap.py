"""The one composition root: settings in, a wired ordergate out.

The server (``api/app.py``) and every CLI command build their pieces here; tests hand in
their own (a venue with a given latency, a fixed clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ordergate.auth.jwt import JwtCodec
from ordergate.auth.secret import load_or_create_secret
from ordergate.auth.signin import SignIn, Throttle
from ordergate.auth.users import UserService
from ordergate.demo import REFERENCE_PRICES
from ordergate.domain.instruments import Instrument
from ordergate.engine.bus import EventBus
from ordergate.engine.ports import Clock, SystemClock
from ordergate.engine.service import OrderEngine
from ordergate.settings import Settings, venue_config
from ordergate.store import SqlStore, create_engine, upgrade
from ordergate.store.bars import SqlBarRepository
from ordergate.store.tables import fills
from ordergate.venue.base import Quote
from ordergate.venue.feeds import MarketSource, SyntheticFeed
from ordergate.venue.marketdata import MarketData
from ordergate.venue.replay import CsvReplay
from ordergate.venue.sim import SimVenue

__all__ = ["Container", "bootstrap", "opening_quote", "shutdown"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Container:
    """Everything one ordergate process runs on, built once by ``bootstrap``."""

    settings: Settings
    db: AsyncEngine
    store: SqlStore
    venue: SimVenue
    engine: OrderEngine
    bus: EventBus
    users: UserService
    jwt: JwtCodec
    signin: SignIn
    clock: Clock
    market: MarketData
    #: the running market source (``bootstrap(feed=True)`` with a source configured)
    feed: asyncio.Task[None] | None = None


async def _last_prices(store: SqlStore, market: MarketData) -> dict[str, Decimal]:
    """Where each instrument's market stopped: the newer of its last fill and the close of
    its newest stored 1-minute bar (a fill in that bar's minute wins)."""
    newest = select(func.max(fills.c.id)).group_by(fills.c.symbol).scalar_subquery()
    stmt = select(fills.c.symbol, fills.c.price, fills.c.at).where(fills.c.id.in_(newest))
    async with store.transaction(readonly=True) as tx:
        rows = await tx.connection.execute(stmt)
        last: dict[str, tuple[Decimal, datetime]] = {r.symbol: (r.price, r.at) for r in rows}
    prices = {symbol: price for symbol, (price, _) in last.items()}
    for instrument in market.instruments():
        bars = await market.bars(instrument.symbol, limit=1)
        fill = last.get(instrument.symbol)
        if bars and (fill is None or bars[-1].start > fill[1]):
            prices[instrument.symbol] = bars[-1].close
    return prices


def opening_quote(instrument: Instrument, price: Decimal) -> tuple[Decimal, Decimal]:
    """A one-tick-wide quote with its bid at ``price`` (snapped down to the tick grid)."""
    tick = instrument.tick_size
    bid = max((price // tick) * tick, tick)
    return bid, bid + tick


async def _open_market(store: SqlStore, venue: SimVenue, market: MarketData) -> None:
    """Give the venue and the market the instruments, and each a first quote through the
    market, so market orders fill and margin can be measured from the start: where its
    market stopped (``_last_prices``), else at the demo reference price; an instrument with
    neither stays unquoted until a quote arrives."""
    async with store.transaction(readonly=True) as tx:
        instruments = await tx.accounts.instruments()
    venue.load_instruments(instruments)
    market.add_instruments(instruments)
    market.subscribe(venue.on_quote)
    await market.restore()
    last = await _last_prices(store, market)
    for instrument in instruments:
        price = last.get(instrument.symbol, REFERENCE_PRICES.get(instrument.symbol))
        if price is not None and venue.quote(instrument.symbol) is None:
            bid, ask = opening_quote(instrument, price)
            market.push(Quote(instrument.symbol, bid, ask, market.clock.now()))
    await market.flush()


def _market_source(settings: Settings, market: MarketData) -> MarketSource | None:
    """The source ``settings`` configure (a CSV file is read and checked here, at start)."""
    if settings.market_source == "synthetic":
        return SyntheticFeed(
            market.instruments(),
            seed=settings.market_seed,
            interval_ms=settings.market_interval_ms,
            clock=market.clock,
        )
    if settings.market_source == "csv" and settings.market_csv is not None:
        return CsvReplay(
            settings.market_csv, speed=settings.market_replay_speed, clock=market.clock
        )
    return None


async def _run_source(source: MarketSource, market: MarketData) -> None:
    try:
        await source.run(market)
    except Exception:  # the server keeps running on the quotes it has (and admin pushes)
        log.exception("market source %s stopped", type(source).__name__)


async def bootstrap(
    settings: Settings,
    *,
    venue: SimVenue | None = None,
    clock: Clock | None = None,
    migrate: bool = True,
    recover: bool = True,
    feed: bool = False,
) -> Container:
    """Build ordergate from ``settings``: database (migrated unless ``migrate`` is False),
    JWT secret, market data and venue with instruments and opening quotes, engine, users.

    With ``recover`` (the server), the open orders are handed back to the venue; the admin
    CLI commands pass False, so that they never start trading. With ``feed`` (the server
    only), the market source of ``settings`` starts ticking; tests and the CLI get a market
    that moves only when they push quotes.
    """
    db = create_engine(settings.database_url)
    try:
        if migrate:
            await upgrade(db)
        store = SqlStore(db, order_cache=settings.order_cache)
        configured = None if settings.secret is None else settings.secret.get_secret_value()
        secret = await load_or_create_secret(store, configured)
        clock = clock or SystemClock()
        venue = venue or SimVenue(config=venue_config(settings), clock=clock)
        bus = EventBus(clock=clock)
        market = MarketData(bars=SqlBarRepository(store), sink=bus, clock=clock)
        # Quotes before recovery: restored orders must meet a market, not an empty book.
        await _open_market(store, venue, market)
        source = _market_source(settings, market) if feed else None
        engine = OrderEngine(store, venue, clock=clock, sink=bus)
        market.subscribe(engine.on_quote)  # stop-loss and take-profit watch every quote
        users = UserService(store, clock=clock, cache_seconds=settings.auth_cache_s)
        jwt = JwtCodec(secret, ttl=timedelta(minutes=settings.jwt_ttl_minutes), clock=clock)
        window = settings.signin_window_s
        signin = SignIn(
            users,
            jwt,
            per_login=Throttle(settings.signin_max_failures, window, clock),
            per_address=Throttle(settings.signin_address_max_failures, window, clock),
        )
        container = Container(
            settings=settings,
            db=db,
            store=store,
            venue=venue,
            engine=engine,
            bus=bus,
            users=users,
            jwt=jwt,
            signin=signin,
            clock=clock,
            market=market,
        )
        if recover:
            restored = await engine.recover()
            log.info("recovered %d open orders", restored)
        if source is not None:
            container.feed = asyncio.get_running_loop().create_task(
                _run_source(source, market), name="market-source"
            )
    except BaseException:
        await db.dispose()
        raise
    return container


async def shutdown(container: Container) -> None:
    """Stop the market source, save the bars, stop the venue and close the database
    connections. Orders keep their committed state; the next start recovers them."""
    if container.feed is not None:
        container.feed.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await container.feed
    await container.market.close()
    container.bus.close()  # the event streams end before the engine stops
    await container.venue.close()
    await container.db.dispose()
