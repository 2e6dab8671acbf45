"""ScaleTrade's market reads through HTTP, on SQLite and PostgreSQL: ``GET /market`` (every
symbol, lots in hundredths) and ``GET /market/symbol`` (one, lots in lots), their sessions in
ScaleTrade's weekly form, the market state, who may ask and what a bad request gets."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ordergate.domain.instruments import Instrument, TradingSession
from tests.api.scaletrade.conftest import St
from tests.api.scaletrade.helpers import bad_tokens, push

D = Decimal
UNUSED = {"open_hour": 0, "open_min": 0, "close_hour": 0, "close_min": 0}
ALL_DAY = {"open_hour": 0, "open_min": 0, "close_hour": 23, "close_min": 59}
SYMBOL_FIELDS = {
    "symbol",
    "description",
    "digits",
    "bid",
    "ask",
    "quote_time",
    "point",
    "spread",
    "contract_size",
    "currency",
    "trade",
    "market_state",
    "market_reason",
    "sessions",
    "tick_size",
    "tick_value",
    "lot_min",
    "lot_max",
    "lot_step",
    "trade_allowed",
}
ASSET_FIELDS = {
    "symbol",
    "description",
    "currency",
    "margin_currency",
    "quote_currency",
    "group",
    "digits",
    "trade",
    "spread",
    "swap_enable",
    "margin_divider",
    "contract_size",
    "ask",
    "bid",
    "market_state",
    "market_reason",
    "lot_min",
    "lot_max",
    "lot_step",
    "sessions",
}


def refused(answer: httpx.Response, status: int, code: str) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error", "message"}
    assert body["error"] == code
    return str(body["message"])


def hours(open_: str, close: str) -> dict[str, int]:
    (oh, om), (ch, cm) = (map(int, t.split(":")) for t in (open_, close))
    return {"open_hour": oh, "open_min": om, "close_hour": ch, "close_min": cm}


def day(overnight: int, *ranges: dict[str, int]) -> dict[str, Any]:
    trade = [*ranges, *[UNUSED] * (3 - len(ranges))]
    return {
        "trade_overnight": overnight,
        "trade": trade,
        "quote_overnight": overnight,
        "quote": trade,
    }


AROUND_THE_CLOCK = [day(1, ALL_DAY)] * 7


async def add(st: St, instrument: Instrument) -> None:
    async with st.server.container.store.transaction() as tx:
        await tx.accounts.add_instrument(instrument)
        await tx.commit()


def crude(symbol: str, *sessions: TradingSession) -> Instrument:
    return Instrument(
        symbol=symbol,
        tick_size=D("0.01"),
        point_value=D("1000"),
        digits=2,
        lot_min=D("1"),
        lot_max=D("100"),
        lot_step=D("1"),
        sessions=sessions,
    )


# -- GET /market/symbol --------------------------------------------------------------------------


async def test_market_symbol_answers_the_specification_and_the_quote(st):
    answer = await st.call("GET", "/market/symbol", params={"symbol": "ES 12-26"})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == SYMBOL_FIELDS
    assert (body["symbol"], body["description"], body["digits"]) == (
        "ES 12-26",
        "E-mini S&P 500",
        2,
    )
    assert (D(str(body["bid"])), D(str(body["ask"]))) == (D("6000"), D("6000.25"))
    assert body["quote_time"] > 0
    assert (D(str(body["point"])), body["spread"]) == (D("0.01"), 25)
    assert D(str(body["tick_size"])) == D("0.25")
    assert D(str(body["tick_value"])) == D("12.5")  # a tick on one lot: 0.25 x 50
    assert D(str(body["contract_size"])) == 50
    assert (body["lot_min"], body["lot_max"], body["lot_step"]) == (1, 500, 1)
    assert (body["currency"], body["trade"]) == ("USD", 2)
    assert (body["market_state"], body["market_reason"], body["trade_allowed"]) == (1, "", True)
    assert body["sessions"] == AROUND_THE_CLOCK  # no sessions: every day, all day


async def test_market_symbol_follows_the_quotes_and_the_market_state(st):
    push(st, "EURUSD", "1.20000", "1.20003")
    st.server.container.venue.set_market_closed("EURUSD")

    answer = await st.call("GET", "/market/symbol", params={"symbol": "EURUSD"})

    body = answer.json()
    assert (D(str(body["bid"])), D(str(body["ask"])), body["spread"]) == (
        D("1.2"),
        D("1.20003"),
        3,
    )
    assert (body["digits"], D(str(body["lot_min"])), D(str(body["lot_step"]))) == (
        5,
        D("0.01"),
        D("0.01"),
    )
    assert (body["market_state"], body["market_reason"]) == (0, "MARKET_CLOSED")
    assert body["trade_allowed"] is False


async def test_sessions_are_seven_days_from_sunday_split_at_midnight(st):
    # Opens Sunday to Thursday at 23:00, closes the next day at 22:00 (0 = Monday here).
    evening = TradingSession(frozenset({6, 0, 1, 2, 3}), time(23), time(22))
    await add(st, crude("CL 12-26", evening))
    # Monday to Friday, 01:00 to 21:55.
    await add(st, crude("EU 12-26", TradingSession(frozenset(range(5)), time(1), time(21, 55))))

    futures = (await st.call("GET", "/market/symbol", params={"symbol": "CL 12-26"})).json()
    days = (await st.call("GET", "/market/symbol", params={"symbol": "EU 12-26"})).json()

    weekday = day(1, hours("00:00", "22:00"), hours("23:00", "23:59"))
    assert futures["sessions"] == [
        day(1, hours("23:00", "23:59")),  # Sunday evening, on into Monday
        weekday,
        weekday,
        weekday,
        weekday,
        day(0, hours("00:00", "22:00")),  # Friday: closes for the weekend
        day(0),  # Saturday
    ]
    assert days["sessions"] == [day(0), *[day(0, hours("01:00", "21:55"))] * 5, day(0)]


async def test_a_symbol_outside_its_sessions_is_closed_and_a_venue_ignoring_them_opens_it(st):
    today = st.server.clock.now().weekday()
    another_day = TradingSession(frozenset({(today + 3) % 7}), time(0), time(0))
    await add(st, crude("CL 03-27", another_day))

    closed = (await st.call("GET", "/market/symbol", params={"symbol": "CL 03-27"})).json()
    st.server.container.venue.config.sessions = "ignore"
    ignored = (await st.call("GET", "/market/symbol", params={"symbol": "CL 03-27"})).json()

    assert (closed["market_state"], closed["market_reason"]) == (0, "SESSION_CLOSED")
    assert [d["trade"] for d in closed["sessions"]].count([ALL_DAY, UNUSED, UNUSED]) == 1
    assert (ignored["market_state"], ignored["market_reason"]) == (1, "")
    assert ignored["sessions"] == AROUND_THE_CLOCK


async def test_market_symbol_of_an_unknown_symbol_is_404_ret_symbol_not_found(st):
    answer = await st.call("GET", "/market/symbol", params={"symbol": "XAUUSD"})

    assert "XAUUSD" in refused(answer, 404, "RET_SYMBOL_NOT_FOUND")


@pytest.mark.parametrize("path", ["/market/symbol", "/market"])
@pytest.mark.parametrize(
    ("login", "session"), [(2002, 1001), (1002, 1001), (5555, 1001), (1001, 901), (1001, 2002)]
)
async def test_market_reads_for_a_login_the_session_may_not_act_on_are_403(
    st, path, login, session
):
    params = {"symbol": "EURUSD", "login": str(login)} if path == "/market/symbol" else {}
    params["login"] = str(login)

    answer = await st.call("GET", path, params=params, login=session)

    assert refused(answer, 403, "PERMISSION_DENIED") == "this session may not act on that login"


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


# -- GET /market ---------------------------------------------------------------------------------


async def test_market_answers_every_symbol_with_lots_in_hundredths(st):
    answer = await st.call("GET", "/market")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"assets", "groups"}
    assert body["groups"] == ["default"]
    assets = body["assets"]
    assert {"EURUSD", "ES 12-26", "NQ 12-26", "MES 12-25"} <= set(assets)
    assert all(set(a) == ASSET_FIELDS and a["symbol"] == s for s, a in assets.items())
    euro, es = assets["EURUSD"], assets["ES 12-26"]
    assert (euro["lot_min"], euro["lot_max"], euro["lot_step"]) == (1, 10000, 1)
    assert (es["lot_min"], es["lot_max"], es["lot_step"]) == (100, 50000, 100)
    assert (D(str(euro["bid"])), D(str(euro["ask"])), euro["spread"]) == (
        D("1.1"),
        D("1.10002"),
        2,
    )
    assert (euro["digits"], D(str(euro["contract_size"]))) == (5, 100000)
    assert (euro["currency"], euro["margin_currency"], euro["quote_currency"]) == ("USD",) * 3
    assert (euro["group"], euro["trade"], euro["swap_enable"], euro["margin_divider"]) == (
        "default",
        2,
        0,
        1,
    )
    assert (euro["market_state"], euro["market_reason"]) == (1, "")
    assert euro["sessions"] == AROUND_THE_CLOCK
    # /market/symbol shows the same symbol with lots in lots
    symbol = (await st.call("GET", "/market/symbol", params={"symbol": "EURUSD"})).json()
    assert D(str(symbol["lot_min"])) * 100 == euro["lot_min"]


async def test_market_shows_an_instrument_added_while_the_server_runs(st):
    await add(st, crude("CL 06-27"))

    assets = (await st.call("GET", "/market")).json()["assets"]

    assert assets["CL 06-27"]["market_state"] == 1
    assert (assets["CL 06-27"]["bid"], assets["CL 06-27"]["spread"]) == (0, 0)  # no quote yet


async def test_market_for_staff_names_a_login_of_theirs_in_the_query_or_a_body(st):
    mine = await st.call("GET", "/market", params={"login": "1001"}, login=900)
    boss = await st.client.request("GET", "/market", headers=st.auth(1), json={"login": 2002})
    without = await st.call("GET", "/market", login=900)

    assert mine.status_code == 200, mine.text
    assert boss.status_code == 200, boss.text
    assert mine.json() == boss.json()
    assert "login" in refused(without, 400, "INVALID_DATA")


async def test_market_refuses_bad_queries_with_400_invalid_data(st):
    for params in ({"login": "x"}, {"login": "-1"}, {"colour": "red"}, {"symbol": "EURUSD"}):
        refused(await st.call("GET", "/market", params=params), 400, "INVALID_DATA")
    both = await st.client.request(
        "GET", "/market", params={"login": "1001"}, headers=st.auth(), json={"login": 1001}
    )
    assert "both" in refused(both, 400, "INVALID_DATA")
    for content in (b"[1]", b"{not json"):
        answer = await st.client.request("GET", "/market", headers=st.auth(), content=content)
        refused(answer, 400, "INVALID_DATA")


async def test_market_reads_without_a_valid_token_are_401(st):
    for kind, headers in (await bad_tokens(st)).items():
        for path, params in (("/market", {}), ("/market/symbol", {"symbol": "EURUSD"})):
            answer = await st.client.get(path, params=params, headers=headers)
            assert answer.status_code == 401, f"{path} with {kind}: {answer.text}"
            assert answer.json()["error"] == "UNAUTHORIZED"
