"""The admin client and send_alert against a real server."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ordergate.client import AdminClient, AdminError, CrossTradeError, quote, send_alert

D = Decimal


def test_quotes_are_pushed_and_the_market_read(sandbox):
    admin = sandbox.admin
    snapshot = admin.push_quote("EURUSD", D("1.08001"), D("1.08003"), last=D("1.08002"))
    assert snapshot[0]["bid"] == "1.08001"
    pushed = admin.push_quotes(
        [quote("BTCUSD", 99990, 99991), quote("XAUUSD", "2650.10", "2650.30")]
    )
    assert [s["symbol"] for s in pushed] == ["BTCUSD", "XAUUSD"]
    assert {s["symbol"] for s in admin.market()} >= {"BTCUSD", "EURUSD", "XAUUSD"}
    assert admin.bars("BTCUSD", period=5)["period"] == 5


def test_admin_refusals_raise_admin_errors(sandbox):
    with pytest.raises(AdminError) as trader, AdminClient(sandbox.base_url, sandbox.token) as c:
        c.market()
    assert (trader.value.status, trader.value.code) == (403, "PERMISSION_DENIED")
    with pytest.raises(AdminError) as crossed:
        sandbox.admin.push_quote("EURUSD", D("1.1"), D("1.0998"))
    assert (crossed.value.status, crossed.value.code) == (400, "INVALID_PRICE")


def test_an_alert_sent_to_the_webhook_places_its_order(sandbox):
    text = (
        f"key={sandbox.token}; command=PLACE; account=Sim101; instrument=ES1!; action=BUY; "
        "qty=1; order_type=LIMIT; limit_price=5990.25; tif=GTC;"
    )
    outcome = send_alert(sandbox.webhook_url, text)
    assert outcome["status"] == "Success"
    order = sandbox.crosstrade.get_order("Sim101", outcome["orderIds"][0])
    assert order["limitPrice"] == D("5990.25")
    as_json = send_alert(sandbox.webhook_url, {"key": sandbox.token, "command": "CANCELALLORDERS"})
    assert as_json["status"] == "Success"
    with pytest.raises(CrossTradeError) as wrong_key:
        send_alert(sandbox.webhook_url, "key=og_wrong; command=CANCELALLORDERS;")
    assert wrong_key.value.status == 401
