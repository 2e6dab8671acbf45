"""The store's batch statements: any batch size, each order to its own status."""

import uuid
from decimal import Decimal

from ordergate.domain.commands import CancelOrders, PlaceOrder
from ordergate.domain.orders import OrderStatus as S
from ordergate.domain.orders import OrderType, Side
from ordergate.venue.base import Filled
from tests.builders import NOW, events_of, limit, world

D = Decimal


async def test_refused_bulk_cancel_puts_each_order_back_in_its_own_state(store):
    w = await world(store)
    working = await w.engine.place(w.me, limit(price="4990"))
    partial = await w.engine.place(w.me, limit(price="4989", qty="3"))
    stop = await w.engine.place(
        w.me,
        PlaceOrder(
            account=1001,
            symbol="ES 12-26",
            side=Side.BUY,
            type=OrderType.STOP,
            quantity=D("1"),
            stop_price=D("5100"),
        ),
    )
    await w.engine.settle()
    await w.engine.on_venue_reports([Filled(partial.key, D("1"), D("4989"), NOW)])
    w.venue.refuse_cancels = "market halted"
    report = await w.engine.cancel_orders(w.me, CancelOrders(account=1001))
    assert report.cancelled == 3
    await w.engine.settle()
    for order, status in ((working, S.WORKING), (partial, S.PARTIALLY_FILLED), (stop, S.ACCEPTED)):
        assert (await w.engine.get_order(w.me, 1001, order.id)).status is status
        assert (await events_of(store, order.key))[-1][:2] == ("pending_cancel", status.value)


async def test_confirm_batch_takes_any_number_of_exceptions(store):
    w = await world(store)
    orders = [await w.engine.place(w.me, limit(price=str(4990 - i))) for i in range(3)]
    await w.engine.settle()
    w.venue.cancel_delay_ms = 60_000
    await w.engine.cancel_orders(w.me, CancelOrders(account=1001))
    async with store.transaction() as tx:
        request_id = (await tx.orders.by_ticket(orders[0].key)).request_id
        # More exceptions than a statement may carry parameters (asyncpg: 32767).
        exceptions = {orders[0].key, *range(10**9, 10**9 + 40_000)}
        confirmed = await tx.orders.confirm_batch(
            1001,
            [request_id],
            exceptions,
            S.PENDING_CANCEL,
            S.CANCELLED,
            "venue",
            uuid.uuid4().hex,
            NOW,
        )
        await tx.commit()
    assert sorted(m.ticket for m in confirmed) == sorted(o.key for o in orders[1:])
    assert {m.status for m in confirmed} == {S.CANCELLED}
    assert (await w.engine.get_order(w.me, 1001, orders[0].id)).status is S.PENDING_CANCEL


async def test_open_orders_are_read_in_chunks_in_ticket_order(store):
    w = await world(store)
    placed = [await w.engine.place(w.me, limit(price=str(4990 - i))) for i in range(5)]
    await w.engine.settle()
    await w.engine.on_venue_reports([Filled(placed[1].key, D("1"), D("4989"), NOW)])
    async with store.transaction(readonly=True) as tx:
        chunks = [chunk async for chunk in tx.orders.open_chunks(2)]
        everything = await tx.orders.open_orders()

    assert [len(c) for c in chunks] == [2, 2]
    assert [o.key for c in chunks for o in c] == [o.key for o in everything]
    assert [o for c in chunks for o in c] == everything
    assert placed[1].key not in [o.key for o in everything]
