"""The CrossTrade client against a real server (the sandbox): every operation at least
once, answers with exact decimals, refusals as CrossTradeError with the dialect's code."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from ordergate.client import (
    ApiError,
    AsyncCrossTradeClient,
    CrossTradeClient,
    CrossTradeError,
    OrdergateError,
)

D = Decimal


def _snake(rpc: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", rpc).lower()


def test_every_rpc_of_the_server_is_a_method_of_both_clients(sandbox):
    catalog = sandbox.crosstrade.endpoints()
    rpcs = {e["rpc"] for e in catalog["endpoints"] if e["rpc"] is not None}
    assert len(rpcs) > 25
    for rpc in rpcs:
        assert callable(getattr(CrossTradeClient, _snake(rpc), None)), rpc
        assert callable(getattr(AsyncCrossTradeClient, _snake(rpc), None)), rpc


def test_an_order_is_placed_read_changed_replaced_and_cancelled(sandbox):
    ct = sandbox.crosstrade
    placed = ct.place_order(
        "Sim101", "ES", "Buy", 1, "Limit", limit_price=D("5990.25"), order_id="bot-1"
    )
    assert placed == {"orderId": "bot-1", "success": True}
    order = ct.get_order("Sim101", "bot-1")
    assert order["limitPrice"] == D("5990.25")
    assert order["orderState"] == "Working"
    assert ct.get_order_status("Sim101", "bot-1")["status"] == "Working"
    assert order["orderId"] in {o["orderId"] for o in ct.get_orders("Sim101")["orders"]}
    ct.change_order("Sim101", "bot-1", limit_price=D("5989.75"))
    assert ct.get_order("Sim101", "bot-1")["limitPrice"] == D("5989.75")
    events = ct.get_lifecycle("Sim101", "bot-1", include_raw=True)["events"]
    assert [e["toState"] for e in events][-1] == "Working"
    replaced = ct.replace_order("Sim101", "bot-1", "ES", "Buy", 1, "Limit", limit_price=5988)
    assert replaced["replacedOrderId"] == order["orderId"]
    assert ct.cancel("Sim101", replaced["orderId"])["success"] is True
    assert ct.get_order_status("Sim101", replaced["orderId"])["status"] == "Cancelled"


def test_cancel_orders_reports_each_order_it_could_not_cancel(sandbox):
    ct = sandbox.crosstrade
    sandbox.faults("ES 03-26", ack_delay_ms=5000)  # ES orders stay Submitted: locked
    locked = ct.place_order("Sim102", "ES", "Buy", 1, "Limit", limit_price=5900)["orderId"]
    working = ct.place_order("Sim102", "NQ", "Buy", 1, "Limit", limit_price=20000)["orderId"]
    report = ct.cancel_orders("Sim102")
    assert working in report["orderIds"]
    assert report["success"] is False
    assert [(n["orderId"], n["code"]) for n in report["notCancelled"]] == [(locked, "ORDER_LOCKED")]
    with pytest.raises(CrossTradeError) as refused:
        ct.cancel_orders("Sim102", "ES")
    assert (refused.value.status, refused.value.code) == (400, "ORDER_LOCKED")
    assert refused.value.body["notCancelled"][0]["orderId"] == locked
    sandbox.advance(5)  # the venue acknowledges: now it can go
    assert ct.cancel_orders("Sim102", instrument="ES")["orderIds"] == [locked]


def test_positions_are_opened_reversed_closed_and_flattened(sandbox):
    ct = sandbox.crosstrade
    filled = ct.place_order("Sim101", "ES", "Buy", 2, "Market")["orderId"]
    assert ct.get_order_status("Sim101", filled)["status"] == "Filled"
    position = ct.get_position("Sim101", "ES")
    assert (position["marketPosition"], position["averagePrice"]) == ("Long", D("6000.25"))
    assert ct.get_positions("Sim101")["positions"][0]["quantity"] == 2
    assert ct.get_all_positions(include_flat=True)["success"] is True
    execution = ct.get_executions("Sim101")["executions"][0]
    assert ct.get_execution("Sim101", execution["id"])["price"] == D("6000.25")
    ct.close_position("Sim101", "ES", quantity=1)
    ct.reverse("Sim101", "ES")
    assert ct.get_position("Sim101", "ES")["marketPosition"] == "Short"
    ct.reverse_position("Sim101", "ES", "Buy", 1, "Market")
    assert ct.get_position("Sim101", "ES")["marketPosition"] == "Long"
    ct.flat_place_order("Sim101", "ES", "Sell", 1, "Market")
    ct.cancel_and_bracket("Sim101", "ES", "Sell", 1, take_profit=5950, stop_loss=6050)
    flattened = ct.flatten("Sim101", "ES")
    assert flattened["notCancelled"] == []
    assert flattened["success"] is True
    ct.place_order("Sim102", "NQ", "Buy", 1, "Market")
    assert ct.flatten_everything()["success"] is True
    assert ct.get_positions("Sim102")["positions"] == []
    assert ct.cancel_all_orders()["success"] is True


def test_accounts_market_and_alert_reads(sandbox):
    ct = sandbox.crosstrade
    assert [a["name"] for a in ct.list_accounts()["accounts"]] == ["Sim101", "Sim102"]
    assert ct.get_account("Sim101")["success"] is True
    assert ct.get_snapshot()["success"] is True
    assert ct.get_watermarks("Sim101")["success"] is True
    assert ct.get_quote("ES")["ask"] == D("6000.25")
    assert [q["instrument"] for q in ct.get_quote(["ES", "BTCUSD"])] == ["ES 03-26", "BTCUSD"]
    assert ct.get_quote("ES", account="Sim101")["success"] is True
    info = ct.get_market_info("ES")
    assert info["status"]["isOpen"] is True
    assert info["bounds"]["tickSize"] == D("0.25")
    assert ct.get_bars("ES", period=5)["success"] is True
    assert ct.get_alerts(limit=5)["success"] is True


def test_refusals_raise_the_tree_with_the_dialect_code(sandbox):
    ct = sandbox.crosstrade
    with pytest.raises(CrossTradeError) as unknown:
        ct.get_order("Sim101", "nope")
    assert (unknown.value.status, unknown.value.code) == (404, "ORDER_NOT_FOUND")
    with pytest.raises(ApiError) as other:
        ct.get_orders("Other")
    assert other.value.code == "ACCOUNT_NOT_FOUND"
    with pytest.raises(OrdergateError) as atm:
        ct.close_strategy("Sim101", "ATM_1")
    assert isinstance(atm.value, CrossTradeError)
    assert atm.value.code == "REJECTED"
    with pytest.raises(CrossTradeError) as bad, CrossTradeClient(sandbox.base_url, "og_x") as c:
        c.list_accounts()
    assert (bad.value.status, bad.value.code) == (401, "UNAUTHENTICATED")
    with pytest.raises(CrossTradeError) as malformed:
        ct.place_order("Sim101", "ES", "Hold", 1, "Limit", limit_price=1)
    assert malformed.value.status == 400


async def test_the_async_client_runs_the_same_operations(sandbox):
    async with AsyncCrossTradeClient(sandbox.base_url, sandbox.token) as ct:
        placed = await ct.place_order(
            "Sim101", "BTCUSD", "Buy", D("0.01"), "Limit", limit_price=99000
        )
        assert (await ct.get_order("Sim101", placed["orderId"]))["limitPrice"] == 99000
        report = await ct.cancel_orders("Sim101", "BTCUSD")
        assert placed["orderId"] in report["orderIds"]
        with pytest.raises(CrossTradeError) as gone:
            await ct.cancel("Sim101", placed["orderId"])
        assert gone.value.code == "ORDER_NOT_FOUND"
