"""Accounts through HTTP: the list, one account and its values, the snapshot, and the
high-water marks; foreign accounts and missing tokens learn nothing and change nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from ordergate.api.crosstrade.ops import OPERATIONS
from tests.api.crosstrade.test_positions import API, get, parsed, quote, rest, trade
from tests.builders import snapshot

D = Decimal


def sim(login: int, name: str, **item: object) -> dict:
    """The account object of a fresh demo account (balance 1,000,000 USD, leverage 100),
    with ``item`` values overridden."""
    values: dict[str, object] = {
        "buyingPower": 100_000_000,
        "cashValue": 1_000_000,
        "totalCashBalance": 1_000_000,
        "netLiquidation": 1_000_000,
        "realizedProfitLoss": 0,
        "unrealizedProfitLoss": 0,
        "initialMargin": 0,
        "maintenanceMargin": 0,
        "excessInitialMargin": 1_000_000,
        "excessMaintenanceMargin": 1_000_000,
        "commission": 0,
        "fee": 0,
    }
    values.update(item)
    return {
        "id": login,
        "name": name,
        "displayName": name,
        "provider": "Simulator",
        "denomination": "UsDollar",
        "currency": "USD",
        "status": "Enabled",
        "connectionStatus": "Connected",
        "positionMode": "Netting",
        "leverage": 100,
        "item": values,
    }


#: Sim101 long 2 ES 12-26 at 6000.25 with the bid at 6010: unrealized (6010 - 6000.25) * 2 *
#: 50; margin 2 * 6010 * 50 / 100 at the price it closes at.
LONG_TWO = {
    "unrealizedProfitLoss": 975,
    "netLiquidation": 1_000_975,
    "initialMargin": 6010,
    "maintenanceMargin": 6010,
    "excessInitialMargin": 994_965,
    "excessMaintenanceMargin": 994_965,
    "buyingPower": 99_496_500,
}


async def long_two(ct) -> None:
    await trade(ct, "ES 12-26", "Buy", 2)
    quote(ct, "ES 12-26", "6010.00", "6010.25")


def test_every_operation_is_registered_for_the_websocket_rpc():
    assert {"ListAccounts", "GetAccount", "GetSnapshot", "GetWatermarks"} <= set(OPERATIONS)


async def test_list_accounts_shows_the_accounts_the_token_may_act_on(ct):
    await long_two(ct)
    body = await get(ct, "/accounts")
    assert body == {
        "accounts": [sim(1001, "Sim101", **LONG_TWO), sim(1002, "Sim102")],
        "success": True,
    }
    other = await get(ct, "/accounts", ct.other_token)
    assert [a["name"] for a in other["accounts"]] == ["Other"]
    admin = await get(ct, "/accounts", ct.admin_token)
    assert [a["name"] for a in admin["accounts"]] == ["Sim101", "Sim102", "Other"]


async def test_one_account_with_its_values_by_any_case_of_its_name(ct):
    await long_two(ct)
    assert await get(ct, "/accounts/sIM101") == {
        **sim(1001, "Sim101", **LONG_TWO),
        "success": True,
    }


async def test_a_realized_profit_moves_cash_and_realized_pnl(ct):
    await trade(ct, "ES 12-26", "Buy", 1)  # at 6000.25
    quote(ct, "ES 12-26", "6010.00", "6010.25")
    await trade(ct, "ES 12-26", "Sell", 1)  # at 6010: (6010 - 6000.25) * 50
    body = await get(ct, "/accounts/Sim101")
    assert (
        body["item"]
        == sim(
            1001,
            "Sim101",
            cashValue=D("1000487.5"),
            totalCashBalance=D("1000487.5"),
            netLiquidation=D("1000487.5"),
            realizedProfitLoss=D("487.5"),
            excessInitialMargin=D("1000487.5"),
            excessMaintenanceMargin=D("1000487.5"),
            buyingPower=100_048_750,
        )["item"]
    )


async def test_snapshot_lists_every_account_with_its_positions_and_working_orders(ct):
    await long_two(ct)
    await rest(ct, "MES 12-25", "5990", account="Sim102")
    await ct.container.engine.settle()
    ct.clock.advance(timedelta(seconds=1))  # the server's clock (a manual one) stamps the snapshot
    before = ct.clock.now()

    response = await ct.client.get(f"{API}/accounts/snapshot", headers=ct.auth())

    assert response.status_code == 200
    body = parsed(response)
    assert set(body) == {"type", "timestamp", "epoch", "accounts", "success"}
    assert (body["type"], body["success"]) == ("snapshot", True)
    at = datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
    assert before <= at <= ct.clock.now()
    assert body["epoch"] == int(at.timestamp() * 1000)
    assert body["accounts"] == [
        {
            "account": {
                **sim(1001, "Sim101", **LONG_TWO),
                "isAccountFlat": False,
                "workingOrders": 0,
            },
            "positions": [
                {
                    "account": "Sim101",
                    "instrument": "ES 12-26",
                    "instrumentType": "Future",
                    "marketPosition": "Long",
                    "quantity": 2,
                    "averagePrice": D("6000.25"),
                    "marketPrice": 6010,
                    "unrealizedProfitLoss": 975,
                }
            ],
        },
        {
            "account": {**sim(1002, "Sim102"), "isAccountFlat": True, "workingOrders": 1},
            "positions": [],
        },
    ]


async def watermarks(ct, account: str = "Sim101") -> dict:
    body = await get(ct, f"/accounts/{account}/watermarks")
    assert set(body) == {"success", "data"}
    assert body["success"] is True
    return dict(body["data"])


async def test_watermarks_keep_the_highs_of_the_session(ct):
    # A profit realized before the session's first observation is not the session's.
    await trade(ct, "MES 12-25", "Buy", 1)
    await trade(ct, "MES 12-25", "Sell", 1)  # -0.25 * 5
    await trade(ct, "ES 12-26", "Buy", 2)  # at 6000.25, bid 6000: unrealized -25

    first = await watermarks(ct)
    today = ct.container.clock.now().date().isoformat()
    assert (first["account"], first["session"]) == ("Sim101", today)
    assert first["watermarks"] == {
        "pnlhigh": -25,
        "netliqhigh": D("999973.75"),
        "unrealhigh": -25,
    }
    assert first["stats"] == {
        "pnl": -25,
        "total": -25,
        "realized": 0,
        "unrealized": -25,
        "poscount": 1,
        "netliq": D("999973.75"),
        **first["watermarks"],
    }

    quote(ct, "ES 12-26", "6010.00", "6010.25")  # unrealized 975
    await get(ct, "/accounts/Sim101")  # any valuation is observed
    quote(ct, "ES 12-26", "6005.00", "6005.25")  # unrealized 475
    await trade(ct, "ES 12-26", "Sell", 2)  # realizes (6005 - 6000.25) * 2 * 50 = 475

    last = await watermarks(ct)
    assert last["since"] == first["since"]
    assert last["watermarks"] == {
        "pnlhigh": 975,
        "netliqhigh": D("1000973.75"),
        "unrealhigh": 975,
    }
    assert last["stats"] == {
        "pnl": 475,
        "total": 475,
        "realized": 475,
        "unrealized": 0,
        "poscount": 0,
        "netliq": D("1000473.75"),
        **last["watermarks"],
    }


async def test_watermarks_are_kept_per_account(ct):
    await trade(ct, "ES 12-26", "Buy", 1)
    quote(ct, "ES 12-26", "6010.00", "6010.25")
    await watermarks(ct, "Sim101")
    other = await watermarks(ct, "Sim102")
    assert other["watermarks"] == {"pnlhigh": 0, "netliqhigh": 1_000_000, "unrealhigh": 0}


@pytest.mark.parametrize("path", ["/accounts/{a}", "/accounts/{a}/watermarks"])
@pytest.mark.parametrize("name", ["Other", "Nope"])
async def test_foreign_and_unknown_accounts_are_404(ct, path, name):
    before = await snapshot(ct.container.store)
    response = await ct.client.get(API + path.format(a=name), headers=ct.auth())
    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "error": f"Account '{name}' not found",
        "code": "ACCOUNT_NOT_FOUND",
    }
    assert await snapshot(ct.container.store) == before


@pytest.mark.parametrize(
    "path", ["/accounts?x=1", "/accounts/snapshot?all=1", "/accounts/Sim101?instrument=ES"]
)
async def test_unknown_query_parameters_are_invalid(ct, path):
    response = await ct.client.get(API + path, headers=ct.auth())
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid request"


@pytest.mark.parametrize(
    "path",
    ["/accounts", "/accounts/snapshot", "/accounts/Sim101", "/accounts/Sim101/watermarks"],
)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer og_nope"}])
async def test_no_or_bad_token_is_401(ct, path, headers):
    response = await ct.client.get(API + path, headers=headers)
    assert response.status_code == 401
    assert response.json()["success"] is False


async def test_an_unknown_path_is_404_with_the_nearest_endpoint(ct):
    response = await ct.client.get("/v1/api/acounts/Sim101/orders", headers=ct.auth())

    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "error": "No endpoint GET /v1/api/acounts/Sim101/orders",
        "code": "NOT_FOUND",
        "did_you_mean": "/v1/api/accounts/{account}/orders",
    }
