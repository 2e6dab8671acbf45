"""ScaleTrade's queries through HTTP, on SQLite and PostgreSQL: ``GET /trades`` (trade records
by type, filtered, paged, with totals) and ``GET /market/symbol``."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ordergate.venue.base import Quote
from tests.api.scaletrade.conftest import St, pending
from tests.api.scaletrade.helpers import (
    bad_tokens,
    market,
    push,
    trades,
)

D = Decimal
COLUMNS = [
    "order",
    "login",
    "symbol",
    "cmd",
    "volume",
    "open_time",
    "open_price",
    "sl",
    "tp",
    "close_time",
    "close_price",
    "expiration",
    "profit",
    "comment",
    "state",
]
COL = {name: i for i, name in enumerate(COLUMNS)}


def refused(answer: httpx.Response, status: int, code: str) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error", "message"}
    assert body["error"] == code
    return str(body["message"])


def tickets(body: dict[str, Any]) -> list[tuple[int, int]]:
    """(order, state) of each row."""
    return [(row[COL["order"]], row[COL["state"]]) for row in body["rows"]]


async def settle(st: St) -> None:
    await st.server.container.engine.settle()


def push_sized(st: St, bid: str, ask: str, size: str) -> None:
    """A EURUSD quote with ``size`` lots on each side."""
    container = st.server.container
    container.market.push(
        Quote("EURUSD", D(bid), D(ask), container.clock.now(), bid_size=D(size), ask_size=D(size))
    )


async def history(st: St) -> dict[str, int]:
    """Login 1001 with one record of each kind: {kind: ticket}. Login 1002 has a trade too."""
    opened = await market(st, volume=100)  # open, profit -2 at 1.10000 / 1.10002
    closed = await market(st, symbol="ES 12-26", cmd=1, volume=200)
    await st.call("DELETE", "/trade/close", {"order": closed})
    waiting = await pending(st, cmd=2, price="1.09000", volume=30)
    deleted = await pending(st, cmd=5, price="1.08000", volume=20)
    await settle(st)
    await st.call("DELETE", "/trade/cancel", {"order": deleted})
    await market(st, login=1002, volume=500)
    await settle(st)
    st.server.container.venue.ack_delay_ms = 60_000  # this one stays on its way
    flying = await market(st, cmd=1, volume=10, settle=False)
    return {
        "open": opened,
        "closed": closed,
        "pending": waiting,
        "deleted": deleted,
        "flying": flying,
    }


# -- GET /trades ---------------------------------------------------------------------------------


async def test_trades_of_each_trade_type(st):
    t = await history(st)

    everything = await trades(st)
    open_ = await trades(st, tradeType=1)
    closed = await trades(st, tradeType=2)
    pending_ = await trades(st, tradeType=3)
    finance = await trades(st, tradeType=4)

    assert tickets(open_) == [(t["open"], 0), (t["flying"], 1)]
    assert tickets(closed) == [(t["closed"], 3), (t["deleted"], 6)]
    assert tickets(pending_) == [(t["pending"], 0)]
    assert tickets(finance) == []
    assert (finance["count"], finance["total_volume"]) == (0, 0)
    assert D(str(finance["total_profit"])) == 0
    assert tickets(everything) == sorted(tickets(open_) + tickets(closed) + tickets(pending_))


async def test_trades_answers_structure_rows_count_and_totals(st):
    t = await history(st)

    body = await trades(st)

    assert set(body) == {"structure", "rows", "count", "total_profit", "total_volume"}
    assert body["structure"] == COLUMNS
    assert all(len(row) == len(COLUMNS) for row in body["rows"])
    assert body["count"] == 5
    assert body["total_volume"] == 100 + 200 + 30 + 20 + 10
    # the open EURUSD trade at the spread (-2) and the ES sell closed at the ask (-0.25 * 50 * 2)
    assert D(str(body["total_profit"])) == D("-27")
    rows = {row[COL["order"]]: dict(zip(COLUMNS, row, strict=True)) for row in body["rows"]}
    closed = rows[t["closed"]]
    assert (closed["login"], closed["symbol"], closed["cmd"], closed["volume"]) == (
        1001,
        "ES 12-26",
        1,
        200,
    )
    assert (D(str(closed["open_price"])), D(str(closed["close_price"]))) == (
        D("6000"),
        D("6000.25"),
    )
    assert D(str(closed["profit"])) == D("-25")
    assert closed["close_time"] >= closed["open_time"] > 0
    flying = rows[t["flying"]]
    assert (flying["cmd"], flying["volume"], flying["state"]) == (1, 10, 1)
    assert (flying["open_price"], flying["profit"]) == (0, 0)


async def test_trades_pages_with_limit_and_offset_but_counts_every_row(st):
    t = await history(st)
    ordered = sorted(t.values())

    first = await trades(st, limit=2)
    second = await trades(st, limit=2, offset=2)
    beyond = await trades(st, limit=2, offset=10)

    assert [o for o, _ in tickets(first)] == ordered[:2]
    assert [o for o, _ in tickets(second)] == ordered[2:4]
    assert tickets(beyond) == []
    for body in (first, second, beyond):
        assert body["count"] == 5
        assert body["total_volume"] == 360


FILTERS = [
    ({"where": {"symbol": "ES 12-26"}}, ["closed"]),
    ({"where": {"cmd": 2}}, ["pending"]),
    ({"where": {"open_price": 1.09}}, ["pending"]),
    ({"whereNot": {"symbol": "EURUSD"}}, ["closed"]),
    ({"whereIn": {"cmd": [2, 5]}}, ["pending", "deleted"]),
    ({"whereIn": {"state": [3, 6]}}, ["closed", "deleted"]),
    ({"whereBetween": {"volume": [20, 100]}}, ["open", "pending", "deleted"]),
    ({"whereBetween": {"open_price": [1.08, 1.09]}}, ["pending", "deleted"]),
    ({"where": {"symbol": "EURUSD"}, "whereNot": {"cmd": 0}}, ["pending", "deleted", "flying"]),
    ({"where": {"symbol": "GBPUSD"}}, []),
]


async def test_trades_filters_in_the_query_string(st):
    t = await history(st)
    for filters, expected in FILTERS:
        body = await trades(st, **filters)
        assert sorted(o for o, _ in tickets(body)) == sorted(t[k] for k in expected), filters
        assert body["count"] == len(expected), filters


async def test_trades_filters_in_a_json_body(st):
    t = await history(st)
    for filters, expected in FILTERS:
        answer = await st.client.request("GET", "/trades", headers=st.auth(), json=filters)
        assert answer.status_code == 200, answer.text
        found = sorted(o for o, _ in tickets(answer.json()))
        assert found == sorted(t[k] for k in expected), filters


async def test_trades_totals_cover_the_filtered_rows_only(st):
    await history(st)

    body = await trades(st, where={"symbol": "EURUSD"}, tradeType=1)

    assert body["count"] == 2
    assert body["total_volume"] == 110
    assert D(str(body["total_profit"])) == D("-2")


async def test_trades_query_and_body_together_each_giving_some_fields(st):
    t = await history(st)
    answer = await st.client.request(
        "GET",
        "/trades",
        params={"tradeType": "3"},
        headers=st.auth(),
        json={"where": {"symbol": "EURUSD"}},
    )
    assert answer.status_code == 200, answer.text
    assert tickets(answer.json()) == [(t["pending"], 0)]


async def test_trades_refuses_bad_queries_with_400_invalid_data(st):
    await history(st)
    bad_params: list[dict[str, str]] = [
        {"where": json.dumps({"colour": "red"})},  # unknown column
        {"whereIn": json.dumps({"colour": ["red"]})},
        {"whereBetween": json.dumps({"symbol": ["A", "Z"]})},  # a text column
        {"whereBetween": json.dumps({"volume": [1, 2, 3]})},
        {"whereIn": json.dumps({"cmd": 2})},  # not a list
        {"where": "{symbol: EURUSD}"},  # not JSON
        {"where": "[1]"},
        {"where": json.dumps({"cmd": None})},
        {"tradeType": "5"},
        {"tradeType": "open"},
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "1.5"},
        {"offset": "-1"},
        {"login": "abc"},
        {"colour": "red"},  # unknown parameter
    ]
    for params in bad_params:
        refused(await st.call("GET", "/trades", params=params), 400, "INVALID_DATA")
    twice = await st.call("GET", "/trades?limit=1&limit=2")
    assert "twice" in refused(twice, 400, "INVALID_DATA")
    for content in (b"[1]", b"{not json", b'"x"'):
        answer = await st.client.request("GET", "/trades", headers=st.auth(), content=content)
        refused(answer, 400, "INVALID_DATA")
    both = await st.client.request(
        "GET", "/trades", params={"limit": "5"}, headers=st.auth(), json={"limit": 5}
    )
    assert "both" in refused(both, 400, "INVALID_DATA")


async def test_trades_of_a_staff_session_need_a_login(st):
    t = await history(st)

    without = await st.call("GET", "/trades", login=900)
    mine = await st.call("GET", "/trades", params={"login": "1001"}, login=900)
    boss = await st.call("GET", "/trades", params={"login": "1002"}, login=1)

    assert "login" in refused(without, 400, "INVALID_DATA")
    assert mine.status_code == 200, mine.text
    assert mine.json()["count"] == len(t)
    assert boss.status_code == 200, boss.text
    assert [row[COL["login"]] for row in boss.json()["rows"]] == [1002]


async def test_trades_of_a_login_the_session_may_not_see_is_403(st):
    await history(st)
    for login, session in ((1002, 1001), (2002, 1001), (5555, 1001), (1001, 901), (1001, 2002)):
        answer = await st.call("GET", "/trades", params={"login": str(login)}, login=session)
        refused(answer, 403, "PERMISSION_DENIED")
        in_body = await st.client.request(
            "GET", "/trades", headers=st.auth(session), json={"login": login}
        )
        refused(in_body, 403, "PERMISSION_DENIED")


async def test_queries_without_a_valid_token_are_401(st):
    for kind, headers in (await bad_tokens(st)).items():
        for path, params in (("/trades", {}), ("/market/symbol", {"symbol": "EURUSD"})):
            answer = await st.client.get(path, params=params, headers=headers)
            assert answer.status_code == 401, f"{path} with {kind}: {answer.text}"
            assert answer.json()["error"] == "UNAUTHORIZED"


async def test_a_partly_filled_pending_order_shows_as_a_trade_and_a_pending_order(st):
    st.server.container.venue.config.set("EURUSD", partial_fills=True)
    ticket = await pending(st, cmd=2, price="1.09000", volume=300)
    await settle(st)
    push_sized(st, "1.08990", "1.08995", size="1")  # one lot of liquidity at the ask
    await settle(st)

    body = await trades(st, where={"order": ticket})

    assert [(r[COL["cmd"]], r[COL["volume"]], r[COL["state"]]) for r in body["rows"]] == [
        (0, 100, 0),
        (2, 200, 0),
    ]


async def test_trades_through_a_real_server_with_a_json_body_on_get(st, live):
    t = await history(st)
    async with httpx.AsyncClient(base_url=live, headers=st.auth(), trust_env=False) as client:
        answer = await client.request(
            "GET", "/trades", json={"tradeType": 2, "whereIn": {"state": [6]}}
        )
        symbol = await client.get("/market/symbol", params={"symbol": "EURUSD"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert tickets(answer.json()) == [(t["deleted"], 6)]
    assert symbol.status_code == 200, symbol.text
    assert symbol.json()["symbol"] == "EURUSD"


# -- GET /market/symbol --------------------------------------------------------------------------


async def test_market_symbol_answers_the_specification_and_the_quote(st):
    answer = await st.call("GET", "/market/symbol", params={"symbol": "ES 12-26"})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {
        "symbol",
        "description",
        "digits",
        "bid",
        "ask",
        "quote_time",
        "tick_size",
        "contract_size",
        "lot_min",
        "lot_max",
        "lot_step",
        "currency",
        "trade_allowed",
        "sessions",
    }
    assert (body["symbol"], body["description"], body["digits"]) == (
        "ES 12-26",
        "E-mini S&P 500",
        2,
    )
    assert (D(str(body["bid"])), D(str(body["ask"]))) == (D("6000"), D("6000.25"))
    assert body["quote_time"] > 0
    assert D(str(body["tick_size"])) == D("0.25")
    assert D(str(body["contract_size"])) == 50
    assert (body["lot_min"], body["lot_max"], body["lot_step"]) == (1, 500, 1)
    assert body["currency"] == "USD"
    assert body["trade_allowed"] is True
    assert body["sessions"] == []  # around the clock


async def test_market_symbol_follows_the_quotes_and_the_market_state(st):
    push(st, "EURUSD", "1.20000", "1.20003")
    st.server.container.venue.set_market_closed("EURUSD")

    answer = await st.call("GET", "/market/symbol", params={"symbol": "EURUSD"})

    body = answer.json()
    assert (D(str(body["bid"])), D(str(body["ask"]))) == (D("1.2"), D("1.20003"))
    assert (body["digits"], D(str(body["lot_min"])), D(str(body["lot_step"]))) == (
        5,
        D("0.01"),
        D("0.01"),
    )
    assert body["trade_allowed"] is False


async def test_market_symbol_of_an_unknown_symbol_is_404_ret_symbol_not_found(st):
    answer = await st.call("GET", "/market/symbol", params={"symbol": "XAUUSD"})

    assert "XAUUSD" in refused(answer, 404, "RET_SYMBOL_NOT_FOUND")


@pytest.mark.parametrize(
    ("params", "session"),
    [({"symbol": "EURUSD", "login": "2002"}, 1001), ({"symbol": "EURUSD", "login": "1001"}, 901)],
)
async def test_market_symbol_for_a_login_the_session_may_not_act_on_is_403(st, params, session):
    answer = await st.call("GET", "/market/symbol", params=params, login=session)

    refused(answer, 403, "PERMISSION_DENIED")


async def test_market_symbol_takes_its_fields_from_the_query_or_a_json_body(st):
    in_body = await st.client.request(
        "GET", "/market/symbol", headers=st.auth(900), json={"login": 1001, "symbol": "EURUSD"}
    )
    foreign = await st.client.request(
        "GET",
        "/market/symbol",
        params={"symbol": "EURUSD"},
        headers=st.auth(),
        json={"login": 2002},
    )

    assert in_body.status_code == 200, in_body.text
    assert in_body.json()["symbol"] == "EURUSD"
    refused(foreign, 403, "PERMISSION_DENIED")  # a login in the body is not ignored


async def test_market_symbol_refuses_bad_queries_with_400_invalid_data(st):
    for params, session in (
        ({}, 1001),  # no symbol
        ({"symbol": ""}, 1001),
        ({"symbol": "EURUSD", "colour": "red"}, 1001),
        ({"symbol": "EURUSD", "login": "x"}, 1001),
        ({"symbol": "EURUSD"}, 900),  # a staff session names the login
    ):
        answer = await st.call("GET", "/market/symbol", params=params, login=session)
        refused(answer, 400, "INVALID_DATA")
