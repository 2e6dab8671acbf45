"""The caller's own order id (CrossTrade place ``orderId``): a placement retried with the same
id on the same account places nothing and answers the order the first one made, while the
order lives, after it ended and after a restart; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from ordergate.domain.orders import OrderStatus as S
from tests.builders import limit, restart, snapshot, world


async def test_a_retried_placement_answers_the_first_order_and_places_nothing(store):
    w = await world(store)
    first = await w.engine.place(w.me, limit(price="4990", client_id="bot-17"))
    await w.engine.settle()
    before = await snapshot(store)

    again = await w.engine.place(w.me, limit(price="4980", qty="3", client_id="bot-17"))

    assert (again.id, again.ticket, again.limit_price) == (
        first.id,
        first.ticket,
        first.limit_price,
    )
    assert again.client_id == "bot-17"
    assert await snapshot(store) == before
    found = await w.engine.client_order(w.me, "Sim101", "bot-17")
    assert found is not None
    assert found.id == first.id


async def test_concurrent_placements_with_one_id_make_one_order(store):
    w = await world(store)
    placed = await asyncio.gather(
        *(w.engine.place(w.me, limit(price="4990", client_id="same")) for _ in range(5))
    )
    await w.engine.settle()
    assert len({o.id for o in placed}) == 1
    assert len(list(w.engine.state.all_open())) == 1


async def test_the_same_id_on_another_account_is_another_order(store):
    w = await world(store)
    mine = await w.engine.place(w.me, limit(price="4990", client_id="x1"))
    theirs = await w.engine.place(w.admin, limit(price="4990", client_id="x1", account_ref=2002))
    assert mine.id != theirs.id
    found = await w.engine.client_order(w.admin, "Other", "x1")
    assert found is not None
    assert found.id == theirs.id


async def test_the_id_holds_after_the_order_ended_and_after_a_restart(store):
    w = await world(store)
    first = await w.engine.place(w.me, limit(price="5001", client_id="filled-one"))
    await w.engine.settle()
    assert (await w.order(first.id)).status is S.FILLED
    w = await restart(w)
    before = await snapshot(store)

    again = await w.engine.place(w.me, limit(price="5001", client_id="filled-one"))

    assert again.id == first.id
    assert again.status is S.FILLED
    assert await snapshot(store) == before
