"""The invariant checker itself: quiet on a consistent history, loud on a broken one."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import update

from ordergate.domain.commands import CancelOrders, ClosePosition
from ordergate.store import SqlStore
from ordergate.store.tables import order_exposure, orders, positions
from tests.builders import limit, market, world
from tests.invariants import violations

D = Decimal


async def busy_world(store: SqlStore):  # type: ignore[no-untyped-def]
    w = await world(store)
    await w.engine.place(w.me, market(qty="3"))
    for price in ("4990.00", "4980.00", "4970.00"):
        await w.engine.place(w.me, limit(price=price))
    await w.engine.settle()
    await w.engine.close_position(
        w.me, ClosePosition(account=1001, symbol="ES 12-26", quantity=D(1))
    )
    await w.engine.cancel_orders(w.me, CancelOrders(account=1001))
    await w.engine.place(w.me, limit(price="4960.00"))
    await w.engine.settle()
    return w


async def test_a_consistent_history_breaks_no_rule(store: SqlStore) -> None:
    w = await busy_world(store)

    assert await violations(store, w.venue) == []


async def test_each_kind_of_damage_is_reported(store: SqlStore) -> None:
    w = await busy_world(store)
    async with store.engine.begin() as conn:
        await conn.execute(update(orders).where(orders.c.ticket == 1).values(filled=D(2)))
        await conn.execute(update(orders).where(orders.c.ticket == 2).values(status="working"))
        await conn.execute(update(positions).values(quantity=D(5)))
        await conn.execute(
            update(order_exposure)
            .where(order_exposure.c.symbol == "ES 12-26")
            .values(open_quantity=order_exposure.c.open_quantity + D(7))
        )

    found = "\n".join(await violations(store, w.venue))

    assert "order 1: filled 2, its fills add to 3" in found
    assert "order 2: events end at cancelled, the order is working" in found
    assert "order 2: resting in the database, not on the venue's book" in found
    assert "tickets hold 5" in found
    # Order 2's update above went through the triggers; only the direct write is drift.
    assert "account 1001 ES 12-26: order_exposure keeps 9, its open orders leave 2" in found
