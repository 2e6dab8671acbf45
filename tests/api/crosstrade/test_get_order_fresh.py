"""GetOrder never answers an order older than the last change this process committed: each
test reads the order, moves it one step, and reads it again, over the WebSocket and over REST.

The venue's reports are held by a gate until the test lets them through, so that every state
(Submitted, ChangePending, CancelPending…) can be read before the next one replaces it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ordergate.domain.commands import CancelOrder
from ordergate.domain.ids import Login, OrderId, Ticket
from ordergate.domain.principal import Principal, Role
from ordergate.engine import queries
from ordergate.venue.base import Quote, VenueReport
from tests.api.crosstrade.conftest import Server
from tests.api.crosstrade.wsclient import Client, place, place_body, rest, session

D = Decimal
ES = "ES 12-26"


class Gate:
    """Stands between the venue and the engine: holds the venue's reports until released."""

    def __init__(self, ct: Server) -> None:
        self.ct = ct
        self.held: list[VenueReport] = []
        ct.container.venue.bind(self)

    async def on_venue_reports(self, reports: Sequence[VenueReport]) -> None:
        self.held.extend(reports)

    async def release(self) -> list[str]:
        """Let through every report the venue has sent by now; their kinds."""
        await self.ct.container.engine.settle()
        held, self.held = self.held, []
        await self.ct.container.engine.on_venue_reports(held)
        return [type(r).__name__ for r in held]


def push(ct: Server, bid: str, ask: str, size: str | None = None) -> None:
    sized = None if size is None else D(size)
    now = ct.container.clock.now()
    ct.container.market.push(Quote(ES, D(bid), D(ask), now, bid_size=sized, ask_size=sized))


async def by_ws(client: Client, order_id: str, account: str = "Sim101") -> dict[str, Any]:
    frame = await client.call("GetOrder", {"account": account, "orderId": order_id})
    assert "data" in frame, frame
    data: dict[str, Any] = frame["data"]
    return data


async def by_rest(ct: Server, order_id: str, account: str = "Sim101") -> dict[str, Any]:
    status, body = await rest(ct, "GET", f"/accounts/{account}/orders/{order_id}")
    assert status == 200, body
    return dict(body)


async def state(client: Client, ct: Server, order_id: str) -> str:
    """The order's state as both ways answer it (they must agree)."""
    ws, http = await by_ws(client, order_id), await by_rest(ct, order_id)
    assert ws == http
    return str(ws["orderState"])


async def test_get_order_follows_ack_partial_fill_change_and_cancel(ct, live):
    gate = Gate(ct)
    ct.container.venue.config.set(partial_fills=True)
    async with session(live, ct.token) as client:
        placed = await client.call("PlaceOrder", {"account": "Sim101", **place_body(quantity=3)})
        order_id = placed["data"]["orderId"]
        await ct.container.engine.settle()
        assert await state(client, ct, order_id) == "Submitted"

        assert await gate.release() == ["Acknowledged"]
        assert await state(client, ct, order_id) == "Working"

        push(ct, "5989.75", "5990.00", size="1")
        assert await gate.release() == ["Filled"]
        assert await state(client, ct, order_id) == "PartFilled"
        got = await by_ws(client, order_id)
        assert (got["filled"], got["remaining"], got["averageFillPrice"]) == (1, 2, 5990)

        push(ct, "6000.00", "6000.25")  # away from the order: the change fills nothing
        changed = await client.call(
            "ChangeOrder", {"account": "Sim101", "orderId": order_id, "quantity": 5}
        )
        assert changed["data"]["success"] is True
        assert await state(client, ct, order_id) == "ChangePending"
        assert await gate.release() == ["ChangeConfirmed"]
        assert await state(client, ct, order_id) == "PartFilled"
        got = await by_ws(client, order_id)
        assert (got["quantity"], got["filled"], got["remaining"]) == (5, 1, 4)

        cancelled = await client.call("Cancel", {"account": "Sim101", "orderId": order_id})
        assert cancelled["data"]["success"] is True
        assert await state(client, ct, order_id) == "CancelPending"
        assert await gate.release() == ["CancelConfirmed"]
        assert await state(client, ct, order_id) == "Cancelled"


async def test_get_order_shows_the_fill(ct, live):
    gate = Gate(ct)
    async with session(live, ct.token) as client:
        order_id = await place(ct, price="5990")
        assert await gate.release() == ["Acknowledged"]
        assert await state(client, ct, order_id) == "Working"
        push(ct, "5989.75", "5990.00")
        assert await gate.release() == ["Filled"]
        assert await state(client, ct, order_id) == "Filled"
        got = await by_ws(client, order_id)
        assert (got["filled"], got["remaining"], got["averageFillPrice"]) == (1, 0, 5990)


async def test_get_order_shows_a_bulk_cancel_and_the_venues_confirmation(ct, live):
    gate = Gate(ct)
    async with session(live, ct.token) as client:
        first, second = await place(ct, price="5990"), await place(ct, price="5980")
        other = await place(ct, account="Sim102")
        await gate.release()
        for order_id in (first, second):
            assert await state(client, ct, order_id) == "Working"
        assert (await by_ws(client, other, "Sim102"))["orderState"] == "Working"

        bulk = await client.call("CancelOrders", {"account": "Sim101"})
        assert sorted(bulk["data"]["orderIds"]) == sorted([first, second])
        for order_id in (first, second):
            assert await state(client, ct, order_id) == "CancelPending"
        assert (await by_ws(client, other, "Sim102"))["orderState"] == "Working"

        assert await gate.release() == ["CancelConfirmed"]
        for order_id in (first, second):
            assert await state(client, ct, order_id) == "Cancelled"
        assert (await by_ws(client, other, "Sim102"))["orderState"] == "Working"


async def test_get_order_shows_the_order_back_at_work_after_a_refused_cancel(ct, live):
    gate = Gate(ct)
    async with session(live, ct.token) as client:
        order_id = await place(ct, price="5990")
        await gate.release()
        assert await state(client, ct, order_id) == "Working"
        ct.container.venue.refuse_cancels = "market halted"
        bulk = await client.call("CancelOrders", {"account": "Sim101", "instrument": ES})
        assert bulk["data"]["orderIds"] == [order_id]
        assert await state(client, ct, order_id) == "CancelPending"
        assert await gate.release() == ["CancelRefused"]
        assert await state(client, ct, order_id) == "Working"


async def test_get_order_shows_what_another_dialect_did_to_the_order(ct, live):
    """Placed over REST, read over the WebSocket, cancelled by ticket by a ScaleTrade-style
    client session (the engine's other way in), read again by id and by ticket."""
    gate = Gate(ct)
    async with session(live, ct.token) as client:
        order_id = await place(ct, price="5990")
        await gate.release()
        assert await state(client, ct, order_id) == "Working"
        engine = ct.container.engine
        session_principal = Principal(user_id=None, role=Role.TRADER, login=Login(1001))
        order = await queries.get_order(engine, session_principal, 1001, OrderId(order_id))
        ticket = Ticket(order.key)
        assert (await queries.get_order(engine, session_principal, 1001, ticket)).id == order_id

        await engine.cancel(session_principal, CancelOrder(account=1001, order=ticket))
        assert await state(client, ct, order_id) == "CancelPending"
        assert (
            await queries.get_order(engine, session_principal, 1001, ticket)
        ).status == "pending_cancel"
        await gate.release()
        assert await state(client, ct, order_id) == "Cancelled"
        assert (
            await queries.get_order(engine, session_principal, 1001, ticket)
        ).status == "cancelled"


async def test_get_order_shows_a_flatten(ct, live):
    gate = Gate(ct)
    async with session(live, ct.token) as client:
        order_id = await place(ct, price="5990")
        await gate.release()
        assert await state(client, ct, order_id) == "Working"
        flat = await client.call("Flatten", {"account": "Sim101"})
        assert "data" in flat, flat
        assert await state(client, ct, order_id) == "CancelPending"
        await gate.release()
        assert await state(client, ct, order_id) == "Cancelled"


async def test_a_held_order_is_still_refused_to_whoever_may_not_see_it(ct, live):
    await place(ct, price="5990")
    order_id = await place(ct, price="5980")
    await ct.container.engine.settle()
    async with session(live, ct.token) as mine, session(live, ct.other_token) as theirs:
        assert (await by_ws(mine, order_id))["orderState"] == "Working"
        refused = await theirs.call("GetOrder", {"account": "Sim101", "orderId": order_id})
        assert refused["status"] == 404
    response = await ct.client.get(
        f"/v1/api/accounts/Sim101/orders/{order_id}", headers=ct.auth(ct.other_token)
    )
    assert response.status_code == 404
    # Nor does another account's name reach it.
    response = await ct.client.get(f"/v1/api/accounts/Sim102/orders/{order_id}", headers=ct.auth())
    assert response.status_code == 404
