"""Every CrossTrade operation as a WebSocket rpc: the seed page's frame, the same bodies as
REST, and the refusals (error frames echoing the id)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from ordergate.api.crosstrade.ops import OPERATIONS
from tests.api.crosstrade.conftest import Server
from tests.api.crosstrade.wsclient import (
    Client,
    assert_same_body,
    order_state,
    place,
    place_body,
    rest,
    session,
)

# -- the seed page's frame -------------------------------------------------------------------


async def test_seed_frame_cancels_the_instruments_orders_and_echoes_the_id(ct, live):
    sep = await place(ct, symbol="ES 09-26")
    dec = await place(ct, symbol="ES 12-26")
    await ct.container.engine.settle()
    async with session(live, ct.token) as client:
        await client.send(
            {
                "action": "rpc",
                "id": "my-request-id",
                "api": "CancelOrders",
                "args": {"account": "Sim101", "instrument": "ES 09-26"},
            }
        )
        frame = await client.answer("my-request-id")
    assert set(frame) == {"id", "data"}
    assert frame["id"] == "my-request-id"
    assert set(frame["data"]) == {"orderIds", "notCancelled", "success"}
    assert frame["data"]["orderIds"] == [sep]
    assert frame["data"]["success"] is True
    await ct.container.engine.settle()
    assert (await order_state(ct, sep), await order_state(ct, dec)) == ("Cancelled", "Working")


# -- every operation, the same body as REST --------------------------------------------------


async def same_get_orders(ct: Server, client: Client) -> None:
    await place(ct, price="5990")
    await place(ct, price="5980", symbol="MES 12-25")
    await ct.container.engine.settle()
    frame = await client.call("GetOrders", {"account": "sim101"})
    status, body = await rest(ct, "GET", "/accounts/sim101/orders")
    assert status == 200
    assert_same_body(frame["data"], body)
    assert len(frame["data"]["orders"]) == 2


async def same_get_order(ct: Server, client: Client) -> None:
    order_id = await place(ct)
    await ct.container.engine.settle()
    frame = await client.call("GetOrder", {"account": "Sim101", "orderId": order_id})
    status, body = await rest(ct, "GET", f"/accounts/Sim101/orders/{order_id}")
    assert status == 200
    assert_same_body(frame["data"], body)
    assert frame["data"]["orderId"] == order_id


async def same_place_order(ct: Server, client: Client) -> None:
    frame = await client.call("PlaceOrder", {"account": "Sim101", **place_body()})
    status, body = await rest(ct, "POST", "/accounts/Sim101/orders/place", json=place_body())
    assert status == 200
    assert set(frame["data"]) == set(body) == {"orderId", "success"}
    await ct.container.engine.settle()
    _, by_ws = await rest(ct, "GET", f"/accounts/Sim101/orders/{frame['data']['orderId']}")
    _, by_rest = await rest(ct, "GET", f"/accounts/Sim101/orders/{body['orderId']}")
    differ = {"orderId", "time", "epoch", "updated"}
    assert {k: v for k, v in by_ws.items() if k not in differ} == {
        k: v for k, v in by_rest.items() if k not in differ
    }


async def same_cancel(ct: Server, client: Client) -> None:
    first, second = await place(ct), await place(ct)
    await ct.container.engine.settle()
    frame = await client.call("Cancel", {"account": "Sim101", "orderId": first})
    status, body = await rest(ct, "POST", f"/accounts/Sim101/orders/{second}/cancel", json={})
    assert frame["data"] == {"orderId": first, "success": True}
    assert (status, body) == (200, {"orderId": second, "success": True})
    # And the failure is the same too: a second cancel of the same order.
    again = await client.call("Cancel", {"account": "Sim101", "orderId": first})
    status, body = await rest(ct, "POST", f"/accounts/Sim101/orders/{second}/cancel", json={})
    assert again["status"] == status == 400
    assert again["code"] == body["code"]
    assert again["error"] == body["error"].replace(second, first)


async def same_cancel_orders(ct: Server, client: Client) -> None:
    mine, sibling = await place(ct), await place(ct, account="Sim102")
    await ct.container.engine.settle()
    frame = await client.call("CancelOrders", {"account": "Sim101"})
    status, body = await rest(ct, "POST", "/accounts/Sim102/orders/cancel", json={})
    assert frame["data"] == {"orderIds": [mine], "notCancelled": [], "success": True}
    assert (status, body) == (200, {"orderIds": [sibling], "notCancelled": [], "success": True})


async def same_close_strategy(ct: Server, client: Client) -> None:
    """ATM strategies are not simulated: the same refusal over both."""
    frame = await client.call("CloseStrategy", {"account": "Sim101", "strategyId": "ATM_1"})
    status, body = await rest(ct, "POST", "/accounts/Sim101/strategies/ATM_1/close", json={})
    assert frame == {"id": frame["id"], **body, "status": status}
    assert (status, body["code"]) == (400, "REJECTED")


SAME_AS_REST: dict[str, Callable[[Server, Client], Awaitable[None]]] = {
    "GetOrders": same_get_orders,
    "GetOrder": same_get_order,
    "PlaceOrder": same_place_order,
    "Cancel": same_cancel,
    "CancelOrders": same_cancel_orders,
    "CloseStrategy": same_close_strategy,
}


@pytest.mark.parametrize("api", sorted(SAME_AS_REST))
async def test_rpc_answers_the_same_body_as_rest(ct, live, api):
    async with session(live, ct.token) as client:
        await SAME_AS_REST[api](ct, client)


Refs = dict[str, str]
#: RPC name -> (its args, the same request over REST: method, path, query or body), given an
#: account and its refs (``filled``: a filled market order, ``resting``: a working limit
#: order, ``execution``: the fill's id).
Request = tuple[str, str, dict[str, Any]]
Sample = Callable[[str, Refs], tuple[dict[str, Any], Request]]
ES = "ES 12-26"

READS: dict[str, Sample] = {
    "ListAccounts": lambda a, r: ({}, ("GET", "/accounts", {})),
    "GetAccount": lambda a, r: ({"account": a}, ("GET", f"/accounts/{a}", {})),
    "GetSnapshot": lambda a, r: ({}, ("GET", "/accounts/snapshot", {})),
    "GetWatermarks": lambda a, r: ({"account": a}, ("GET", f"/accounts/{a}/watermarks", {})),
    "GetPositions": lambda a, r: ({"account": a}, ("GET", f"/accounts/{a}/positions", {})),
    "GetAllPositions": lambda a, r: ({}, ("GET", "/positions", {})),
    "GetPosition": lambda a, r: (
        {"account": a, "instrument": ES},
        ("GET", f"/accounts/{a}/position", {"params": {"instrument": ES}}),
    ),
    "GetQuote": lambda a, r: (
        {"instrument": ES},
        ("GET", "/market/quote", {"params": {"instrument": ES}}),
    ),
    "GetMarketInfo": lambda a, r: (
        {"instrument": ES},
        ("GET", "/market/info", {"params": {"instrument": ES}}),
    ),
    "GetBars": lambda a, r: (
        {"instrument": ES},
        ("POST", "/market/bars", {"json": {"instrument": ES}}),
    ),
    "GetExecutions": lambda a, r: ({"account": a}, ("GET", f"/accounts/{a}/executions", {})),
    "GetExecution": lambda a, r: (
        {"account": a, "executionId": r["execution"]},
        ("GET", f"/accounts/{a}/executions/{r['execution']}", {}),
    ),
    "GetLifecycle": lambda a, r: (
        {"account": a, "orderId": r["filled"]},
        ("GET", f"/accounts/{a}/orders/{r['filled']}/lifecycle", {}),
    ),
    "GetOrderStatus": lambda a, r: (
        {"account": a, "orderId": r["resting"]},
        ("GET", f"/accounts/{a}/orders/{r['resting']}/status", {}),
    ),
    "GetAlerts": lambda a, r: (
        {"outcome": "success", "limit": 5},
        ("GET", "/alerts", {"params": {"outcome": "success", "limit": 5}}),
    ),
    "GetMonitor": lambda a, r: ({"account": a}, ("GET", f"/accounts/{a}/monitor", {})),
    "GetMonitorLog": lambda a, r: (
        {"account": a, "limit": 5},
        ("GET", f"/accounts/{a}/monitor/log", {"params": {"limit": 5}}),
    ),
    "GetKillSwitch": lambda a, r: ({}, ("GET", "/killswitch", {})),
}

CHANGES: dict[str, Sample] = {
    "ChangeOrder": lambda a, r: (
        {"account": a, "orderId": r["resting"], "limitPrice": 5985},
        ("PUT", f"/accounts/{a}/orders/{r['resting']}/change", {"json": {"limitPrice": 5985}}),
    ),
    "ReplaceOrder": lambda a, r: (
        {"account": a, "orderId": r["resting"], **place_body(price="5980")},
        (
            "POST",
            f"/accounts/{a}/orders/{r['resting']}/replace",
            {"json": place_body(price="5980")},
        ),
    ),
    "FlatPlaceOrder": lambda a, r: (
        {"account": a, **place_body(action="SELL", price="6050")},
        (
            "POST",
            f"/accounts/{a}/orders/flatplace",
            {"json": place_body(action="SELL", price="6050")},
        ),
    ),
    "CancelAndBracket": lambda a, r: (
        {"account": a, **BRACKET},
        ("POST", f"/accounts/{a}/orders/cancel_and_bracket", {"json": BRACKET}),
    ),
    "ClosePosition": lambda a, r: (
        {"account": a, "instrument": ES, "quantity": 1},
        ("POST", f"/accounts/{a}/positions/close", {"json": {"instrument": ES, "quantity": 1}}),
    ),
    "Flatten": lambda a, r: (
        {"account": a, "instrument": ES},
        ("POST", f"/accounts/{a}/positions/flatten", {"json": {"instrument": ES}}),
    ),
    "Reverse": lambda a, r: (
        {"account": a, "instrument": ES},
        ("POST", f"/accounts/{a}/positions/reverse", {"json": {"instrument": ES}}),
    ),
    "ReversePosition": lambda a, r: (
        {"account": a, **place_body(action="SELL", price="6050")},
        (
            "POST",
            f"/accounts/{a}/positions/reverseposition",
            {"json": place_body(action="SELL", price="6050")},
        ),
    ),
    "CancelAllOrders": lambda a, r: (
        {"account": a},
        ("POST", "/orders/cancelall", {"json": {"account": a}}),
    ),
    "FlattenEverything": lambda a, r: (
        {"account": a},
        ("POST", "/positions/flatten", {"json": {"account": a}}),
    ),
    "SetMonitor": lambda a, r: (
        {"account": a, **MONITOR},
        ("PUT", f"/accounts/{a}/monitor", {"json": MONITOR}),
    ),
    "ResetMonitor": lambda a, r: (
        {"account": a},
        ("POST", f"/accounts/{a}/monitor/reset", {"json": {}}),
    ),
    "CancelAfter": lambda a, r: (
        {"account": a, "timeout": 60},
        ("POST", f"/accounts/{a}/orders/cancelafter", {"json": {"timeout": 60}}),
    ),
    "SetKillSwitch": lambda a, r: (
        {"account": a, "enabled": False},
        ("PUT", "/killswitch", {"json": {"account": a, "enabled": False}}),
    ),
}
MONITOR = {"enabled": True, "lossThreshold": 5000, "includeUnrealized": True}
BRACKET = {
    "instrument": ES,
    "action": "Buy",
    "quantity": 2,
    "takeProfit": 6100,
    "stopLoss": 5900,
}


async def twin_accounts(ct: Server) -> dict[str, Refs]:
    """The same state in Sim101 and Sim102: long 2 ES 12-26 and a working limit buy."""
    refs: dict[str, Refs] = {}
    for account in ("Sim101", "Sim102"):
        filled = await place(ct, account, orderType="MARKET", limitPrice=None, quantity=2)
        refs[account] = {"filled": filled, "resting": await place(ct, account)}
    await ct.container.engine.settle()
    for account, mine in refs.items():
        _, body = await rest(ct, "GET", f"/accounts/{account}/executions")
        mine["execution"] = str(body["executions"][0]["id"])
    return refs


_HEX_ID = re.compile("[0-9a-f]{32}")
_VOLATILE = {"time", "epoch", "updated", "timestamp", "quoteTime", "id", "executionId", "gtd"}


def normalized(body: Any) -> Any:
    """``body`` with what differs between twin accounts or moments blanked: order ids, the
    account names, times and execution ids."""
    if isinstance(body, dict):
        return {k: "<v>" if k in _VOLATILE else normalized(v) for k, v in body.items()}
    if isinstance(body, list):
        return [normalized(v) for v in body]
    if isinstance(body, str):
        return _HEX_ID.sub("<id>", body).replace("Sim102", "Sim101")
    return body


def _registered(table: dict[str, Sample]) -> list[str]:
    return sorted(set(table) & set(OPERATIONS))


@pytest.mark.parametrize("api", _registered(READS))
async def test_read_rpcs_answer_the_same_body_as_rest(ct, live, api):
    refs = await twin_accounts(ct)
    args, (method, path, kw) = READS[api]("Sim101", refs["Sim101"])
    async with session(live, ct.token) as client:
        frame = await client.call(api, args)
    status, body = await rest(ct, method, path, **kw)
    assert status == 200, body
    assert "data" in frame, frame
    assert_same_body(normalized(frame["data"]), normalized(body))


@pytest.mark.parametrize("api", _registered(CHANGES))
async def test_changing_rpcs_answer_as_rest_does_on_a_twin_account(ct, live, api):
    refs = await twin_accounts(ct)
    args, _ = CHANGES[api]("Sim101", refs["Sim101"])
    _, (method, path, kw) = CHANGES[api]("Sim102", refs["Sim102"])
    async with session(live, ct.token) as client:
        frame = await client.call(api, args)
    status, body = await rest(ct, method, path, **kw)
    assert status == 200, body
    assert "data" in frame, frame
    assert_same_body(normalized(frame["data"]), normalized(body))
    await ct.container.engine.settle()
    _, after_ws = await rest(ct, "GET", "/accounts/Sim101/orders")
    _, after_rest = await rest(ct, "GET", "/accounts/Sim102/orders")
    assert normalized(after_ws) == normalized(after_rest)


@pytest.mark.parametrize("api", sorted(OPERATIONS))
async def test_every_operation_is_an_rpc_refusing_args_that_are_not_an_object(ct, live, api):
    async with session(live, ct.token) as client:
        frame = await client.call(api, ["not", "an", "object"], rid=7)
        assert frame["id"] == 7
        assert frame["status"] == 400
        assert frame["error"] == "Invalid request"
        assert frame["code"] == "INVALID_REQUEST"
        assert "args" in frame["detail"]
        await client.ping()


def test_every_operation_has_a_rest_comparison():
    assert set(SAME_AS_REST) <= set(OPERATIONS)
    compared = set(SAME_AS_REST) | set(READS) | set(CHANGES)
    assert set(OPERATIONS) - compared == set()


# -- refusals ---------------------------------------------------------------------------------


async def test_bad_args_answer_an_error_frame_with_the_id_and_change_nothing(ct, live):
    order_id = await place(ct)
    await ct.container.engine.settle()
    async with session(live, ct.token) as client:
        bad_quantity = await client.call(
            "PlaceOrder", {"account": "Sim101", **place_body(quantity="many")}, rid="q"
        )
        misspelt = await client.call(
            "CancelOrders", {"account": "Sim101", "instrument": 5}, rid="m"
        )
        missing = await client.call("GetOrder", {"account": "Sim101"}, rid="g")
    for frame, rid, field in ((bad_quantity, "q", "quantity"), (misspelt, "m", "instrument")):
        assert frame["id"] == rid
        assert frame["status"] == 400
        assert frame["error"] == "Invalid request"
        assert field in frame["detail"]
    assert missing["id"] == "g"
    assert "orderId" in missing["detail"]
    _, body = await rest(ct, "GET", "/accounts/Sim101/orders")
    assert [o["orderId"] for o in body["orders"]] == [order_id]
    assert await order_state(ct, order_id) == "Working"


async def test_another_users_account_is_not_found_as_over_rest(ct, live):
    theirs = await place(ct, account="Other", token=ct.other_token)
    await ct.container.engine.settle()
    async with session(live, ct.token) as client:
        frame = await client.call("CancelOrders", {"account": "Other"}, rid="x")
    status, body = await rest(ct, "POST", "/accounts/Other/orders/cancel", json={})
    assert frame == {"id": "x", **body, "status": status}
    assert (frame["status"], frame["code"]) == (404, "ACCOUNT_NOT_FOUND")
    assert frame["error"] == "Account 'Other' not found"
    assert await order_state(ct, theirs, "Other", ct.other_token) == "Working"


async def test_unknown_api_and_action_answer_error_frames(ct, live):
    async with session(live, ct.token) as client:
        unknown = await client.call("CancelOrder", {"account": "Sim101"}, rid="u")
        await client.send({"action": "dance", "id": "d"})
        action = await client.answer("d")
        lower = await client.call("getorders", {"account": "Sim101"}, rid="l")
    assert (unknown["status"], unknown["code"]) == (404, "UNKNOWN_API")
    assert unknown["did_you_mean"] in ("CancelOrders", "Cancel")
    assert (action["status"], action["code"]) == (400, "UNKNOWN_ACTION")
    assert lower["data"]["success"] is True
