"""Builders shared by the tests: instruments, users, accounts and a ready engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import event, insert, text

from ordergate.domain.accounts import Account, PositionMode
from ordergate.domain.clock import Clock
from ordergate.domain.commands import PlaceOrder
from ordergate.domain.ids import Login, UserId
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import Order, OrderType, Side, TimeInForce
from ordergate.domain.principal import Principal, Role
from ordergate.engine import OrderEngine
from ordergate.store import SqlStore
from ordergate.store import direct as direct_sql
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
    side: Side = Side.BUY, qty: str = "1", symbol: str = "ES 12-26", account_ref: int | str = 1001
) -> PlaceOrder:
    return PlaceOrder(
        account=account_ref, symbol=symbol, side=side, type=OrderType.MARKET, quantity=D(qty)
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
    """Empty every table of a PostgreSQL database (the aggregates with them) and restart its
    sequences."""
    names = ", ".join(t.name for t in metadata.sorted_tables)
    async with store.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


_OPEN_VENUES: list[SimVenue] = []


async def close_venues() -> None:
    """Stop every venue the test built, before its database goes away (conftest)."""
    while _OPEN_VENUES:
        await _OPEN_VENUES.pop().close()


@dataclass
class World:
    store: SqlStore
    venue: SimVenue
    engine: OrderEngine
    me: Principal
    admin: Principal

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


async def world(
    store: SqlStore,
    *,
    ack_delay_ms: int = 0,
    mode: PositionMode = PositionMode.NETTING,
    clock: Clock | None = None,
    instruments: tuple[Instrument, ...] = (),
) -> World:
    """Two users, accounts Sim101 (login 1001, user 1) and Other (2002, user 2), ES and EURUSD
    with quotes, on a sim venue with the given acknowledgement delay."""
    ids = [await add_user(store, "demo"), await add_user(store, "other")]
    assert ids == [1, 2], "world() expects an empty database"
    async with store.transaction() as tx:
        for inst in (es(), es("NQ 12-26"), eurusd(), *instruments):
            await tx.accounts.add_instrument(inst)
        await tx.accounts.add(account(mode=mode))
        await tx.accounts.add(account(2002, "Other", owner=2, group="other"))
        await tx.commit()
    venue = SimVenue(ack_delay_ms=ack_delay_ms, clock=clock)
    _OPEN_VENUES.append(venue)
    venue.set_quote("ES 12-26", D("5000.00"), D("5000.25"))
    venue.set_quote("NQ 12-26", D("18000.00"), D("18000.25"))
    venue.set_quote("EURUSD", D("1.10000"), D("1.10002"))
    engine = OrderEngine(store, venue, clock=clock)
    return World(
        store, venue, engine, trader(), Principal(user_id=None, role=Role.ADMIN, name="root")
    )


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
    return {"counts": counts, "orders": [tuple(r) for r in states]}


async def eventually(check, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until ``await check()`` is true (a venue timer, such as an expiry, has fired)."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check}")
        await asyncio.sleep(0.01)


@contextmanager
def statements_run(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The SQL of every statement ``store`` runs inside the block: through SQLAlchemy, and
    on SQLite the ones that run on the sqlite3 connection directly (store/direct.py)."""
    seen: list[str] = []

    def through_sqlalchemy(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    with monkeypatch.context() as patch:
        for cls, method, sql_of in (
            (direct_sql.RowInsert, "run", lambda self, rows: self._statement(len(rows))),
            (direct_sql.CompiledStatement, "run", lambda self, given: self.sql),
            (direct_sql.CompiledQuery, "rows", lambda self, given: self.sql),
        ):
            run = getattr(cls, method)

            def recorded(self, db, values, _run=run, _sql_of=sql_of):  # type: ignore[no-untyped-def]
                seen.append(_sql_of(self, values))
                return _run(self, db, values)

            patch.setattr(cls, method, recorded)
        event.listen(store.engine.sync_engine, "before_cursor_execute", through_sqlalchemy)
        try:
            yield seen
        finally:
            event.remove(store.engine.sync_engine, "before_cursor_execute", through_sqlalchemy)
