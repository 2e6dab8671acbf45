"""``GET /trades`` filters in ScaleTrade's syntax, through HTTP on SQLite and PostgreSQL:
``where`` rules with operators, ``like``, the negated and ranged filters, ``orderBy``, the
totals of every matched row, and the clear 400 a malformed filter gets."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx

from tests.api.scaletrade.conftest import St, pending
from tests.api.scaletrade.helpers import market, trades
from tests.builders import snapshot

D = Decimal


async def book(st: St) -> dict[str, int]:
    """Records of login 1001, {name: ticket}: an open EURUSD buy (volume 100, profit -2), an
    ES sell closed at a loss (200), pending orders with comments (30, 20, 100)."""
    opened = await market(st, volume=100)
    closed = await market(st, symbol="ES 12-26", cmd=1, volume=200)
    answer = await st.call("DELETE", "/trade/close", {"order": closed})
    assert answer.status_code == 200, answer.text
    grid1 = await pending(st, cmd=2, price="1.09000", volume=30, comment="grid leg 1")
    grid2 = await pending(st, cmd=5, price="1.08000", volume=20, comment="Grid_leg 2")
    sure = await pending(st, symbol="ES 12-26", price="5990", volume=100, comment="100% sure")
    await st.server.container.engine.settle()
    return {"open": opened, "closed": closed, "grid1": grid1, "grid2": grid2, "sure": sure}


def orders(body: dict[str, Any]) -> list[int]:
    at = body["structure"].index("order")
    return [row[at] for row in body["rows"]]


async def found(st: St, t: dict[str, int], **params: Any) -> list[str]:
    """The names of the records ``params`` select, in the answer's order."""
    names = {ticket: name for name, ticket in t.items()}
    return [names[o] for o in orders(await trades(st, **params))]


async def test_where_compares_number_columns_with_each_operator(st):
    t = await book(st)
    cases = [
        ([["volume", ">", 30]], ["open", "closed", "sure"]),
        ([["volume", ">=", 30]], ["open", "closed", "grid1", "sure"]),
        ([["volume", "<", 30]], ["grid2"]),
        ([["volume", "<=", 30]], ["grid1", "grid2"]),
        ([["volume", "=", 30]], ["grid1"]),
        ([["volume", "!=", 100]], ["closed", "grid1", "grid2"]),
        ([["volume", "<>", 100]], ["closed", "grid1", "grid2"]),
        ([["volume", 30.0]], ["grid1"]),  # a whole JSON number equals the integer
        ([["open_price", "<", 1.085]], ["grid2"]),
        ([["net_profit", "<", 0]], ["open", "closed"]),
        ([["profit", "<", -20], ["state", 3]], ["closed"]),  # every rule must hold
    ]
    for where, expected in cases:
        assert await found(st, t, where=where) == expected, where


async def test_text_compares_ignoring_case_and_like_takes_percent_and_underscore(st):
    t = await book(st)
    cases = [
        ([["symbol", "es 12-26"]], ["closed", "sure"]),
        ([["symbol", "!=", "EURUSD"]], ["closed", "sure"]),
        ([["comment", "like", "grid%"]], ["grid1", "grid2"]),
        ([["comment", "LIKE", "GRID_LEG _"]], ["grid1", "grid2"]),  # _ is any one character
        ([["comment", "like", "grid\\_leg%"]], ["grid2"]),  # \\_ is an underscore
        ([["comment", "like", "%\\%%"]], ["sure"]),  # \\% is a percent sign
        ([["comment", "like", "%leg%2"]], ["grid2"]),
        ([["comment", "like", "%"]], list(t)),  # the trades' comments are empty
        ([["comment", "like", "grid"]], []),  # no wildcard: the whole text
        ([["symbol", "like", "%us%"]], ["open", "grid1", "grid2"]),
    ]
    for where, expected in cases:
        assert await found(st, t, where=where) == expected, where


async def test_negated_and_ranged_filters(st):
    t = await book(st)
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"whereNot": [["volume", ">", 50]]}, ["grid1", "grid2"]),
        ({"whereNot": [["symbol", "EURUSD"], ["state", 3]]}, ["sure"]),  # each excludes
        ({"whereIn": [["symbol", ["eurusd", "XAUUSD"]]]}, ["open", "grid1", "grid2"]),
        ({"whereNotIn": [["symbol", ["EURUSD"]]]}, ["closed", "sure"]),
        ({"whereNotIn": [["cmd", []]]}, list(t)),
        ({"whereIn": [["cmd", []]]}, []),
        ({"whereBetween": [["volume", [20, 30]]]}, ["grid1", "grid2"]),  # inclusive
        ({"whereNotBetween": [["volume", [20, 100]]]}, ["closed"]),
        ({"whereBetween": [["volume", [100, 20]]]}, []),  # an empty range
        (
            {
                "where": [["symbol", "EURUSD"]],
                "whereIn": [["cmd", [2, 5]]],
                "whereNotBetween": [["volume", [25, 35]]],
            },
            ["grid2"],
        ),
        # an object {column: value} stands for [[column, value]]
        ({"whereNotIn": {"symbol": ["EURUSD"]}}, ["closed", "sure"]),
        ({"whereNotBetween": {"volume": [20, 100]}}, ["closed"]),
    ]
    for filters, expected in cases:
        assert await found(st, t, **filters) == expected, filters


async def test_order_by_sorts_then_pages_and_defaults_to_the_ticket(st):
    t = await book(st)

    assert await found(st, t) == ["open", "closed", "grid1", "grid2", "sure"]
    by_volume = await found(st, t, orderBy=[["volume", "desc"]])
    assert by_volume == ["closed", "open", "sure", "grid1", "grid2"]
    by_symbol = await found(st, t, orderBy=[["symbol", "ASC"], ["volume", "asc"]])
    assert by_symbol == ["sure", "closed", "grid2", "grid1", "open"]
    # text sorts folded; the empty comments of the trades come last, by the next key
    comments = await found(st, t, orderBy={"comment": "desc"})
    assert comments == ["grid2", "grid1", "sure", "open", "closed"]
    page = await found(st, t, orderBy=[["volume", "desc"]], limit=2, offset=1)
    assert page == ["open", "sure"]


async def test_totals_cover_every_matching_row_not_only_the_page(st):
    t = await book(st)

    body = await trades(st, whereIn=[["symbol", ["EURUSD"]]], limit=1)

    assert orders(body) == [t["open"]]
    assert body["count"] == 3
    assert body["total_volume"] == 100 + 30 + 20
    assert D(str(body["total_profit"])) == D(str(body["total_net_profit"])) == D("-2")
    assert (body["total_storage"], body["total_commission"]) == (0, 0)


async def test_the_upstream_example_in_a_json_body(st):
    t = await book(st)
    mine = await trades(st, where=[["order", t["open"]]])
    open_time = mine["rows"][0][mine["structure"].index("open_time")]

    answer = await st.client.request(
        "GET",
        "/trades",
        headers=st.auth(),
        json={
            "limit": 50,
            "offset": 0,
            "tradeType": 1,
            "whereIn": [["symbol", ["XAUUSD", "EURUSD"]]],
            "whereBetween": [["open_time", [open_time - 60, open_time + 60]]],
            "where": [["net_profit", "<", 0]],
        },
    )

    assert answer.status_code == 200, answer.text
    assert orders(answer.json()) == [t["open"]]


async def test_a_limit_up_to_50000_is_taken(st):
    await book(st)
    body = await trades(st, limit=50000)
    assert body["count"] == len(body["rows"]) == 5


def refused(answer: httpx.Response, what: str) -> str:
    assert answer.status_code == 400, f"{what}: {answer.status_code} {answer.text}"
    body = answer.json()
    assert set(body) == {"error", "message"}, what
    assert body["error"] == "INVALID_DATA", what
    return str(body["message"])


JSON = {"where", "whereNot", "whereIn", "whereNotIn", "whereBetween", "whereNotBetween", "orderBy"}
#: Malformed filters, each with a part of the message that says what is wrong.
BAD: list[tuple[dict[str, Any], str]] = [
    ({"where": [["colour", 1]]}, "where[0]: unknown column 'colour'"),
    ({"where": [["volume", 1], ["colour", 1]]}, "where[1]: unknown column"),
    ({"where": [["symbol", 5]]}, "symbol takes text"),
    ({"where": [["symbol", "x" * 256]]}, "at most 255 characters"),
    ({"where": [["volume", "5"]]}, "volume takes a number"),
    ({"where": [["volume", True]]}, "volume takes a number"),
    ({"where": [["volume", None]]}, "volume takes a number"),
    ({"where": [["volume", "like", 5]]}, "operator 'like' does not apply to volume"),
    ({"where": [["symbol", "<", "M"]]}, "operator '<' does not apply to symbol"),
    ({"where": [["volume", "~", 1]]}, "operator '~'"),
    ({"where": [["volume", 7, 1]]}, "the operator must be text"),
    ({"where": [["volume"]]}, "[column, value] or [column, operator, value]"),
    ({"where": [["volume", "=", 1, 2]]}, "[column, value] or [column, operator, value]"),
    ({"where": ["volume", 1]}, "where[0] must be an array"),
    ({"where": "volume"}, "where must be an array of rules"),
    ({"where": [["volume", 1]] * 51}, "at most 50 rules"),
    ({"whereNot": {"colour": 1}}, "whereNot.colour: unknown column"),
    ({"whereIn": [["cmd", [2, "x"]]]}, "cmd takes a number"),
    ({"whereIn": [["cmd", 2]]}, "[column, [value, ...]]"),
    ({"whereNotIn": [["cmd", list(range(1001))]]}, "at most 1000"),
    ({"whereBetween": [["volume", [1]]]}, "[column, [low, high]]"),
    ({"whereBetween": [["comment", ["a", "z"]]]}, "a range takes a number column"),
    ({"whereNotBetween": [["volume", [1, "9"]]]}, "volume takes a number"),
    ({"orderBy": [["volume", "up"]]}, 'must be [column, "asc" or "desc"]'),
    ({"orderBy": [["volume"]]}, 'must be [column, "asc" or "desc"]'),
    ({"orderBy": [["colour", "asc"]]}, "unknown column 'colour'"),
    ({"update_time": 1}, "update_time"),  # manager-only fields: refused, not ignored
    ({"group": "demo"}, "group"),
    ({"parent_order": 1}, "parent_order"),
    ({"limit": 50001}, "limit"),
]


async def test_malformed_filters_are_400_invalid_data_naming_the_rule(st):
    await book(st)
    before = await snapshot(st.server.container.store)
    for params, text in BAD:
        query = {k: json.dumps(v) if k in JSON else str(v) for k, v in params.items()}
        in_query = await st.call("GET", "/trades", params=query)
        assert text in refused(in_query, f"{params} in the query"), params
        in_body = await st.client.request("GET", "/trades", headers=st.auth(), json=params)
        assert text in refused(in_body, f"{params} in a body"), params
    assert await snapshot(st.server.container.store) == before


async def test_a_filter_that_is_not_json_in_the_query_is_400(st):
    for raw in ("[[volume, 1]]", "", '[["volume", NaN]]'):
        message = refused(await st.call("GET", "/trades", params={"where": raw}), raw)
        assert "where must be JSON" in message, raw
