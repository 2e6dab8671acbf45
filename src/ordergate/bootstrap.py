"""The one composition root: settings in, a wired ordergate out.

The server (``api/app.py``) builds its pieces here with ``bootstrap``; the administration
commands, which never trade, with ``administration``; tests hand in their own pieces (a
venue with a given latency, a manual clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ordergate.auth.access import AccessWatch
from ordergate.auth.jwt import JwtCodec
from ordergate.auth.secret import load_or_create_secret
from ordergate.auth.signin import SignIn, Throttle
from ordergate.auth.users import UserService
from ordergate.domain.clock import Clock, SystemClock
from ordergate.engine.bus import EventBus
from ordergate.engine.engine import OrderEngine
from ordergate.engine.riskdesk import RiskDesk
from ordergate.logs import log_order_events, order_log_wanted
from ordergate.metrics import Metrics
from ordergate.settings import Settings, venue_config
from ordergate.store import SqlRecords, SqlStore, create_engine, open_journal, upgrade
from ordergate.store.alerts import SqlAlertHistory
from ordergate.store.bars import SqlBarRepository
from ordergate.store.journal_pg import PgJournal
from ordergate.store.journal_sqlite import SqliteJournal
from ordergate.store.risk import SqlRisk
from ordergate.store.tables import fills
from ordergate.venue.base import Quote
from ordergate.venue.feeds import MarketSource, SyntheticFeed
from ordergate.venue.marketdata import MarketData
from ordergate.venue.opening import REFERENCE_PRICES, opening_quote
from ordergate.venue.replay import CsvReplay
from ordergate.venue.sim import SimVenue

if TYPE_CHECKING:
    from ordergate.api.crosstrade.alert_feed import AlertFeed
    from ordergate.api.crosstrade.webhook_pending import PendingExits

__all__ = [
    "Administration",
    "Container",
    "administration",
    "bootstrap",
    "close_administration",
    "opening_quote",
    "shutdown",
]

log = logging.getLogger(__name__)

#: How long shutdown waits for the engine's batch in flight to be journaled.
_SHUTDOWN_WAIT_S = 10.0


@dataclass(slots=True)
class Administration:
    """What the administration commands need: the database, users and reference data."""

    settings: Settings
    db: AsyncEngine
    store: SqlStore
    users: UserService
    clock: Clock


@dataclass(slots=True)
class Container:
    """Everything one ordergate server runs on, built once by ``bootstrap``."""

    settings: Settings
    db: AsyncEngine
    store: SqlStore
    journal: SqliteJournal | PgJournal
    venue: SimVenue
    engine: OrderEngine
    bus: EventBus
    users: UserService
    jwt: JwtCodec
    signin: SignIn
    clock: Clock
    market: MarketData
    #: notices users and accounts disabled or enabled in any process
    access: AccessWatch
    #: the CrossTrade webhook alerts received, and their feed to the WebSocket sessions
    alert_history: SqlAlertHistory
    alerts: AlertFeed
    #: what webhook alerts left to do after their entries (brackets, cancel_after)
    pending_exits: PendingExits = field(init=False)
    #: account monitors, kill switches, dead man's switches
    risk: RiskDesk = field(init=False)
    #: the Prometheus metrics of this server (GET /metrics)
    metrics: Metrics = field(default_factory=Metrics)
    #: the running market source (``bootstrap(feed=True)`` with a source configured)
    feed: asyncio.Task[None] | None = None
    #: the running access watch
    watching: asyncio.Task[None] | None = None
    #: the task logging each order event (while ``ordergate.orders`` logs at INFO)
    order_log: asyncio.Task[None] | None = None


async def administration(settings: Settings, *, migrate: bool = True) -> Administration:
    """The database (migrated unless ``migrate`` is False) and the user service, without an
    engine: nothing trades, and a server may run on the same database meanwhile."""
    db = create_engine(settings.database_url)
    try:
        if migrate:
            await upgrade(db)
        store = SqlStore(db)
        clock = SystemClock()
        users = UserService(store, clock=clock, cache_seconds=settings.auth_cache_s)
    except BaseException:
        await db.dispose()
        raise
    return Administration(settings, db, store, users, clock)


async def close_administration(admin: Administration) -> None:
    await admin.db.dispose()


async def _last_prices(store: SqlStore, market: MarketData) -> dict[str, Decimal]:
    """Where each instrument's market stopped: the newer of its last fill and the close of
    its newest stored 1-minute bar (a fill in that bar's minute wins)."""
    newest = select(func.max(fills.c.id)).group_by(fills.c.symbol).scalar_subquery()
    stmt = select(fills.c.symbol, fills.c.price, fills.c.at).where(fills.c.id.in_(newest))
    async with store.transaction(readonly=True) as tx:
        rows = await tx.connection.execute(stmt)
        last: dict[str, tuple[Decimal, datetime]] = {r.symbol: (r.price, r.at) for r in rows}
    prices = {symbol: price for symbol, (price, _) in last.items()}
    if not await market.any_stored_bars():
        return prices
    for instrument in market.instruments():
        bars = await market.bars(instrument.symbol, limit=1)
        fill = last.get(instrument.symbol)
        if bars and (fill is None or bars[-1].start > fill[1]):
            prices[instrument.symbol] = bars[-1].close
    return prices


async def _open_market(
    store: SqlStore, engine: OrderEngine, venue: SimVenue, market: MarketData
) -> None:
    """Give the venue and the market the instruments, and each a first quote through the
    market, so market orders fill and margin can be measured from the start: where its
    market stopped (``_last_prices``), else at the demo reference price; an instrument with
    neither stays unquoted until a quote arrives."""
    instruments = engine.state.instruments()
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
            sessions=settings.sim_sessions,
        )
    if settings.market_source == "csv" and settings.market_csv is not None:
        return CsvReplay(
            settings.market_csv,
            speed=settings.market_replay_speed,
            clock=market.clock,
            sessions=settings.sim_sessions,
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
    feed: bool = False,
) -> Container:
    """Build the server from ``settings``: database (migrated unless ``migrate`` is False),
    JWT secret, the journal (its writer's lock: ``JournalLocked`` if another server holds
    it), the engine with the journal's snapshot, market data and venue with instruments and
    opening quotes, the open orders handed back to the venue, users.

    With ``feed`` (the server only), the market source of ``settings`` starts ticking;
    tests get a market that moves only when they push quotes.
    """
    db = create_engine(settings.database_url)
    journal: SqliteJournal | PgJournal | None = None
    container: Container | None = None
    try:
        if migrate:
            await upgrade(db)
        store = SqlStore(db)
        configured = None if settings.secret is None else settings.secret.get_secret_value()
        secret = await load_or_create_secret(store, configured)
        journal = await open_journal(settings.database_url)
        clock = clock or SystemClock()
        venue = venue or SimVenue(config=venue_config(settings), clock=clock)
        bus = EventBus(clock=clock)
        engine = OrderEngine(journal, venue, SqlRecords(db), clock=clock, sink=bus)
        await engine.load()
        market = MarketData(bars=SqlBarRepository(store), sink=bus, clock=clock)
        # Quotes before recovery: restored orders must meet a market, not an empty book.
        await _open_market(store, engine, venue, market)
        source = _market_source(settings, market) if feed else None
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
        access = AccessWatch(users, engine.set_disabled, settings.access_check_s)
        await access.check()
        # Imported here: the CrossTrade package imports this module (Container).
        from ordergate.api.crosstrade.alert_feed import AlertFeed
        from ordergate.api.crosstrade.webhook_pending import PendingExits

        container = Container(
            settings=settings,
            db=db,
            store=store,
            journal=journal,
            venue=venue,
            engine=engine,
            bus=bus,
            users=users,
            jwt=jwt,
            signin=signin,
            clock=clock,
            market=market,
            access=access,
            alert_history=SqlAlertHistory(store),
            alerts=AlertFeed(),
        )
        container.watching = asyncio.get_running_loop().create_task(
            access.run(), name="access-watch"
        )
        container.metrics.watch(engine)
        if order_log_wanted():
            container.order_log = log_order_events(bus)
        container.pending_exits = PendingExits(container)
        restored = await engine.recover()
        log.info("recovered %d open orders", restored)
        # A delayed alert waits in the process that took it: one still Pending now was never
        # run, and says so in the Alert History rather than stay Pending for ever.
        interrupted = await container.alert_history.fail_pending(
            "DELAY_INTERRUPTED",
            "the server stopped before the alert's delay ended: it was not run; send it again",
        )
        if interrupted:
            log.warning("%d delayed alert(s) interrupted by the restart", interrupted)
        await container.pending_exits.start()
        container.risk = RiskDesk(
            engine,
            SqlRisk(store),
            commission=settings.commission_per_contract,
            on_firing=container.metrics.monitor_fired,
        )
        await container.risk.load()
        market.subscribe(container.risk.on_quote)
        if source is not None:
            container.feed = asyncio.get_running_loop().create_task(
                _run_source(source, market), name="market-source"
            )
    except BaseException:
        for task in (container.watching, container.order_log) if container else ():
            if task is not None:
                task.cancel()
        if journal is not None:
            await journal.close()
        await db.dispose()
        raise
    return container


async def shutdown(container: Container) -> None:
    """Stop the market source, save the bars, stop the venue, let the engine journal the
    batch it is writing, and close the journal (its lock goes) and the database. Orders
    keep their journaled state; the next start recovers them."""
    for task in (container.feed, container.watching, container.order_log):
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    await container.market.close()
    container.bus.close()  # the event streams end before the engine stops
    container.alerts.close()
    container.pending_exits.close()
    await container.risk.close()
    await container.venue.close()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(container.engine.writer.idle(), _SHUTDOWN_WAIT_S)
    await container.journal.close()
    await container.db.dispose()
