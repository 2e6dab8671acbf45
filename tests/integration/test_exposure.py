"""The exposure the margin check reads: per account and symbol, what its open orders still
have to fill plus what its open tickets hold, kept in the engine's memory
(``engine.state.exposure``). It equals the sum recomputed from the open orders and tickets
after every kind of command and venue report, and a restart rebuilds it from the journal;
on SQLite and PostgreSQL."""

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import insert

from ordergate.domain.commands import (
    CancelOrder,
    CancelOrders,
    ChangeOrder,
    ClosePosition,
    Flatten,
    PlaceOrder,
)
from ordergate.domain.orders import NON_TERMINAL, OrderStatus, OrderType, Side, TimeInForce
from ordergate.store.mapping import order_values
from ordergate.store.tables import orders
from tests.builders import World, limit, market, new_order, recomputed_exposure, restart, world
from tests.invariants import violations

D = Decimal
S = OrderStatus
ES, NQ = "ES 12-26", "NQ 12-26"


def exposure(w: World, login: int = 1001) -> dict[str, Decimal]:
    return w.engine.state.exposure(login)  # type: ignore[arg-type]


def assert_exact(w: World) -> None:
    """What the margin check reads is the recomputed sum, for both accounts."""
    for login in (1001, 2002):
        assert exposure(w, login) == recomputed_exposure(w.engine, login)


async def test_a_restart_counts_what_is_left_of_the_open_orders_and_nothing_of_ended_ones(
    store,
):
    w = await world(store)
    async with store.engine.begin() as conn:  # one order in each status, as a journal left them
        for n, status in enumerate(OrderStatus, 1):
            order = new_order(id=f"{n:032x}", ticket=n, quantity=D(5), filled=D(2), status=status)
            await conn.execute(insert(orders).values(order_values(order)))

    w = await restart(w, recover=False)

    open_count = sum(1 for s in OrderStatus if s in NON_TERMINAL)
    assert exposure(w) == {ES: D(3) * open_count}
    assert_exact(w)


async def test_placement_acknowledgement_and_fills_in_part_and_in_full(store):
    w = await world(store, ack_delay_ms=50)
    w.venue.config.set(ES, partial_fills=True)
    first = await w.engine.place(w.me, limit(price="4990", qty="5"))
    await w.engine.place(w.me, limit(Side.SELL, price="18100", qty="2", symbol=NQ))
    assert exposure(w) == {ES: D(5), NQ: D(2)}  # submitted counts
    await w.advance(0.05)
    assert exposure(w) == {ES: D(5), NQ: D(2)}  # so does working
    w.quote(ES, "4989.75", "4990.00", size="3")
    await w.engine.settle()
    got = await w.order(first.id)
    assert (got.status, got.filled) == (S.PARTIALLY_FILLED, D(3))
    assert exposure(w) == {ES: D(5), NQ: D(2)}  # 2 resting + 3 held
    w.quote(ES, "4989.50", "4989.75", size="10")
    await w.engine.place(w.me, market(Side.SELL, qty="1", symbol=NQ))
    await w.advance(0.05)
    assert exposure(w) == {ES: D(5), NQ: D(3)}  # all held, one more NQ ticket
    assert_exact(w)


async def test_a_change_of_quantity_counts_from_the_moment_it_is_asked(store):
    w = await world(store)
    order = await w.engine.place(w.me, limit(price="4990", qty="2"))
    await w.engine.settle()
    w.venue.ack_delay_ms = 100
    await w.engine.change(w.me, ChangeOrder(account=1001, order=order.id, quantity=D(4)))
    assert await w.status(order) is S.PENDING_CHANGE
    assert exposure(w) == {ES: D(4)}
    assert_exact(w)
    await w.advance(0.1)
    assert exposure(w) == {ES: D(4)}
    await w.engine.change(w.me, ChangeOrder(account=1001, order=order.id, quantity=D(1)))
    await w.advance(0.1)
    assert exposure(w) == {ES: D(1)}
    assert_exact(w)


async def test_a_single_cancel_takes_the_order_out_when_confirmed(store):
    w = await world(store)
    kept = await w.engine.place(w.me, limit(price="4990", qty="2"))
    gone = await w.engine.place(w.me, limit(price="4991", qty="3"))
    await w.engine.settle()
    w.venue.cancel_delay_ms = 1000
    await w.engine.cancel(w.me, CancelOrder(account=1001, order=gone.id))
    assert exposure(w) == {ES: D(5)}  # pending_cancel is still open
    await w.advance(1)
    assert exposure(w) == {ES: D(2)}
    await w.engine.cancel(w.me, CancelOrder(account=1001, order=kept.ticket))
    await w.advance(1)
    assert exposure(w) == {}
    assert_exact(w)


async def test_bulk_cancel_confirmed_for_one_symbol_and_refused_for_another(store):
    w = await world(store)
    for i in range(30):
        await w.engine.place(w.me, limit(price=str(4990 - i), qty=str(1 + i % 3)))
        await w.engine.place(w.me, limit(price=str(17000 - i), symbol=NQ))
    await w.engine.place(w.admin, limit(price="4990", account_ref=2002))
    await w.engine.settle()
    assert exposure(w) == {ES: D(60), NQ: D(30)}
    w.venue.config.set(NQ, cancel_refusal_pct=100)
    report = await w.engine.cancel_orders(w.me, CancelOrders(account=1001))
    assert report.cancelled == 60
    assert_exact(w)
    await w.engine.settle()
    assert exposure(w) == {NQ: D(30)}  # ES cancelled, NQ restored to working
    assert exposure(w, 2002) == {ES: D(1)}
    w.venue.config.set(NQ, cancel_refusal_pct=0)
    await w.engine.cancel_orders(w.me, CancelOrders(account=1001, symbol=NQ))
    await w.engine.settle()
    assert exposure(w) == {}
    assert await violations(store, w.venue, w.engine) == []


async def test_expiry_and_rejection_take_the_order_out(store):
    w = await world(store, ack_delay_ms=100)
    soon = w.clock.now() + timedelta(seconds=1)
    gtd = await w.engine.place(w.me, limit(price="4990", tif=TimeInForce.GTD, expires_at=soon))
    refused = await w.engine.place(w.me, limit(price="17000", qty="2", symbol=NQ))
    w.venue.config.set(NQ, market_closed=True)  # after the placement: the venue rejects it
    await w.advance(0.1)
    assert await w.status(refused) is S.REJECTED
    assert exposure(w) == {ES: D(1)}
    w.clock.set(soon)

    async def expired() -> bool:
        return await w.status(gtd) is S.EXPIRED

    await w.until(expired)
    assert exposure(w) == {}
    assert_exact(w)


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
    assert exposure(w) == {ES: D(4)}
    w.quote(ES, "5010.00", "5010.25")
    await w.engine.settle()
    assert exposure(w) == {ES: D(2)}  # the filled one is held; the stop is gone
    assert_exact(w)


async def test_closing_and_flattening(store):
    w = await world(store)
    await w.engine.place(w.me, market(qty="3"))
    await w.engine.place(w.me, market(qty="2", symbol=NQ))
    await w.engine.place(w.me, limit(price="4990"))
    await w.engine.settle()
    await w.engine.close_position(w.me, ClosePosition(account=1001, symbol=ES, quantity=D(1)))
    await w.engine.settle()
    assert exposure(w) == {ES: D(3), NQ: D(2)}
    await w.engine.flatten(w.me, Flatten(account=1001))
    await w.engine.settle()
    assert exposure(w) == {}
    assert await violations(store, w.venue, w.engine) == []


async def test_a_restart_rebuilds_the_exposure_of_orders_and_tickets(store):
    w = await world(store)
    w.venue.config.set(ES, partial_fills=True)
    await w.engine.place(w.me, market(qty="3"))
    await w.engine.place(w.me, limit(price="4990", qty="4"))
    await w.engine.place(w.me, limit(Side.SELL, price="18100", qty="2", symbol=NQ))
    await w.engine.settle()
    w.quote(ES, "4989.75", "4990.00", size="1")
    await w.engine.settle()
    w.venue.ack_delay_ms = 60_000
    await w.engine.close_position(w.me, ClosePosition(account=1001, symbol=ES, quantity=D(2)))
    before = {login: exposure(w, login) for login in (1001, 2002)}
    assert before[1001] == {ES: D(9), NQ: D(2)}  # 3 + 1 held, 3 resting, 2 closing; NQ 2

    w = await restart(w, recover=False)

    assert {login: exposure(w, login) for login in (1001, 2002)} == before
    assert_exact(w)
