"""One order engine behind both dialects, on SQLite and PostgreSQL: an order placed through
CrossTrade is a ScaleTrade record, cancellable with /trade/cancel and /trade/cancel/group;
one placed through ScaleTrade is a CrossTrade order, cancellable with CrossTrade's cancel and
bulk cancel; and both dialects tell the same state afterwards.

CrossTrade names an order by its ``orderId``, ScaleTrade by its ticket: the two are one order
(the store maps them; neither wire carries the other's key).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from ordergate.domain.ids import OrderId, Ticket
from ordergate.domain.principal import Principal, Role
from ordergate.engine import queries
from tests.api.scaletrade.conftest import St, pending
from tests.api.scaletrade.helpers import (
    market,
    record,
    records,
)

D = Decimal
ORDERS = "/v1/api/accounts/{account}/orders"


def ct_url(path: str = "", account: str = "Sim101") -> str:
    return ORDERS.format(account=account) + path


async def ct_place(st: St, account: str = "Sim101", token: str | None = None, **order: Any) -> str:
    """Place an order through CrossTrade (default: buy 0.5 EURUSD limit 1.09 GTC): its id."""
    body = {
        "instrument": "EURUSD",
        "action": "Buy",
        "quantity": 0.5,
        "orderType": "Limit",
        "limitPrice": 1.09,
        "timeInForce": "Gtc",
        **order,
    }
    answer = await st.client.post(
        ct_url("/place", account), headers=st.server.auth(token), json=body
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["orderId"])


async def ct_orders(st: St, account: str = "Sim101") -> dict[str, dict[str, Any]]:
    """CrossTrade's open orders of ``account``, by id."""
    answer = await st.client.get(ct_url("", account), headers=st.server.auth())
    assert answer.status_code == 200, answer.text
    return {o["orderId"]: o for o in answer.json()["orders"]}


async def ct_order(st: St, order_id: str) -> dict[str, Any]:
    answer = await st.client.get(ct_url(f"/{order_id}"), headers=st.server.auth())
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


ADMIN = Principal(user_id=None, role=Role.ADMIN, name="test")


async def ticket_of(st: St, order_id: str) -> int:
    """The ticket of order ``order_id`` of account 1001, as the engine knows it."""
    engine = st.server.container.engine
    return int((await queries.get_order(engine, ADMIN, 1001, OrderId(order_id))).key)


async def id_of(st: St, ticket: int) -> str:
    """The id of the order of ``ticket`` in account 1001, as the engine knows it."""
    engine = st.server.container.engine
    return str((await queries.get_order(engine, ADMIN, 1001, Ticket(ticket))).id)


async def settle(st: St) -> None:
    await st.server.container.engine.settle()


# -- CrossTrade orders seen and cancelled through ScaleTrade -------------------------------------


async def test_crosstrade_orders_are_scaletrade_pending_records(st):
    limit = await ct_place(st)
    stop = await ct_place(
        st,
        instrument="ES 12-26",
        action="Sell",
        quantity=2,
        orderType="StopMarket",
        limitPrice=None,
        stopPrice=5980,
    )
    await settle(st)

    shown = {r["order"]: r for r in await records(st, trade_type=3)}

    assert set(shown) == {await ticket_of(st, limit), await ticket_of(st, stop)}
    eur = shown[await ticket_of(st, limit)]
    assert (eur["login"], eur["symbol"], eur["cmd"], eur["volume"], eur["state"]) == (
        1001,
        "EURUSD",
        2,
        50,
        0,
    )
    assert D(str(eur["open_price"])) == D("1.09")
    es = shown[await ticket_of(st, stop)]
    assert (es["symbol"], es["cmd"], es["volume"], es["state"]) == ("ES 12-26", 5, 200, 0)
    assert D(str(es["open_price"])) == D("5980")


async def test_a_crosstrade_market_order_is_a_scaletrade_trade_that_scaletrade_closes(st):
    order_id = await ct_place(st, orderType="Market", limitPrice=None, quantity=0.25)
    await settle(st)
    ticket = await ticket_of(st, order_id)

    trade = await record(st, ticket, trade_type=1)
    assert trade is not None
    assert (trade["cmd"], trade["volume"], trade["state"]) == (0, 25, 0)
    closed = await st.call("DELETE", "/trade/close", {"order": ticket})
    assert closed.status_code == 200, closed.text
    await settle(st)

    positions = await st.client.get("/v1/api/accounts/Sim101/positions", headers=st.server.auth())
    assert positions.status_code == 200, positions.text
    assert [p for p in positions.json()["positions"] if p["instrument"] == "EURUSD"] == []
    assert (await ct_order(st, order_id))["orderState"] == "Filled"


async def test_scaletrade_cancels_a_crosstrade_order(st):
    order_id = await ct_place(st)
    await settle(st)
    ticket = await ticket_of(st, order_id)

    answer = await st.call("DELETE", "/trade/cancel", {"order": ticket})

    assert answer.status_code == 200, answer.text
    assert (answer.json()["order"], answer.json()["state"], answer.json()["cmd"]) == (ticket, 9, 2)
    assert (await ct_order(st, order_id))["orderState"] in ("CancelPending", "Cancelled")
    await settle(st)
    assert (await ct_order(st, order_id))["orderState"] == "Cancelled"
    assert order_id not in await ct_orders(st)
    deleted = await record(st, ticket, trade_type=2)
    assert deleted is not None
    assert deleted["state"] == 6


async def test_scaletrade_group_cancel_cancels_crosstrade_orders_of_the_symbol(st):
    euro = await ct_place(st)
    es = [
        await ct_place(st, instrument="ES 12-26", quantity=1, limitPrice=price)
        for price in (5990, 5980)
    ]
    sibling = await ct_place(st, "Sim102", instrument="ES 12-26", quantity=1, limitPrice=5970)
    await settle(st)

    answer = await st.call("DELETE", "/trade/cancel/group", {"login": 1001, "symbol": "ES 12-26"})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert sorted(row["order"] for row in body["rows"]) == sorted(
        [await ticket_of(st, i) for i in es]
    )
    assert {(row["state"], row["cmd"], row["volume"]) for row in body["rows"]} == {(9, 2, 100)}
    assert (body["matched"], body["cancelled"], body["failed"]) == (2, 2, 0)
    await settle(st)
    assert list(await ct_orders(st)) == [euro]
    assert list(await ct_orders(st, "Sim102")) == [sibling]
    for order_id in es:
        assert (await ct_order(st, order_id))["orderState"] == "Cancelled"


async def test_both_dialects_tell_the_same_state_while_the_venue_works(st):
    order_id = await ct_place(st)
    await settle(st)
    ticket = await ticket_of(st, order_id)
    st.server.container.venue.ack_delay_ms = 60_000

    changed = await st.call("PUT", "/trade/modify/pending", {"order": ticket, "open_price": 1.085})
    assert changed.status_code == 200, changed.text

    shown = await record(st, ticket, trade_type=3)
    assert shown is not None
    assert shown["state"] == 16
    assert (await ct_order(st, order_id))["orderState"] == "ChangePending"
    refused = await st.client.post(ct_url(f"/{order_id}/cancel"), headers=st.server.auth(), json={})
    # The venue still processes the change: locked for CrossTrade as for ScaleTrade.
    assert (refused.status_code, refused.json()["code"]) == (400, "ORDER_LOCKED")
    locked = await st.call("DELETE", "/trade/cancel", {"order": ticket})
    assert (locked.status_code, locked.json()["error"]) == (409, "RET_TRADE_ORDER_LOCKED")


# -- ScaleTrade orders seen and cancelled through CrossTrade -------------------------------------


async def test_scaletrade_pending_orders_are_crosstrade_orders(st):
    expiration = 4_102_444_800  # 2100-01-01
    limit = await pending(st, cmd=3, price="1.11000", volume=30)
    stop = await pending(st, cmd=4, price="1.11000", volume=40, expiration=expiration)
    stop_limit = await pending(st, cmd=11, price="1.08950", volume=5, trigger_price=1.09)
    await settle(st)

    orders = await ct_orders(st)

    assert set(orders) == {await id_of(st, t) for t in (limit, stop, stop_limit)}
    sell = orders[await id_of(st, limit)]
    assert (sell["account"], sell["instrument"], sell["action"], sell["orderType"]) == (
        "Sim101",
        "EURUSD",
        "Sell",
        "Limit",
    )
    assert (sell["orderState"], sell["timeInForce"], sell["gtd"]) == ("Working", "Gtc", None)
    assert (D(str(sell["quantity"])), D(str(sell["limitPrice"]))) == (D("0.3"), D("1.11"))
    buy = orders[await id_of(st, stop)]
    assert (buy["action"], buy["orderType"], buy["orderState"]) == ("Buy", "StopMarket", "Accepted")
    assert (D(str(buy["quantity"])), D(str(buy["stopPrice"]))) == (D("0.4"), D("1.11"))
    assert (buy["timeInForce"], buy["gtd"]) == ("Gtd", "2100-01-01T00:00:00Z")
    stops = orders[await id_of(st, stop_limit)]
    assert (stops["action"], stops["orderType"]) == ("Sell", "StopLimit")
    assert (D(str(stops["limitPrice"])), D(str(stops["stopPrice"]))) == (D("1.0895"), D("1.09"))


async def test_crosstrade_cancels_one_scaletrade_order(st):
    kept = await pending(st, price="1.08000")
    ticket = await pending(st)
    await settle(st)
    order_id = await id_of(st, ticket)

    answer = await st.client.post(ct_url(f"/{order_id}/cancel"), headers=st.server.auth(), json={})

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"orderId": order_id, "success": True}
    in_flight = await record(st, ticket, trade_type=3)
    assert in_flight is None or in_flight["state"] == 9
    await settle(st)
    deleted = await record(st, ticket, trade_type=2)
    assert deleted is not None
    assert deleted["state"] == 6
    assert [r["order"] for r in await records(st, trade_type=3)] == [kept]
    again = await st.call("DELETE", "/trade/cancel", {"order": ticket})
    assert (again.status_code, again.json()["error"]) == (409, "RET_TRADE_INCORRECT_STATE")


async def test_crosstrade_bulk_cancel_cancels_scaletrade_orders(st):
    tickets = [
        await pending(st, cmd=2, price="1.09000"),
        await pending(st, cmd=5, price="1.08000"),
        await pending(st, symbol="ES 12-26", price="5990.00"),
    ]
    theirs = await pending(st, login=1002)
    trade = await market(st)
    await settle(st)

    answer = await st.client.post(ct_url("/cancel"), headers=st.server.auth(), json={})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["success"] is True
    assert sorted(body["orderIds"]) == sorted([await id_of(st, t) for t in tickets])
    await settle(st)
    assert await records(st, trade_type=3) == []
    assert [(r["order"], r["state"]) for r in await records(st, trade_type=2)] == [
        (t, 6) for t in tickets
    ]
    assert [r["order"] for r in await records(st, trade_type=1)] == [trade]  # trades stay
    assert [r["order"] for r in await records(st, 1002, trade_type=3)] == [theirs]
    assert await ct_orders(st) == {}
    group = await st.call("DELETE", "/trade/cancel/group", {"login": 1001})
    assert (group.status_code, group.json()["error"]) == (404, "RET_NOT_FOUND")


async def test_crosstrade_bulk_cancel_of_one_instrument_leaves_scaletrade_the_rest(st):
    euro = await pending(st)
    es = await pending(st, symbol="ES 12-26", price="5990.00")
    await settle(st)

    answer = await st.client.post(
        ct_url("/cancel"), headers=st.server.auth(), json={"instrument": "ES 12-26"}
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["orderIds"] == [await id_of(st, es)]
    await settle(st)
    assert [(r["order"], r["state"]) for r in await records(st, trade_type=3)] == [(euro, 0)]
    group = await st.call("DELETE", "/trade/cancel/group", {"login": 1001})
    assert group.status_code == 200, group.text
    assert [row["order"] for row in group.json()["rows"]] == [euro]


async def test_both_dialects_over_a_real_server(st, live):
    """ScaleTrade places over TCP, CrossTrade bulk-cancels over TCP, both see the result."""
    async with httpx.AsyncClient(base_url=live, trust_env=False) as client:
        placed = await client.post(
            "/trade/open/pending",
            headers=st.auth(),
            json={"login": 1001, "cmd": 2, "volume": 100, "symbol": "EURUSD", "open_price": 1.09},
        )
        assert placed.status_code == 200, placed.text
        ticket = placed.json()["order"]
        await settle(st)
        listed = await client.get(ct_url(), headers=st.server.auth())
        assert [o["orderId"] for o in listed.json()["orders"]] == [await id_of(st, ticket)]
        cancelled = await client.post(ct_url("/cancel"), headers=st.server.auth(), json={})
        assert cancelled.json()["orderIds"] == [await id_of(st, ticket)]
        await settle(st)
        shown = await client.get("/trades", headers=st.auth(), params={"tradeType": "2"})
    assert shown.status_code == 200, shown.text
    body = shown.json()
    at = [body["structure"].index(column) for column in ("order", "state")]
    assert [(row[at[0]], row[at[1]]) for row in body["rows"]] == [(ticket, 6)]
