"""The CrossTrade WebSocket at /ws/stream, through a real websocket client against uvicorn:
frames, authentication, concurrency, streams and the rate limit."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from websockets.exceptions import InvalidStatus

from ordergate.api.crosstrade import ws_session
from ordergate.api.crosstrade.ops import OPERATIONS, Ctx, Operation
from ordergate.api.crosstrade.ws_streams import pump_account_events
from ordergate.bootstrap import shutdown
from ordergate.domain.events import OrderTransitioned
from ordergate.domain.ids import Login, OrderId, Ticket
from ordergate.domain.orders import OrderStatus
from ordergate.venue.base import Quote
from tests.api.crosstrade.conftest import Server, start
from tests.api.crosstrade.wsclient import (
    TIMEOUT,
    D,
    loads,
    place_body,
    rest,
    serving,
    session,
)


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"action": "ping", "id": {"a": 1}}', "id must be"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
async def test_a_malformed_frame_gets_an_error_frame_and_the_connection_stays(
    ct, live, raw, detail
):
    async with session(live, ct.token) as client:
        await client.send(raw)
        frame = await client.read()
        assert frame["id"] is None
        assert (frame["status"], frame["error"]) == (400, "Invalid request")
        assert detail in frame["detail"]
        await client.send({"action": "ping"})
        assert (await client.read())["type"] == "pong"


async def test_an_oversized_frame_gets_an_error_frame(ct, live):
    async with session(live, ct.token) as client:
        big = {"action": "rpc", "id": "big", "api": "GetOrders", "args": {"x": "y" * 70_000}}
        await client.send(big)
        frame = await client.read()
        assert (frame["id"], frame["status"], frame["code"]) == (None, 413, "FRAME_TOO_LARGE")
        assert (await client.call("GetOrders", {"account": "Sim101"}))["data"]["success"]


# -- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "og_" + "x" * 43, "garbage"])
async def test_no_or_bad_token_refuses_the_handshake_with_401(ct, live, token):
    with pytest.raises(InvalidStatus) as refused:
        async with session(live, token):
            pass
    response = refused.value.response
    assert response.status_code == 401
    body = loads(response.body)
    assert body["success"] is False
    assert body["error"].startswith("Unauthorized")
    assert body["code"] == "UNAUTHENTICATED"


async def test_browsers_authenticate_with_the_bearer_subprotocol(ct, live):
    offered = ["crosstrade", f"bearer.{ct.token}"]
    async with session(live, None, subprotocols=offered) as client:
        assert client.ws.subprotocol == "crosstrade"
        assert (await client.call("GetOrders", {"account": "Sim101"}))["data"]["success"]
    with pytest.raises(InvalidStatus) as refused:
        async with session(live, None, subprotocols=["crosstrade", "bearer.og_nope"]):
            pass
    assert refused.value.response.status_code == 401


async def test_the_token_query_parameter_is_the_last_resort(ct, live):
    async with session(live, None, query=f"?token={ct.token}") as client:
        assert (await client.call("GetOrders", {"account": "Sim101"}))["data"]["success"]


async def test_a_revoked_token_closes_the_connection_with_4401(ct, live, monkeypatch):
    monkeypatch.setattr(ws_session, "REAUTH_SECONDS", 0.05)
    async with session(live, ct.token) as client:
        await client.ping()
        await ct.container.users.revoke_tokens("demo")
        async with asyncio.timeout(TIMEOUT):
            await client.ws.wait_closed()
    assert client.ws.close_code == 4401
    assert client.ws.close_reason.startswith("Unauthorized")


# -- concurrency ------------------------------------------------------------------------------


async def test_a_hundred_requests_in_flight_are_answered_with_their_ids(ct, live):
    prices = {f"req-{i}": D("5000") + D("0.25") * i for i in range(100)}
    async with session(live, ct.token) as client:
        for rid, price in prices.items():
            body = {"account": "Sim101", **place_body(price=str(price))}
            await client.send({"action": "rpc", "id": rid, "api": "PlaceOrder", "args": body})
        answers = {}
        for _ in prices:
            frame = await client.until(lambda f: "type" not in f)
            answers[frame["id"]] = frame
    assert set(answers) == set(prices)
    assert all(a.get("data", {}).get("success") is True for a in answers.values()), answers
    await ct.container.engine.settle()
    _, body = await rest(ct, "GET", "/accounts/Sim101/orders")
    limit_of = {o["orderId"]: Decimal(o["limitPrice"]) for o in body["orders"]}
    assert {rid: limit_of[a["data"]["orderId"]] for rid, a in answers.items()} == prices


class HoldArgs(BaseModel):
    n: int


class Gate:
    """An operation that waits until opened: requests in flight on demand."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.entered = 0
        self.finished = 0

    async def handler(self, ctx: Ctx, args: HoldArgs) -> dict[str, Any]:
        self.entered += 1
        await self.opened.wait()
        self.finished += 1
        return {"n": args.n, "success": True}


@pytest.fixture
def gate(monkeypatch) -> Gate:
    gate = Gate()
    monkeypatch.setitem(OPERATIONS, "Hold", Operation("Hold", HoldArgs, gate.handler))
    return gate


async def wait_until(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(TIMEOUT):
        while not check():
            await asyncio.sleep(0.01)


async def test_beyond_the_in_flight_bound_requests_are_refused_then_all_are_answered(
    ct, live, gate
):
    bound = ws_session.MAX_IN_FLIGHT
    async with session(live, ct.token) as client:
        for n in range(bound + 1):
            await client.send({"action": "rpc", "id": n, "api": "Hold", "args": {"n": n}})
        refused = await client.answer(bound)
        assert (refused["status"], refused["code"]) == (429, "TOO_MANY_IN_FLIGHT")
        await client.ping()  # the reader is not blocked by the requests in flight
        assert gate.entered == bound
        gate.opened.set()
        answers = [await client.answer(n) for n in range(bound)]
    assert [a["data"]["n"] for a in answers] == list(range(bound))


async def test_closing_lets_requests_in_flight_finish_and_ends_every_stream(ct, live, gate):
    async with session(live, ct.token) as client:
        await client.send({"action": "subscribe", "instruments": ["ES 12-26"]})
        await client.send({"action": "streamPnl", "enabled": True, "interval": 250})
        await client.of_type("pnlUpdate")
        assert ct.container.bus.subscribers == 2  # orders and quotes
        for n in range(3):
            await client.send({"action": "rpc", "id": n, "api": "Hold", "args": {"n": n}})
        await wait_until(lambda: gate.entered == 3)
    await asyncio.sleep(0.05)
    assert gate.finished == 0
    gate.opened.set()
    await wait_until(lambda: gate.finished == 3)
    await wait_until(lambda: ct.container.bus.subscribers == 0)


# -- streams ----------------------------------------------------------------------------------


async def test_subscribe_streams_market_data_of_the_instruments(ct, live):
    async with session(live, ct.token) as client:
        await client.send({"action": "subscribe", "id": "s", "instruments": ["ESZ26", "NQ 12-26"]})
        ack = await client.of_type("subscriptions")
        assert ack == {"type": "subscriptions", "id": "s", "instruments": ["ES 12-26", "NQ 12-26"]}
        first = await client.of_type("marketData")
        assert [q["instrument"] for q in first["quotes"]] == ["ES 12-26", "NQ 12-26"]
        now = ct.container.clock.now()
        ct.container.market.push(
            Quote("ES 12-26", D("6001.25"), D("6001.50"), now, last=D("6001.50"), last_size=D("3"))
        )
        frame = await client.of_type("marketData")
        (quote,) = frame["quotes"]
        assert quote["instrument"] == "ES 12-26"
        assert (quote["bid"], quote["ask"], quote["last"]) == (
            D("6001.25"),
            D("6001.5"),
            D("6001.5"),
        )
        assert quote["volume"] == 3
        assert quote["tickSize"] == D("0.25")
        assert quote["isMarketOpen"] is True
        assert {"open", "high", "low", "close", "quoteTime", "epoch"} <= set(quote)

        ct.container.market.push(Quote("ES 03-27", D("6011"), D("6011.25"), now))
        await client.send({"action": "unsubscribe", "instruments": ["ES 12-26"]})
        assert (await client.of_type("subscriptions"))["instruments"] == ["NQ 12-26"]
        ct.container.market.push(Quote("ES 12-26", D("6002"), D("6002.25"), now))
        await client.ping()
        assert [f for f in client.unread if f.get("type") == "marketData"] == []


async def test_subscribing_to_an_unknown_instrument_is_an_error_frame(ct, live):
    async with session(live, ct.token) as client:
        await client.send({"action": "subscribe", "id": 3, "instruments": ["ZZ 12-26"]})
        frame = await client.answer(3)
        assert (frame["status"], frame["code"]) == (404, "INSTRUMENT_NOT_FOUND")
        assert "ZZ 12-26" in frame["error"]
        await client.send({"action": "subscribe", "id": 4, "instruments": "ES 12-26"})
        assert (await client.answer(4))["status"] == 400


async def test_order_execution_and_position_updates_are_pushed_to_the_owner_only(ct, live):
    async with session(live, ct.token) as mine, session(live, ct.other_token) as theirs:
        await theirs.ping()
        args = {"account": "Sim101", **place_body(orderType="Market", limitPrice=None)}
        placed = await mine.call("PlaceOrder", args)
        order_id = placed["data"]["orderId"]
        update = await mine.of_type("orderUpdate")
        assert update["orderId"] == order_id
        assert (update["account"], update["instrument"]) == ("Sim101", "ES 12-26")
        assert (update["previousState"], update["orderState"]) == (None, "Submitted")
        execution = await mine.of_type("executionUpdate")
        assert (execution["orderId"], execution["action"]) == (order_id, "Buy")
        assert (execution["quantity"], execution["price"]) == (1, D("6000.25"))
        position = await mine.of_type("positionUpdate")
        assert position["account"] == "Sim101"
        assert (position["marketPosition"], position["quantity"]) == ("Long", 1)
        assert position["averagePrice"] == D("6000.25")
        states = [update["orderState"]]
        while "Filled" not in states:
            states.append((await mine.of_type("orderUpdate"))["orderState"])
        assert states[-1] == "Filled"
        await theirs.ping()
        assert theirs.unread == []


async def test_stream_pnl_sends_updates_at_the_interval_until_disabled(ct, live):
    async with session(live, ct.token) as client:
        await client.send({"action": "streamPnl", "id": "p", "interval": 100})
        refused = await client.answer("p")
        assert (refused["status"], refused["error"]) == (400, "Invalid request")
        assert "interval" in refused["detail"]

        await client.send({"action": "streamPnl", "enabled": True, "interval": 250})
        ack = await client.of_type("pnlStream")
        assert ack == {
            "type": "pnlStream",
            "enabled": True,
            "interval": 250,
            "accounts": ["Sim101", "Sim102"],
        }
        # The stream keeps time on the event loop; its frames carry the server's clock,
        # which stands still here (a manual clock): the interval shows between arrivals.
        loop = asyncio.get_running_loop()
        first = await client.of_type("pnlUpdate")
        first_at = loop.time()
        second = await client.of_type("pnlUpdate")
        assert loop.time() - first_at >= 0.2
        assert first["epoch"] == second["epoch"] == int(ct.clock.now().timestamp() * 1000)
        assert [a["account"] for a in first["accounts"]] == ["Sim101", "Sim102"]
        assert first["accounts"][0]["cashValue"] == 1000000
        assert {"unrealizedProfitLoss", "netLiquidation", "currency"} <= set(first["accounts"][0])

        await client.send({"action": "streamPnl", "enabled": False})
        assert (await client.of_type("pnlStream"))["enabled"] is False
        client.unread.clear()
        await asyncio.sleep(0.4)
        await client.ping()
        assert [f for f in client.unread if f.get("type") == "pnlUpdate"] == []

        await client.send({"action": "streamPnl", "id": "o", "accounts": ["Other"]})
        assert (await client.answer("o"))["error"] == "Account 'Other' not found"


async def test_a_lagged_subscription_becomes_a_frame_telling_how_much_was_missed(ct):
    bus = ct.container.bus
    sub = bus.subscribe(accounts=[1001], maxsize=2)
    now = ct.container.clock.now()
    bus.publish(
        [
            OrderTransitioned(
                OrderId(f"{i:032x}"),
                Ticket(i),
                Login(1001),
                "ES 12-26",
                None,
                OrderStatus.SUBMITTED,
                "submitted",
                now,
            )
            for i in range(1, 6)
        ]
    )
    sent: list[dict[str, Any]] = []

    async def send(frame: dict[str, Any]) -> None:
        sent.append(frame)
        if len(sent) == 3:
            sub.close()

    principal = await ct.container.users.authenticate_token(ct.token)
    await pump_account_events(sub, send, Ctx(ct.container, principal), {1001: "Sim101"})
    lagged, *updates = sent
    assert lagged["type"] == "lagged"
    assert (lagged["stream"], lagged["missed"]) == ("orders", 3)
    assert "GetOrders" in lagged["message"]
    assert [u["orderId"] for u in updates] == [f"{i:032x}" for i in (4, 5)]


# -- the rate limit ---------------------------------------------------------------------------


@pytest.fixture
async def limited(db_url, store) -> AsyncIterator[Server]:
    server = await start(db_url, rate_limit_enabled=True, rate_limit_burst=3, rate_limit_per_s=1)
    yield server
    await server.client.aclose()
    await shutdown(server.container)


async def test_the_rate_limit_is_shared_with_http_and_answers_429_frames(limited):
    ct = limited
    async with serving(ct) as base, httpx.AsyncClient(base_url=base, headers=ct.auth()) as http:
        orders = "/v1/api/accounts/Sim101/orders"
        assert [(await http.get(orders)).status_code for _ in range(2)] == [200, 200]
        async with session(base, ct.token) as client:
            allowed = await client.call("GetOrders", {"account": "Sim101"}, rid=1)
            refused = await client.call("GetOrders", {"account": "Sim101"}, rid=2)
            await client.ping()  # pings are not rate limited
        after = await http.get(orders)
    assert allowed["data"]["success"] is True
    assert refused["id"] == 2
    assert (refused["status"], refused["error"], refused["code"]) == (
        429,
        "Rate limit exceeded",
        "RATE_LIMITED",
    )
    assert refused["retryAfter"] >= 1
    assert after.status_code == 429


async def test_subscribe_frames_back_to_back_each_restart_the_quotes_cleanly(ct, live):
    # Each subscribe replaces the quote stream; one replaced before it ever ran must not
    # leave its pump behind unstarted ("coroutine ... was never awaited").
    async with session(live, ct.token) as client:
        for symbols in (["ES 12-26"], ["NQ 12-26"], ["ES 03-27"], ["EURUSD"]):
            await client.send({"action": "subscribe", "instruments": symbols})
        for _ in range(4):
            await client.of_type("subscriptions")
        now = ct.container.clock.now()
        ct.container.market.push(Quote("NQ 12-26", D("21001"), D("21001.25"), now))
        frame = await client.of_type("marketData")
        while frame["quotes"][0]["instrument"] != "NQ 12-26":
            frame = await client.of_type("marketData")
    gc.collect()
