"""Lifecycle, change, replace, flatplace and cancel_and_bracket through HTTP, on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from ordergate.api.crosstrade.ops import OPERATIONS
from ordergate.domain.ids import Login
from ordergate.engine import brackets
from ordergate.venue.base import Quote
from tests.api.crosstrade.conftest import Server
from tests.builders import snapshot

D = Decimal
BASE = "/v1/api/accounts/{account}/orders"


def url(path: str, account: str = "Sim101") -> str:
    return BASE.format(account=account) + path


async def place(
    ct: Server,
    *,
    account: str = "Sim101",
    token: str | None = None,
    settle: bool = True,
    **body: Any,
) -> str:
    """Place an order (default: buy 1 ES 12-26 limit 5990 GTC) and return its id."""
    order = {
        "instrument": "ES 12-26",
        "action": "Buy",
        "quantity": 1,
        "orderType": "Limit",
        "limitPrice": 5990,
        "timeInForce": "Gtc",
        **body,
    }
    response = await ct.client.post(url("/place", account), headers=ct.auth(token), json=order)
    assert response.status_code == 200, response.text
    if settle:
        await ct.container.engine.settle()
    return str(response.json()["orderId"])


async def buy_market(ct: Server, quantity: int, action: str = "Buy", symbol: str = "ES 12-26"):
    await place(
        ct, instrument=symbol, action=action, quantity=quantity, orderType="Market", limitPrice=None
    )


_NUMBERS = ("quantity", "filled", "remaining", "averageFillPrice", "limitPrice", "stopPrice")


async def order(ct: Server, order_id: str, account: str = "Sim101", token=None) -> dict:
    """GET the order; its numbers as Decimals (whether the wire wrote numbers or strings)."""
    response = await ct.client.get(url(f"/{order_id}", account), headers=ct.auth(token))
    assert response.status_code == 200, response.text
    body = response.json()
    return {k: D(str(v)) if k in _NUMBERS else v for k, v in body.items()}


async def net(ct: Server, symbol: str = "ES 12-26", login: int = 1001) -> Decimal:
    """The account's signed net position in ``symbol``, as the engine holds it."""
    tickets = ct.container.engine.state.open_tickets(Login(login), symbol)
    return sum((t.quantity * t.side.sign for t in tickets), D(0))


async def open_ids(ct: Server, account: str = "Sim101") -> set[str]:
    response = await ct.client.get(url("", account), headers=ct.auth())
    return {o["orderId"] for o in response.json()["orders"]}


async def until_state(ct: Server, order_id: str, wanted: str) -> None:
    """Wait (at most 5 s) until the order is in ``wanted`` (a request runs concurrently)."""
    for _ in range(500):
        if (await order(ct, order_id))["orderState"] == wanted:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"order {order_id} never reached {wanted}")


def push(ct: Server, bid: str, ask: str, symbol: str = "ES 12-26") -> None:
    ct.container.market.push(Quote(symbol, D(bid), D(ask), ct.container.clock.now()))


@pytest.fixture
def short_wait(monkeypatch):
    """The compound flows give up waiting for the venue after 0.3 s instead of 5 s."""
    monkeypatch.setattr(brackets, "SETTLE_TIMEOUT_S", 0.3)


async def given_up(ct: Server, request: Any, within: float) -> Any:
    """The answer to ``request``, a flow that waits for the venue (0.3 s with ``short_wait``)
    and gives up: the clock moves a wait at a time, at most ``within`` seconds (before the
    venue's answer falls due)."""
    task = asyncio.ensure_future(request)
    return await ct.run_until_done(task, brackets.SETTLE_TIMEOUT_S, within=within)


async def place_with_latency(ct: Server, **body: Any) -> str:
    """Place an order at a venue that answers 10 ms later, and let the 10 ms pass: its
    transitions and fills are stamped after its submission, as on a real clock."""
    ct.container.venue.ack_delay_ms = 10
    order_id = await place(ct, settle=False, **body)
    await ct.advance(0.01)
    return order_id


def test_every_operation_is_registered_for_the_websocket():
    for name in ("GetLifecycle", "ChangeOrder", "ReplaceOrder", "FlatPlaceOrder"):
        assert name in OPERATIONS
    assert "CancelAndBracket" in OPERATIONS


# -- lifecycle -------------------------------------------------------------------------------


async def test_lifecycle_of_a_filled_order_merges_transitions_and_fill(ct):
    order_id = await place_with_latency(ct, orderType="Market", limitPrice=None, quantity=2)
    response = await ct.client.get(url(f"/{order_id}/lifecycle"), headers=ct.auth())
    assert response.status_code == 200, response.text
    body = response.json()
    assert {k: body[k] for k in ("account", "orderId", "instrument", "orderState")} == {
        "account": "Sim101",
        "orderId": order_id,
        "instrument": "ES 12-26",
        "orderState": "Filled",
    }
    assert (body["count"], body["limit"], body["truncated"], body["success"]) == (
        3,
        200,
        False,
        True,
    )
    submitted, fill, filled = body["events"]
    assert submitted["type"] == "state"
    assert (submitted["fromState"], submitted["toState"]) == ("Initialized", "Submitted")
    assert (submitted["reason"], submitted["actor"]) == ("submitted", "user:demo")
    assert submitted["time"].endswith("Z")
    assert isinstance(submitted["epoch"], int)
    assert fill["type"] == "fill"
    assert (fill["action"], fill["quantity"], fill["price"]) == ("Buy", 2, 6000.25)
    assert len(fill["executionId"]) == 32
    assert int(fill["executionId"], 16) > 0
    assert (filled["fromState"], filled["toState"], filled["actor"]) == (
        "Submitted",
        "Filled",
        "venue",
    )
    assert filled["reason"] == "filled 2 @ 6000.25"
    assert '"price":6000.25' in response.text  # an exact JSON number, not a string


async def test_lifecycle_of_a_cancelled_order_shows_each_state_in_nt8_casing(ct):
    order_id = await place(ct)
    await ct.client.post(url(f"/{order_id}/cancel"), headers=ct.auth(), json={})
    await ct.container.engine.settle()
    response = await ct.client.get(url(f"/{order_id}/lifecycle"), headers=ct.auth())
    steps = [(e["fromState"], e["toState"], e["actor"]) for e in response.json()["events"]]
    assert steps == [
        ("Initialized", "Submitted", "user:demo"),
        ("Submitted", "Working", "venue"),
        ("Working", "CancelPending", "user:demo"),
        ("CancelPending", "Cancelled", "venue"),
    ]
    assert response.json()["orderState"] == "Cancelled"


async def test_lifecycle_without_fills_and_with_a_limit(ct):
    order_id = await place_with_latency(ct, orderType="Market", limitPrice=None)
    path = url(f"/{order_id}/lifecycle")
    no_fills = (
        await ct.client.get(path, params={"includeFills": "false"}, headers=ct.auth())
    ).json()
    assert [e["type"] for e in no_fills["events"]] == ["state", "state"]
    first = (await ct.client.get(path, params={"limit": 1}, headers=ct.auth())).json()
    assert (first["count"], first["truncated"], first["events"][0]["toState"]) == (
        1,
        True,
        "Submitted",
    )
    capped = (await ct.client.get(path, params={"limit": 9999}, headers=ct.auth())).json()
    assert (capped["limit"], capped["count"], capped["truncated"]) == (2000, 3, False)


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": "many"}, {"includeFills": "perhaps"}])
async def test_lifecycle_bad_query_is_invalid(ct, params):
    order_id = await place(ct)
    response = await ct.client.get(url(f"/{order_id}/lifecycle"), params=params, headers=ct.auth())
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid request"


async def test_lifecycle_of_someone_elses_or_an_unknown_order_is_404(ct):
    theirs = await place(ct, account="Other", token=ct.other_token)
    foreign = await ct.client.get(url(f"/{theirs}/lifecycle", "Other"), headers=ct.auth())
    assert (foreign.status_code, foreign.json()["error"]) == (404, "Account 'Other' not found")
    elsewhere = await ct.client.get(url(f"/{theirs}/lifecycle"), headers=ct.auth())
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (404, "ORDER_NOT_FOUND")
    unknown = await ct.client.get(url("/nope/lifecycle"), headers=ct.auth())
    assert (unknown.status_code, unknown.json()["code"]) == (404, "ORDER_NOT_FOUND")
    malformed = await ct.client.get(url("/no%20pe/lifecycle"), headers=ct.auth())
    assert malformed.status_code == 400


async def test_lifecycle_needs_a_token(ct):
    order_id = await place(ct)
    response = await ct.client.get(url(f"/{order_id}/lifecycle"))
    assert response.status_code == 401


# -- change ----------------------------------------------------------------------------------


async def test_change_moves_the_price_and_quantity_of_a_working_order(ct):
    order_id = await place(ct)
    response = await ct.client.put(
        url(f"/{order_id}/change"), headers=ct.auth(), json={"limitPrice": 5985.5, "quantity": 3}
    )
    assert (response.status_code, response.json()) == (
        200,
        {"orderId": order_id, "success": True},
    )
    await ct.container.engine.settle()
    changed = await order(ct, order_id)
    assert (changed["limitPrice"], changed["quantity"], changed["orderState"]) == (
        5985.5,
        3,
        "Working",
    )


async def test_change_of_a_stop_price(ct):
    order_id = await place(ct, action="Sell", orderType="StopMarket", stopPrice=5950)
    response = await ct.client.put(
        url(f"/{order_id}/change"), headers=ct.auth(), json={"stopPrice": "5940.25"}
    )
    assert response.status_code == 200, response.text
    await ct.container.engine.settle()
    changed = await order(ct, order_id)
    assert (changed["stopPrice"], changed["orderState"]) == (5940.25, "Accepted")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{}", None),  # nothing to change: Invalid request
        (b'{"limitPrice": 5985.1}', "INVALID_PRICE"),  # off the tick grid
        (b'{"quantity": 0}', "INVALID_QUANTITY"),
        (b'{"quantity": 1.5}', "INVALID_QUANTITY"),  # off the lot step
        (b'{"stopPrice": 5950}', "INVALID_INPUT"),  # a limit order has no stop price
        (b'{"limitPrice": "abc"}', None),
        (b'{"price": 5985}', None),
        (b'{"limitPrice": NaN}', None),
        (b"[]", None),
    ],
)
async def test_bad_change_is_400_and_changes_nothing(ct, body, code):
    order_id = await place(ct)
    before = await snapshot(ct.container.store)
    response = await ct.client.put(
        url(f"/{order_id}/change"),
        headers={**ct.auth(), "Content-Type": "application/json"},
        content=body,
    )
    assert response.status_code == 400, response.text
    if code is None:
        assert response.json()["error"] == "Invalid request"
    else:
        assert response.json()["code"] == code
    assert await snapshot(ct.container.store) == before


async def test_change_of_a_filled_order_is_refused(ct):
    order_id = await place(ct, orderType="Market", limitPrice=None)
    before = await snapshot(ct.container.store)
    response = await ct.client.put(
        url(f"/{order_id}/change"), headers=ct.auth(), json={"quantity": 2}
    )
    assert (response.status_code, response.json()["code"]) == (400, "ORDER_NOT_CANCELLABLE")
    assert await snapshot(ct.container.store) == before


async def test_change_in_someone_elses_account_is_404_and_changes_nothing(ct):
    theirs = await place(ct, account="Other", token=ct.other_token)
    before = await snapshot(ct.container.store)
    response = await ct.client.put(
        url(f"/{theirs}/change", "Other"), headers=ct.auth(), json={"limitPrice": 5980}
    )
    assert (response.status_code, response.json()["error"]) == (404, "Account 'Other' not found")
    assert await snapshot(ct.container.store) == before
    unauthenticated = await ct.client.put(url(f"/{theirs}/change", "Other"), json={})
    assert unauthenticated.status_code == 401


# -- replace ---------------------------------------------------------------------------------


async def test_replace_cancels_the_order_then_places_the_new_one(ct):
    old = await place(ct)
    response = await ct.client.post(
        url(f"/{old}/replace"),
        headers=ct.auth(),
        json={
            "instrument": "ES 12-26",
            "action": "BUY",
            "quantity": 2,
            "orderType": "LIMIT",
            "limitPrice": 5995.75,
            "timeInForce": "GTC",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"orderId", "replacedOrderId", "success"}
    assert (body["replacedOrderId"], body["success"]) == (old, True)
    new = body["orderId"]
    assert new != old
    await ct.container.engine.settle()
    assert (await order(ct, old))["orderState"] == "Cancelled"
    placed = await order(ct, new)
    assert (placed["orderState"], placed["quantity"], placed["limitPrice"]) == (
        "Working",
        2,
        5995.75,
    )
    assert await open_ids(ct) == {new}


async def test_replace_places_nothing_when_the_venue_refuses_the_cancel(ct):
    old = await place(ct)
    ct.container.venue.refuse_cancels = "venue busy"
    response = await ct.client.post(
        url(f"/{old}/replace"), headers=ct.auth(), json=_limit_body(5980)
    )
    assert (response.status_code, response.json()["code"]) == (400, "ORDER_NOT_CANCELLABLE")
    assert "refused to cancel" in response.json()["error"]
    assert (await order(ct, old))["orderState"] == "Working"
    assert await open_ids(ct) == {old}


async def test_replace_places_nothing_when_the_order_fills_before_its_cancel(ct):
    old = await place(ct)
    ct.container.venue.cancel_delay_ms = 1000
    request = asyncio.create_task(
        ct.client.post(url(f"/{old}/replace"), headers=ct.auth(), json=_limit_body(5980))
    )
    await until_state(ct, old, "CancelPending")  # the cancel is on its way to the venue
    push(ct, "5989.75", "5990.00")  # the old buy limit at 5990 fills
    response = await request
    assert response.status_code == 400, response.text
    assert "filled before it could be cancelled" in response.json()["error"]
    await ct.container.engine.settle()
    assert (await order(ct, old))["orderState"] == "Filled"
    assert await open_ids(ct) == set()


async def test_replace_places_nothing_while_the_cancel_is_unconfirmed(ct, short_wait):
    old = await place(ct)
    ct.container.venue.cancel_delay_ms = 60_000
    response = await given_up(
        ct,
        ct.client.post(url(f"/{old}/replace"), headers=ct.auth(), json=_limit_body(5980)),
        within=60,  # the venue answers after 60 s
    )
    assert (response.status_code, response.json()["code"]) == (400, "ORDER_LOCKED")
    assert (await order(ct, old))["orderState"] == "CancelPending"
    assert await open_ids(ct) == {old}


def _limit_body(price: float, **extra: Any) -> dict[str, Any]:
    return {
        "instrument": "ES 12-26",
        "action": "Buy",
        "quantity": 1,
        "orderType": "Limit",
        "limitPrice": price,
        "timeInForce": "Gtc",
        **extra,
    }


@pytest.mark.parametrize(
    "body",
    [
        _limit_body(5980.1),  # off the tick grid: checked before the cancel
        _limit_body(5980, instrument="ZZ 01-30"),
        _limit_body(5980, quantity=0),
        _limit_body(5980, orderType="Trailing"),
        {"instrument": "ES 12-26"},
    ],
)
async def test_bad_replace_changes_nothing(ct, body):
    old = await place(ct)
    before = await snapshot(ct.container.store)
    response = await ct.client.post(url(f"/{old}/replace"), headers=ct.auth(), json=body)
    assert response.status_code in (400, 404), response.text
    assert await snapshot(ct.container.store) == before
    assert (await order(ct, old))["orderState"] == "Working"


async def test_replace_of_a_terminal_order_places_nothing(ct):
    old = await place(ct, orderType="Market", limitPrice=None)
    before = await snapshot(ct.container.store)
    response = await ct.client.post(
        url(f"/{old}/replace"), headers=ct.auth(), json=_limit_body(5980)
    )
    assert (response.status_code, response.json()["code"]) == (400, "ORDER_NOT_CANCELLABLE")
    assert await snapshot(ct.container.store) == before


async def test_replace_in_someone_elses_account_is_404(ct):
    theirs = await place(ct, account="Other", token=ct.other_token)
    before = await snapshot(ct.container.store)
    response = await ct.client.post(
        url(f"/{theirs}/replace", "Other"), headers=ct.auth(), json=_limit_body(5980)
    )
    assert response.status_code == 404
    assert await snapshot(ct.container.store) == before
    assert (await ct.client.post(url(f"/{theirs}/replace", "Other"), json={})).status_code == 401


# -- flatplace -------------------------------------------------------------------------------


async def test_flatplace_closes_the_position_and_orders_then_places(ct):
    await buy_market(ct, 2)
    resting = await place(ct, action="Sell", orderType="StopMarket", stopPrice=5950)
    elsewhere = await place(ct, instrument="NQ 12-26", limitPrice=20000)
    assert await net(ct) == 2
    response = await ct.client.post(
        url("/flatplace"),
        headers=ct.auth(),
        json={
            "instrument": "ES 12-26",
            "action": "SELL",
            "quantity": 1,
            "orderType": "MARKET",
            # GTC: a DAY order's expiry timer would keep the venue's drain() waiting
            "timeInForce": "GTC",
        },
    )
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"orderId", "success"}
    await ct.container.engine.settle()
    assert await net(ct) == -1  # flat first, then short 1
    assert (await order(ct, response.json()["orderId"]))["orderState"] == "Filled"
    assert (await order(ct, resting))["orderState"] == "Cancelled"
    assert await open_ids(ct) == {elsewhere}


async def test_flatplace_without_a_position_just_places(ct):
    response = await ct.client.post(url("/flatplace"), headers=ct.auth(), json=_limit_body(5980))
    assert response.status_code == 200, response.text
    await ct.container.engine.settle()
    assert (await order(ct, response.json()["orderId"]))["orderState"] == "Working"


async def test_flatplace_places_nothing_when_the_close_does_not_fill(ct, short_wait):
    await buy_market(ct, 1)
    ct.container.venue.ack_delay_ms = 60_000
    response = await given_up(
        ct,
        ct.client.post(url("/flatplace"), headers=ct.auth(), json=_limit_body(5980)),
        within=60,  # the venue answers after 60 s
    )
    assert (response.status_code, response.json()["code"]) == (400, "ORDER_LOCKED")
    assert "did not fill" in response.json()["error"]
    ids = await open_ids(ct)
    assert len(ids) == 1  # the closing order, still submitted; no new order
    (closing,) = ids
    assert (await order(ct, closing))["action"] == "Sell"


@pytest.mark.parametrize(
    "body",
    [_limit_body(5980.1), _limit_body(5980, quantity=-1), {"instrument": "ES 12-26"}, "x"],
)
async def test_bad_flatplace_keeps_the_position(ct, body):
    await buy_market(ct, 1)
    before = await snapshot(ct.container.store)
    response = await ct.client.post(url("/flatplace"), headers=ct.auth(), json=body)
    assert response.status_code == 400, response.text
    assert await snapshot(ct.container.store) == before
    assert await net(ct) == 1


async def test_flatplace_in_someone_elses_account_is_404(ct):
    before = await snapshot(ct.container.store)
    response = await ct.client.post(
        url("/flatplace", "Other"), headers=ct.auth(), json=_limit_body(5980)
    )
    assert response.status_code == 404
    assert await snapshot(ct.container.store) == before
    assert (await ct.client.post(url("/flatplace"), json=_limit_body(5980))).status_code == 401


# -- cancel_and_bracket ----------------------------------------------------------------------


def bracket_body(**kw: Any) -> dict[str, Any]:
    return {
        "instrument": "ES 12-26",
        "action": "Buy",
        "quantity": 2,
        "takeProfit": 6050,
        "stopLoss": 5950,
        **kw,
    }


async def test_bracket_replaces_the_protective_orders_of_a_long_position(ct):
    await buy_market(ct, 2)
    old_stop = await place(ct, action="Sell", quantity=2, orderType="StopMarket", stopPrice=5900)
    old_target = await place(ct, action="Sell", quantity=2, limitPrice=6100)
    elsewhere = await place(ct, instrument="NQ 12-26", limitPrice=20000)
    response = await ct.client.post(
        url("/cancel_and_bracket"), headers=ct.auth(), json=bracket_body()
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert sorted(body["cancelledOrderIds"]) == sorted([old_stop, old_target])
    assert body["notCancelled"] == []
    assert body["quantity"] == 2
    assert body["orderIds"] == [body["takeProfitOrderId"], body["stopLossOrderId"]]
    await ct.container.engine.settle()
    target = await order(ct, body["takeProfitOrderId"])
    stop = await order(ct, body["stopLossOrderId"])
    assert (target["action"], target["orderType"], target["limitPrice"], target["quantity"]) == (
        "Sell",
        "Limit",
        6050,
        2,
    )
    assert (stop["action"], stop["orderType"], stop["stopPrice"], stop["quantity"]) == (
        "Sell",
        "StopMarket",
        5950,
        2,
    )
    assert (target["orderState"], stop["orderState"]) == ("Working", "Accepted")
    assert target["oco"] == stop["oco"] == body["ocoId"]
    assert target["timeInForce"] == "Gtc"
    for old in (old_stop, old_target):
        assert (await order(ct, old))["orderState"] == "Cancelled"
    assert await open_ids(ct) == {target["orderId"], stop["orderId"], elsewhere}


async def test_bracket_goes_out_only_after_the_old_orders_are_cancelled(ct):
    """Never two sets of exits at once: the venue confirms every cancel before the bracket
    is submitted, and not a fixed delay later (the wait follows the venue's latency)."""
    await buy_market(ct, 1)
    old_stop = await place(ct, action="Sell", orderType="StopMarket", stopPrice=5900)
    ct.container.venue.cancel_delay_ms = 150
    request = asyncio.ensure_future(
        ct.client.post(url("/cancel_and_bracket"), headers=ct.auth(), json=bracket_body(quantity=1))
    )
    # 10 ms at a time: the cancel lands 150 ms on, long before the flow would give up (5 s).
    response = await ct.run_until_done(request, 0.01, within=brackets.SETTLE_TIMEOUT_S)
    assert response.status_code == 200, response.text
    await ct.container.engine.settle()
    old_events = (await ct.client.get(url(f"/{old_stop}/lifecycle"), headers=ct.auth())).json()
    cancelled_at = old_events["events"][-1]
    assert cancelled_at["toState"] == "Cancelled"
    stop_id = response.json()["stopLossOrderId"]
    new_events = (await ct.client.get(url(f"/{stop_id}/lifecycle"), headers=ct.auth())).json()
    assert new_events["events"][0]["epoch"] >= cancelled_at["epoch"]


async def test_bracket_is_clamped_to_the_position(ct):
    await buy_market(ct, 1)
    response = await ct.client.post(
        url("/cancel_and_bracket"), headers=ct.auth(), json=bracket_body(quantity=3)
    )
    assert response.status_code == 200, response.text
    assert response.json()["quantity"] == 1
    stop = await order(ct, response.json()["stopLossOrderId"])
    assert stop["quantity"] == 1


async def test_bracket_of_a_short_position_buys_back(ct):
    await buy_market(ct, 1, action="Sell")
    response = await ct.client.post(
        url("/cancel_and_bracket"),
        headers=ct.auth(),
        json=bracket_body(action="SELL", quantity=1, takeProfit=5950, stopLoss=6050),
    )
    assert response.status_code == 200, response.text
    stop = await order(ct, response.json()["stopLossOrderId"])
    target = await order(ct, response.json()["takeProfitOrderId"])
    assert (stop["action"], stop["stopPrice"], target["action"], target["limitPrice"]) == (
        "Buy",
        6050,
        "Buy",
        5950,
    )


async def test_bracket_without_a_position_is_an_entry(ct):
    response = await ct.client.post(
        url("/cancel_and_bracket"), headers=ct.auth(), json=bracket_body(quantity=3)
    )
    assert response.status_code == 200, response.text
    assert response.json()["quantity"] == 3
    assert response.json()["cancelledOrderIds"] == []


async def test_one_sided_bracket(ct):
    await buy_market(ct, 1)
    response = await ct.client.post(
        url("/cancel_and_bracket"),
        headers=ct.auth(),
        json={"instrument": "ES 12-26", "action": "Buy", "quantity": 1, "stopLoss": 5950},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["takeProfitOrderId"] is None
    assert body["orderIds"] == [body["stopLossOrderId"]]


async def test_bracket_is_not_placed_when_the_position_goes_flat_meanwhile(ct):
    await buy_market(ct, 1)
    old_stop = await place(ct, action="Sell", orderType="StopMarket", stopPrice=5990)
    ct.container.venue.cancel_delay_ms = 1000
    request = asyncio.create_task(
        ct.client.post(url("/cancel_and_bracket"), headers=ct.auth(), json=bracket_body())
    )
    await until_state(ct, old_stop, "CancelPending")
    push(ct, "5989.75", "5990.00")  # the old stop fills before its cancel lands
    response = await request
    assert (response.status_code, response.json()["code"]) == (400, "CONFLICT")
    assert "the bracket was not placed" in response.json()["error"]
    await ct.container.engine.settle()
    assert (await order(ct, old_stop))["orderState"] == "Filled"
    assert await net(ct) == 0
    assert await open_ids(ct) == set()


async def test_bracket_is_placed_beside_orders_the_venue_will_not_cancel_and_reports_them(
    ct, short_wait
):
    await buy_market(ct, 1)
    old_stop = await place(ct, action="Sell", orderType="StopMarket", stopPrice=5900)
    ct.container.venue.refuse_cancels = "venue busy"
    response = await given_up(
        ct,
        ct.client.post(
            url("/cancel_and_bracket"), headers=ct.auth(), json=bracket_body(quantity=1)
        ),
        within=3,  # the venue refuses at once; the flow gives up on its own wait
    )
    assert response.status_code == 200, response.text
    refused = response.json()["notCancelled"]
    # The flow asks again after each refusal: when it gives up, the last ask is refused or
    # still pending, as the clock the test moves meets the venue's answer.
    assert [r["orderId"] for r in refused] == [old_stop]
    assert refused[0]["code"] in ("VENUE_REJECTED", "CANCEL_PENDING")
    assert response.json()["success"] is False
    await ct.container.engine.settle()
    assert (await order(ct, old_stop))["orderState"] == "Accepted"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (bracket_body(takeProfit=5940), "INVALID_PRICE"),  # a long's target below its stop
        (bracket_body(takeProfit=None, stopLoss=None), "INVALID_INPUT"),
        (bracket_body(stopLoss=5950.1), "INVALID_PRICE"),
        (bracket_body(quantity=0), "INVALID_QUANTITY"),
        (bracket_body(action="Hold"), "INVALID_INPUT"),
        (bracket_body(action="Sell", takeProfit=5950, stopLoss=6050), "CONFLICT"),  # long held
        (bracket_body(instrument=None), None),
    ],
)
async def test_bad_bracket_changes_nothing(ct, body, code):
    await buy_market(ct, 1)
    old_stop = await place(ct, action="Sell", orderType="StopMarket", stopPrice=5900)
    before = await snapshot(ct.container.store)
    response = await ct.client.post(url("/cancel_and_bracket"), headers=ct.auth(), json=body)
    assert response.status_code == 400, response.text
    if code is None:
        assert response.json()["error"] == "Invalid request"
    else:
        assert response.json()["code"] == code
    assert await snapshot(ct.container.store) == before
    assert (await order(ct, old_stop))["orderState"] == "Accepted"


async def test_bracket_in_someone_elses_account_is_404(ct):
    before = await snapshot(ct.container.store)
    response = await ct.client.post(
        url("/cancel_and_bracket", "Other"), headers=ct.auth(), json=bracket_body()
    )
    assert (response.status_code, response.json()["error"]) == (404, "Account 'Other' not found")
    assert await snapshot(ct.container.store) == before
    assert (
        await ct.client.post(url("/cancel_and_bracket"), json=bracket_body())
    ).status_code == 401
