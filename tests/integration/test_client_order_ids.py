"""Placement options a caller sets on the order, on SQLite and PostgreSQL: its own id (CrossTrade
place ``orderId``: a placement retried with the same id on the same account places nothing and
answers the order the first one made, while the order lives, after it ended and after a
restart), the position it requires in its instrument, and the most positions it may open."""

from __future__ import annotations

import asyncio

import pytest

from ordergate.domain.errors import MaxPositions, PositionRequired
from ordergate.domain.orders import OrderStatus as S
from tests.builders import limit, market, restart, snapshot, world


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


async def test_an_order_may_require_the_position_it_is_placed_at(store):
    w = await world(store)
    flat_only = frozenset({"flat"})
    first = await w.engine.place(w.me, market(require_position=flat_only))
    await w.engine.settle()
    assert (await w.order(first.id)).status is S.FILLED  # now long 1 ES
    before = await snapshot(store)

    with pytest.raises(PositionRequired, match=r"position in ES 12-26 is Long; required flat"):
        await w.engine.place(w.me, market(require_position=flat_only))
    with pytest.raises(PositionRequired, match="is Long; required flat,short"):
        await w.engine.place(w.me, limit(require_position=frozenset({"short", "flat"})))

    assert await snapshot(store) == before
    adding = await w.engine.place(w.me, limit(require_position=frozenset({"flat", "long"})))
    assert adding.status is S.SUBMITTED


async def test_max_positions_refuses_only_an_order_that_would_open_one(store):
    w = await world(store)
    await w.engine.place(w.me, market())
    await w.engine.settle()  # one position: ES
    before = await snapshot(store)

    with pytest.raises(MaxPositions, match="1 open positions, limit 1"):
        await w.engine.place(w.me, market(symbol="NQ 12-26", max_positions=1))
    assert await snapshot(store) == before

    adding = await w.engine.place(w.me, limit(max_positions=1))  # ES is held: not checked
    opening = await w.engine.place(w.me, limit(symbol="NQ 12-26", max_positions=2))
    assert (adding.status, opening.status) == (S.SUBMITTED, S.SUBMITTED)
