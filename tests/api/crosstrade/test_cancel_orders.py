"""POST /v1/api/accounts/{account}/orders/cancel, exactly as the seed page describes it."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from ordergate.domain.contracts import front_months
from tests.api.crosstrade.conftest import Server
from tests.api.crosstrade.wsclient import session
from tests.builders import snapshot

SEED_PATH = "/v1/api/accounts/{account}/orders/cancel"


async def place(ct: Server, symbol: str, price: str, account: str = "Sim101", token=None) -> str:
    response = await ct.client.post(
        f"/v1/api/accounts/{account}/orders/place",
        headers=ct.auth(token),
        json={
            "instrument": symbol,
            "action": "BUY",
            "quantity": 1,
            "orderType": "LIMIT",
            "limitPrice": price,
            "timeInForce": "GTC",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert len(body["orderId"]) == 32
    return str(body["orderId"])


async def state(ct: Server, account: str, order_id: str, token=None) -> str:
    response = await ct.client.get(
        f"/v1/api/accounts/{account}/orders/{order_id}", headers=ct.auth(token)
    )
    assert response.status_code == 200, response.text
    return str(response.json()["orderState"])


def seed_example(base_url: str, token: str, data: dict) -> httpx.Response:
    """The seed page's Python example, with requests' call shape (run in a thread)."""
    url = f"{base_url}/v1/api/accounts/Sim101/orders/cancel"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return httpx.post(url, headers=headers, json=data)


async def test_seed_example_cancels_every_working_order_of_the_account(ct, live):
    mine = [
        await place(ct, s, p)
        for s, p in (("MES 12-25", "5990"), ("ES 12-26", "5990"), ("EURUSD", "1.09"))
    ]
    sibling = await place(ct, "ES 12-26", "5980", account="Sim102")
    theirs = await place(ct, "ES 12-26", "5980", account="Other", token=ct.other_token)
    await ct.container.engine.settle()

    response = await asyncio.to_thread(seed_example, live, ct.token, {})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"orderIds", "notCancelled", "success"}
    assert (body["success"], body["notCancelled"]) == (True, [])
    assert sorted(body["orderIds"]) == sorted(mine)
    for order_id in mine:
        assert await state(ct, "Sim101", order_id) in ("CancelPending", "Cancelled")
    await ct.container.engine.settle()
    for order_id in mine:
        assert await state(ct, "Sim101", order_id) == "Cancelled"
    assert await state(ct, "Sim102", sibling) == "Working"
    assert await state(ct, "Other", theirs, ct.other_token) == "Working"


async def test_seed_example_with_instrument_cancels_only_that_instrument(ct, live):
    mes = await place(ct, "MES 12-25", "5990")
    es = await place(ct, "ES 12-26", "5990")
    await ct.container.engine.settle()
    response = await asyncio.to_thread(seed_example, live, ct.token, {"instrument": "MES 12-25"})
    assert response.status_code == 200
    assert response.json() == {"orderIds": [mes], "notCancelled": [], "success": True}
    await ct.container.engine.settle()
    assert (await state(ct, "Sim101", mes), await state(ct, "Sim101", es)) == (
        "Cancelled",
        "Working",
    )


async def test_account_names_are_case_insensitive(ct):
    # The WebSocket example frame itself is tested in test_ws_rpc.py.
    es = await place(ct, "ES 09-26", "5990")
    await ct.container.engine.settle()
    response = await ct.client.post(
        SEED_PATH.format(account="SIM101"), headers=ct.auth(), json={"instrument": "ES 09-26"}
    )
    assert response.json() == {"orderIds": [es], "notCancelled": [], "success": True}


@pytest.mark.parametrize(
    ("alias", "symbol"),
    [("es", "front"), ("ES1!", "front"), ("ESZ26", "ES 12-26"), ("esh27", "ES 03-27")],
)
async def test_instrument_aliases_name_the_right_contract(ct, alias, symbol):
    if symbol == "front":  # the live contract on the server clock's day (it rolls)
        symbol = front_months(ct.clock.now().date(), 1)[0].symbol("ES")
    order = await place(ct, symbol, "5990")
    other = await place(ct, "ES 09-26" if symbol != "ES 09-26" else "NQ 12-26", "5990")
    await ct.container.engine.settle()
    response = await ct.client.post(
        SEED_PATH.format(account="Sim101"), headers=ct.auth(), json={"instrument": alias}
    )
    assert response.json() == {"orderIds": [order], "notCancelled": [], "success": True}
    assert other not in response.json()["orderIds"]


async def test_nothing_to_cancel_answers_an_empty_list(ct):
    response = await ct.client.post(SEED_PATH.format(account="Sim101"), headers=ct.auth(), json={})
    assert (response.status_code, response.json()) == (
        200,
        {"orderIds": [], "notCancelled": [], "success": True},
    )


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b"not json",
        b'{"instrument": 5}',
        b'"ES 12-26"',
        b'{"instrument": ""}',
        b"{" * 5000,
    ],
)
async def test_malformed_request_is_invalid_and_changes_nothing(ct, body):
    await place(ct, "ES 12-26", "5990")
    await ct.container.engine.settle()
    before = await snapshot(ct.container.store)
    response = await ct.client.post(
        SEED_PATH.format(account="Sim101"),
        headers={**ct.auth(), "Content-Type": "application/json"},
        content=body,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid request"
    assert await snapshot(ct.container.store) == before


async def test_a_field_the_docs_do_not_know_is_ignored_as_upstream_does(ct):
    """So a misspelt instrument cancels the whole account, upstream and here alike."""
    orders = sorted([await place(ct, "ES 12-26", "5990"), await place(ct, "NQ 12-26", "20990")])
    await ct.container.engine.settle()
    response = await ct.client.post(
        SEED_PATH.format(account="Sim101"),
        headers=ct.auth(),
        json={"instrumnet": "ES 12-26", "x": 1},
    )
    assert response.status_code == 200
    assert sorted(response.json()["orderIds"]) == orders


async def test_unknown_instrument_is_a_clear_404(ct):
    response = await ct.client.post(
        SEED_PATH.format(account="Sim101"), headers=ct.auth(), json={"instrument": "ZZ 01-30"}
    )
    assert response.status_code == 404
    assert response.json()["error"] == "Instrument 'ZZ 01-30' not found"


async def test_unknown_and_foreign_accounts_look_the_same(ct):
    await place(ct, "ES 12-26", "5980", account="Other", token=ct.other_token)
    await ct.container.engine.settle()
    before = await snapshot(ct.container.store)
    unknown = await ct.client.post(SEED_PATH.format(account="Nope"), headers=ct.auth(), json={})
    foreign = await ct.client.post(SEED_PATH.format(account="Other"), headers=ct.auth(), json={})
    assert (unknown.status_code, foreign.status_code) == (404, 404)
    assert unknown.json()["error"] == "Account 'Nope' not found"
    assert foreign.json()["error"] == "Account 'Other' not found"
    assert set(unknown.json()) == set(foreign.json())
    assert await snapshot(ct.container.store) == before


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer og_nope"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer "},
    ],
)
async def test_missing_or_bad_token_is_401(ct, headers):
    response = await ct.client.post(SEED_PATH.format(account="Sim101"), headers=headers, json={})
    assert response.status_code == 401
    assert response.json()["success"] is False


async def test_an_order_the_venue_still_processes_is_listed_as_not_cancelled(ct):
    working = await place(ct, "ES 12-26", "5990")
    await ct.container.engine.settle()
    ct.container.venue.ack_delay_ms = 60_000
    submitted = await place(ct, "ES 12-26", "5985")
    response = await ct.client.post(SEED_PATH.format(account="Sim101"), headers=ct.auth(), json={})
    assert response.status_code == 200  # one cancel was accepted
    assert response.json() == {
        "orderIds": [working],
        "notCancelled": [
            {
                "orderId": submitted,
                "code": "ORDER_LOCKED",
                "error": "the venue is still processing the order (Submitted); retry when it "
                "is Working",
            }
        ],
        "success": False,
    }
    assert await state(ct, "Sim101", submitted) == "Submitted"


async def test_a_closed_market_refuses_every_cancel_and_the_answer_says_so(ct):
    """Found by a user: with the session closed the answer was 200 with no ids and
    success true while the orders stayed Working."""
    mine = sorted([await place(ct, "ES 12-26", p) for p in ("5990", "5985", "5980")])
    await ct.container.engine.settle()
    ct.container.venue.set_market_closed("ES 12-26")
    before = await snapshot(ct.container.store)

    response = await ct.client.post(SEED_PATH.format(account="Sim101"), headers=ct.auth(), json={})

    assert response.status_code == 400
    body = response.json()
    assert body["orderIds"] == []
    assert sorted(r["orderId"] for r in body["notCancelled"]) == mine
    assert {r["code"] for r in body["notCancelled"]} == {"MARKET_CLOSED"}
    assert "ES 12-26 is closed" in body["notCancelled"][0]["error"]
    assert (body["success"], body["code"]) == (False, "MARKET_CLOSED")
    assert body["error"] == (
        "None of the 3 matched order(s) could be cancelled now (3 MARKET_CLOSED); see notCancelled"
    )
    assert await snapshot(ct.container.store) == before
    for order_id in mine:
        assert await state(ct, "Sim101", order_id) == "Working"


async def test_a_closed_market_answers_the_websocket_like_rest(ct, live):
    order_id = await place(ct, "ES 12-26", "5990")
    await ct.container.engine.settle()
    ct.container.venue.set_market_closed("ES 12-26")
    async with session(live, ct.token) as client:
        frame = await client.call("CancelOrders", {"account": "Sim101"}, rid="c1")
    rest = await ct.client.post(SEED_PATH.format(account="Sim101"), headers=ct.auth(), json={})
    assert frame["status"] == 400
    assert {k: v for k, v in frame.items() if k not in ("id", "status")} == rest.json()
    assert frame["notCancelled"][0]["orderId"] == order_id


async def test_nothing_matched_is_200_with_empty_lists(ct):
    response = await ct.client.post(SEED_PATH.format(account="Sim101"), headers=ct.auth(), json={})
    assert response.status_code == 200
    assert response.json() == {"orderIds": [], "notCancelled": [], "success": True}


async def test_order_answers_carry_json_numbers_not_strings(ct):
    order_id = await place(ct, "ES 12-26", "5990.25")
    await ct.container.engine.settle()
    response = await ct.client.get(f"/v1/api/accounts/Sim101/orders/{order_id}", headers=ct.auth())
    assert b'"quantity":1,' in response.content
    assert b'"limitPrice":5990.25,' in response.content
    body = response.json()
    assert (body["orderState"], body["action"], body["orderType"], body["timeInForce"]) == (
        "Working",
        "Buy",
        "Limit",
        "Gtc",
    )
    listed = await ct.client.get("/v1/api/accounts/sim101/orders", headers=ct.auth())
    assert [o["orderId"] for o in listed.json()["orders"]] == [order_id]
