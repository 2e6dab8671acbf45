"""DELETE /trade/cancel/group exactly as the seed page: its example, and 207, 404, 409 and
400 produced by real engine states (orders the venue still holds in submitted, a closed
market), with every field checked."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ordergate.domain.ids import Ticket
from ordergate.domain.orders import OrderStatus
from ordergate.domain.principal import Principal, Role
from ordergate.engine import queries
from tests.api.scaletrade.conftest import St, pending
from tests.builders import snapshot

pytestmark = pytest.mark.asyncio

PATH = "/trade/cancel/group"


def row(order: int, cmd: int, symbol: str = "EURUSD", login: int = 1001) -> dict[str, Any]:
    return {
        "accepted": True,
        "order": order,
        "state": 9,
        "login": login,
        "symbol": symbol,
        "cmd": cmd,
        "volume": 100,
    }


ADMIN = Principal(user_id=None, role=Role.ADMIN, name="test")


async def statuses(st: St, *tickets: int, login: int = 1001) -> list[OrderStatus]:
    engine = st.server.container.engine
    return [(await queries.get_order(engine, ADMIN, login, Ticket(t))).status for t in tickets]


async def test_the_seed_example_against_a_real_server(st: St, live: str) -> None:
    buy_limit = await pending(st, cmd=2, price="1.09000")
    sell_limit = await pending(st, cmd=3, price="1.11000")
    await pending(st, symbol="ES 12-26", price="5990.00")  # another symbol: left alone
    await st.server.container.engine.settle()

    async with httpx.AsyncClient(base_url=live) as client:
        answer = await client.request(
            "DELETE",
            PATH,
            headers={"Authorization": st.tokens[1001], "Content-Type": "application/json"},
            content=b'{\n  "login": 1001,\n  "symbol": "EURUSD"\n}',
        )

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {
        "rows": [row(buy_limit, 2), row(sell_limit, 3)],
        "matched": 2,
        "cancelled": 2,
        "failed": 0,
    }
    await st.server.container.engine.settle()
    assert await statuses(st, buy_limit, sell_limit) == [OrderStatus.CANCELLED] * 2


async def test_without_symbol_every_pending_order_of_the_login_is_cancelled(st: St) -> None:
    eur = await pending(st)
    es = await pending(st, symbol="ES 12-26", price="5990.00")
    theirs = await pending(st, login=1002)
    await st.server.container.engine.settle()

    answer = await st.call("DELETE", PATH, {"login": 1001})

    assert answer.status_code == 200
    body = answer.json()
    assert sorted(r["order"] for r in body["rows"]) == sorted([eur, es])
    assert (body["matched"], body["cancelled"], body["failed"]) == (2, 2, 0)
    assert "failures" not in body
    await st.server.container.engine.settle()
    assert await statuses(st, theirs, login=1002) == [OrderStatus.WORKING]


async def test_orders_held_in_submitted_are_failures_in_a_207(st: St) -> None:
    acked = await pending(st, cmd=2)
    await st.server.container.engine.settle()
    st.server.container.venue.ack_delay_ms = 60_000  # the venue sits on new orders
    held = await pending(st, cmd=3, price="1.11000")

    answer = await st.call("DELETE", PATH, {"login": 1001, "symbol": "EURUSD"})

    assert answer.status_code == 207
    assert answer.json() == {
        "rows": [row(acked, 2)],
        "failures": [
            {
                "order": held,
                "error": "RET_TRADE_ORDER_LOCKED",
                "message": "the venue is still processing it (submitted)",
            }
        ],
        "matched": 2,
        "cancelled": 1,
        "failed": 1,
    }
    assert await statuses(st, acked, held) == [OrderStatus.PENDING_CANCEL, OrderStatus.SUBMITTED]


async def test_nothing_matched_is_404_ret_not_found(st: St) -> None:
    await pending(st, symbol="ES 12-26", price="5990.00")
    await st.server.container.engine.settle()

    answer = await st.call("DELETE", PATH, {"login": 1001, "symbol": "EURUSD"})
    empty = await st.call("DELETE", PATH, {"login": 1002}, login=1002)

    for found in (answer, empty):
        assert found.status_code == 404
        assert found.json() == {"error": "RET_NOT_FOUND", "message": "nothing matched the request"}


async def test_matched_but_none_accepted_is_409_with_the_failures(st: St) -> None:
    st.server.container.venue.ack_delay_ms = 60_000
    first = await pending(st, cmd=2)
    second = await pending(st, cmd=5, price="1.09000")
    before = await snapshot(st.server.container.store)

    answer = await st.call("DELETE", PATH, {"login": 1001})

    assert answer.status_code == 409
    body = answer.json()
    assert body["error"] == "RET_TRADE_ORDER_LOCKED"
    assert body["message"] == "none of the 2 matched was accepted"
    assert body["rows"] == []
    assert [(f["order"], f["error"]) for f in body["failures"]] == [
        (first, "RET_TRADE_ORDER_LOCKED"),
        (second, "RET_TRADE_ORDER_LOCKED"),
    ]
    assert (body["matched"], body["cancelled"], body["failed"]) == (2, 0, 2)
    assert await snapshot(st.server.container.store) == before  # nothing moved


async def test_a_closed_market_fails_its_orders_as_ret_trade_market_closed(st: St) -> None:
    eur = await pending(st)
    es = await pending(st, symbol="ES 12-26", price="5990.00")
    await st.server.container.engine.settle()
    st.server.container.venue.set_market_closed("EURUSD")

    mixed = await st.call("DELETE", PATH, {"login": 1001})

    assert mixed.status_code == 207
    body = mixed.json()
    assert body["rows"] == [row(es, 2, "ES 12-26")]
    assert body["failures"] == [
        {
            "order": eur,
            "error": "RET_TRADE_MARKET_CLOSED",
            "message": "the venue refuses cancels now: market_closed",
        }
    ]
    assert (body["matched"], body["cancelled"], body["failed"]) == (2, 1, 1)

    closed_only = await st.call("DELETE", PATH, {"login": 1001, "symbol": "EURUSD"})

    assert closed_only.status_code == 409
    assert closed_only.json()["error"] == "RET_TRADE_MARKET_CLOSED"


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b'{"symbol": "EURUSD"}',
        b'{"login": "1001"}',
        b'{"login": 1001.5}',
        b'{"login": true}',
        b'{"login": null}',
        b'{"login": -1}',
        b'{"login": 99999999999999999999}',
        b'{"login": 1001, "symbol": 5}',
        b'{"login": 1001, "symbol": ""}',
        b'{"login": 1001, "symbols": "EURUSD"}',
        b'{"login": 1001, "instrument": "EURUSD"}',
        b'[{"login": 1001}]',
        b'{"login": 1001',
    ],
)
async def test_a_missing_or_invalid_login_or_a_wrong_type_is_400_and_cancels_nothing(
    st: St, body: bytes
) -> None:
    await pending(st)
    await st.server.container.engine.settle()
    before = await snapshot(st.server.container.store)

    answer = await st.client.request(
        "DELETE",
        PATH,
        content=body,
        headers={**st.auth(1001), "Content-Type": "application/json"},
    )

    assert answer.status_code == 400
    assert answer.json()["error"] == "INVALID_DATA"
    assert set(answer.json()) == {"error", "message"}
    assert await snapshot(st.server.container.store) == before


async def test_an_unknown_symbol_is_404_and_cancels_nothing(st: St) -> None:
    await pending(st)
    await st.server.container.engine.settle()
    before = await snapshot(st.server.container.store)

    answer = await st.call("DELETE", PATH, {"login": 1001, "symbol": "NOPE"})

    assert answer.status_code == 404
    assert answer.json()["error"] == "RET_SYMBOL_NOT_FOUND"
    assert await snapshot(st.server.container.store) == before


@pytest.mark.parametrize(
    ("session", "login"),
    [
        (1001, 1002),  # a client session naming another login (same owner: still refused)
        (1001, 2002),  # ... of another user
        (1001, 4242),  # ... that does not exist: the same answer
        (901, 1001),  # a manager outside its groups
        (900, 2002),  # ... the other way round
    ],
)
async def test_a_login_the_session_may_not_act_on_is_403_and_cancels_nothing(
    st: St, session: int, login: int
) -> None:
    for owner in (1001, 1002, 2002):
        await pending(st, login=owner)
    await st.server.container.engine.settle()
    before = await snapshot(st.server.container.store)

    answer = await st.call("DELETE", PATH, {"login": login}, login=session)

    assert answer.status_code == 403
    assert answer.json() == {
        "error": "PERMISSION_DENIED",
        "message": "this session may not act on that login",
    }
    assert await snapshot(st.server.container.store) == before


@pytest.mark.parametrize("session", [900, 1])
async def test_a_manager_of_the_group_and_an_admin_may_cancel_the_group(
    st: St, session: int
) -> None:
    order = await pending(st, login=1002)
    await st.server.container.engine.settle()

    answer = await st.call("DELETE", PATH, {"login": 1002}, login=session)

    assert answer.status_code == 200
    assert answer.json()["rows"] == [row(order, 2, login=1002)]


async def test_no_token_is_401_and_cancels_nothing(st: St) -> None:
    await pending(st)
    await st.server.container.engine.settle()
    before = await snapshot(st.server.container.store)

    answer = await st.client.request("DELETE", PATH, json={"login": 1001})

    assert answer.status_code == 401
    assert answer.json()["error"] == "UNAUTHORIZED"
    assert await snapshot(st.server.container.store) == before
