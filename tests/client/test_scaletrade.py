"""The ScaleTrade client against a real server: sign-in and its renewal, every trade call
and read, group cancels reporting their failures, refusals as ScaleTradeError."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ordergate.client import (
    BUY,
    BUY_LIMIT,
    AsyncScaleTradeClient,
    ScaleTradeClient,
    ScaleTradeError,
)

D = Decimal


def test_pending_orders_and_trades_through_every_trade_call(sandbox):
    st = sandbox.scaletrade()
    profile = st.sign_in()
    assert (profile["login"], profile["type"]) == (1001, 0)
    pending = st.open_pending("BTCUSD", BUY_LIMIT, 1, D("99000.50"))
    ticket = pending["order"]
    st.modify_pending(ticket, open_price=D("98999.75"))
    rows = st.trades(trade_type=3, where=[["order", ticket]])
    structure = rows["structure"]
    assert rows["count"] == 1
    assert rows["rows"][0][structure.index("open_price")] == D("98999.75")
    st.cancel_pending(ticket)
    opened = st.open_trade("BTCUSD", BUY, 2, sl=D("90000"))["order"]
    st.modify_open(opened, tp=D("110000"))
    st.close_trade(opened, volume=1)
    assert st.close_group(symbol="BTCUSD")["data"] == "OK"
    assert st.trades(trade_type=1, where=[["symbol", "BTCUSD"]])["count"] == 0


def test_reads_of_the_market_and_the_account(sandbox):
    st = sandbox.scaletrade(1002)
    assert "BTCUSD" in st.market()["assets"]
    assert st.market_symbol("BTCUSD")["tick_size"] == D("0.01")
    assert st.account_me()["login"] == 1002
    assert st.account_balance()["balance"] == 100000
    assert [r["login"] for r in st.balances_list([1002])["rows"]] == [1002]


def test_cancel_group_answers_its_failures_and_refuses_when_nothing_matches(sandbox):
    st = sandbox.scaletrade()
    first = st.open_pending("BTCUSD", BUY_LIMIT, 1, 99000)["order"]
    sandbox.faults("BTCUSD", ack_delay_ms=2000)
    locked = st.open_pending("BTCUSD", BUY_LIMIT, 1, 98000)["order"]
    report = st.cancel_group(1001, "BTCUSD")
    assert (report["cancelled"], report["failed"]) == (1, 1)
    assert [r["order"] for r in report["rows"]] == [first]
    assert [(f["order"], f["error"]) for f in report["failures"]] == [
        (locked, "RET_TRADE_ORDER_LOCKED")
    ]
    sandbox.advance(2)
    st.cancel_group(symbol="BTCUSD")
    with pytest.raises(ScaleTradeError) as nothing:
        st.cancel_group(1001, "BTCUSD")
    assert (nothing.value.status, nothing.value.code) == (404, "RET_NOT_FOUND")


def test_an_expired_session_is_renewed_by_signing_in_again(sandbox):
    st = sandbox.scaletrade()
    first = st.token()
    sandbox.advance(8 * 3600 + 1)  # past the session's lifetime on the server's clock
    assert st.account_balance()["login"] == 1001
    assert st.token() != first


def test_refusals_raise_the_tree_with_the_dialect_code(sandbox):
    with (
        pytest.raises(ScaleTradeError) as wrong,
        ScaleTradeClient(sandbox.base_url, 1001, "not-the-password") as st,
    ):
        st.sign_in()
    assert (wrong.value.status, wrong.value.code) == (403, "USER_NOT_FOUND_OR_INCORRECT")
    st = sandbox.scaletrade()
    with pytest.raises(ScaleTradeError) as other:
        st.account_balance(1002)
    assert (other.value.status, other.value.code) == (403, "PERMISSION_DENIED")


async def test_the_async_client_signs_in_and_trades(sandbox):
    async with AsyncScaleTradeClient(sandbox.base_url, 1001, "Sim101pass") as st:
        ticket = (await st.open_pending("BTCUSD", BUY_LIMIT, 1, 99000))["order"]
        report = await st.cancel_group(symbol="BTCUSD")
        assert [r["order"] for r in report["rows"]] == [ticket]
