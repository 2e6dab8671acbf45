"""The ScaleTrade WebSocket stream at the server's bare address, through a real uvicorn: the
authorization frame, account selection, the ``t``/``b``/``o``/``n`` event arrays (each ``o``
showing what ``GET /trades`` shows for its ticket), quotes by subscription, bad frames, and
connections closed when their JWT expires, their account is disabled or they fall behind.

Who may see which login's events: tests/api/test_authz_matrix.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from ordergate.api.scaletrade import stream_session
from ordergate.api.scaletrade.stream_session import MAX_FRAME_BYTES, StreamSession
from ordergate.auth.access import set_account_enabled, set_user_enabled
from tests.api.scaletrade.conftest import DESK, FixedClock, St, pending
from tests.api.scaletrade.helpers import bad_tokens, market, push
from tests.api.scaletrade.streamclient import (
    StreamClient,
    closed_by_the_server,
    stream,
)

D = Decimal

#: The elements of an ``o`` event, by index, under the names of GET /trades' columns.
O_FIELDS = (
    "order",
    "login",
    "symbol",
    "cmd",
    "volume",
    "open_price",
    "close_price",
    "open_time",
    "close_time",
    "tp",
    "sl",
    "state",
    "storage",
    "commission",
    "profit",
    "comment",
    "code",
)
B_FIELDS = (
    "login",
    "balance",
    "margin",
    "margin_free",
    "margin_level",
    "equity",
    "credit",
    "level_type",
    "profit",
    "code",
)


def fields(event: list[Any]) -> dict[str, Any]:
    names = {"o": O_FIELDS, "b": B_FIELDS}[event[0]]
    assert len(event) == len(names) + 1, event
    return dict(zip(names, event[1:], strict=True))


async def rest_record(st: St, ticket: int, trade_type: int) -> dict[str, Any]:
    """Ticket ``ticket``'s record in GET /trades, numbers exact as written."""
    answer = await st.call("GET", "/trades", params={"tradeType": trade_type, "limit": 1000})
    assert answer.status_code == 200, answer.text
    body = json.loads(answer.content, parse_float=Decimal)
    rows = [dict(zip(body["structure"], r, strict=True)) for r in body["rows"]]
    found = [r for r in rows if r["order"] == ticket]
    assert len(found) == 1, (ticket, rows)
    return found[0]


async def as_rest_shows_it(st: St, event: list[Any], trade_type: int = 0) -> None:
    """The ``o`` event's figures are those of its ticket's record in GET /trades, number
    for number."""
    shown = await rest_record(st, event[1], trade_type)
    got = fields(event)
    same = ("order", "login", "symbol", "cmd", "volume", "open_price", "close_price")
    same += ("open_time", "close_time", "tp", "sl", "state", "profit")
    assert {k: got[k] for k in same} == {k: shown[k] for k in same}, (event, shown)


def of(ticket: int, state: int | None = None):
    return lambda e: e[1] == ticket and (state is None or e[12] == state)


@asynccontextmanager
async def staff(live: str, st: St, login: int, active: int) -> AsyncIterator[StreamClient]:
    """A manager's or admin's stream, streaming ``active`` (its switch reply and ``b`` read)."""
    async with stream(live, st.tokens[login]) as client:
        answer = await client.ask(
            {"event": "account.switch", "active_login": active}, "account.switch"
        )
        assert answer == {"event": "account.switch", "success": True, "active_login": active}
        await client.sync()
        client.unread.clear()
        yield client


# -- authorization and the account ----------------------------------------------------------


@pytest.mark.parametrize("path", ["", "/"])
async def test_a_client_session_authorizes_and_streams_its_own_login_at_once(st, live, path):
    async with stream(live, path=path) as client:
        assert await client.authorize(st.tokens[1001]) == {
            "event": "authorization",
            "success": True,
        }
        switched = await client.reply("account.switch")
        balance = fields(await client.event("b"))

    assert switched == {"event": "account.switch", "success": True, "active_login": 1001}
    assert balance == {
        "login": 1001,
        "balance": D(1_000_000),
        "margin": 0,
        "margin_free": D(1_000_000),
        "margin_level": 0,
        "equity": D(1_000_000),
        "credit": 0,
        "level_type": 0,
        "profit": 0,
        "code": 1,
    }


async def test_account_switch_takes_each_documented_form(st, live):
    forms = [
        {"event": "account.switch", "active_login": 1001},
        {"event": "account.switch", "login": 1001},
        {"event": "account.switch", "data": {"active_login": 1001}},
        {"event": "account.switch", "data": {"login": 1001}},
        {"event": "ACCOUNT.SWITCH"},  # a client session: its own login
    ]
    async with stream(live, st.tokens[1001]) as client:
        for form in forms:
            answer = await client.ask(form, "account.switch")
            assert answer == {"event": "account.switch", "success": True, "active_login": 1001}


async def test_a_staff_session_streams_nothing_until_it_switches(st, live):
    async with stream(live, st.tokens[DESK[0]]) as client:
        answer = await client.ask({"event": "account.switch"}, "account.switch")
        assert answer["success"] is False
        assert answer["error"] == "INVALID_DATA"
        ticket = await pending(st)
        answer = await client.ask(
            {"event": "account.switch", "active_login": 1001}, "account.switch"
        )
        assert answer == {"event": "account.switch", "success": True, "active_login": 1001}
        frames = await client.sync()
    assert [f for f in frames if isinstance(f, list) and f[0] == "o"] == [], ticket
    assert [f[0] for f in frames if isinstance(f, list)] == ["b"]


async def test_ping_is_answered_pong_before_and_after_authorization(st, live):
    async with stream(live) as client:
        await client.send("ping")
        assert await client.until(lambda f: True) == "pong"
        await client.authorize(st.tokens[1001])
        await client.sync()


async def test_frames_before_authorization_are_refused(st, live):
    async with stream(live) as client:
        for frame in (
            {"event": "subscribe", "data": ["EURUSD"]},
            {"event": "account.switch", "active_login": 1001},
            {"event": "nope"},
        ):
            answer = await client.ask(frame, "error")
            assert answer["error"] == "UNAUTHORIZED", answer
            assert "authorization" in answer["message"]
        assert await client.authorize(st.tokens[1001]) == {
            "event": "authorization",
            "success": True,
        }


async def test_a_refused_token_leaves_the_connection_open_to_authorize_again(st, live):
    refused = [
        h["Authorization"] for h in (await bad_tokens(st)).values() if h.get("Authorization")
    ]
    refused += [123, None, "", "x" * 5000]
    async with stream(live) as client:
        for token in refused:
            answer = await client.authorize(token)
            assert answer["event"] == "authorization", (token, answer)
            assert answer["success"] is False, (token, answer)
            assert answer["error"] == "INVALID_TOKEN", (token, answer)
            assert answer["message"], (token, answer)
        assert (await client.authorize(f"Bearer {st.tokens[1001]}"))["success"] is True


async def test_a_connection_not_authorized_within_10_seconds_is_closed(st, live):
    async with stream(live) as client:
        await client.sync()  # serving: its clock is running
        await st.server.advance(9.5)
        await client.sync()
        await st.server.advance(0.5)
        frames = await closed_by_the_server(client)
    assert [f["error"] for f in frames] == ["UNAUTHORIZED"]
    assert client.ws.close_code == 4401


async def test_the_connection_closes_when_its_jwt_expires(st, live):
    clock = st.server.clock
    # Issued so that it expires a minute from now (the server's lifetime is 8 hours).
    issued = FixedClock(clock.now() - timedelta(hours=8) + timedelta(minutes=1))
    token = (await st.codec(clock=issued)).issue(login=1001, session_type=0)
    async with stream(live, token) as client:
        await client.sync()
        client.unread.clear()
        await st.server.advance(59)
        await client.sync()
        await st.server.advance(1)
        frames = await closed_by_the_server(client)
    assert frames[-1] == {
        "event": "authorization",
        "success": False,
        "error": "INVALID_TOKEN",
        "message": "token expired",
    }
    assert client.ws.close_code == 4401


async def test_a_disabled_account_or_user_closes_its_sessions(st, live):
    container = st.server.container
    async with (
        stream(live, st.tokens[1001]) as account,
        stream(live, st.tokens[DESK[0]]) as desk,
        stream(live, st.tokens[1002]) as bystander,
    ):
        await set_account_enabled(container.users, "1001", False)
        await set_user_enabled(container.users, "desk", False)
        assert await container.access.check()
        for client in (account, desk):
            frames = await closed_by_the_server(client)
            assert frames[-1]["event"] == "authorization", frames
            assert frames[-1]["error"] == "INVALID_TOKEN", frames
            assert client.ws.close_code == 4401
        await bystander.sync()  # the others' stay open


# -- trade events ----------------------------------------------------------------------------


async def test_a_market_trade_over_rest_reaches_every_session_of_its_login(st, live):
    """Two client sessions of 1001 and a manager streaming it: the acknowledgement (state 1,
    code 0, REST's ack figures), then the open trade as GET /trades shows it, then ``b``."""
    async with (
        staff(live, st, DESK[0], 1001) as watching,
        stream(live, st.tokens[1001]) as one,
        stream(live, st.tokens[1001]) as two,
    ):
        answer = await st.call(
            "POST", "/trade/open", {"login": 1001, "cmd": 0, "volume": 150, "symbol": "EURUSD"}
        )
        ack = answer.json()
        sessions = [one, two, watching]
        for client in sessions:
            got = fields(await client.event("o", of(ack["order"])))
            assert {k: got[k] for k in ("order", "login", "symbol", "cmd", "volume")} == {
                k: ack[k] for k in ("order", "login", "symbol", "cmd", "volume")
            }
            assert (got["state"], got["code"]) == (ack["state"], 0) == (1, 0)
        await st.server.container.engine.settle()
        for client in sessions:
            trade = await client.event("o", of(ack["order"], 0))
            assert fields(trade)["code"] == 1
            await as_rest_shows_it(st, trade, trade_type=1)
            balance = fields(await client.event("b"))
            assert balance["margin"] > 0
            assert balance["equity"] == balance["balance"] + balance["profit"]


async def test_a_pending_order_cancelled_over_rest(st, live):
    async with stream(live, st.tokens[1001]) as client:
        ticket = await pending(st, price="1.09000", comment="dip")
        ack = fields(await client.event("o", of(ticket)))
        assert (ack["state"], ack["code"], ack["cmd"], ack["comment"]) == (1, 0, 2, "dip")
        await st.server.container.engine.settle()
        working = await client.event("o", of(ticket, 0))
        assert fields(working)["code"] == 1
        await as_rest_shows_it(st, working, trade_type=3)

        answer = await st.call("DELETE", "/trade/cancel", {"order": ticket})
        assert answer.status_code == 200, answer.text
        assert fields(await client.event("o", of(ticket, 9)))["code"] == 1
        await st.server.container.engine.settle()
        deleted = await client.event("o", of(ticket, 6))
        assert fields(deleted)["code"] == 2
        await as_rest_shows_it(st, deleted, trade_type=2)


async def test_a_pending_order_that_triggers_activates_its_trade(st, live):
    async with stream(live, st.tokens[1001]) as client:
        ticket = await pending(st, price="1.09000")
        await st.server.container.engine.settle()
        await client.event("o", of(ticket, 0))
        push(st, "EURUSD", "1.08000", "1.08002")
        await st.server.container.engine.settle()
        trade = await client.event("o", of(ticket, 0))
    assert (fields(trade)["cmd"], fields(trade)["code"]) == (0, 5)
    await as_rest_shows_it(st, trade, trade_type=1)


async def test_closing_a_trade_sends_its_request_its_close_and_a_notification(st, live):
    ticket = await market(st, volume=100)
    async with stream(live, st.tokens[1001]) as client:
        push(st, "EURUSD", "1.10100", "1.10102")
        answer = await st.call("DELETE", "/trade/close", {"order": ticket})
        assert answer.status_code == 200, answer.text
        closing = fields(await client.event("o", of(ticket, 7)))
        assert (closing["volume"], closing["cmd"], closing["code"]) == (100, 0, 1)
        await st.server.container.engine.settle()
        closed = await client.event("o", of(ticket, 3))
        note = await client.event("n")
        balance = fields(await client.event("b"))
    assert fields(closed)["code"] == 6
    await as_rest_shows_it(st, closed, trade_type=2)
    assert note[1:] == [
        "Position closed",
        "Ticket {order} closed",
        "CLOSE_ORDER",
        1,
        10,
        1001,
        fields(closed)["close_time"],
        {"order": ticket},
        200,
    ]
    assert balance["balance"] == D(1_000_000) + fields(closed)["profit"]


# -- quotes ----------------------------------------------------------------------------------


async def test_quotes_arrive_as_t_for_subscribed_symbols_only(st, live):
    clock = st.server.clock
    async with stream(live, st.tokens[1001]) as client:
        answer = await client.ask({"event": "subscribe", "data": ["eurusd", "NOPE"]}, "subscribe")
        assert answer == {
            "event": "subscribe",
            "success": True,
            "data": ["EURUSD"],
            "rejected": ["NOPE"],
        }
        snapshot = await client.event("t")
        assert snapshot[1:4] == ["EURUSD", D("1.1"), D("1.10002")]

        push(st, "ES 12-26", "6001.00", "6001.25")
        push(st, "EURUSD", "1.10010", "1.10012")
        tick = await client.event("t", lambda e: e[2] == D("1.1001"))
        assert tick == [
            "t",
            "EURUSD",
            D("1.1001"),
            D("1.10012"),
            int(clock.now().timestamp() * 1000),
        ]
        assert [f for f in await client.sync() if isinstance(f, list) and f[0] == "t"] == []

        answer = await client.ask({"event": "unsubscribe", "data": ["EurUsd"]}, "unsubscribe")
        assert answer == {"event": "unsubscribe", "success": True, "data": ["EURUSD"]}
        push(st, "EURUSD", "1.10020", "1.10022")
        assert [f for f in await client.sync() if isinstance(f, list) and f[0] == "t"] == []


# -- bad frames ------------------------------------------------------------------------------

LONE_SURROGATE = '{"event": "subscribe", "data": ["\\ud800"]}'

BAD_FRAMES: list[tuple[str, Any, str, str]] = [
    # (what, frame, the event answering, error code)
    ("not JSON", "{nope", "error", "INVALID_DATA"),
    ("a JSON array", "[1, 2]", "error", "INVALID_DATA"),
    ("a JSON string", '"ping"', "error", "INVALID_DATA"),
    ("no event", {"data": ["EURUSD"]}, "error", "INVALID_DATA"),
    ("an unknown event", {"event": "order.send"}, "error", "INVALID_DATA"),
    ("an event that is not text", {"event": 5}, "error", "INVALID_DATA"),
    ("a lone surrogate", LONE_SURROGATE, "error", "INVALID_DATA"),
    ("invalid UTF-8 in a binary frame", b'{"event": "\xff"}', "error", "INVALID_DATA"),
    ("an oversized frame", "x" * (MAX_FRAME_BYTES + 1), "error", "INVALID_DATA"),
    ("symbols not a list", {"event": "subscribe", "data": "EURUSD"}, "subscribe", "INVALID_DATA"),
    ("no symbols", {"event": "subscribe"}, "subscribe", "INVALID_DATA"),
    ("a number as symbol", {"event": "subscribe", "data": [1]}, "subscribe", "INVALID_DATA"),
    (
        "a login as text",
        {"event": "account.switch", "login": "1001"},
        "account.switch",
        "INVALID_DATA",
    ),
    (
        "a login as bool",
        {"event": "account.switch", "login": True},
        "account.switch",
        "INVALID_DATA",
    ),
    (
        "a negative login",
        {"event": "account.switch", "login": -1},
        "account.switch",
        "INVALID_DATA",
    ),
    ("a huge login", {"event": "account.switch", "login": 2**64}, "account.switch", "INVALID_DATA"),
    (
        "data not an object",
        {"event": "account.switch", "data": [1]},
        "account.switch",
        "INVALID_DATA",
    ),
]


async def test_bad_frames_get_an_error_in_the_streams_form_and_the_connection_stays(st, live):
    async with stream(live, st.tokens[1001]) as client:
        await client.sync()
        for what, frame, event, code in BAD_FRAMES:
            answer = await client.ask(frame, event)
            assert answer.get("error") == code, (what, answer)
            assert answer["message"], (what, answer)
            assert answer.get("success", False) is False, (what, answer)
        await client.sync()
        answer = await client.ask({"event": "subscribe", "data": ["EURUSD"]}, "subscribe")
        assert answer["success"] is True


# -- slow clients ----------------------------------------------------------------------------


async def test_a_session_that_falls_behind_its_account_is_closed_not_the_server(
    st, live, monkeypatch
):
    """The bus keeps at most ACCOUNT_QUEUE unread events per session: a cancel of five
    orders at once overflows a queue of three, and that session (only) is closed."""
    monkeypatch.setattr(stream_session, "ACCOUNT_QUEUE", 3)
    tickets = [await pending(st, price=f"1.0{i}000") for i in range(5)]
    await st.server.container.engine.settle()
    async with stream(live, st.tokens[1001]) as slow:
        await slow.sync()
        answer = await st.call("DELETE", "/trade/cancel/group", {"login": 1001})
        assert answer.status_code == 200, answer.text
        await closed_by_the_server(slow)
        assert slow.ws.close_code == 1013
        assert "reload /trades" in slow.ws.close_reason
    monkeypatch.setattr(stream_session, "ACCOUNT_QUEUE", 10_000)
    async with stream(live, st.tokens[1001]) as client:
        await client.sync()
    assert len(tickets) == 5


class _Stuck:
    """A WebSocket whose client never reads (sending never completes) nor writes."""

    def __init__(self) -> None:
        self.closed = False

    async def receive(self) -> dict[str, Any]:
        await asyncio.Event().wait()
        raise WebSocketDisconnect()

    async def send_text(self, text: str) -> None:
        await asyncio.Event().wait()

    async def close(self, code: int, reason: str) -> None:
        self.closed = True


async def test_a_client_that_stops_reading_is_dropped(st, monkeypatch):
    monkeypatch.setattr(stream_session, "SEND_SECONDS", 0.05)
    socket = _Stuck()
    session = StreamSession(socket, st.server.container)  # type: ignore[arg-type]
    serving = asyncio.create_task(session.serve())
    await session.send({"event": "hello"})
    async with asyncio.timeout(10):
        await serving
    assert not socket.closed  # nothing more is written to a socket that took nothing


async def test_a_frame_is_json_with_exact_numbers(st, live):
    async with stream(live, st.tokens[1001]) as client:
        await client.send({"event": "subscribe", "data": ["EURUSD"]})
        raw = None
        async with asyncio.timeout(10):
            while raw is None or not raw.startswith('["t"'):
                raw = await client.ws.recv()
    assert json.loads(raw)[2:4] == [1.1, 1.10002]
    assert '"EURUSD",1.1,1.10002,' in raw


async def test_a_modified_pending_order_and_a_partial_close(st, live):
    trade = await market(st, volume=200)
    async with stream(live, st.tokens[1001]) as client:
        ticket = await pending(st, price="1.09000")
        await st.server.container.engine.settle()
        await client.event("o", of(ticket, 0))
        answer = await st.call(
            "PUT", "/trade/modify/pending", {"order": ticket, "open_price": 1.085}
        )
        assert answer.status_code == 200, answer.text
        assert fields(await client.event("o", of(ticket, 16)))["code"] == 1
        await st.server.container.engine.settle()
        changed = await client.event("o", of(ticket, 0))
        assert fields(changed)["open_price"] == D("1.085")
        await as_rest_shows_it(st, changed, trade_type=3)

        answer = await st.call("DELETE", "/trade/close", {"order": trade, "volume": 50})
        assert answer.status_code == 200, answer.text
        await client.event("o", of(trade, 7))
        await st.server.container.engine.settle()
        left = await client.event("o", of(trade, 0))
    assert (fields(left)["volume"], fields(left)["code"]) == (150, 1)
    await as_rest_shows_it(st, left, trade_type=1)


async def test_a_request_the_venue_refuses_is_deleted_with_a_notification(st):
    """The pump, fed a refusal as the engine publishes it (the simulated venue refuses only
    in situations a test cannot reach through HTTP alone, such as a session closing)."""
    from ordergate.api.scaletrade.stream_pumps import AccountStream
    from ordergate.domain.events import OrderTransitioned
    from ordergate.domain.ids import Login
    from ordergate.domain.orders import OrderStatus

    container = st.server.container
    ticket = await pending(st)
    order = container.engine.state.order(ticket)
    principal = await container.signin.principal(st.tokens[1001])
    sent: list[Any] = []

    async def send(event: Any) -> None:
        sent.append(event)
        if len(sent) == 2:
            sub.close()

    sub = container.bus.subscribe(accounts=[1001], kinds=("order", "position"))
    refusal = OrderTransitioned(
        order.id,
        order.key,
        Login(1001),
        "EURUSD",
        OrderStatus.SUBMITTED,
        OrderStatus.REJECTED,
        "rejected: market closed",
        container.clock.now(),
    )
    container.bus.publish([refusal])
    await AccountStream(container.engine, principal, Login(1001), send).run(sub)

    deleted, note = sent
    assert (fields(deleted)["state"], fields(deleted)["code"]) == (6, 2)
    assert note[1:6] == ["Order rejected", "rejected: market closed", "ORDER_REJECTED", 1, 30]
    assert note[8] == {"order": ticket, "reason": "rejected: market closed"}
    assert note[9] == 400
