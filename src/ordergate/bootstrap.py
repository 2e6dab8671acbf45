"""The one composition root: settings in, a wired ordergate out.

The server (``api/app.py``) and every CLI command build their pieces here; tests hand in
their own (a venue with a given latency, a fixed clock).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ordergate.auth.jwt import JwtCodec
from ordergate.auth.secret import load_or_create_secret
from ordergate.auth.users import UserService
from ordergate.demo import REFERENCE_PRICES
from ordergate.domain.instruments import Instrument
from ordergate.engine.ports import Clock, SystemClock
from ordergate.engine.service import OrderEngine
from ordergate.settings import Settings
from ordergate.store import SqlStore, create_engine, upgrade
from ordergate.store.tables import fills
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
    users: UserService
    jwt: JwtCodec
    clock: Clock


async def _last_fill_prices(store: SqlStore) -> dict[str, Decimal]:
    """The price of the newest fill of each symbol that ever traded."""
    newest = select(func.max(fills.c.id)).group_by(fills.c.symbol).scalar_subquery()
    stmt = select(fills.c.symbol, fills.c.price).where(fills.c.id.in_(newest))
    async with store.transaction(readonly=True) as tx:
        rows = await tx.connection.execute(stmt)
        return {row.symbol: row.price for row in rows}


def opening_quote(instrument: Instrument, price: Decimal) -> tuple[Decimal, Decimal]:
    """A one-tick-wide quote with its bid at ``price`` (snapped down to the tick grid)."""
    tick = instrument.tick_size
    bid = max((price // tick) * tick, tick)
    return bid, bid + tick


async def _open_market(store: SqlStore, venue: SimVenue) -> None:
    """Give the venue the instruments and a first quote each, so market orders fill and
    margin can be measured from the start: at the last fill price, else at the demo
    reference price; an instrument with neither stays unquoted until a quote arrives."""
    async with store.transaction(readonly=True) as tx:
        instruments = await tx.accounts.instruments()
    venue.load_instruments(instruments)
    last = await _last_fill_prices(store)
    for instrument in instruments:
        price = last.get(instrument.symbol, REFERENCE_PRICES.get(instrument.symbol))
        if price is not None and venue.quote(instrument.symbol) is None:
            venue.set_quote(instrument.symbol, *opening_quote(instrument, price))


async def bootstrap(
    settings: Settings,
    *,
    venue: SimVenue | None = None,
    clock: Clock | None = None,
    migrate: bool = True,
    recover: bool = True,
) -> Container:
    """Build ordergate from ``settings``: database (migrated unless ``migrate`` is False),
    JWT secret, venue with instruments and opening quotes, engine, users.

    With ``recover`` (the server), the open orders are handed back to the venue; the admin
    CLI commands pass False, so that they never start trading.
    """
    db = create_engine(settings.database_url)
    try:
        if migrate:
            await upgrade(db)
        store = SqlStore(db)
        configured = None if settings.secret is None else settings.secret.get_secret_value()
        secret = await load_or_create_secret(store, configured)
        clock = clock or SystemClock()
        venue = venue or SimVenue(ack_delay_ms=settings.sim_ack_delay_ms)
        # Quotes before recovery: restored orders must meet a market, not an empty book.
        await _open_market(store, venue)
        engine = OrderEngine(store, venue, clock=clock)
        container = Container(
            settings=settings,
            db=db,
            store=store,
            venue=venue,
            engine=engine,
            users=UserService(store, clock=clock),
            jwt=JwtCodec(secret, ttl=timedelta(minutes=settings.jwt_ttl_minutes), clock=clock),
            clock=clock,
        )
        if recover:
            restored = await engine.recover()
            log.info("recovered %d open orders", restored)
    except BaseException:
        await db.dispose()
        raise
    return container


async def shutdown(container: Container) -> None:
    """Stop the venue and close the database connections. Orders keep their committed
    state; the next start recovers them."""
    await container.venue.close()
    await container.db.dispose()
