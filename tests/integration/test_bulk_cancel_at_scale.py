"""Bulk cancel at size: a hundred thousand working orders move to pending cancel in one
batch of the journal, and the venue's confirmation moves them to cancelled in one more, on
SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from ordergate.domain.commands import CancelOrders
from ordergate.domain.ids import OrderId, Ticket
from ordergate.domain.orders import OrderStatus
from ordergate.engine import Batch
from ordergate.engine.journal import Transitioned
from ordergate.store import SqlStore
from ordergate.store.tables import order_events, orders
from tests.builders import NOW, World, new_order, restart, world

D = Decimal
SIZE = 100_000


async def with_working_orders(store: SqlStore, n: int) -> World:
    """A server holding ``n`` working buy limits of Sim101 in ES, well under the market, as
    its journal wrote them; restarted on them."""
    w = await world(store)
    batch = Batch()
    for i in range(n):
        ticket = Ticket(i + 1)
        order = new_order(
            id=OrderId(f"{ticket:032x}"),
            ticket=ticket,
            quantity=D(1),
            limit_price=D(4000) + D("0.25") * (i % 4000),
            status=OrderStatus.WORKING,
            version=2,
        )
        batch.new_orders[ticket] = order
        for source, target in (
            (None, OrderStatus.SUBMITTED),
            (OrderStatus.SUBMITTED, order.status),
        ):
            batch.trail.append(Transitioned(ticket, source, target, "seeded", "test", None, NOW))
    await w.engine.writer.journal.append(batch)
    return await restart(w)


async def count(store: SqlStore, stmt) -> int:  # type: ignore[no-untyped-def]
    async with store.engine.connect() as conn:
        return int((await conn.execute(stmt)).scalar_one())


async def test_a_bulk_cancel_of_100k_orders_is_one_batch_each_way(store: SqlStore) -> None:
    w = await with_working_orders(store, SIZE)
    assert len(w.venue.resting()) == SIZE
    w.venue.cancel_delay_ms = 1000  # the confirmation waits until the test moves time
    batches = w.engine.writer.batches

    report = await w.engine.cancel_orders(w.me, CancelOrders(account=1001))

    assert (report.matched, report.cancelled, report.failed) == (SIZE, SIZE, 0)
    assert w.engine.writer.batches == batches + 1
    (request_id,) = {o.request_id for o in w.engine.state.open_orders(1001)}  # type: ignore[arg-type]
    assert request_id is not None
    pending = OrderStatus.PENDING_CANCEL.value
    ev, o = order_events.c, orders.c
    assert (
        await count(
            store,
            select(func.count())
            .where(
                ev.to_status == pending, ev.from_status == "working", ev.request_id == request_id
            )
            .select_from(order_events),
        )
        == SIZE
    )
    assert (
        await count(
            store,
            select(func.count())
            .where(o.status == pending, o.prior_status == "working", o.request_id == request_id)
            .select_from(orders),
        )
        == SIZE
    )

    await w.advance(1)

    assert w.engine.writer.batches == batches + 2
    cancelled = OrderStatus.CANCELLED.value
    assert (
        await count(store, select(func.count()).where(o.status == cancelled).select_from(orders))
        == SIZE
    )
    assert (
        await count(
            store,
            select(func.count())
            .where(ev.from_status == pending, ev.to_status == cancelled, ev.actor == "venue")
            .select_from(order_events),
        )
        == SIZE
    )
    assert await count(store, select(func.count()).select_from(order_events)) == 4 * SIZE
    assert w.engine.state.open_orders(1001) == []  # type: ignore[arg-type]
    assert w.venue.resting() == []
