"""A ticket is never closed by more than it holds: while a close is on its way, another close
of the same ticket is refused (OrderLocked), even when the two race, on both databases."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from ordergate.domain.accounts import PositionMode
from ordergate.domain.commands import ClosePosition
from ordergate.domain.errors import OrderLocked
from ordergate.domain.orders import OrderStatus
from ordergate.store import SqlStore
from tests.builders import market, memory, world

D = Decimal


async def open_ticket(store: SqlStore, qty: str = "2") -> tuple[object, int]:
    w = await world(store)
    order = await w.engine.place(w.me, market(qty=qty))
    await w.engine.settle()
    w.venue.ack_delay_ms = 60_000  # closing orders stay on their way
    return w, order.key


async def test_a_second_close_of_a_ticket_on_its_way_is_refused(store: SqlStore) -> None:
    w, ticket = await open_ticket(store)

    await w.engine.close_position(w.me, ClosePosition(account=1001, ticket=ticket))  # type: ignore[attr-defined]
    with pytest.raises(OrderLocked, match="already being closed"):
        await w.engine.close_position(w.me, ClosePosition(account=1001, ticket=ticket))  # type: ignore[attr-defined]


async def test_parts_of_a_ticket_may_be_closed_until_they_add_up_to_it(store: SqlStore) -> None:
    w, ticket = await open_ticket(store, qty="3")
    part = ClosePosition(account=1001, ticket=ticket, quantity=D("1"))

    for _ in range(3):
        await w.engine.close_position(w.me, part)  # type: ignore[attr-defined]
    with pytest.raises(OrderLocked):
        await w.engine.close_position(w.me, part)  # type: ignore[attr-defined]


async def test_racing_closes_of_one_ticket_send_one_closing_order(store: SqlStore) -> None:
    w, ticket = await open_ticket(store)
    close = ClosePosition(account=1001, ticket=ticket)

    outcomes = await asyncio.gather(
        *(w.engine.close_position(w.me, close) for _ in range(4)),  # type: ignore[attr-defined]
        return_exceptions=True,
    )

    sent = [o for o in outcomes if isinstance(o, list)]
    assert len(sent) == 1
    assert all(isinstance(o, OrderLocked) for o in outcomes if not isinstance(o, list))
    closing = [o for o in w.engine.state.open_orders(1001) if o.closes_ticket == ticket]  # type: ignore[attr-defined]
    assert [o.status for o in closing] == [OrderStatus.SUBMITTED]


async def test_a_close_of_a_symbol_refused_at_one_ticket_sends_none_of_its_orders(
    store: SqlStore,
) -> None:
    w = await world(store, mode=PositionMode.HEDGING)
    first = await w.engine.place(w.me, market(qty="1"))
    second = await w.engine.place(w.me, market(qty="1"))
    await w.engine.settle()
    w.venue.ack_delay_ms = 50  # the close of the second ticket is still on its way...
    await w.engine.close_position(w.me, ClosePosition(account=1001, ticket=second.key))
    before = memory(w.engine)

    with pytest.raises(OrderLocked):  # ...so closing the symbol is refused at that ticket
        await w.engine.close_position(w.me, ClosePosition(account=1001, symbol="ES 12-26"))

    assert memory(w.engine) == before  # not even the first ticket's close was stored
    await w.advance(0.05)
    assert w.engine.state.open_orders(1001) == []  # type: ignore[arg-type]
    assert [t.ticket for t in w.open_tickets()] == [first.key]
    assert [t.ticket for t in await w.closed_tickets()] == [second.key]
    assert w.venue.resting() == []
