"""Who may send ScaleTrade's trade requests, and what a malformed one gets: every trade
endpoint, on SQLite and PostgreSQL.

A refused request answers ``{"error", "message"}`` and changes nothing: no order, no event,
no fill, no position is written (checked against a snapshot of the database).
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from ordergate.domain.ids import Login
from tests.api.scaletrade.conftest import St, pending
from tests.api.scaletrade.helpers import bad_tokens, market
from tests.builders import events_of, snapshot

MANAGER, FAR_MANAGER, ADMIN = 900, 901, 1

Request = tuple[str, str, dict[str, Any]]


def trade_requests(trade: int, order: int, login: int = 1001) -> dict[str, Request]:
    """A valid request to each trade endpoint: ``trade`` an open trade's ticket, ``order`` a
    pending order's, ``login`` the account the login-addressed ones act on."""
    return {
        "open": (
            "POST",
            "/trade/open",
            {"login": login, "cmd": 0, "volume": 10, "symbol": "EURUSD"},
        ),
        "open pending": (
            "POST",
            "/trade/open/pending",
            {"login": login, "cmd": 2, "volume": 10, "symbol": "EURUSD", "open_price": 1.08},
        ),
        "modify open": ("PUT", "/trade/modify/open", {"order": trade, "sl": 1.05}),
        "modify (alias)": ("PUT", "/trade/modify", {"order": trade, "tp": 1.15}),
        "modify pending": ("PUT", "/trade/modify/pending", {"order": order, "open_price": 1.085}),
        "close": ("DELETE", "/trade/close", {"order": trade, "volume": 10}),
        "cancel": ("DELETE", "/trade/cancel", {"order": order}),
        "close group": ("DELETE", "/trade/close/group", {"login": login, "type": 0}),
        "cancel group": ("DELETE", "/trade/cancel/group", {"login": login}),
    }


LOGIN_ADDRESSED = ("open", "open pending", "close group", "cancel group")
TICKET_ADDRESSED = ("modify open", "modify (alias)", "modify pending", "close", "cancel")


async def book(st: St, login: int = 1001) -> tuple[int, int]:
    """An open trade and a resting pending order of ``login``: their tickets."""
    trade = await market(st, login)
    order = await pending(st, login)
    await st.server.container.engine.settle()
    return trade, order


async def send(st: St, request: Request, headers: dict[str, str]) -> httpx.Response:
    method, path, body = request
    return await st.client.request(method, path, json=body, headers=headers)


def error(answer: httpx.Response, status: int, code: str, what: str = "") -> str:
    """Check ``answer`` is ScaleTrade's error form with ``status`` and ``code``; its message."""
    assert answer.status_code == status, f"{what}: {answer.status_code} {answer.text}"
    body = answer.json()
    assert set(body) == {"error", "message"}, f"{what}: {body}"
    assert body["error"] == code, f"{what}: {body}"
    assert isinstance(body["message"], str), what
    assert body["message"], what
    return str(body["message"])


async def test_every_trade_request_without_a_valid_token_is_401_and_changes_nothing(st):
    trade, order = await book(st)
    before = await snapshot(st.server.container.store)
    for kind, headers in (await bad_tokens(st)).items():
        for name, request in trade_requests(trade, order).items():
            answer = await send(st, request, headers)
            error(answer, 401, "UNAUTHORIZED", f"{name} with {kind}")
    assert await snapshot(st.server.container.store) == before


async def test_the_token_is_taken_bare_or_with_a_bearer_prefix(st):
    bare = await st.call("DELETE", "/trade/cancel/group", {"login": 1001})
    prefixed = await st.call(
        "DELETE",
        "/trade/cancel/group",
        {"login": 1001},
        headers={"Authorization": f"Bearer {st.tokens[1001]}"},
    )
    # Nothing to cancel either way: the session was accepted, the request reached the engine.
    error(bare, 404, "RET_NOT_FOUND")
    error(prefixed, 404, "RET_NOT_FOUND")


def malformed(name: str, request: Request) -> dict[str, Any]:
    """Bodies each endpoint must refuse with 400 INVALID_DATA: {what: body or raw bytes}."""
    _, _, body = request
    key = "login" if name in LOGIN_ADDRESSED else "order"
    required = next(iter(body))
    return {
        "not JSON": b'{"login": 1001,',
        "a JSON array": b"[1001]",
        "a JSON string": b'"1001"',
        "empty": b"",
        f"without {required}": {k: v for k, v in body.items() if k != required},
        f"{key} as a string": {**body, key: str(body[key])},
        f"{key} as a decimal": {**body, key: 1001.5},
        f"{key} as true": {**body, key: True},
        f"{key} negative": {**body, key: -1},
        f"{key} above 64 bits": {**body, key: 2**64},
        "an unknown field": {**body, "symbl": "EURUSD"},
        "a NaN": b'{"login": 1001, "volume": NaN}',
    }


async def test_every_trade_request_with_a_malformed_body_is_400_invalid_data(st):
    trade, order = await book(st)
    before = await snapshot(st.server.container.store)
    for name, request in trade_requests(trade, order).items():
        method, path, _ = request
        for what, body in malformed(name, request).items():
            if isinstance(body, bytes):
                answer = await st.client.request(
                    method,
                    path,
                    content=body,
                    headers={**st.auth(), "Content-Type": "application/json"},
                )
            else:
                answer = await st.call(method, path, body)
            error(answer, 400, "INVALID_DATA", f"{name} with {what}")
    assert await snapshot(st.server.container.store) == before


async def test_trade_request_fields_of_the_wrong_type_are_400_invalid_data(st):
    trade, order = await book(st)
    before = await snapshot(st.server.container.store)
    cases = [
        ("open", {"volume": "100"}),
        ("open", {"volume": 0}),
        ("open", {"volume": 1.5}),
        ("open", {"cmd": "0"}),
        ("open", {"symbol": ""}),
        ("open", {"symbol": 7}),
        ("open", {"sl": -1}),
        ("open", {"tp": "high"}),
        ("open", {"comment": "x" * 256}),
        ("open pending", {"open_price": 0}),
        ("open pending", {"open_price": "1.08x"}),
        ("open pending", {"expiration": -1}),
        ("open pending", {"expiration": 1.5}),
        ("modify open", {"sl": -0.5}),
        ("modify (alias)", {"sl": -0.5}),
        ("modify (alias)", {"tp": "high"}),
        ("modify (alias)", {"order": 0}),
        ("modify pending", {"expiration": "tomorrow"}),
        ("close", {"volume": 0}),
        ("close", {"volume": "10"}),
        ("close group", {"type": 2}),
        ("close group", {"type": "0"}),
        ("cancel group", {"symbol": ""}),
    ]
    requests = trade_requests(trade, order)
    for name, change in cases:
        method, path, body = requests[name]
        answer = await st.call(method, path, {**body, **change})
        error(answer, 400, "INVALID_DATA", f"{name} with {change}")
    assert await snapshot(st.server.container.store) == before


async def test_a_client_session_naming_another_login_is_403_permission_denied(st):
    trade, order = await book(st)
    await book(st, 1002)
    before = await snapshot(st.server.container.store)
    messages = set()
    # 1002 has the same owner, 2002 another, 5555 does not exist: all alike for a client.
    for other in (1002, 2002, 5555):
        for name, (method, path, body) in trade_requests(trade, order, other).items():
            if name in TICKET_ADDRESSED:
                body = {**body, "login": other}
            answer = await st.call(method, path, body)
            messages.add(error(answer, 403, "PERMISSION_DENIED", f"{name} naming {other}"))
    assert len(messages) == 1, messages  # the answer does not tell whether the login exists
    assert await snapshot(st.server.container.store) == before


def _unnumbered(message: str) -> str:
    return re.sub(r"\d+", "N", message)


async def test_a_ticket_of_another_account_is_404_like_an_unknown_ticket(st):
    await book(st)
    theirs = await book(st, 2002)
    before = await snapshot(st.server.container.store)
    for name in TICKET_ADDRESSED:
        method, path, body = trade_requests(*theirs)[name]
        foreign = await st.call(method, path, body)
        unknown = await st.call(method, path, {**body, "order": 987654})
        message = error(foreign, 404, "RET_NOT_FOUND", f"{name} of another account")
        assert _unnumbered(message) == _unnumbered(
            error(unknown, 404, "RET_NOT_FOUND", f"{name} of an unknown ticket")
        )
        # Naming one's own login does not reach the other account's ticket either.
        own = await st.call(method, path, {**body, "login": 1001})
        error(own, 404, "RET_NOT_FOUND", f"{name} of another account under login 1001")
    assert await snapshot(st.server.container.store) == before


async def test_a_manager_outside_its_groups_is_refused(st):
    trade, order = await book(st)
    before = await snapshot(st.server.container.store)
    for name, (method, path, body) in trade_requests(trade, order).items():
        answer = await st.call(method, path, body, login=FAR_MANAGER)
        if name in LOGIN_ADDRESSED:
            error(answer, 403, "PERMISSION_DENIED", name)
        else:
            # A ticket alone: the ticket is not one this session may see, as if unknown.
            error(answer, 404, "RET_NOT_FOUND", name)
            named = await st.call(method, path, {**body, "login": 1001}, login=FAR_MANAGER)
            error(named, 403, "PERMISSION_DENIED", f"{name} naming login 1001")
    assert await snapshot(st.server.container.store) == before


async def _every_request_works(st: St, staff: int) -> None:
    """Each trade request of login 1001 sent by session ``staff`` is accepted, in an order
    where each still has something to act on."""
    trade, order = await book(st)
    requests = trade_requests(trade, order)
    engine = st.server.container.engine
    expected_state = {
        "open": 1,
        "open pending": 1,
        "modify open": 14,
        "modify (alias)": 14,
        "modify pending": 16,
        "close": 7,
        "cancel": 9,
    }
    for name, state in expected_state.items():
        method, path, body = requests[name]
        answer = await st.call(method, path, body, login=staff)
        assert answer.status_code == 200, f"{name}: {answer.text}"
        assert answer.json()["state"] == state, name
        assert answer.json()["login"] == 1001, name
        await engine.settle()
    for name in ("close group", "cancel group"):
        method, path, body = requests[name]
        answer = await st.call(method, path, body, login=staff)
        assert answer.status_code == 200, f"{name}: {answer.text}"
        assert answer.json()["failed"] == 0, name
        assert {row["login"] for row in answer.json()["rows"]} == {1001}, name
        await engine.settle()
    assert engine.state.open_orders(Login(1001)) == []
    assert engine.state.open_tickets(Login(1001)) == []


async def test_a_manager_acts_on_the_accounts_of_its_group(st):
    await _every_request_works(st, MANAGER)


async def test_an_admin_acts_on_any_account(st):
    await _every_request_works(st, ADMIN)


async def test_staff_sessions_name_the_login_of_login_addressed_requests(st):
    trade, order = await book(st)
    before = await snapshot(st.server.container.store)
    for name in LOGIN_ADDRESSED:
        method, path, body = trade_requests(trade, order)[name]
        body = {k: v for k, v in body.items() if k != "login"}
        answer = await st.call(method, path, body, login=MANAGER)
        error(answer, 400, "INVALID_DATA", name)
    assert await snapshot(st.server.container.store) == before


async def test_the_audit_trail_names_the_client_login_or_the_staff_user(st):
    body = trade_requests(0, 0)["open pending"][2]
    mine = await st.call("POST", "/trade/open/pending", body)
    desk = await st.call("POST", "/trade/open/pending", body, login=MANAGER)
    store = st.server.container.store
    assert (await events_of(store, mine.json()["order"]))[0] == (None, "submitted", "login:1001")
    assert (await events_of(store, desk.json()["order"]))[0] == (None, "submitted", "user:desk")


async def test_a_real_server_refuses_bad_tokens_and_bodies_alike(st, live):
    trade, order = await book(st)
    before = await snapshot(st.server.container.store)
    tokens = await bad_tokens(st)
    async with httpx.AsyncClient(base_url=live, trust_env=False) as client:
        for name, (method, path, body) in trade_requests(trade, order).items():
            expired = await client.request(method, path, json=body, headers=tokens["expired"])
            error(expired, 401, "UNAUTHORIZED", f"{name} with an expired token")
            broken = await client.request(
                method,
                path,
                content=b"{",
                headers={**st.auth(), "Content-Type": "application/json"},
            )
            error(broken, 400, "INVALID_DATA", f"{name} with a broken body")
            assert broken.headers["content-type"].startswith("application/json")
    assert await snapshot(st.server.container.store) == before
