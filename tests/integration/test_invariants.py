"""The invariant checker itself: quiet on a consistent history, loud on a broken one."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import update

from ordergate.domain.commands import CancelOrders, ClosePosition
from ordergate.store import SqlStore
from ordergate.store.tables import accounts, orders, positions
from tests.builders import World, limit, market, world
from tests.invariants import violations

D = Decimal


async def busy_world(store: SqlStore) -> World:
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

    assert await violations(store, w.venue, w.engine) == []


async def test_each_kind_of_damage_is_reported(store: SqlStore) -> None:
    w = await busy_world(store)
    async with store.engine.begin() as conn:
        await conn.execute(update(orders).where(orders.c.ticket == 1).values(filled=D(2)))
        await conn.execute(update(orders).where(orders.c.ticket == 2).values(status="working"))
        await conn.execute(update(orders).where(orders.c.ticket == 6).values(quantity=D(4)))
        await conn.execute(update(positions).values(quantity=D(5)))
        await conn.execute(update(accounts).where(accounts.c.login == 1001).values(balance=D(7)))

    found = "\n".join(await violations(store, w.venue, w.engine))

    assert "order 1: filled 2, its fills add to 3" in found
    assert "order 2: events end at cancelled, the order is working" in found
    assert "order 2: resting in the database, not on the venue's book" in found
    assert "tickets hold 5" in found
    assert "order 2: memory holds None, the journal Order(" in found
    assert "order 6: memory holds Order(" in found
    assert "ticket 1: memory holds PositionTicket(" in found
    assert "account 1001: balance 999987.5 in memory, 7.00000000 in the journal" in found


async def test_exposure_kept_apart_from_the_open_orders_is_reported(store: SqlStore) -> None:
    w = await busy_world(store)
    (resting,) = w.engine.state.open_orders(1001)  # type: ignore[arg-type]
    resting.quantity += 1  # behind the state's back: its running totals do not follow

    found = await violations(store, engine=w.engine)

    assert any("account 1001: exposure" in line and "recomputed" in line for line in found)
