"""The exposure the margin check reads: order_exposure, kept by the database's triggers, equals
the sum of quantity - filled over the open orders after every kind of write, on SQLite and
PostgreSQL."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate.domain.commands import (
    CancelOrder,
    CancelOrders,
    ChangeOrder,
    ClosePosition,
    Flatten,
    PlaceOrder,
)
from ordergate.domain.orders import NON_TERMINAL, OrderStatus, OrderType, Side, TimeInForce
from ordergate.store import SqlStore
from ordergate.store.accounts import SqlAccountRepository
from ordergate.store.mapping import order_values
from ordergate.store.tables import order_events, order_exposure, orders, positions
from ordergate.store.types import Fixed
from tests.builders import World, eventually, limit, market, new_order, world
from tests.invariants import exposure_drift, violations

D = Decimal
S = OrderStatus
ES, NQ = "ES 12-26", "NQ 12-26"


async def summed_exposure(conn: AsyncConnection, login: int) -> dict[str, Decimal]:
    """What ``exposure()`` answered before order_exposure: every open order summed."""
    resting = select(orders.c.symbol, func.sum(orders.c.quantity - orders.c.filled, type_=Fixed))
    resting = resting.where(orders.c.login == login, orders.c.status.in_(NON_TERMINAL))
    held = select(positions.c.symbol, func.sum(positions.c.quantity, type_=Fixed))
    held = held.where(positions.c.login == login, positions.c.quantity > 0)
    totals: dict[str, Decimal] = {}
    for stmt in (resting.group_by(orders.c.symbol), held.group_by(positions.c.symbol)):
        for symbol, quantity in await conn.execute(stmt):
            totals[symbol] = totals.get(symbol, D(0)) + quantity
    return totals


async def exposure(store: SqlStore, login: int = 1001) -> dict[str, Decimal]:
    async with store.transaction(readonly=True) as tx:
        return await tx.accounts.exposure(login)


async def assert_exact(w: World) -> None:
    """The kept aggregate is the recomputed one, and so is what the margin check reads. Safe
    while the venue is at work: both reads see one snapshot."""
    assert await exposure_drift(w.store) == []
    async with w.store.engine.connect() as conn:
        # One snapshot: SQLite's read transaction keeps its first one; PostgreSQL needs this.
        options: dict[str, object] = {"readonly": True}
        if w.store.dialect == "postgresql":
            options["isolation_level"] = "REPEATABLE READ"
        conn = await conn.execution_options(**options)
        async with conn.begin():
            for login in (1001, 2002):
                kept = await SqlAccountRepository(conn).exposure(login)
                assert kept == await summed_exposure(conn, login)


async def test_an_order_counts_what_is_left_of_it_while_open_and_nothing_once_ended(store):
    # One order in each status, written directly: the triggers' idea of "open" is the domain's.
    w = await world(store)
    for status in OrderStatus:
        row = order_values(new_order(quantity=D(5), filled=D(2), status=status))
        async with store.engine.begin() as conn:
            await conn.execute(insert(orders).values(row))
        expected = {ES: D(3)} if status in NON_TERMINAL else {}
        assert (status, await exposure(store)) == (status, expected)
        async with store.engine.begin() as conn:
            await conn.execute(delete(orders))
        assert (status, await exposure(store)) == (status, {})
        await assert_exact(w)


async def test_placement_acknowledgement_and_fills_in_part_and_in_full(store):
    w = await world(store, ack_delay_ms=50)
    w.venue.config.set(ES, partial_fills=True)
    first = await w.engine.place(w.me, limit(price="4990", qty="5"))
    await w.engine.place(w.me, limit(Side.SELL, price="18100", qty="2", symbol=NQ))
    assert await exposure(store) == {ES: D(5), NQ: D(2)}  # submitted counts
    await w.engine.settle()
    assert await exposure(store) == {ES: D(5), NQ: D(2)}  # so does working
    w.quote(ES, "4989.75", "4990.00", size="3")
    await w.engine.settle()
    got = await w.engine.get_order(w.me, 1001, first.id)
    assert (got.status, got.filled) == (S.PARTIALLY_FILLED, D(3))
    assert await exposure(store) == {ES: D(5), NQ: D(2)}  # 2 resting + 3 held
    w.quote(ES, "4989.50", "4989.75", size="10")
    await w.engine.place(w.me, market(Side.SELL, qty="1", symbol=NQ))
    await w.engine.settle()
    assert await exposure(store) == {ES: D(5), NQ: D(3)}  # all held, one more NQ ticket
    await assert_exact(w)


async def test_a_change_of_quantity_counts_once_the_venue_confirms_it(store):
    w = await world(store)
    order = await w.engine.place(w.me, limit(price="4990", qty="2"))
    await w.engine.settle()
    await w.engine.change(w.me, ChangeOrder(account=1001, order=order.id, quantity=D(4)))
    await assert_exact(w)
    await w.engine.settle()
    assert await exposure(store) == {ES: D(4)}
    await w.engine.change(w.me, ChangeOrder(account=1001, order=order.id, quantity=D(1)))
    await w.engine.settle()
    assert await exposure(store) == {ES: D(1)}
    await assert_exact(w)


async def test_a_single_cancel_takes_the_order_out_when_confirmed(store):
    w = await world(store)
    kept = await w.engine.place(w.me, limit(price="4990", qty="2"))
    gone = await w.engine.place(w.me, limit(price="4991", qty="3"))
    await w.engine.settle()
    w.venue.cancel_delay_ms = 1000
    await w.engine.cancel(w.me, CancelOrder(account=1001, order=gone.id))
    assert await exposure(store) == {ES: D(5)}  # pending_cancel is still open
    await w.engine.settle()
    assert await exposure(store) == {ES: D(2)}
    await w.engine.cancel(w.me, CancelOrder(account=1001, order=kept.ticket))
    await w.engine.settle()
    assert await exposure(store) == {}
    await assert_exact(w)


async def test_bulk_cancel_confirmed_for_one_symbol_and_refused_for_another(store):
    w = await world(store)
    for i in range(30):
        await w.engine.place(w.me, limit(price=str(4990 - i), qty=str(1 + i % 3)))
        await w.engine.place(w.me, limit(price=str(17000 - i), symbol=NQ))
    await w.engine.place(w.admin, limit(price="4990", account_ref=2002))
    await w.engine.settle()
    assert await exposure(store) == {ES: D(60), NQ: D(30)}
    w.venue.config.set(NQ, cancel_refusal_pct=100)
    report = await w.engine.cancel_orders(w.me, CancelOrders(account=1001))
    assert report.cancelled == 60
    await assert_exact(w)
    await w.engine.settle()
    assert await exposure(store) == {NQ: D(30)}  # ES cancelled, NQ restored to working
    assert await exposure(store, 2002) == {ES: D(1)}
    w.venue.config.set(NQ, cancel_refusal_pct=0)
    await w.engine.cancel_orders(w.me, CancelOrders(account=1001, symbol=NQ))
    await w.engine.settle()
    assert await exposure(store) == {}
    assert await violations(store, w.venue) == []


async def test_expiry_and_rejection_take_the_order_out(store):
    w = await world(store, ack_delay_ms=100)
    soon = w.engine.clock.now() + timedelta(milliseconds=1000)
    gtd = await w.engine.place(w.me, limit(price="4990", tif=TimeInForce.GTD, expires_at=soon))
    refused = await w.engine.place(w.me, limit(price="17000", qty="2", symbol=NQ))
    w.venue.config.set(NQ, market_closed=True)  # after the placement: the venue rejects it
    await w.engine.settle()
    assert (await w.engine.get_order(w.me, 1001, refused.id)).status is S.REJECTED
    assert NQ not in await exposure(store)  # (ES may have expired already on a slow machine)

    async def expired() -> bool:
        return (await w.engine.get_order(w.me, 1001, gtd.id)).status is S.EXPIRED

    await eventually(expired)
    assert await exposure(store) == {}
    await assert_exact(w)


async def test_an_oco_fill_takes_its_sibling_out(store):
    w = await world(store)
    await w.engine.place(w.me, limit(Side.SELL, price="5010", qty="2", oco="bracket-1"))
    stop = PlaceOrder(
        account=1001,
        symbol=ES,
        side=Side.SELL,
        type=OrderType.STOP,
        quantity=D(2),
        stop_price=D(4990),
        oco="bracket-1",
    )
    await w.engine.place(w.me, stop)
    await w.engine.settle()
    assert await exposure(store) == {ES: D(4)}
    w.quote(ES, "5010.00", "5010.25")
    await w.engine.settle()
    assert await exposure(store) == {ES: D(2)}  # the filled one is held; the stop is gone
    await assert_exact(w)


async def test_closing_and_flattening(store):
    w = await world(store)
    await w.engine.place(w.me, market(qty="3"))
    await w.engine.place(w.me, market(qty="2", symbol=NQ))
    await w.engine.place(w.me, limit(price="4990"))
    await w.engine.settle()
    await w.engine.close_position(w.me, ClosePosition(account=1001, symbol=ES, quantity=D(1)))
    await w.engine.settle()
    assert await exposure(store) == {ES: D(3), NQ: D(2)}
    await w.engine.flatten(w.me, Flatten(account=1001))
    await w.engine.settle()
    assert await exposure(store) == {}
    assert await violations(store, w.venue) == []


async def test_direct_updates_deletes_and_moves_between_keys_are_followed(store):
    w = await world(store)
    for qty in ("1", "2", "3", "1", "1"):
        await w.engine.place(w.me, limit(price="4990", qty=qty))
    await w.engine.settle()
    o = orders.c
    async with store.engine.begin() as conn:
        for ticket, values in (
            (1, {"symbol": NQ}),
            (2, {"login": 2002}),
            (3, {"quantity": D(7)}),
            (4, {"symbol": NQ, "quantity": D(5)}),  # moved and changed at once
            (5, {"login": 2002, "status": "cancelled"}),  # moved and ended at once
        ):
            await conn.execute(update(orders).where(o.ticket == ticket).values(values))
    assert await exposure(store) == {ES: D(7), NQ: D(6)}
    assert await exposure(store, 2002) == {ES: D(2)}
    async with store.engine.begin() as conn:
        await conn.execute(delete(order_events))
        await conn.execute(delete(orders).where(o.ticket != 3))
    assert (await exposure(store), await exposure(store, 2002)) == ({ES: D(7)}, {})
    assert await exposure_drift(store) == []


async def test_truncating_orders_empties_the_aggregate(store):
    if store.dialect != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    w = await world(store)
    await w.engine.place(w.me, limit(price="4990", qty="2"))
    await w.engine.settle()
    async with store.engine.begin() as conn:
        await conn.execute(text("TRUNCATE orders CASCADE"))  # order_events and fills with it
    async with store.engine.connect() as conn:
        assert (await conn.execute(select(order_exposure))).all() == []
