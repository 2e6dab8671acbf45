"""The deprecated per-account quote (GET /accounts/{account}/quote, GetQuote with an account)
and CloseStrategy (ATM strategies are not simulated: always refused) through HTTP and the
WebSocket rpc; bad input, foreign accounts and missing tokens change nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ordergate.api.crosstrade.legacy import NOT_SIMULATED
from ordergate.api.crosstrade.ops import OPERATIONS
from ordergate.api.crosstrade.quotes import us_time
from ordergate.venue.base import Quote
from tests.api.crosstrade.conftest import Server
from tests.api.crosstrade.test_market import _add, _instrument
from tests.api.crosstrade.test_positions import parsed, trade
from tests.api.crosstrade.wsclient import assert_same_body, place, rest, session
from tests.builders import snapshot

D = Decimal
API = "/v1/api"
#: The legacy object's fields, in CrossTrade's order.
LEGACY_FIELDS = [
    "instrument",
    "description",
    "type",
    "bid",
    "ask",
    "last",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "tickSize",
    "pointValue",
    "exchange",
    "expiration",
    "tradingHours",
    "quoteTime",
]
US_TIME = re.compile(r"([1-9]|1[0-2])/([1-9]|[12][0-9]|3[01])/\d{4} ([1-9]|1[0-2]):\d\d:\d\d [AP]M")


def test_both_operations_are_registered_for_the_websocket_rpc():
    assert {"GetQuote", "CloseStrategy"} <= set(OPERATIONS)


# -- the per-account quote -------------------------------------------------------------------


async def legacy_quote(ct: Server, params: Any, account: str = "Sim101", token=None) -> Any:
    response = await ct.client.get(
        f"{API}/accounts/{account}/quote", params=params, headers=ct.auth(token)
    )
    return response.status_code, parsed(response)


@pytest.mark.parametrize(
    ("at", "text"),
    [
        (datetime(2026, 1, 14, 14, 31, 7, tzinfo=UTC), "1/14/2026 2:31:07 PM"),
        (datetime(2026, 3, 1, tzinfo=UTC), "3/1/2026 12:00:00 AM"),
        (datetime(2026, 12, 31, 12, 0, 5, tzinfo=UTC), "12/31/2026 12:00:05 PM"),
        (datetime(2026, 7, 4, 23, 59, 59, 999999, tzinfo=UTC), "7/4/2026 11:59:59 PM"),
    ],
)
def test_us_time_is_nets_us_locale_general_format(at, text):
    assert us_time(at) == text


async def test_one_instrument_is_the_flat_legacy_object(ct):
    ct.container.market.push(
        Quote("NQ 12-26", D("21450.00"), D("21450.25"), ct.clock.now(), last=D("21450.25"))
    )
    status, body = await legacy_quote(ct, {"instrument": "NQ 12-26"}, account="sim101")
    assert status == 200, body
    assert list(body) == [*LEGACY_FIELDS, "success"]
    snap = ct.container.market.snapshot("NQ 12-26")
    assert snap is not None
    assert {k: body[k] for k in ("instrument", "type", "bid", "ask", "last", "tickSize")} == {
        "instrument": "NQ 12-26",
        "type": "Future",
        "bid": 21450,
        "ask": D("21450.25"),
        "last": D("21450.25"),
        "tickSize": D("0.25"),
    }
    assert (body["exchange"], body["tradingHours"]) == ("Globex", "CME US Index Futures ETH")
    assert body["expiration"] == "12/1/2026 12:00:00 AM"  # NT8 dates the contract month
    assert US_TIME.fullmatch(body["quoteTime"]), body["quoteTime"]
    # UTC, to the second.
    shown = datetime.strptime(body["quoteTime"], "%m/%d/%Y %I:%M:%S %p").replace(tzinfo=UTC)
    assert shown == snap.at.astimezone(UTC).replace(microsecond=0)
    assert body["success"] is True
    # The same prices as the current form.
    _, current = await rest(ct, "GET", "/market/quote", params={"instrument": "NQ 12-26"})
    assert {k: body[k] for k in LEGACY_FIELDS if k not in ("expiration", "quoteTime")} == {
        k: current[k] for k in LEGACY_FIELDS if k not in ("expiration", "quoteTime")
    }


async def test_several_instruments_are_a_quotes_list_in_the_order_asked(ct):
    status, body = await legacy_quote(ct, {"instrument": "EURUSD, ES 12-26,ESH27"})
    assert status == 200, body
    assert list(body) == ["quotes", "success"]
    assert body["success"] is True
    assert [q["instrument"] for q in body["quotes"]] == ["EURUSD", "ES 12-26", "ES 03-27"]
    for one in body["quotes"]:
        assert list(one) == LEGACY_FIELDS
        _, alone = await legacy_quote(ct, {"instrument": one["instrument"]})
        assert {**one, "success": True} == alone
    eurusd = body["quotes"][0]
    assert (eurusd["type"], eurusd["exchange"], eurusd["tradingHours"]) == (
        "Forex",
        "Default",
        "Forex",
    )
    assert eurusd["expiration"] is None  # a spot pair has no contract month


async def test_an_instrument_not_quoted_yet_has_null_prices_and_time(ct):
    await _add(ct, _instrument("CL 12-26"))
    status, body = await legacy_quote(ct, {"instrument": "CL 12-26"})
    assert status == 200, body
    assert [body[k] for k in ("bid", "ask", "last", "volume", "quoteTime")] == [None] * 5
    assert (body["exchange"], body["expiration"]) == ("Nymex", "12/1/2026 12:00:00 AM")


@pytest.mark.parametrize(
    ("params", "status", "error"),
    [
        ({}, 400, "Invalid request"),
        ({"instrument": ""}, 400, "Invalid request"),
        ({"instrument": "ES 12-26,,NQ 12-26"}, 400, None),
        ({"instrument": ",".join(["ES 12-26"] * 51)}, 400, None),
        ({"instrument": "ZZ 01-30"}, 404, "Instrument 'ZZ 01-30' not found"),
    ],
)
async def test_a_bad_legacy_quote_request_is_refused_and_changes_nothing(ct, params, status, error):
    before = await snapshot(ct.container.store)
    got, body = await legacy_quote(ct, params)
    assert got == status, body
    assert body["success"] is False
    if error is not None:
        assert body["error"] == error
    assert await snapshot(ct.container.store) == before


@pytest.mark.parametrize("name", ["Other", "Nope"])
async def test_a_foreign_or_unknown_account_is_404_alike(ct, name):
    status, body = await legacy_quote(ct, {"instrument": "ES 12-26"}, account=name)
    assert status == 404
    assert body == {
        "success": False,
        "error": f"Account '{name}' not found",
        "code": "ACCOUNT_NOT_FOUND",
    }
    status, theirs = await legacy_quote(
        ct, {"instrument": "ES 12-26"}, account=name, token=ct.other_token
    )
    assert status == (200 if name == "Other" else 404), theirs


async def test_the_legacy_quote_needs_a_token(ct):
    response = await ct.client.get(
        f"{API}/accounts/Sim101/quote", params={"instrument": "ES 12-26"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


async def test_get_quote_with_an_account_is_the_legacy_form_over_the_websocket(ct, live):
    async with session(live, ct.token) as client:
        one = await client.call("GetQuote", {"account": "Sim101", "instrument": "ES 12-26"})
        several = await client.call(
            "GetQuote", {"account": "Sim101", "instrument": "ES 12-26,EURUSD"}
        )
        current = await client.call("GetQuote", {"instrument": "ES 12-26"})
        foreign = await client.call(
            "GetQuote", {"account": "Other", "instrument": "ES 12-26"}, rid="f"
        )
    _, rest_one = await legacy_quote(ct, {"instrument": "ES 12-26"})
    _, rest_several = await legacy_quote(ct, {"instrument": "ES 12-26,EURUSD"})
    assert_same_body(one["data"], rest_one)
    assert_same_body(several["data"], rest_several)
    assert "quoteTimeUtc" in current["data"]  # no account: the current form
    status, rest_foreign = await legacy_quote(ct, {"instrument": "ES 12-26"}, account="Other")
    assert foreign == {"id": "f", **rest_foreign, "status": status}


# -- CloseStrategy ---------------------------------------------------------------------------

STRATEGY = "ATM_1234567890"


async def close_strategy(
    ct: Server, account: str = "Sim101", strategy: str = STRATEGY, token=None, **kw: Any
) -> tuple[int, Any]:
    if "content" not in kw:
        kw.setdefault("json", {})
    response = await ct.client.post(
        f"{API}/accounts/{account}/strategies/{strategy}/close", headers=ct.auth(token), **kw
    )
    return response.status_code, response.json()


async def test_closing_an_atm_strategy_is_refused_as_not_simulated_and_changes_nothing(ct):
    await trade(ct, "ES 12-26", "Buy", 1)
    await place(ct)
    await ct.container.engine.settle()
    before = await snapshot(ct.container.store)
    _, orders_before = await rest(ct, "GET", "/accounts/Sim101/orders")

    bodies = (
        ("Sim101", {}),
        ("sim101", {"content": b""}),
        ("SIM101", {"json": {"quantity": 1}}),  # a field it does not take is ignored
    )
    for account, kw in bodies:
        status, body = await close_strategy(ct, account, **kw)
        assert status == 400
        assert body == {
            "success": False,
            "error": NOT_SIMULATED.format(account="Sim101", strategy=STRATEGY),
            "code": "REJECTED",
        }
    assert "ATM strategies are not simulated" in body["error"]
    # An admin may act on the account: refused alike.
    status, body = await close_strategy(ct, token=ct.admin_token)
    assert (status, body["code"]) == (400, "REJECTED")

    await ct.container.engine.settle()
    assert await snapshot(ct.container.store) == before
    _, orders_after = await rest(ct, "GET", "/accounts/Sim101/orders")
    assert orders_after == orders_before


@pytest.mark.parametrize(
    ("strategy", "kw"),
    [
        (STRATEGY, {"json": []}),
        (STRATEGY, {"content": b"{not json"}),
        ("x" * 65, {}),
        ("%20", {}),
    ],
)
async def test_a_bad_close_strategy_request_is_invalid(ct, strategy, kw):
    status, body = await close_strategy(ct, strategy=strategy, **kw)
    assert status == 400, body
    assert body["error"] == "Invalid request"


@pytest.mark.parametrize("name", ["Other", "Nope"])
async def test_closing_a_strategy_of_a_foreign_or_unknown_account_is_404(ct, name):
    before = await snapshot(ct.container.store)
    status, body = await close_strategy(ct, name)
    assert status == 404
    assert body == {
        "success": False,
        "error": f"Account '{name}' not found",
        "code": "ACCOUNT_NOT_FOUND",
    }
    assert await snapshot(ct.container.store) == before


async def test_closing_a_strategy_needs_a_token(ct):
    response = await ct.client.post(f"{API}/accounts/Sim101/strategies/{STRATEGY}/close", json={})
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


async def test_close_strategy_over_the_websocket_answers_as_rest(ct, live):
    async with session(live, ct.token) as client:
        refused = await client.call(
            "CloseStrategy", {"account": "Sim101", "strategyId": STRATEGY}, rid="c"
        )
        foreign = await client.call(
            "CloseStrategy", {"account": "Other", "strategyId": STRATEGY}, rid="o"
        )
        missing = await client.call("CloseStrategy", {"account": "Sim101"}, rid="m")
    for frame, account in ((refused, "Sim101"), (foreign, "Other")):
        status, body = await close_strategy(ct, account)
        assert frame == {"id": frame["id"], **body, "status": status}
    assert (refused["status"], refused["code"]) == (400, "REJECTED")
    assert (foreign["status"], foreign["code"]) == (404, "ACCOUNT_NOT_FOUND")
    assert (missing["status"], missing["error"]) == (400, "Invalid request")
    assert "strategyId" in missing["detail"]
