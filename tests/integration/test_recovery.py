"""A restart hands every non-terminal order back to a fresh venue; nothing fills twice."""

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from ordergate.domain.commands import CancelOrders
from ordergate.domain.orders import OrderStatus as S
from ordergate.domain.orders import Side, TimeInForce
from ordergate.engine import OrderEngine
from ordergate.engine.service import RECOVER_CHUNK
from ordergate.venue.sim import SimVenue
from tests.builders import eventually, limit, market, world

D = Decimal


@pytest.mark.parametrize("chunk", [1, 2, RECOVER_CHUNK])
async def test_restart_rebuilds_the_book_and_finishes_what_was_in_flight(store, chunk):
    w = await world(store)
    resting = await w.engine.place(w.me, limit(price="4990"))
    cancelling = await w.engine.place(w.me, limit(price="4980", symbol="NQ 12-26"))
    await w.engine.settle()
    w.venue.ack_delay_ms = w.venue.cancel_delay_ms = 60_000
    await w.engine.cancel_orders(w.me, CancelOrders(account=1001, symbol="NQ 12-26"))
    in_flight = await w.engine.place(w.me, limit(price="4970"))
    await w.venue.close()  # the process dies: the old venue's pending work is lost

    venue = SimVenue()
    venue.set_quote("ES 12-26", D("5000.00"), D("5000.25"))
    engine = OrderEngine(store, venue)
    assert await engine.recover(chunk=chunk) == 3
    await engine.settle()
    me = w.me
    assert (await engine.get_order(me, 1001, resting.id)).status is S.WORKING
    assert (await engine.get_order(me, 1001, in_flight.id)).status is S.WORKING
    assert (await engine.get_order(me, 1001, cancelling.id)).status is S.CANCELLED
    assert venue.resting() == sorted([resting.key, in_flight.key])

    venue.set_quote("ES 12-26", D("4960.00"), D("4960.25"))
    await engine.settle()
    for order in (resting, in_flight):
        got = await engine.get_order(me, 1001, order.id)
        assert (got.status, got.filled) == (S.FILLED, D("1"))
    assert await engine.recover() == 0


async def test_restored_orders_meet_the_market_they_come_back_to(store):
    # Found by the crash suite (tests/resilience): a market order acknowledged with its fill
    # still owed dies with the venue; after the restart the current quote fills it, and a
    # restored limit order that quote crosses, instead of leaving both for the next quote.
    w = await world(store)
    w.venue.config.set(fill_delay_ms=60_000)
    bought = await w.engine.place(w.me, market())
    crossed = await w.engine.place(w.me, limit(price="4990"))
    for _ in range(500):  # until both acknowledgements are stored (the fill stays owed)
        got = [await w.engine.get_order(w.me, 1001, o.id) for o in (bought, crossed)]
        if all(o.status is S.WORKING for o in got):
            break
        await asyncio.sleep(0.01)
    assert [o.status for o in got] == [S.WORKING, S.WORKING]
    await w.venue.close()  # the process dies with the market order's fill owed

    venue = SimVenue()
    venue.set_quote("ES 12-26", D("4980.00"), D("4980.25"))
    engine = OrderEngine(store, venue)
    assert await engine.recover() == 2
    await engine.settle()
    for order in (bought, crossed):
        got_back = await engine.get_order(w.me, 1001, order.id)
        assert (got_back.status, got_back.filled) == (S.FILLED, D("1"))
    assert venue.resting() == []


async def test_a_fill_at_restart_cancels_an_oco_sibling_read_in_a_later_chunk(store):
    # Recovery reads the orders a chunk at a time; the venue acts on none of them until all
    # are back, so the fill of the first (its own chunk) finds the sibling to cancel.
    w = await world(store)
    crossed = await w.engine.place(w.me, limit(price="4990", oco="pair"))
    sibling = await w.engine.place(w.me, limit(Side.SELL, price="5100", oco="pair"))
    await w.engine.settle()
    await w.venue.close()

    venue = SimVenue()
    venue.set_quote("ES 12-26", D("4980.00"), D("4980.25"))
    engine = OrderEngine(store, venue)
    assert await engine.recover(chunk=1) == 2
    await engine.settle()
    assert (await engine.get_order(w.me, 1001, crossed.id)).status is S.FILLED
    assert (await engine.get_order(w.me, 1001, sibling.id)).status is S.CANCELLED
    assert venue.resting() == []


async def test_restored_good_till_date_orders_expire_at_their_time(store):
    w = await world(store)
    soon = w.engine.clock.now() + timedelta(milliseconds=400)
    gtd = [
        await w.engine.place(w.me, limit(price=p, tif=TimeInForce.GTD, expires_at=soon))
        for p in ("4990", "4989")
    ]
    gtc = await w.engine.place(w.me, limit(price="4988"))
    await w.engine.settle()
    await w.venue.close()

    engine = OrderEngine(store, SimVenue())
    assert await engine.recover(chunk=1) == 3

    async def expired():
        got = [await engine.get_order(w.me, 1001, o.id) for o in gtd]
        return [o.status for o in got] == [S.EXPIRED, S.EXPIRED]

    await eventually(expired)
    assert engine.venue.resting() == [gtc.key]  # type: ignore[attr-defined]
