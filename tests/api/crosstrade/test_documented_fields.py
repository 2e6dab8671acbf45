"""What scripts written to the current CrossTrade docs send: the caller's own order id, the
position rules of a placement, a change guarded by its strategy, the lifecycle's raw records,
the order status read, cancel-all, reverse-position, and the stable text for an order that
is gone. Each through REST (and the WebSocket rpc where it says so), with its bad input."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.crosstrade.conftest import Server
from tests.api.crosstrade.wsclient import place, place_body, session
from tests.builders import snapshot

API = "/v1/api"
ORDERS = f"{API}/accounts/Sim101/orders"


async def post(ct: Server, path: str, body: Any, token: str | None = None) -> Any:
    return await ct.client.post(f"{API}{path}", headers=ct.auth(token), json=body)


async def get(ct: Server, path: str, **params: Any) -> Any:
    return await ct.client.get(f"{API}{path}", headers=ct.auth(), params=params)


async def fill_market(ct: Server, action: str = "Buy", quantity: int = 1) -> None:
    body = place_body(action=action, quantity=quantity, orderType="MARKET", limitPrice=None)
    response = await ct.client.post(f"{ORDERS}/place", headers=ct.auth(), json=body)
    assert response.status_code == 200, response.text
    await ct.container.engine.settle()


# -- the caller's own order id ---------------------------------------------------------------


async def test_an_order_is_read_cancelled_and_retried_by_the_callers_own_id(ct):
    placed = await post(ct, "/accounts/Sim101/orders/place", place_body(orderId="trend_long-17"))
    assert placed.json() == {"orderId": "trend_long-17", "success": True}
    await ct.container.engine.settle()
    before = await snapshot(ct.container.store)

    retried = await post(
        ct, "/accounts/Sim101/orders/place", place_body("ES 12-26", "5000", orderId="trend_long-17")
    )
    read = await get(ct, "/accounts/Sim101/orders/trend_long-17")
    status = await get(ct, "/accounts/Sim101/orders/trend_long-17/status")

    assert retried.json() == {"orderId": "trend_long-17", "success": True}
    assert await snapshot(ct.container.store) == before  # the retry placed nothing
    order = read.json()
    assert (order["originalOrderId"], order["limitPrice"]) == ("trend_long-17", 5990)
    assert len(order["orderId"]) == 32
    assert status.json() == {"status": "Working", "success": True}
    cancelled = await post(ct, "/accounts/Sim101/orders/trend_long-17/cancel", {})
    assert cancelled.json() == {"orderId": order["orderId"], "success": True}


@pytest.mark.parametrize("bad", ["", "has space", "x" * 65, "semi;colon", 17])
async def test_a_malformed_own_id_is_refused_and_places_nothing(ct, bad):
    before = await snapshot(ct.container.store)
    response = await post(ct, "/accounts/Sim101/orders/place", place_body(orderId=bad))
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid request"
    assert await snapshot(ct.container.store) == before


# -- position rules of a placement -----------------------------------------------------------


async def test_require_market_position_refuses_an_order_at_another_position(ct):
    await fill_market(ct)  # long 1 ES
    before = await snapshot(ct.container.store)
    refused = await post(
        ct, "/accounts/Sim101/orders/place", place_body(requireMarketPosition="Flat, short")
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "success": False,
        "error": "position in ES 12-26 is Long; required flat,short",
        "code": "POSITION_REQUIREMENT_NOT_MET",
    }
    assert await snapshot(ct.container.store) == before
    allowed = await post(
        ct, "/accounts/Sim101/orders/place", place_body(requireMarketPosition="flat,LONG")
    )
    assert allowed.status_code == 200, allowed.text


async def test_max_positions_refuses_only_an_order_that_would_open_one(ct):
    await fill_market(ct)  # one position
    refused = await post(
        ct, "/accounts/Sim101/orders/place", place_body("NQ 12-26", "20990", maxPositions=1)
    )
    assert (refused.status_code, refused.json()["code"]) == (400, "MAX_POSITIONS_REACHED")
    assert refused.json()["error"] == "1 open positions, limit 1"
    adding = await post(ct, "/accounts/Sim101/orders/place", place_body(maxPositions=1))
    assert adding.status_code == 200, adding.text


@pytest.mark.parametrize(
    "extra",
    [
        {"requireMarketPosition": "sideways"},
        {"requireMarketPosition": ""},
        {"maxPositions": 0},
        {"maxPositions": 1.5},
        {"maxPositions": "two"},
    ],
)
async def test_bad_position_rules_are_invalid_and_change_nothing(ct, extra):
    before = await snapshot(ct.container.store)
    response = await post(ct, "/accounts/Sim101/orders/place", place_body(**extra))
    assert (response.status_code, response.json()["error"]) == (400, "Invalid request")
    assert await snapshot(ct.container.store) == before


# -- change by strategy, lifecycle raw -------------------------------------------------------


async def test_a_change_guarded_by_a_strategy_applies_only_to_its_orders(ct):
    order_id = await place(ct, strategy="breakout")
    await ct.container.engine.settle()
    wrong = await ct.client.put(
        f"{ORDERS}/{order_id}/change",
        headers=ct.auth(),
        json={"limitPrice": 5985, "strategyId": "scalper"},
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"] == (
        f"Order linked to '{order_id}' does not belong to strategy 'scalper'."
    )
    right = await ct.client.put(
        f"{ORDERS}/{order_id}/change",
        headers=ct.auth(),
        json={"limitPrice": 5985, "strategyId": "breakout"},
    )
    assert right.status_code == 200, right.text


async def test_the_lifecycle_attaches_each_entrys_raw_record_on_request(ct):
    order_id = await place(ct, orderId="raw-1")
    await ct.container.engine.settle()
    plain = (await get(ct, "/accounts/Sim101/orders/raw-1/lifecycle")).json()
    raw = (await get(ct, "/accounts/Sim101/orders/raw-1/lifecycle", includeRaw="true")).json()
    assert plain["originalOrderId"] == "raw-1"
    assert all("raw" not in e for e in plain["events"])
    assert [e["raw"]["to_status"] for e in raw["events"]] == ["submitted", "working"]
    assert raw["orderId"] == plain["orderId"] != order_id  # the reply echoed the own id


# -- order status, cancel-all, reverse-position, gone orders ---------------------------------


async def test_order_status_over_rest_and_the_websocket(ct, live):
    order_id = await place(ct)
    await ct.container.engine.settle()
    rest = await get(ct, f"/accounts/Sim101/orders/{order_id}/status")
    async with session(live, ct.token) as client:
        frame = await client.call("GetOrderStatus", {"account": "Sim101", "orderId": order_id})
    assert rest.json() == frame["data"] == {"status": "Working", "success": True}
    unknown = await get(ct, f"/accounts/Sim101/orders/{'f' * 32}/status")
    assert (unknown.status_code, unknown.json()["error"]) == (400, "Invalid request")


async def test_cancel_all_covers_every_account_and_reports_each(ct):
    mine = await place(ct)
    sibling = await place(ct, account="Sim102")
    theirs = await place(ct, account="Other", token=ct.other_token)
    await ct.container.engine.settle()

    response = await post(ct, "/orders/cancelall", {})

    assert response.status_code == 200
    body = response.json()
    assert sorted(body["orderIds"]) == sorted([mine, sibling])
    assert body["accounts"] == [
        {"account": "Sim101", "orderIds": [mine], "notCancelled": []},
        {"account": "Sim102", "orderIds": [sibling], "notCancelled": []},
    ]
    assert (body["notCancelled"], body["success"]) == ([], True)
    assert theirs not in str(body)


async def test_cancel_all_narrowed_to_an_account_and_refused_by_a_closed_market(ct):
    mine = await place(ct)
    await place(ct, account="Sim102")
    await ct.container.engine.settle()
    ct.container.venue.set_market_closed("ES 12-26")
    response = await post(ct, "/orders/cancelall", {"account": "sim101"})
    assert response.status_code == 400
    body = response.json()
    assert [(r["orderId"], r["code"]) for r in body["notCancelled"]] == [(mine, "MARKET_CLOSED")]
    assert [a["account"] for a in body["accounts"]] == ["Sim101"]
    foreign = await post(ct, "/orders/cancelall", {"account": "Other"})
    assert (foreign.status_code, foreign.json()["error"]) == (404, "Account 'Other' not found")


async def test_reverse_position_closes_then_places_the_described_order(ct):
    flat = await post(ct, "/accounts/Sim101/positions/reverseposition", place_body(action="SELL"))
    assert flat.status_code == 400
    assert flat.json()["error"] == (
        "No position found for instrument 'ES 12-26' in account 'Sim101'"
    )
    await fill_market(ct, quantity=2)
    response = await post(
        ct,
        "/accounts/Sim101/positions/reverseposition",
        place_body(action="SELL", quantity=1, orderType="MARKET", limitPrice=None),
    )
    # The close is waited for on the engine's clock: let the venue fill it.
    assert response.status_code == 200, response.text
    await ct.container.engine.settle()
    positions = (await get(ct, "/accounts/Sim101/positions")).json()["positions"]
    assert [(p["marketPosition"], p["quantity"]) for p in positions] == [("Short", 1)]


async def test_cancelling_a_gone_order_answers_the_stable_text_alike_for_every_kind(ct):
    filled = await place(ct, price="6010")  # marketable: fills
    theirs = await place(ct, account="Other", token=ct.other_token)
    await ct.container.engine.settle()
    for ref in (filled, theirs, "f" * 32, "never-placed"):
        response = await post(ct, f"/accounts/Sim101/orders/{ref}/cancel", {})
        assert response.status_code == 400, ref
        assert response.json() == {
            "success": False,
            "error": f"Order linked to '{ref}' not found or already terminal.",
            "code": "ORDER_NOT_FOUND",
        }
