"""ScaleTrade's ``GET /trades`` through HTTP, on SQLite and PostgreSQL: trade records by
type, filtered, paged, with totals (the filter syntax in detail: test_trades_filters.py;
``/market`` and ``/market/symbol``: test_market_reads.py)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx

from ordergate.api.scaletrade.answers import ScaleTradeTrades
from ordergate.venue.base import Quote
from tests.api.scaletrade.conftest import St, pending
from tests.api.scaletrade.helpers import (
    bad_tokens,
    market,
    trades,
)
from tests.schema_check import mismatches

D = Decimal
#: ScaleTrade's 20 columns, in its order.
COLUMNS = [
    "order",
    "login",
    "cmd",
    "state",
    "symbol",
    "reason",
    "volume",
    "open_time",
    "close_time",
    "open_price",
    "close_price",
    "sl",
    "tp",
    "profit",
    "net_profit",
    "commission",
    "storage",
    "comment",
    "digits",
    "expiration",
]
TOTALS = {
    "count",
    "total_profit",
    "total_net_profit",
    "total_storage",
    "total_commission",
    "total_volume",
}
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

    assert set(body) == {"structure", "rows", *TOTALS}
    assert body["structure"] == COLUMNS
    assert all(len(row) == len(COLUMNS) for row in body["rows"])
    assert body["count"] == 5
    assert body["total_volume"] == 100 + 200 + 30 + 20 + 10
    # the open EURUSD trade at the spread (-2) and the ES sell closed at the ask (-0.25 * 50 * 2)
    assert D(str(body["total_profit"])) == D(str(body["total_net_profit"])) == D("-27")
    assert body["total_storage"] == body["total_commission"] == 0
    rows = {row[COL["order"]]: dict(zip(COLUMNS, row, strict=True)) for row in body["rows"]}
    for row in rows.values():
        assert (row["reason"], row["commission"], row["storage"]) == (7, 0, 0)
        assert row["net_profit"] == row["profit"]
        assert row["digits"] == (2 if row["symbol"] == "ES 12-26" else 5)
    opened = rows[t["open"]]
    assert (opened["state"], opened["close_time"], opened["close_price"]) == (0, 0, 0)
    assert D(str(opened["open_price"])) == D("1.10002")
    assert D(str(opened["profit"])) == D("-2")
    waiting = rows[t["pending"]]
    assert (waiting["cmd"], waiting["state"], waiting["expiration"]) == (2, 0, 0)
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


async def test_trades_rows_hold_the_documented_type_in_each_cell(st):
    # The row schema is a tuple (prefixItems), which the answers' schema check does not read.
    await history(st)
    schema = ScaleTradeTrades.model_json_schema()
    cells = schema["properties"]["rows"]["items"]["prefixItems"]

    body = await trades(st)

    assert [cell["title"] for cell in cells] == body["structure"]
    assert len(body["rows"]) == 5
    for row in body["rows"]:
        assert len(row) == len(cells)
        found = [m for c, v in zip(cells, row, strict=True) for m in mismatches(schema, c, v)]
        assert found == [], row


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
    ({"where": [["symbol", "ES 12-26"]]}, ["closed"]),
    ({"where": [["cmd", 2]]}, ["pending"]),
    ({"where": [["open_price", "=", 1.09]]}, ["pending"]),
    ({"whereNot": [["symbol", "EURUSD"]]}, ["closed"]),
    ({"whereIn": [["cmd", [2, 5]]]}, ["pending", "deleted"]),
    ({"whereIn": [["state", [3, 6]]]}, ["closed", "deleted"]),
    ({"whereBetween": [["volume", [20, 100]]]}, ["open", "pending", "deleted"]),
    ({"whereBetween": [["open_price", [1.08, 1.09]]]}, ["pending", "deleted"]),
    (
        {"where": [["symbol", "EURUSD"]], "whereNot": [["cmd", 0]]},
        ["pending", "deleted", "flying"],
    ),
    ({"where": [["net_profit", "<", 0]]}, ["open", "closed"]),
    ({"where": [["symbol", "GBPUSD"]]}, []),
    # an object {column: value} stands for [[column, value]]
    ({"where": {"symbol": "ES 12-26"}}, ["closed"]),
    ({"whereIn": {"cmd": [2, 5]}}, ["pending", "deleted"]),
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

    body = await trades(st, where=[["symbol", "EURUSD"]], tradeType=1)

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
        json={"where": [["symbol", "EURUSD"]]},
    )
    assert answer.status_code == 200, answer.text
    assert tickets(answer.json()) == [(t["pending"], 0)]


async def test_trades_refuses_bad_queries_with_400_invalid_data(st):
    await history(st)
    bad_params: list[dict[str, str]] = [
        {"where": json.dumps([["colour", "red"]])},  # unknown column
        {"whereIn": json.dumps([["colour", ["red"]]])},
        {"whereBetween": json.dumps([["symbol", ["A", "Z"]]])},  # a text column
        {"whereBetween": json.dumps([["volume", [1, 2, 3]]])},
        {"whereIn": json.dumps([["cmd", 2]])},  # not a list
        {"where": "{symbol: EURUSD}"},  # not JSON
        {"where": "[1]"},
        {"where": json.dumps([["cmd", None]])},
        {"where": json.dumps({"cmd": None})},
        {"tradeType": "5"},
        {"tradeType": "open"},
        {"limit": "0"},
        {"limit": "50001"},
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
        for path, params in (("/trades", {}), ("/trades", {"where": '[["cmd", 0]]'})):
            answer = await st.client.get(path, params=params, headers=headers)
            assert answer.status_code == 401, f"{path} with {kind}: {answer.text}"
            assert answer.json()["error"] == "UNAUTHORIZED"


async def test_a_partly_filled_pending_order_shows_as_a_trade_and_a_pending_order(st):
    st.server.container.venue.config.set("EURUSD", partial_fills=True)
    ticket = await pending(st, cmd=2, price="1.09000", volume=300)
    await settle(st)
    push_sized(st, "1.08990", "1.08995", size="1")  # one lot of liquidity at the ask
    await settle(st)

    body = await trades(st, where=[["order", ticket]])

    assert [(r[COL["cmd"]], r[COL["volume"]], r[COL["state"]]) for r in body["rows"]] == [
        (0, 100, 0),
        (2, 200, 0),
    ]


async def test_trades_through_a_real_server_with_a_json_body_on_get(st, live):
    t = await history(st)
    async with httpx.AsyncClient(base_url=live, headers=st.auth(), trust_env=False) as client:
        answer = await client.request(
            "GET", "/trades", json={"tradeType": 2, "whereIn": [["state", [6]]]}
        )
        symbol = await client.get("/market/symbol", params={"symbol": "EURUSD"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert tickets(answer.json()) == [(t["deleted"], 6)]
    assert symbol.status_code == 200, symbol.text
    assert symbol.json()["symbol"] == "EURUSD"
