"""ScaleTrade's account reads through HTTP, on SQLite and PostgreSQL: ``GET /account/me``,
``GET /account/balance`` and ``GET /balances/list``, the sign-in profile's fields, who may
read which login and what a bad request gets."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.api.scaletrade.conftest import DESK, PASSWORDS, St, sign_in
from tests.api.scaletrade.helpers import bad_tokens, market
from tests.builders import snapshot

D = Decimal
FIGURES = {
    "login",
    "balance",
    "credit",
    "equity",
    "margin",
    "margin_free",
    "margin_level",
    "level_type",
    "profit",
    "storage",
    "commission",
}
ME = {
    "id",
    "login",
    "currency",
    "group",
    "comment",
    "enable",
    "enable_read_only",
    "enable_change_password",
    "leverage",
    "avatar",
    "email",
    "name",
    "phone",
    "address",
    "city",
    "country",
    "zipcode",
    "regdate",
    "prevbalance",
    "prevmonthbalance",
    "balance",
    "storage",
    "commission",
    "credit",
    "margin",
    "margin_free",
    "margin_level",
    "equity",
}
PROFILE = {
    "id",
    "login",
    "regdate",
    "leverage",
    "email",
    "avatar",
    "name",
    "phone",
    "address",
    "city",
    "state",
    "country",
    "zipcode",
    "group",
    "currency",
    "__token",
}


def refused(answer: httpx.Response, status: int, code: str) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error", "message"}
    assert body["error"] == code
    return str(body["message"])


def decimals(body: dict[str, Any], *names: str) -> tuple[Decimal, ...]:
    return tuple(D(str(body[n])) for n in names)


async def get(st: St, path: str, session: int = 1001, **params: Any) -> httpx.Response:
    """``GET path`` as the session of ``session``, ``params`` in the query (lists as JSON)."""
    query = {k: json.dumps(v) if isinstance(v, list) else str(v) for k, v in params.items()}
    return await st.call("GET", path, params=query, login=session)


async def a_losing_close_and_an_open_trade(st: St) -> None:
    """Login 1001 loses 25 on an ES sell closed at the ask, then holds a EURUSD lot."""
    es = await market(st, symbol="ES 12-26", cmd=1, volume=200)
    answer = await st.call("DELETE", "/trade/close", {"order": es})
    assert answer.status_code == 200, answer.text
    await st.server.container.engine.settle()
    await market(st, volume=100)


# -- GET /account/me ------------------------------------------------------------------------------


async def test_account_me_answers_the_profile_and_the_figures_now(st):
    await a_losing_close_and_an_open_trade(st)
    signed_in = (await sign_in(st.client, 1001, PASSWORDS[1001])).json()
    st.client.cookies.clear()

    answer = await get(st, "/account/me")

    assert answer.status_code == 200, answer.text
    me = answer.json()
    assert set(me) == ME
    assert (me["id"], me["login"], me["name"], me["group"], me["currency"]) == (
        1001,
        1001,
        "Sim101",
        "demo",
        "USD",
    )
    assert (me["enable"], me["enable_read_only"], me["enable_change_password"]) == (1, 0, 0)
    assert (me["leverage"], me["regdate"]) == (100, signed_in["regdate"])
    assert all(me[k] == "" for k in ("comment", "avatar", "email", "phone", "address", "city"))
    assert (me["country"], me["zipcode"]) == ("", "")
    # 1 000 000 less 25 lost on the ES close; the open EURUSD lot floats at the spread (-2)
    assert decimals(me, "balance", "equity") == (D("999975"), D("999973"))
    assert decimals(me, "prevbalance", "prevmonthbalance") == (D("1000000"), D("1000000"))
    # margin: 1 lot x 1.1 (the bid it would close at) x 100 000 / leverage 100
    assert decimals(me, "margin", "margin_free") == (D("1100"), D("998873"))
    assert decimals(me, "margin_level") == (D("90906.64"),)  # equity / margin x 100
    assert (me["credit"], me["storage"], me["commission"]) == (0, 0, 0)


async def test_account_me_with_no_trades_has_no_margin_level(st):
    answer = await get(st, "/account/me")

    me = answer.json()
    assert decimals(me, "balance", "equity", "prevbalance") == (D("1000000"),) * 3
    assert (me["margin"], me["margin_level"]) == (0, 0)


# -- GET /account/balance -------------------------------------------------------------------------


async def test_account_balance_answers_the_figures_of_the_b_event(st):
    await a_losing_close_and_an_open_trade(st)

    balance = (await get(st, "/account/balance")).json()
    me = (await get(st, "/account/me")).json()

    assert set(balance) == FIGURES
    assert (balance["login"], balance["level_type"]) == (1001, 0)
    same = ("balance", "credit", "equity", "margin", "margin_free", "margin_level")
    assert {k: balance[k] for k in same} == {k: me[k] for k in same}
    assert decimals(balance, "profit") == (D("-2"),)
    assert (balance["storage"], balance["commission"]) == (0, 0)


# -- GET /balances/list ---------------------------------------------------------------------------


async def test_balances_list_answers_a_row_per_login_in_the_order_asked(st):
    await a_losing_close_and_an_open_trade(st)
    mine = (await get(st, "/account/balance")).json()

    in_query = await get(st, "/balances/list", DESK[0], logins=[1002, 1001, 1002])
    in_body = await st.client.request(
        "GET", "/balances/list", headers=st.auth(1), json={"logins": [2002, 1001]}
    )
    own = await get(st, "/balances/list", logins=[1001])

    assert in_query.status_code == 200, in_query.text
    rows = in_query.json()["rows"]
    assert [r["login"] for r in rows] == [1002, 1001, 1002]
    assert all(set(r) == FIGURES for r in rows)
    assert rows[1] == mine
    assert decimals(rows[0], "balance", "equity") == (D("1000000"), D("1000000"))
    assert in_body.status_code == 200, in_body.text
    assert [r["login"] for r in in_body.json()["rows"]] == [2002, 1001]
    assert own.status_code == 200, own.text
    assert own.json() == {"rows": [mine]}


@pytest.mark.parametrize(
    ("logins", "session"),
    [([1002], 1001), ([1001, 2002], 1001), ([1001, 5555], 1001), ([2002, 1001], 901)],
)
async def test_balances_list_naming_a_login_out_of_reach_is_403_for_all_of_it(st, logins, session):
    answer = await get(st, "/balances/list", session, logins=logins)

    assert refused(answer, 403, "PERMISSION_DENIED") == "this session may not act on that login"


async def test_balances_list_refuses_bad_logins_with_400_invalid_data(st):
    for params in (
        {},
        {"logins": "[]"},
        {"logins": "1001"},
        {"logins": '["1001"]'},
        {"logins": "[1001.5]"},
        {"logins": "[-1]"},
        {"logins": "[true]"},
        {"logins": f"[{2**64}]"},
        {"logins": json.dumps(list(range(1001)))},
        {"logins": "[1001"},
        {"logins": "[1001]", "colour": "red"},
        {"login": "1001"},
    ):
        refused(await st.call("GET", "/balances/list", params=params), 400, "INVALID_DATA")
    both = await st.client.request(
        "GET",
        "/balances/list",
        params={"logins": "[1001]"},
        headers=st.auth(),
        json={"logins": [1001]},
    )
    assert "both" in refused(both, 400, "INVALID_DATA")


# -- who may read, and bad requests ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/account/me", "/account/balance"])
async def test_account_reads_of_a_login_out_of_reach_are_403_alike(st, path):
    messages = set()
    for login, session in ((1002, 1001), (2002, 1001), (5555, 1001), (1001, 901), (1001, 2002)):
        answer = await get(st, path, session, login=login)
        messages.add(refused(answer, 403, "PERMISSION_DENIED"))
    assert messages == {"this session may not act on that login"}


@pytest.mark.parametrize("path", ["/account/me", "/account/balance"])
async def test_account_reads_for_staff_name_a_login_of_theirs(st, path):
    desk = await get(st, path, DESK[0], login=1002)
    boss = await st.client.request("GET", path, headers=st.auth(1), json={"login": 2002})
    without = await get(st, path, DESK[0])

    assert desk.status_code == 200, desk.text
    assert desk.json()["login"] == 1002
    assert boss.status_code == 200, boss.text
    assert boss.json()["login"] == 2002
    assert "login" in refused(without, 400, "INVALID_DATA")


@pytest.mark.parametrize("path", ["/account/me", "/account/balance"])
async def test_account_reads_refuse_bad_queries_with_400_invalid_data(st, path):
    before = await snapshot(st.server.container.store)
    for params in ({"login": "x"}, {"login": "1.5"}, {"login": "-1"}, {"colour": "red"}):
        refused(await st.call("GET", path, params=params), 400, "INVALID_DATA")
    for content in (b"[1001]", b'{"login": "1001"}', b"{"):
        answer = await st.client.request("GET", path, headers=st.auth(), content=content)
        refused(answer, 400, "INVALID_DATA")
    assert await snapshot(st.server.container.store) == before


async def test_account_reads_without_a_valid_token_are_401(st):
    for kind, headers in (await bad_tokens(st)).items():
        for path, params in (
            ("/account/me", {}),
            ("/account/balance", {}),
            ("/balances/list", {"logins": "[1001]"}),
        ):
            answer = await st.client.get(path, params=params, headers=headers)
            assert answer.status_code == 401, f"{path} with {kind}: {answer.text}"
            assert answer.json()["error"] == "UNAUTHORIZED"


# -- POST /sign/in's profile ----------------------------------------------------------------------


async def test_the_sign_in_profile_has_scaletrades_fields(st):
    client = (await sign_in(st.client, 1001, PASSWORDS[1001])).json()
    staff = (await sign_in(st.client, *DESK)).json()
    st.client.cookies.clear()

    for profile in (client, staff):
        assert set(profile) >= PROFILE
        fields = ("email", "avatar", "phone", "address", "city", "state", "country", "zipcode")
        assert all(profile[k] == "" for k in fields)
    assert (client["currency"], client["leverage"]) == ("USD", 100)
    assert (staff["currency"], staff["leverage"]) == ("", 0)  # a staff login has no account
