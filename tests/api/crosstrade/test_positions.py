"""Positions through HTTP: the net position per instrument, close, flatten (one account and
everything), reverse; bad input, foreign accounts and missing tokens change nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ordergate.api.crosstrade.ops import OPERATIONS
from ordergate.domain.accounts import PositionMode
from ordergate.venue.base import Quote
from tests.api.crosstrade.conftest import Server
from tests.builders import account, snapshot

D = Decimal
API = "/v1/api"


def parsed(response: httpx.Response) -> Any:
    """The JSON body with exact decimals (the server writes numbers from their exact text)."""
    return json.loads(response.content, parse_float=Decimal)


async def trade(
    ct: Server,
    symbol: str,
    action: str,
    quantity: int = 1,
    account: str = "Sim101",
    token: str | None = None,
) -> str:
    """A market order, filled (the sim fills at the quote) before this returns."""
    response = await ct.client.post(
        f"{API}/accounts/{account}/orders/place",
        headers=ct.auth(token),
        json={
            "instrument": symbol,
            "action": action,
            "quantity": quantity,
            "orderType": "Market",
            "timeInForce": "Gtc",
        },
    )
    assert response.status_code == 200, response.text
    await ct.container.engine.settle()
    return str(response.json()["orderId"])


async def rest(
    ct: Server, symbol: str, price: str, account: str = "Sim101", token: str | None = None
) -> str:
    """A buy limit below the market: it rests (Working once the venue acknowledged it)."""
    response = await ct.client.post(
        f"{API}/accounts/{account}/orders/place",
        headers=ct.auth(token),
        json={
            "instrument": symbol,
            "action": "Buy",
            "quantity": 1,
            "orderType": "Limit",
            "limitPrice": price,
            "timeInForce": "Gtc",
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["orderId"])


def quote(ct: Server, symbol: str, bid: str, ask: str) -> None:
    ct.container.market.push(Quote(symbol, D(bid), D(ask), ct.container.clock.now()))


async def get(ct: Server, path: str, token: str | None = None, **params: Any) -> Any:
    response = await ct.client.get(f"{API}{path}", headers=ct.auth(token), params=params)
    assert response.status_code == 200, response.text
    return parsed(response)


async def post(ct: Server, path: str, body: Any, token: str | None = None) -> httpx.Response:
    return await ct.client.post(f"{API}{path}", headers=ct.auth(token), json=body)


async def positions_of(ct: Server, account: str = "Sim101", token: str | None = None) -> list:
    body = await get(ct, f"/accounts/{account}/positions", token)
    assert body["success"] is True
    return list(body["positions"])


async def open_order_ids(ct: Server, account: str = "Sim101", token: str | None = None) -> set:
    body = await get(ct, f"/accounts/{account}/orders", token)
    return {o["orderId"] for o in body["orders"]}


def es_long(quantity: int, average: str, market: str, pnl: str, account: str = "Sim101"):
    return {
        "account": account,
        "instrument": "ES 12-26",
        "instrumentType": "Future",
        "marketPosition": "Long",
        "quantity": quantity,
        "averagePrice": D(average),
        "marketPrice": D(market),
        "unrealizedProfitLoss": D(pnl),
    }


async def es_three_long(ct: Server) -> None:
    """Sim101 long 3 ES 12-26 in two tickets: 2 at 6000.25, then 1 at 6003.25; bid 6010."""
    await trade(ct, "ES 12-26", "Buy", 2)
    quote(ct, "ES 12-26", "6003.00", "6003.25")
    await trade(ct, "ES 12-26", "BUY", 1)
    quote(ct, "ES 12-26", "6010.00", "6010.25")


def test_every_operation_is_registered_for_the_websocket_rpc():
    names = {
        "GetPositions",
        "GetAllPositions",
        "GetPosition",
        "ClosePosition",
        "Flatten",
        "FlattenEverything",
        "Reverse",
    }
    assert names <= set(OPERATIONS)


async def test_positions_net_the_open_tickets_per_instrument(ct):
    await es_three_long(ct)
    await trade(ct, "MES 12-25", "Sell", 1)  # at the bid, 6000
    quote(ct, "MES 12-25", "5990.00", "5990.25")

    held = await positions_of(ct)

    # ES: (6010 - 6000.25) * 2 * 50 + (6010 - 6003.25) * 1 * 50; MES short closes at the ask.
    assert held == [
        es_long(3, "6001.25", "6010", "1312.5"),
        {
            "account": "Sim101",
            "instrument": "MES 12-25",
            "instrumentType": "Future",
            "marketPosition": "Short",
            "quantity": 1,
            "averagePrice": 6000,
            "marketPrice": D("5990.25"),
            "unrealizedProfitLoss": D("48.75"),
        },
    ]
    assert await positions_of(ct, "sim102") == []


async def test_all_positions_cover_every_account_of_the_token_and_flat_ones_on_request(ct):
    await trade(ct, "ES 12-26", "Buy", 1)
    await trade(ct, "NQ 12-26", "Sell", 2, account="Sim102")
    await trade(ct, "EURUSD", "Buy", 1, account="Sim102")
    await trade(ct, "EURUSD", "Sell", 1, account="Sim102")  # flat again
    await trade(ct, "ES 12-26", "Buy", 1, account="Other", token=ct.other_token)

    body = await get(ct, "/positions")
    assert set(body) == {"positions", "count", "success"}
    assert body["success"] is True
    assert body["count"] == 2
    assert [(p["account"], p["instrument"], p["marketPosition"]) for p in body["positions"]] == [
        ("Sim101", "ES 12-26", "Long"),
        ("Sim102", "NQ 12-26", "Short"),
    ]
    assert body == await get(ct, "/positions", includeFlat="false")

    with_flat = await get(ct, "/positions", includeFlat="true")
    assert with_flat["count"] == 3
    assert with_flat["positions"][1] == {
        "account": "Sim102",
        "instrument": "EURUSD",
        "instrumentType": "Forex",
        "marketPosition": "Flat",
        "quantity": 0,
        "averagePrice": 0,
        "marketPrice": D("1.10001"),  # flat: the mid
        "unrealizedProfitLoss": 0,
    }
    admin = await get(ct, "/positions", ct.admin_token)
    assert [p["account"] for p in admin["positions"]] == ["Sim101", "Sim102", "Other"]


async def test_one_position_by_instrument_or_alias_and_flat_when_none(ct):
    await es_three_long(ct)
    body = await get(ct, "/accounts/SIM101/position", instrument="ESZ26")
    assert body == {**es_long(3, "6001.25", "6010", "1312.5"), "success": True}

    flat = await get(ct, "/accounts/Sim101/position", instrument="NQ 12-26")
    assert flat == {
        "account": "Sim101",
        "instrument": "NQ 12-26",
        "instrumentType": "Future",
        "marketPosition": "Flat",
        "quantity": 0,
        "averagePrice": 0,
        "marketPrice": D("21000.125"),
        "unrealizedProfitLoss": 0,
        "success": True,
    }


@pytest.mark.parametrize(
    ("params", "status"),
    [({}, 400), ({"instrument": ""}, 400), ({"instrument": "ES 12-26 " * 5}, 400)],
)
async def test_one_position_needs_an_instrument(ct, params, status):
    response = await ct.client.get(
        f"{API}/accounts/Sim101/position", headers=ct.auth(), params=params
    )
    assert response.status_code == status
    assert response.json()["error"] == "Invalid request"


async def test_unknown_instrument_is_404(ct):
    response = await ct.client.get(
        f"{API}/accounts/Sim101/position", headers=ct.auth(), params={"instrument": "ZZ 01-30"}
    )
    assert response.status_code == 404
    assert response.json()["error"] == "Instrument 'ZZ 01-30' not found"


async def test_close_sends_market_orders_for_the_whole_position(ct):
    await es_three_long(ct)
    response = await post(ct, "/accounts/Sim101/positions/close", {"instrument": "ES 12-26"})
    assert response.status_code == 200, response.text
    body = parsed(response)
    assert set(body) == {"closedPositions", "closingOrderIds", "success"}
    assert body["success"] is True
    assert body["closedPositions"] == [es_long(3, "6001.25", "6010", "1312.5")]
    assert len(body["closingOrderIds"]) == 2  # one per ticket
    await ct.container.engine.settle()
    assert await positions_of(ct) == []
    for order_id in body["closingOrderIds"]:
        order = await get(ct, f"/accounts/Sim101/orders/{order_id}")
        assert (order["action"], order["orderType"], order["orderState"]) == (
            "Sell",
            "Market",
            "Filled",
        )


async def test_close_a_quantity_takes_the_oldest_ticket_first(ct):
    await es_three_long(ct)
    body = parsed(
        await post(
            ct, "/accounts/Sim101/positions/close", {"instrument": "ES 12-26", "quantity": 1}
        )
    )
    assert body["closedPositions"] == [es_long(1, "6000.25", "6010", "487.5")]
    assert len(body["closingOrderIds"]) == 1
    await ct.container.engine.settle()
    assert await positions_of(ct) == [es_long(2, "6001.75", "6010", "825")]


@pytest.mark.parametrize(
    ("extra", "closed", "left"),
    [
        ({"percent": 0.5}, 2, 1),  # 1.5 contracts, rounded up to the lot step
        ({"percent": "0.25"}, 1, 2),
        ({"percent": 1}, 3, 0),
        ({"quantity": 10}, 3, 0),  # capped at the position
        ({"quantity": 1, "percent": 1}, 1, 2),  # quantity wins
    ],
)
async def test_close_a_percentage_or_a_capped_quantity(ct, extra, closed, left):
    await es_three_long(ct)
    response = await post(
        ct, "/accounts/Sim101/positions/close", {"instrument": "ES 12-26", **extra}
    )
    assert response.status_code == 200, response.text
    assert parsed(response)["closedPositions"][0]["quantity"] == closed
    await ct.container.engine.settle()
    assert sum(p["quantity"] for p in await positions_of(ct)) == left


async def test_close_without_a_position_is_400_and_changes_nothing(ct):
    await rest(ct, "ES 12-26", "5990")
    await ct.container.engine.settle()
    before = await snapshot(ct.container.store)
    response = await post(ct, "/accounts/Sim101/positions/close", {"instrument": "ES 12-26"})
    assert response.status_code == 400
    assert response.json()["error"] == "No positions found for instrument 'ES 12-26'"
    assert response.json()["success"] is False
    assert await snapshot(ct.container.store) == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"instrument": "ES 12-26", "percent": 1.5},
        {"instrument": "ES 12-26", "percent": 0},
        {"instrument": "ES 12-26", "quantity": -1},
        {"instrument": "ES 12-26", "quantity": "many"},
        {"instrument": 5},
        [],
    ],
)
async def test_malformed_close_is_invalid_and_changes_nothing(ct, body):
    await trade(ct, "ES 12-26", "Buy", 2)
    before = await snapshot(ct.container.store)
    response = await post(ct, "/accounts/Sim101/positions/close", body)
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid request"
    assert await snapshot(ct.container.store) == before


async def test_close_off_the_lot_step_is_refused(ct):
    await trade(ct, "ES 12-26", "Buy", 2)
    before = await snapshot(ct.container.store)
    response = await post(
        ct, "/accounts/Sim101/positions/close", {"instrument": "ES 12-26", "quantity": 0.5}
    )
    assert response.status_code == 400
    assert "lot step" in response.json()["error"]
    assert await snapshot(ct.container.store) == before


async def test_flatten_cancels_the_orders_and_closes_the_positions(ct):
    await trade(ct, "ES 12-26", "Buy", 1)
    resting = {await rest(ct, "ES 12-26", "5990"), await rest(ct, "MES 12-25", "5990")}
    sibling = await rest(ct, "ES 12-26", "5990", account="Sim102")
    await ct.container.engine.settle()

    response = await post(ct, "/accounts/Sim101/positions/flatten", {})

    assert response.status_code == 200, response.text
    body = parsed(response)
    assert set(body) == {
        "orderIds",
        "closedPositions",
        "closingOrderIds",
        "failed",
        "notCancelled",
        "success",
    }
    assert set(body["orderIds"]) == resting
    assert body["closedPositions"] == [es_long(1, "6000.25", "6000", "-12.5")]
    assert len(body["closingOrderIds"]) == 1
    assert (body["failed"], body["success"]) == ([], True)
    await ct.container.engine.settle()
    assert await positions_of(ct) == []
    assert await open_order_ids(ct) == set()
    assert await open_order_ids(ct, "Sim102") == {sibling}


async def test_flatten_one_instrument_leaves_the_others(ct):
    await trade(ct, "ES 12-26", "Buy", 1)
    await trade(ct, "MES 12-25", "Buy", 1)
    es_order, mes_order = await rest(ct, "ES 12-26", "5990"), await rest(ct, "MES 12-25", "5990")
    await ct.container.engine.settle()
    response = await post(ct, "/accounts/Sim101/positions/flatten", {"instrument": "ES"})
    body = parsed(response)
    assert body["orderIds"] == [es_order]
    assert [p["instrument"] for p in body["closedPositions"]] == ["ES 12-26"]
    await ct.container.engine.settle()
    assert [p["instrument"] for p in await positions_of(ct)] == ["MES 12-25"]
    assert await open_order_ids(ct) == {mes_order}


async def test_flatten_by_market_position_closes_only_that_side_with_its_orders(ct):
    await trade(ct, "ES 12-26", "Buy", 1)
    await trade(ct, "MES 12-25", "Sell", 1)
    es_order, mes_order = await rest(ct, "ES 12-26", "5990"), await rest(ct, "MES 12-25", "5990")
    await ct.container.engine.settle()
    body = parsed(await post(ct, "/accounts/Sim101/positions/flatten", {"marketPosition": "SHORT"}))
    assert body["orderIds"] == [mes_order]
    assert [p["marketPosition"] for p in body["closedPositions"]] == ["Short"]
    await ct.container.engine.settle()
    assert [p["instrument"] for p in await positions_of(ct)] == ["ES 12-26"]
    assert await open_order_ids(ct) == {es_order}


async def test_flatten_never_reports_success_while_an_order_cannot_be_cancelled(ct):
    await trade(ct, "ES 12-26", "Buy", 1)
    working = await rest(ct, "ES 12-26", "5990")
    await ct.container.engine.settle()
    ct.container.venue.ack_delay_ms = 60_000
    submitted = await rest(ct, "ES 12-26", "5985")  # the venue has not acknowledged it

    response = await post(ct, "/accounts/Sim101/positions/flatten", {})

    assert response.status_code == 200  # it did cancel one order and close the position
    body = parsed(response)
    assert body["success"] is False
    assert body["code"] == "FLATTEN_INCOMPLETE"
    assert body["error"].startswith("Flatten incomplete")
    assert body["orderIds"] == [working]
    assert len(body["closedPositions"]) == 1
    assert body["failed"] == [
        {
            "account": "Sim101",
            "instrument": "ES 12-26",
            "orderId": submitted,
            "code": "ORDER_LOCKED",
            "message": "the venue is still processing it (submitted)",
        }
    ]
    assert body["notCancelled"] == [
        {
            "orderId": submitted,
            "code": "ORDER_LOCKED",
            "error": "the venue is still processing it (submitted)",
        }
    ]


async def test_a_flatten_that_can_do_nothing_is_400_and_says_why(ct):
    await trade(ct, "ES 12-26", "Buy", 1)
    working = await rest(ct, "ES 12-26", "5990")
    await ct.container.engine.settle()
    ct.container.venue.set_market_closed("ES 12-26")

    response = await post(ct, "/accounts/Sim101/positions/flatten", {})

    assert response.status_code == 400
    body = parsed(response)
    assert (body["success"], body["code"], body["orderIds"]) == (False, "FLATTEN_INCOMPLETE", [])
    assert [(r["orderId"], r["code"]) for r in body["notCancelled"]] == [(working, "MARKET_CLOSED")]
    assert {f["code"] for f in body["failed"]} == {"MARKET_CLOSED"}
    assert len(body["failed"]) == 2  # the order, and the position it could not close


async def test_flatten_with_nothing_to_do_succeeds_empty(ct):
    response = await post(ct, "/accounts/Sim101/positions/flatten", {})
    assert (response.status_code, response.json()) == (
        200,
        {
            "orderIds": [],
            "closedPositions": [],
            "closingOrderIds": [],
            "failed": [],
            "notCancelled": [],
            "success": True,
        },
    )


@pytest.mark.parametrize(
    "body",
    [{}, b"", {"all": False}, {"all": "true"}, {"marketPosition": "flat"}, {"acount": "Sim101"}],
)
async def test_flatten_everything_refuses_an_empty_or_malformed_request(ct, body):
    await trade(ct, "ES 12-26", "Buy", 1)
    await trade(ct, "ES 12-26", "Buy", 1, account="Sim102")
    await rest(ct, "MES 12-25", "5990")
    await ct.container.engine.settle()
    before = await snapshot(ct.container.store)
    if isinstance(body, bytes):
        response = await ct.client.post(f"{API}/positions/flatten", headers=ct.auth(), content=body)
    else:
        response = await post(ct, "/positions/flatten", body)
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid request"
    assert await snapshot(ct.container.store) == before


async def test_empty_flatten_everything_says_how_to_flatten_everything(ct):
    response = await post(ct, "/positions/flatten", {})
    assert response.status_code == 400
    assert '"all": true' in response.json()["detail"]


async def test_flatten_everything_with_all_covers_only_the_tokens_accounts(ct):
    await trade(ct, "ES 12-26", "Buy", 1)
    await trade(ct, "NQ 12-26", "Sell", 1, account="Sim102")
    mine = await rest(ct, "MES 12-25", "5990", account="Sim102")
    await trade(ct, "ES 12-26", "Buy", 1, account="Other", token=ct.other_token)
    theirs = await rest(ct, "ES 12-26", "5990", account="Other", token=ct.other_token)
    await ct.container.engine.settle()

    response = await post(ct, "/positions/flatten", {"all": True})

    assert response.status_code == 200, response.text
    body = parsed(response)
    assert body["success"] is True
    assert body["orderIds"] == [mine]
    assert [(p["account"], p["instrument"]) for p in body["closedPositions"]] == [
        ("Sim101", "ES 12-26"),
        ("Sim102", "NQ 12-26"),
    ]
    assert len(body["closingOrderIds"]) == 2
    await ct.container.engine.settle()
    assert (await get(ct, "/positions"))["count"] == 0
    assert await open_order_ids(ct, "Sim102") == set()
    assert len(await positions_of(ct, "Other", ct.other_token)) == 1
    assert await open_order_ids(ct, "Other", ct.other_token) == {theirs}


async def test_flatten_everything_filters_by_account_instrument_and_side(ct):
    await trade(ct, "ES 12-26", "Buy", 1)
    await trade(ct, "MES 12-25", "Sell", 1)
    await trade(ct, "ES 12-26", "Sell", 1, account="Sim102")
    await trade(ct, "MES 12-25", "Buy", 1, account="Sim102")

    body = parsed(
        await post(ct, "/positions/flatten", {"instrument": "ES 12-26", "marketPosition": "short"})
    )
    assert [(p["account"], p["instrument"]) for p in body["closedPositions"]] == [
        ("Sim102", "ES 12-26")
    ]
    await ct.container.engine.settle()
    body = parsed(await post(ct, "/positions/flatten", {"account": "sim101"}))
    assert [p["instrument"] for p in body["closedPositions"]] == ["ES 12-26", "MES 12-25"]
    await ct.container.engine.settle()
    assert [
        (p["account"], p["instrument"]) for p in (await get(ct, "/positions"))["positions"]
    ] == [("Sim102", "MES 12-25")]


@pytest.mark.parametrize("name", ["Other", "Nope"])
async def test_flatten_everything_of_a_foreign_account_is_404_and_changes_nothing(ct, name):
    await trade(ct, "ES 12-26", "Buy", 1, account="Other", token=ct.other_token)
    before = await snapshot(ct.container.store)
    response = await post(ct, "/positions/flatten", {"account": name})
    assert response.status_code == 404
    assert response.json()["error"] == f"Account '{name}' not found"
    assert await snapshot(ct.container.store) == before


async def test_reverse_turns_a_netting_position_around_in_one_order(ct):
    await trade(ct, "ES 12-26", "Buy", 2)
    response = await post(ct, "/accounts/Sim101/positions/reverse", {"instrument": "ES 12-26"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"orderId", "success"}
    assert body["success"] is True
    await ct.container.engine.settle()
    order = await get(ct, f"/accounts/Sim101/orders/{body['orderId']}")
    assert (order["action"], D(str(order["quantity"])), order["orderState"]) == (
        "Sell",
        4,
        "Filled",
    )
    assert await positions_of(ct) == [
        {
            "account": "Sim101",
            "instrument": "ES 12-26",
            "instrumentType": "Future",
            "marketPosition": "Short",
            "quantity": 2,
            "averagePrice": 6000,
            "marketPrice": D("6000.25"),
            "unrealizedProfitLoss": D("-25"),
        }
    ]


async def test_reverse_when_flat_is_400_and_changes_nothing(ct):
    before = await snapshot(ct.container.store)
    response = await post(ct, "/accounts/Sim101/positions/reverse", {"instrument": "ES 12-26"})
    assert response.status_code == 400
    assert response.json()["error"] == "No positions found for instrument 'ES 12-26'"
    assert await snapshot(ct.container.store) == before


async def test_a_hedging_account_nets_its_tickets_and_reverses_by_ticket(ct):
    demo = await ct.container.users.get_user("demo")
    async with ct.container.store.transaction() as tx:
        await tx.accounts.add(account(1003, "Hedge1", owner=demo.id, mode=PositionMode.HEDGING))
        await tx.commit()
    await trade(ct, "ES 12-26", "Buy", 2, account="Hedge1")  # at 6000.25
    await trade(ct, "ES 12-26", "Sell", 1, account="Hedge1")  # a second ticket, at 6000
    # Long 2 closes at the bid (-0.25 * 2 * 50), short 1 at the ask (-0.25 * 50).
    assert await positions_of(ct, "Hedge1") == [
        es_long(1, "6000.25", "6000", "-37.5", account="Hedge1")
    ]

    response = await post(ct, "/accounts/Hedge1/positions/reverse", {"instrument": "ES 12-26"})
    assert response.status_code == 200, response.text
    await ct.container.engine.settle()
    # A new short ticket of the net size; every ticket held before is closed.
    assert await positions_of(ct, "Hedge1") == [
        {
            "account": "Hedge1",
            "instrument": "ES 12-26",
            "instrumentType": "Future",
            "marketPosition": "Short",
            "quantity": 1,
            "averagePrice": 6000,
            "marketPrice": D("6000.25"),
            "unrealizedProfitLoss": D("-12.5"),
        }
    ]


ACCOUNT_CALLS = [
    ("GET", "/accounts/{a}/positions", None),
    ("GET", "/accounts/{a}/position?instrument=ES%2012-26", None),
    ("POST", "/accounts/{a}/positions/close", {"instrument": "ES 12-26"}),
    ("POST", "/accounts/{a}/positions/flatten", {}),
    ("POST", "/accounts/{a}/positions/reverse", {"instrument": "ES 12-26"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ACCOUNT_CALLS)
@pytest.mark.parametrize("name", ["Other", "Nope"])
async def test_foreign_and_unknown_accounts_are_404_and_change_nothing(
    ct, method, path, body, name
):
    await trade(ct, "ES 12-26", "Buy", 1, account="Other", token=ct.other_token)
    before = await snapshot(ct.container.store)
    response = await ct.client.request(
        method, API + path.format(a=name), headers=ct.auth(), json=body
    )
    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "error": f"Account '{name}' not found",
        "code": "ACCOUNT_NOT_FOUND",
    }
    assert await snapshot(ct.container.store) == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        *ACCOUNT_CALLS,
        ("GET", "/positions", None),
        ("POST", "/positions/flatten", {"all": True}),
    ],
)
async def test_no_token_is_401(ct, method, path, body):
    await trade(ct, "ES 12-26", "Buy", 1)
    before = await snapshot(ct.container.store)
    response = await ct.client.request(method, API + path.format(a="Sim101"), json=body)
    assert response.status_code == 401
    assert response.json()["success"] is False
    assert await snapshot(ct.container.store) == before
