"""Accounts through HTTP: the list, one account and its values, the snapshot, and the
high-water marks; foreign accounts and missing tokens learn nothing and change nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from ordergate.api.crosstrade.ops import OPERATIONS
from ordergate.domain.accounts import PositionMode
from tests.api.crosstrade.test_positions import API, get, parsed, quote, rest, trade
from tests.api.crosstrade.wsclient import session
from tests.builders import account, snapshot

D = Decimal


def sim(login: int, name: str, **item: object) -> dict:
    """The account object of a fresh demo account (balance 1,000,000 USD, leverage 100),
    with ``item`` values overridden: ``margin`` sets every margin, ``excess`` every excess,
    ``cash`` the cash values, ``netliq`` both net liquidations, ``realized`` both realized
    P&Ls."""
    groups = {
        "margin": (
            "initialMargin",
            "intradayMargin",
            "maintenanceMargin",
            "positionMargin",
            "lookAheadMaintenanceMargin",
        ),
        "excess": (
            "excessInitialMargin",
            "excessIntradayMargin",
            "excessMaintenanceMargin",
            "excessPositionMargin",
        ),
        "cash": ("cashValue", "totalCashBalance"),
        "netliq": ("netLiquidation", "netLiquidationByCurrency"),
        "realized": ("realizedProfitLoss", "grossRealizedProfitLoss"),
    }
    values: dict[str, object] = {
        "buyingPower": 100_000_000,
        "cashValue": 1_000_000,
        "totalCashBalance": 1_000_000,
        "netLiquidation": 1_000_000,
        "netLiquidationByCurrency": 1_000_000,
        "realizedProfitLoss": 0,
        "grossRealizedProfitLoss": 0,
        "unrealizedProfitLoss": 0,
        "initialMargin": 0,
        "intradayMargin": 0,
        "maintenanceMargin": 0,
        "positionMargin": 0,
        "lookAheadMaintenanceMargin": 0,
        "excessInitialMargin": 1_000_000,
        "excessIntradayMargin": 1_000_000,
        "excessMaintenanceMargin": 1_000_000,
        "excessPositionMargin": 1_000_000,
        "marginLevel": None,
        "positionCount": 0,
        "longStockValue": 0,
        "shortStockValue": 0,
        "longOptionValue": 0,
        "shortOptionValue": 0,
        "commission": 0,
        "fee": 0,
        "dailyLossLimit": 0,
        "dailyProfitTarget": 0,
        "trailingMaxDrawdown": 0,
    }
    for key, value in item.items():
        values.update(dict.fromkeys(groups.get(key, (key,)), value))
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
#: 50; margin 2 * 6010 * 50 / 100 at the price it closes at; margin level equity / margin.
LONG_TWO = {
    "unrealizedProfitLoss": 975,
    "netliq": 1_000_975,
    "margin": 6010,
    "excess": 994_965,
    "buyingPower": 99_496_500,
    "marginLevel": D("16655.16"),
    "positionCount": 1,
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
            cash=D("1000487.5"),
            netliq=D("1000487.5"),
            realized=D("487.5"),
            excess=D("1000487.5"),
            buyingPower=100_048_750,
        )["item"]
    )


async def test_the_item_counts_instruments_held_and_a_hedged_pair_as_flat(ct):
    demo = await ct.container.users.get_user("demo")
    async with ct.container.store.transaction() as tx:
        await tx.accounts.add(account(1003, "Hedge1", owner=demo.id, mode=PositionMode.HEDGING))
        await tx.commit()
    await trade(ct, "ES 12-26", "Buy", 1)
    await trade(ct, "MES 12-25", "Sell", 2)
    await trade(ct, "ES 12-26", "Buy", 1, account="Hedge1")
    await trade(ct, "ES 12-26", "Sell", 1, account="Hedge1")  # a second, offsetting ticket

    sim101 = (await get(ct, "/accounts/Sim101"))["item"]
    hedged = (await get(ct, "/accounts/Hedge1"))["item"]

    assert sim101["positionCount"] == 2
    # ES long at the bid 6000 and MES short at the ask 6000.25, over leverage 100:
    # (6000 * 50 + 2 * 6000.25 * 5) / 100 = 3600.025, to the (even) cent.
    assert sim101["initialMargin"] == D("3600.02")
    assert hedged["positionCount"] == 0
    # Both tickets stay open, each with its margin: (6000 * 50 + 6000.25 * 50) / 100.
    assert hedged["maintenanceMargin"] == D("6000.12")
    for item in (sim101, hedged):
        margins = {item[k] for k in ("initialMargin", "intradayMargin", "positionMargin")}
        excesses = {item[k] for k in ("excessInitialMargin", "excessIntradayMargin")}
        assert margins == {item["maintenanceMargin"], item["lookAheadMaintenanceMargin"]}
        assert excesses == {item["netLiquidation"] - item["maintenanceMargin"]}
        assert item["marginLevel"] == (
            item["netLiquidation"] * 100 / item["maintenanceMargin"]
        ).quantize(D("0.01"))


async def test_get_account_over_the_websocket_is_the_rest_body(ct, live):
    await long_two(ct)
    async with session(live, ct.token) as client:
        frame = await client.call("GetAccount", {"account": "sim101"})
        foreign = await client.call("GetAccount", {"account": "Other"}, rid="x")
    assert frame["data"] == {**sim(1001, "Sim101", **LONG_TWO), "success": True}
    assert (foreign["status"], foreign["code"]) == (404, "ACCOUNT_NOT_FOUND")


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
async def test_unknown_query_parameters_are_ignored_as_upstream_does(ct, path):
    response = await ct.client.get(API + path, headers=ct.auth())
    known = await ct.client.get(API + path.split("?")[0], headers=ct.auth())
    assert response.status_code == 200, response.text
    assert response.json() == known.json()


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
