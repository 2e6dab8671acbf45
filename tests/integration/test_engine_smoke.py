from ordergate.domain.commands import CancelOrders
from ordergate.domain.orders import OrderStatus, Side
from tests.builders import limit, market, world
from tests.invariants import violations


async def test_place_and_bulk_cancel_round_trip(store):
    w = await world(store)
    placed = [await w.engine.place(w.me, limit(price=str(4990 - i))) for i in range(3)]
    await w.engine.settle()
    report = await w.engine.cancel_orders(w.me, CancelOrders(account="sim101"))
    assert report.matched == 3
    assert report.cancelled == 3
    assert report.failed == 0
    await w.engine.settle()
    for o in placed:
        assert await w.status(o) is OrderStatus.CANCELLED
    m = await w.engine.place(w.me, market(Side.SELL, "2"))
    await w.engine.settle()
    got = await w.order(m.id)
    assert got.status is OrderStatus.FILLED
    assert str(got.avg_fill_price) == "5000.00000000"
    assert await violations(store, w.venue, w.engine) == []
