"""Builders shared by the tests: instruments, users, accounts and a ready engine."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, text

from ordergate.domain.accounts import Account, PositionMode
from ordergate.domain.clock import Clock, ManualClock
from ordergate.domain.commands import OrderRef, PlaceOrder
from ordergate.domain.ids import Login, UserId
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.positions import PositionTicket
from ordergate.domain.principal import Principal, Role
from ordergate.engine import Journal, OrderEngine, queries
from ordergate.store import SqlRecords, SqlStore, open_journal
from ordergate.store.journal_pg import PgJournal
from ordergate.store.journal_sqlite import SqliteJournal
from ordergate.store.tables import metadata, users
from ordergate.venue.base import Quote
from ordergate.venue.sim import SimVenue

D = Decimal
NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def es(symbol: str = "ES 12-26") -> Instrument:
    return Instrument(
        symbol=symbol,
        tick_size=D("0.25"),
        point_value=D("50"),
        digits=2,
        lot_min=D("1"),
        lot_max=D("500"),
        lot_step=D("1"),
        description="E-mini S&P 500",
    )


def eurusd() -> Instrument:
    return Instrument(
        symbol="EURUSD",
        tick_size=D("0.00001"),
        point_value=D("100000"),
        digits=5,
        lot_min=D("0.01"),
        lot_max=D("100"),
        lot_step=D("0.01"),
    )


def account(login: int = 1001, name: str = "Sim101", owner: int = 1, **kw: object) -> Account:
    values: dict[str, object] = {
        "group": "demo",
        "currency": "USD",
        "balance": D("1000000"),
        "leverage": 100,
        "mode": PositionMode.NETTING,
        "enabled": True,
    }
    values.update(kw)
    return Account(login=Login(login), name=name, owner_id=UserId(owner), **values)  # type: ignore[arg-type]


def trader(user_id: int = 1, name: str = "demo") -> Principal:
    return Principal(user_id=UserId(user_id), role=Role.TRADER, name=name)


def limit(
    side: Side = Side.BUY,
    price: str = "5000",
    qty: str = "1",
    symbol: str = "ES 12-26",
    account_ref: int | str = 1001,
    **kw: object,
) -> PlaceOrder:
    kw.setdefault("tif", TimeInForce.GTC)
    return PlaceOrder(
        account=account_ref,
        symbol=symbol,
        side=side,
        type=OrderType.LIMIT,
        quantity=D(qty),
        limit_price=D(price),
        **kw,  # type: ignore[arg-type]
    )


def market(
    side: Side = Side.BUY,
    qty: str = "1",
    symbol: str = "ES 12-26",
    account_ref: int | str = 1001,
    **kw: object,
) -> PlaceOrder:
    return PlaceOrder(
        account=account_ref,
        symbol=symbol,
        side=side,
        type=OrderType.MARKET,
        quantity=D(qty),
        **kw,  # type: ignore[arg-type]
    )


def new_order(**kw: object) -> Order:
    values: dict[str, object] = {
        "id": "a" * 32,
        "ticket": None,
        "login": 1001,
        "symbol": "ES 12-26",
        "side": Side.BUY,
        "type": OrderType.LIMIT,
        "quantity": D("2"),
        "limit_price": D("5000"),
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(kw)
    return Order(**values)  # type: ignore[arg-type]


async def add_user(store: SqlStore, name: str, role: str = "trader") -> int:
    """A bare user row; the database assigns its id (so sequences stay in step)."""
    async with store.engine.begin() as conn:
        result = await conn.execute(
            insert(users)
            .values(name=name, role=role, enabled=True, created_at=NOW)
            .returning(users.c.id)
        )
        return int(result.scalar_one())


async def truncate_all(store: SqlStore) -> None:
    """Empty every table of a PostgreSQL database and restart its sequences."""
    names = ", ".join(t.name for t in metadata.sorted_tables)
    async with store.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


_OPEN_VENUES: list[SimVenue] = []
_OPEN_JOURNALS: list[SqliteJournal | PgJournal] = []


async def close_venues() -> None:
    """Stop every venue and close every journal the test built, before its database goes
    away (conftest)."""
    while _OPEN_VENUES:
        await _OPEN_VENUES.pop().close()
    while _OPEN_JOURNALS:
        await _OPEN_JOURNALS.pop().close()


def db_url_of(store: SqlStore) -> str:
    return store.engine.url.render_as_string(hide_password=False)


async def new_journal(store: SqlStore) -> SqliteJournal | PgJournal:
    """The journal of ``store``'s database, open (closed with the test's venues)."""
    journal = await open_journal(db_url_of(store))
    _OPEN_JOURNALS.append(journal)
    return journal


def new_venue(clock: Clock, **kw: Any) -> SimVenue:
    """A sim venue on ``clock`` (closed with the test), quoting ES, NQ and EURUSD."""
    venue = SimVenue(clock=clock, **kw)
    _OPEN_VENUES.append(venue)
    venue.set_quote("ES 12-26", D("5000.00"), D("5000.25"))
    venue.set_quote("NQ 12-26", D("18000.00"), D("18000.25"))
    venue.set_quote("EURUSD", D("1.10000"), D("1.10002"))
    return venue


async def new_engine(
    store: SqlStore,
    venue: SimVenue,
    *,
    clock: Clock | None = None,
    load: bool = True,
    journal: Journal | None = None,
) -> OrderEngine:
    """An engine on ``store``'s database (its journal closed with the test's venues)."""
    if journal is None:
        journal = await new_journal(store)
    engine = OrderEngine(journal, venue, SqlRecords(store.engine), clock=clock)
    if load:
        await engine.load()
    return engine


@dataclass
class World:
    store: SqlStore
    venue: SimVenue
    engine: OrderEngine
    me: Principal
    admin: Principal
    clock: ManualClock

    def quote(self, symbol: str, bid: str, ask: str, size: str | None = None) -> None:
        """A market quote, as the market data would fan it out: to the venue and the engine."""
        q = Quote(
            symbol,
            D(bid),
            D(ask),
            self.engine.clock.now(),
            bid_size=None if size is None else D(size),
            ask_size=None if size is None else D(size),
        )
        self.venue.on_quote(q)
        self.engine.on_quote(q)

    async def advance(self, seconds: float = 0) -> None:
        """Move the clock by ``seconds``, then let the venue answer what fell due and the
        engine journal it."""
        self.clock.advance(timedelta(seconds=seconds))
        await self.engine.settle()

    async def order(self, ref: OrderRef, login: int = 1001) -> Order:
        """Order ``ref`` of account ``login`` as the edge reads it (memory, or the journal for
        what memory no longer holds)."""
        return await queries.get_order(self.engine, self.admin, login, ref)

    async def status(self, order: Order) -> OrderStatus:
        return (await self.order(order.key, order.login)).status

    def open_tickets(self, login: int = 1001) -> list[PositionTicket]:
        return self.engine.state.open_tickets(Login(login))

    async def closed_tickets(self, login: int = 1001) -> list[PositionTicket]:
        return await self.engine.records.closed_tickets(Login(login))

    async def until(self, check: Callable[[], Awaitable[bool]], commits: int = 100) -> None:
        """Wait, commit by commit, until ``await check()`` holds (what ``settle`` does not
        wait for: a venue expiry the clock made due). The timeout only turns a missing
        commit into a failure instead of a hang."""
        for _ in range(commits):
            if await check():
                return
            async with asyncio.timeout(10):
                await self.engine.writer.next_commit()
        raise AssertionError(f"not true after {commits} commits: {check}")


async def world(
    store: SqlStore,
    *,
    ack_delay_ms: int = 0,
    mode: PositionMode = PositionMode.NETTING,
    clock: ManualClock | None = None,
    instruments: tuple[Instrument, ...] = (),
    journal: Callable[[Journal], Journal] | None = None,
) -> World:
    """Two users, accounts Sim101 (login 1001, user 1) and Other (2002, user 2), ES and EURUSD
    with quotes, on a sim venue with the given acknowledgement delay, engine and venue on a
    manual clock (by default at ``NOW``): time moves only when the test moves it.
    ``journal`` wraps the real journal in a test's own (a slow one, a failing one)."""
    ids = [await add_user(store, "demo"), await add_user(store, "other")]
    assert ids == [1, 2], "world() expects an empty database"
    async with store.transaction() as tx:
        for inst in (es(), es("NQ 12-26"), eurusd(), *instruments):
            await tx.accounts.add_instrument(inst)
        await tx.accounts.add(account(mode=mode))
        await tx.accounts.add(account(2002, "Other", owner=2, group="other"))
        await tx.commit()
    clock = clock or ManualClock(NOW)
    venue = new_venue(clock, ack_delay_ms=ack_delay_ms)
    real = await new_journal(store)
    engine = await new_engine(
        store, venue, clock=clock, journal=real if journal is None else journal(real)
    )
    return World(
        store,
        venue,
        engine,
        trader(),
        Principal(user_id=None, role=Role.ADMIN, name="root"),
        clock,
    )


async def restart(
    w: World, *, quotes: dict[str, tuple[str, str]] | None = None, recover: bool = True
) -> World:
    """The process dies and starts again on the same database: the venue and the journal
    close, a new engine loads the journal's snapshot on a fresh venue (quoting as the old
    one did, or ``quotes``) and, with ``recover``, hands its open orders back to the venue
    and sends the pending cancels again."""
    await w.venue.close()
    await w.engine.writer.idle()
    journal = w.engine.writer.journal
    if journal in _OPEN_JOURNALS:
        _OPEN_JOURNALS.remove(journal)  # type: ignore[arg-type]
    await journal.close()
    clock = w.clock
    venue = new_venue(clock)
    for symbol in ("ES 12-26", "NQ 12-26", "EURUSD"):
        quote = w.venue.quote(symbol)
        if quote is not None:
            venue.set_quote(symbol, quote.bid, quote.ask)
    for symbol, (bid, ask) in (quotes or {}).items():
        venue.set_quote(symbol, D(bid), D(ask))
    engine = await new_engine(w.store, venue, clock=clock)
    venue.load_instruments(engine.state.instruments())
    if recover:
        await engine.recover()
    return World(w.store, venue, engine, w.me, w.admin, clock)


def memory(engine: OrderEngine) -> dict[str, object]:
    """What the engine holds per account: open orders, open tickets, exposure, balance and
    realized P&L (copies: later commands do not change them)."""
    state = engine.state
    accounts = state.accounts()
    return {
        "open_orders": {
            a.login: [copy.copy(o) for o in state.open_orders(a.login)] for a in accounts
        },
        "open_tickets": {
            a.login: [copy.copy(t) for t in state.open_tickets(a.login)] for a in accounts
        },
        "exposure": {a.login: state.exposure(a.login) for a in accounts},
        "balances": {a.login: a.balance for a in accounts},
        "realized": {a.login: state.realized(a.login) for a in accounts},
    }


def recomputed_exposure(engine: OrderEngine, login: int) -> dict[str, Decimal]:
    """Per symbol: quantity - filled over the account's open orders plus the quantity of its
    open tickets, summed from scratch."""
    totals: dict[str, Decimal] = {}
    for o in engine.state.open_orders(Login(login)):
        totals[o.symbol] = totals.get(o.symbol, D(0)) + o.quantity - o.filled
    for t in engine.state.open_tickets(Login(login)):
        totals[t.symbol] = totals.get(t.symbol, D(0)) + t.quantity
    return {s: q for s, q in totals.items() if q}


async def events_of(store: SqlStore, ticket: int) -> list[tuple[str | None, str, str]]:
    """(from, to, actor) of an order's audit trail, oldest first."""
    from sqlalchemy import select

    from ordergate.store.tables import order_events as ev

    async with store.engine.connect() as conn:
        rows = await conn.execute(
            select(ev.c.from_status, ev.c.to_status, ev.c.actor)
            .where(ev.c.order_ticket == ticket)
            .order_by(ev.c.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def snapshot(store: SqlStore) -> dict[str, object]:
    """Everything a refused request must leave as it was: row counts and every order's state."""
    from sqlalchemy import func, select

    from ordergate.store.tables import accounts, fills, order_events, orders, positions

    async with store.engine.connect() as conn:
        counts = {
            t.name: (await conn.execute(select(func.count()).select_from(t))).scalar_one()
            for t in (orders, order_events, fills, positions, accounts)
        }
        states = (
            await conn.execute(
                select(
                    orders.c.ticket,
                    orders.c.status,
                    orders.c.version,
                    orders.c.quantity,
                    orders.c.limit_price,
                ).order_by(orders.c.ticket)
            )
        ).all()
        tickets = (
            await conn.execute(
                select(
                    positions.c.ticket,
                    positions.c.quantity,
                    positions.c.stop_loss,
                    positions.c.take_profit,
                ).order_by(positions.c.ticket)
            )
        ).all()
        balances = (
            await conn.execute(
                select(accounts.c.login, accounts.c.balance).order_by(accounts.c.login)
            )
        ).all()
    return {
        "counts": counts,
        "orders": [tuple(r) for r in states],
        "positions": [tuple(r) for r in tickets],
        "balances": [tuple(r) for r in balances],
    }


async def eventually(check, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until ``await check()`` is true (a venue timer, such as an expiry, has fired)."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check}")
        await asyncio.sleep(0.01)
