"""Executions through HTTP: the account's fills within a lookback window, and one by id (NT8's
32-hex form, or the fill's id in decimal); another account's fills stay invisible."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from ordergate.api.crosstrade.ops import OPERATIONS
from ordergate.store.tables import fills
from tests.api.crosstrade.test_positions import API, get, post, quote, trade
from tests.api.crosstrade.wsclient import session
from tests.builders import snapshot

D = Decimal


async def executions(ct, account: str = "Sim101", token=None, **params) -> list:
    body = await get(ct, f"/accounts/{account}/executions", token, **params)
    assert set(body) == {"executions", "success"}
    assert body["success"] is True
    return list(body["executions"])


async def fill_ids(ct) -> list[int]:
    async with ct.container.store.engine.connect() as conn:
        return list((await conn.execute(select(fills.c.id).order_by(fills.c.id))).scalars())


def hex_id(fill_id: int) -> str:
    """The execution id of fill ``fill_id``: its id in hex, 32 characters."""
    return format(fill_id, "032x")


def test_every_operation_is_registered_for_the_websocket_rpc():
    assert {"GetExecutions", "GetExecution"} <= set(OPERATIONS)


async def test_executions_are_the_fills_of_the_account_oldest_first(ct):
    entry = await trade(ct, "ES 12-26", "Buy", 2)  # at the ask, 6000.25
    short = await trade(ct, "MES 12-25", "SELL", 1)  # at the bid, 6000
    await trade(ct, "ES 12-26", "Buy", 1, account="Sim102")
    quote(ct, "ES 12-26", "6010.00", "6010.25")
    closing = await post(ct, "/accounts/Sim101/positions/close", {"instrument": "ES 12-26"})
    closing_id = closing.json()["closingOrderIds"][0]
    await ct.container.engine.settle()

    found = await executions(ct)

    ids = await fill_ids(ct)
    assert [e["id"] for e in found] == [hex_id(ids[0]), hex_id(ids[1]), hex_id(ids[3])]
    for e in found:
        at = datetime.fromisoformat(e.pop("time").replace("Z", "+00:00"))
        # The sim stamps a fill with the time of the quote it filled at.
        assert ct.clock.now() - timedelta(minutes=1) <= at <= ct.clock.now()
        assert e.pop("epoch") == int(at.timestamp() * 1000)
    common = {"name": "", "account": "Sim101", "instrumentType": "Future", "commission": 0}
    assert found == [
        {
            **common,
            "id": hex_id(ids[0]),
            "orderId": entry,
            "instrument": "ES 12-26",
            "action": "Buy",
            "marketPosition": "Long",
            "isExit": False,
            "price": D("6000.25"),
            "quantity": 2,
        },
        {
            **common,
            "id": hex_id(ids[1]),
            "orderId": short,
            "instrument": "MES 12-25",
            "action": "Sell",
            "marketPosition": "Short",
            "isExit": False,
            "price": 6000,
            "quantity": 1,
        },
        {
            **common,
            "id": hex_id(ids[3]),
            "orderId": closing_id,
            "instrument": "ES 12-26",
            "action": "Sell",
            "marketPosition": "Short",
            "isExit": True,
            "price": 6010,
            "quantity": 2,
        },
    ]
    assert [e["id"] for e in await executions(ct, "Sim102")] == [hex_id(ids[2])]


async def test_an_execution_carries_the_orders_strategy_tag(ct):
    response = await post(
        ct,
        "/accounts/Sim101/orders/place",
        {
            "instrument": "EURUSD",
            "action": "Buy",
            "quantity": 0.5,
            "orderType": "Market",
            "timeInForce": "Gtc",
            "strategy": "breakout",
        },
    )
    assert response.status_code == 200, response.text
    await ct.container.engine.settle()
    (found,) = await executions(ct)
    assert (found["name"], found["instrumentType"], found["quantity"], found["price"]) == (
        "breakout",
        "Forex",
        D("0.5"),
        D("1.10002"),
    )


async def age(ct, fill_id: int, seconds: int) -> None:
    """Move a fill into the past (as if it happened ``seconds`` ago)."""
    async with ct.container.store.engine.begin() as conn:
        await conn.execute(
            update(fills)
            .where(fills.c.id == fill_id)
            .values(at=datetime.now(UTC) - timedelta(seconds=seconds))
        )


async def test_the_lookback_window_defaults_to_320_seconds_and_reaches_900(ct):
    old = await trade(ct, "ES 12-26", "Buy", 1)
    older = await trade(ct, "ES 12-26", "Buy", 1)
    recent = await trade(ct, "ES 12-26", "Buy", 1)
    first, second, _ = await fill_ids(ct)
    await age(ct, first, 600)
    await age(ct, second, 1000)

    assert [e["orderId"] for e in await executions(ct)] == [recent]
    assert [e["orderId"] for e in await executions(ct, lookbackTime=60)] == [recent]
    assert [e["orderId"] for e in await executions(ct, lookbackTime="900")] == [old, recent]
    assert older not in [e["orderId"] for e in await executions(ct, lookbackTime=900)]


@pytest.mark.parametrize("lookback", ["0", "901", "-5", "abc", "1.5", ""])
async def test_a_lookback_outside_1_to_900_seconds_is_invalid(ct, lookback):
    response = await ct.client.get(
        f"{API}/accounts/Sim101/executions",
        headers=ct.auth(),
        params={"lookbackTime": lookback},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid request"


async def test_one_execution_by_id(ct):
    order_id = await trade(ct, "ES 12-26", "Buy", 1)
    (listed,) = await executions(ct)
    assert re.fullmatch("[0-9a-f]{32}", listed["id"])
    body = await get(ct, f"/accounts/SIM101/executions/{listed['id']}")
    assert body == {**listed, "success": True}
    assert body["orderId"] == order_id


async def test_the_fills_id_in_decimal_names_the_same_execution(ct):
    for _ in range(17):  # past 16, hex and decimal spell the id differently
        await trade(ct, "ES 12-26", "Buy", 1)
    listed = await executions(ct)
    last = listed[-1]
    fill_id = (await fill_ids(ct))[-1]
    assert fill_id >= 17
    assert last["id"] == hex_id(fill_id) != f"{fill_id:032d}"
    body = await get(ct, f"/accounts/Sim101/executions/{fill_id}")
    assert body == {**last, "success": True}


async def test_an_unknown_or_foreign_execution_is_404(ct):
    await trade(ct, "ES 12-26", "Buy", 1, account="Other", token=ct.other_token)
    (theirs,) = await fill_ids(ct)
    before = await snapshot(ct.container.store)
    # Ids no fill can have are as unknown: 32 zeros, and beyond the ledger's 64 bits.
    for execution_id in (hex_id(theirs), theirs, 999, "0" * 32, "f" * 32):
        response = await ct.client.get(
            f"{API}/accounts/Sim101/executions/{execution_id}", headers=ct.auth()
        )
        assert response.status_code == 404
        assert response.json() == {
            "success": False,
            "error": f"Execution '{execution_id}' not found in account Sim101",
            "code": "NOT_FOUND",
        }
    assert await snapshot(ct.container.store) == before


@pytest.mark.parametrize(
    "execution_id",
    [
        "abc",
        "0",
        "-1",
        "1.5",
        "99999999999999999999",  # 20 digits: no 64-bit id has them
        "0000000000000000000000000000002A",  # upper case
        "000000000000000000000000000002a",  # 31 characters
        "2a",
        "0x2a",
    ],
)
async def test_a_malformed_execution_id_is_invalid(ct, execution_id):
    response = await ct.client.get(
        f"{API}/accounts/Sim101/executions/{execution_id}", headers=ct.auth()
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid request"


async def test_the_websocket_takes_the_hex_id_the_decimal_id_and_a_number(ct, live):
    await trade(ct, "ES 12-26", "Buy", 1)
    (listed,) = await executions(ct)
    (fill_id,) = await fill_ids(ct)
    async with session(live, ct.token) as client:
        answers = [
            await client.call("GetExecution", {"account": "Sim101", "executionId": ref})
            for ref in (listed["id"], str(fill_id), fill_id)
        ]
        refused = [
            await client.call("GetExecution", {"account": "Sim101", "executionId": ref})
            for ref in ("2a", 0, 1.5, True, 2**63)
        ]
    assert [a.get("data") for a in answers] == [{**listed, "success": True}] * 3
    for frame in refused:
        assert (frame["status"], frame["error"]) == (400, "Invalid request"), frame


@pytest.mark.parametrize("path", ["/accounts/{a}/executions", "/accounts/{a}/executions/1"])
@pytest.mark.parametrize("name", ["Other", "Nope"])
async def test_foreign_and_unknown_accounts_are_404(ct, path, name):
    await trade(ct, "ES 12-26", "Buy", 1, account="Other", token=ct.other_token)
    before = await snapshot(ct.container.store)
    response = await ct.client.get(API + path.format(a=name), headers=ct.auth())
    assert response.status_code == 404
    assert response.json()["error"] == f"Account '{name}' not found"
    assert await snapshot(ct.container.store) == before


@pytest.mark.parametrize("path", ["/accounts/Sim101/executions", "/accounts/Sim101/executions/1"])
async def test_no_token_is_401(ct, path):
    response = await ct.client.get(API + path)
    assert response.status_code == 401
    assert response.json()["success"] is False
