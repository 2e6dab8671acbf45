"""Risk that acts (issue: account monitors, kill switch, cancel-on-disconnect, dead man's
switch), through real HTTP and WebSocket on SQLite and PostgreSQL, on the test clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ordergate.api.app import create_app
from ordergate.auth.webhooks import Webhooks
from ordergate.bootstrap import bootstrap, shutdown
from ordergate.domain.clock import ManualClock
from ordergate.venue.base import Quote
from tests.api.crosstrade.conftest import Server, ct_settings
from tests.api.crosstrade.wsclient import session
from tests.conformance import conformance_hook

API = "/v1/api"
ES = "ES 12-26"
D = Decimal


def quote(ct: Server, bid: str, ask: str) -> None:
    ct.container.market.push(Quote(ES, D(bid), D(ask), ct.container.clock.now()))


async def call(
    ct: Server, method: str, path: str, body: Any = None, token: str | None = None
) -> httpx.Response:
    return await ct.client.request(method, f"{API}{path}", json=body, headers=ct.auth(token))


async def place(ct: Server, account: str = "Sim101", **kw: Any) -> httpx.Response:
    body = {
        "instrument": ES,
        "action": "Buy",
        "quantity": 1,
        "orderType": "Market",
        "timeInForce": "Day",
    } | kw
    return await call(ct, "POST", f"/accounts/{account}/orders/place", body)


async def positions(ct: Server, account: str = "Sim101") -> list[tuple[str, Any]]:
    answer = await call(ct, "GET", f"/accounts/{account}/positions")
    return [(p["marketPosition"], p["quantity"]) for p in answer.json()["positions"]]


async def working(ct: Server, account: str = "Sim101") -> list[str]:
    answer = await call(ct, "GET", f"/accounts/{account}/orders")
    return [o["orderId"] for o in answer.json()["orders"]]


async def until(ct: Server, done: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(500):
        await ct.container.engine.settle()
        await ct.container.risk.settle()
        if await done():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met")


async def monitor(ct: Server, account: str = "Sim101") -> dict[str, Any]:
    return dict((await call(ct, "GET", f"/accounts/{account}/monitor")).json())


async def long_one_at_6000(ct: Server) -> None:
    """A long ES position opened at 6000.25 (the ask), and a resting limit far below."""
    assert (await place(ct)).status_code == 200
    assert (await place(ct, orderType="Limit", limitPrice=5900)).status_code == 200
    await ct.container.engine.settle()
    assert await positions(ct) == [("Long", 1)]


# -- the account monitor ---------------------------------------------------------------------


async def test_a_new_account_reads_a_disabled_monitor_and_put_validates_everything(ct):
    assert (await monitor(ct))["state"] == "DISABLED"
    bad = await call(ct, "PUT", "/accounts/Sim101/monitor", {"enabled": True, "lossTreshold": 5})
    assert bad.status_code == 400
    assert "lossTreshold" in bad.json()["error"]
    negative = await call(ct, "PUT", "/accounts/Sim101/monitor", {"lossThreshold": -5})
    assert negative.status_code == 400
    assert "lossThreshold" in negative.json()["error"]
    assert (await monitor(ct))["state"] == "DISABLED"  # nothing changed
    other = await call(ct, "GET", "/accounts/Other/monitor")
    assert other.status_code == 404


async def test_the_loss_threshold_fires_once_flattens_and_locks_until_reset(ct):
    await long_one_at_6000(ct)
    put = await call(
        ct,
        "PUT",
        "/accounts/Sim101/monitor",
        {
            "enabled": True,
            "lossThreshold": 1000,
            "includeUnrealized": True,
        },
    )
    assert put.status_code == 200, put.text
    assert put.json()["state"] == "ACTIVE"
    quote(ct, "5990.00", "5990.25")  # -512.50 (50 a point): not yet
    await ct.container.engine.settle()
    assert (await monitor(ct))["state"] == "ACTIVE"
    quote(ct, "5980.00", "5980.25")  # (5980.00 - 6000.25) x 50 = -1,012.50

    async def stopped() -> bool:
        return await positions(ct) == [] and await working(ct) == []

    await until(ct, stopped)
    state = await monitor(ct)
    assert (state["state"], state["stoppedRule"]) == ("STOPPED", "lossThreshold")
    refused = await place(ct)
    assert refused.status_code == 400
    assert refused.json()["code"] == "ACCOUNT_LOCKED"
    assert "lossThreshold" in refused.json()["error"]
    log = (await call(ct, "GET", "/accounts/Sim101/monitor/log")).json()["entries"]
    assert [e["event"] for e in log][:2] == ["Flatten", "Stop Monitor"]
    assert sum(e["event"] == "Stop Monitor" for e in log) == 1  # once
    quote(ct, "5970.00", "5970.25")
    await until(ct, stopped)
    log = (await call(ct, "GET", "/accounts/Sim101/monitor/log")).json()["entries"]
    assert sum(e["event"] == "Stop Monitor" for e in log) == 1  # still once
    reset = await call(ct, "POST", "/accounts/Sim101/monitor/reset")
    assert reset.json()["state"] == "ACTIVE"
    assert (await place(ct)).status_code == 200


async def test_without_include_unrealized_an_open_loss_does_not_fire(ct):
    await long_one_at_6000(ct)
    await call(ct, "PUT", "/accounts/Sim101/monitor", {"enabled": True, "lossThreshold": 1000})
    quote(ct, "5900.00", "5900.25")  # -5,012.50 unrealized, nothing realized
    await ct.container.engine.settle()
    await ct.container.risk.settle()
    assert (await monitor(ct))["state"] == "ACTIVE"
    assert await positions(ct) == [("Long", 1)]


async def test_a_locked_account_still_takes_a_closing_order(ct):
    await long_one_at_6000(ct)
    on = await call(ct, "PUT", "/killswitch", {"enabled": True, "account": "Sim101"})
    assert on.status_code == 200, on.text
    await until(ct, lambda: _flat(ct))
    # the position is closed by the switch; a fresh one cannot open
    refused = await place(ct)
    assert refused.json()["code"] == "ACCOUNT_LOCKED"
    off = await call(ct, "PUT", "/killswitch", {"enabled": False, "account": "Sim101"})
    assert off.status_code == 200
    assert (await place(ct)).status_code == 200


async def _flat(ct: Server, account: str = "Sim101") -> bool:
    return await positions(ct, account) == [] and await working(ct, account) == []


async def test_the_users_kill_switch_covers_each_of_its_accounts_and_reads_back(ct):
    await long_one_at_6000(ct)
    assert (await place(ct, "Sim102")).status_code == 200
    on = await call(ct, "PUT", "/killswitch", {"enabled": True})
    assert sorted(on.json()["accounts"]) == ["Sim101", "Sim102"]
    await until(ct, lambda: _flat(ct, "Sim102"))
    assert await _flat(ct)
    state = (await call(ct, "GET", "/killswitch")).json()
    assert state["enabled"] is True
    assert (await place(ct, "Sim102")).json()["code"] == "ACCOUNT_LOCKED"
    other = await call(
        ct,
        "POST",
        "/accounts/Other/orders/place",
        {
            "instrument": ES,
            "action": "Buy",
            "quantity": 1,
            "orderType": "Market",
            "timeInForce": "Day",
        },
        token=ct.other_token,
    )
    assert other.status_code == 200  # another user's account is not covered
    await call(ct, "PUT", "/killswitch", {"enabled": False})
    assert (await place(ct, "Sim102")).status_code == 200


async def test_the_kill_switch_from_a_webhook_and_from_the_websocket(ct, live):
    webhook_id = await Webhooks(ct.container.users).webhook_id("demo")
    alert = await ct.client.post(
        f"/v1/send/{webhook_id}", content=f"key={ct.token}; kill_switch=on;".encode()
    )
    assert alert.json()["killSwitch"] == "on"
    assert (await place(ct)).json()["code"] == "ACCOUNT_LOCKED"
    async with session(live, ct.token) as client:
        answer = await client.call("SetKillSwitch", {"enabled": False})
        assert answer["data"]["enabled"] is False
    assert (await place(ct)).status_code == 200


async def test_another_users_account_cannot_be_switched_or_configured(ct):
    switched = await call(ct, "PUT", "/killswitch", {"enabled": True, "account": "Other"})
    assert switched.status_code == 404
    configured = await call(ct, "PUT", "/accounts/Other/monitor", {"enabled": True})
    assert configured.status_code == 404
    armed = await call(ct, "POST", "/accounts/Other/orders/cancelafter", {"timeout": 5})
    assert armed.status_code == 404


async def test_rule_firings_are_pushed_as_monitor_updates(ct, live):
    await long_one_at_6000(ct)
    async with session(live, ct.token) as client:
        await call(
            ct,
            "PUT",
            "/accounts/Sim101/monitor",
            {
                "enabled": True,
                "lossThreshold": 100,
                "includeUnrealized": True,
            },
        )
        quote(ct, "5990.00", "5990.25")
        pushed = await client.until(
            lambda f: f.get("type") == "monitorUpdate" and f.get("event") == "Stop Monitor"
        )
    assert (pushed["account"], pushed["state"]) == ("Sim101", "STOPPED")


# -- kept across restarts --------------------------------------------------------------------


async def test_a_stopped_monitor_and_its_watermarks_survive_a_restart(ct, db_url):
    await long_one_at_6000(ct)
    await call(
        ct,
        "PUT",
        "/accounts/Sim101/monitor",
        {
            "enabled": True,
            "lossThreshold": 1000,
            "includeUnrealized": True,
        },
    )
    quote(ct, "6010.00", "6010.25")  # a high first
    await ct.advance(1)  # the tick keeps the marks
    quote(ct, "5980.00", "5980.25")
    await until(ct, lambda: _flat(ct))
    before = (await call(ct, "GET", "/accounts/Sim101/watermarks")).json()["data"]["monitor"]
    assert D(before["pnl_high"]) >= D("487.50")
    now = ct.container.clock.now()
    await ct.client.aclose()
    await shutdown(ct.container)
    ct.container = await bootstrap(ct_settings(db_url), clock=ManualClock(now))
    ct.container.market.push(Quote(ES, D("5980.00"), D("5980.25"), now))
    app = create_app(container=ct.container)
    ct.client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        event_hooks={"response": [conformance_hook]},
    )
    state = await monitor(ct)
    assert (state["state"], state["stoppedRule"]) == ("STOPPED", "lossThreshold")
    after = (await call(ct, "GET", "/accounts/Sim101/watermarks")).json()["data"]["monitor"]
    assert after["pnl_high"] == before["pnl_high"]
    assert (await place(ct)).json()["code"] == "ACCOUNT_LOCKED"


# -- the dead man's switch -------------------------------------------------------------------


async def test_the_dead_mans_switch_renewed_holds_and_expiring_cancels(ct):
    resting = await place(ct, orderType="Limit", limitPrice=5900)
    assert resting.status_code == 200
    await ct.container.engine.settle()
    armed = await call(ct, "POST", "/accounts/Sim101/orders/cancelafter", {"timeout": 10})
    assert armed.json()["cancelAt"] is not None
    await ct.advance(8)
    await call(ct, "POST", "/accounts/Sim101/orders/cancelafter", {"timeout": 10})  # renewed
    await ct.advance(8)
    assert len(await working(ct)) == 1
    await ct.advance(3)

    async def cancelled() -> bool:
        return await working(ct) == []

    await until(ct, cancelled)
    log = (await call(ct, "GET", "/accounts/Sim101/monitor/log")).json()["entries"]
    assert "dead man's switch fired" in log[0]["message"]


async def test_the_dead_mans_switch_disarmed_does_nothing_and_bad_timeouts_are_400(ct):
    await place(ct, orderType="Limit", limitPrice=5900)
    await ct.container.engine.settle()
    await call(ct, "POST", "/accounts/Sim101/orders/cancelafter", {"timeout": 5})
    disarmed = await call(ct, "POST", "/accounts/Sim101/orders/cancelafter", {"timeout": 0})
    assert disarmed.json()["cancelAt"] is None
    await ct.advance(10)
    assert len(await working(ct)) == 1
    for bad in (-1, 86_401, "soon", None):
        answer = await call(ct, "POST", "/accounts/Sim101/orders/cancelafter", {"timeout": bad})
        assert answer.status_code == 400, bad


# -- cancel-on-disconnect --------------------------------------------------------------------


@pytest.mark.parametrize("how", ["query", "action"])
async def test_an_abrupt_drop_cancels_what_the_connection_placed(ct, live, how):
    query = "?cancelOnDisconnect=true" if how == "query" else ""
    kept = await place(ct, orderType="Limit", limitPrice=5890)  # through REST: not the socket's
    async with session(live, ct.token, query=query) as client:
        if how == "action":
            await client.send({"action": "cancelOnDisconnect", "enabled": True, "id": 1})
            await client.until(lambda f: f.get("id") == 1)
        placed = await client.call(
            "PlaceOrder",
            {
                "account": "Sim101",
                "instrument": ES,
                "action": "Buy",
                "quantity": 1,
                "orderType": "Limit",
                "limitPrice": 5900,
                "timeInForce": "Day",
            },
        )
        order_id = placed["data"]["orderId"]
        await ct.container.engine.settle()
        assert order_id in await working(ct)
        client.ws.transport.abort()  # no close frame: the connection is simply gone

    async def only_the_rest_one_left() -> bool:
        return await working(ct) == [kept.json()["orderId"]]

    await until(ct, only_the_rest_one_left)


async def test_a_clean_close_cancels_nothing(ct, live):
    async with session(live, ct.token, query="?cancelOnDisconnect=true") as client:
        placed = await client.call(
            "PlaceOrder",
            {
                "account": "Sim101",
                "instrument": ES,
                "action": "Buy",
                "quantity": 1,
                "orderType": "Limit",
                "limitPrice": 5900,
                "timeInForce": "Day",
            },
        )
    await asyncio.sleep(0.2)  # the server sees the close
    await ct.container.engine.settle()
    assert await working(ct) == [placed["data"]["orderId"]]


# -- ScaleTrade ------------------------------------------------------------------------------


async def test_scaletrade_is_refused_with_ret_trade_disable_while_locked(ct):
    await call(ct, "PUT", "/killswitch", {"enabled": True, "account": "Sim101"})
    await ct.container.users.set_account_password(1001, "pw-1001-long-enough")
    signin = await ct.client.post(
        "/sign/in", json={"login": 1001, "password": "pw-1001-long-enough"}
    )
    assert signin.status_code == 200, signin.text
    jwt = signin.json()["__token"]
    answer = await ct.client.post(
        "/trade/open",
        headers={"Authorization": jwt},
        json={"login": 1001, "symbol": ES, "cmd": 0, "volume": 100},
    )
    assert answer.status_code == 409
    assert answer.json()["error"] == "RET_TRADE_DISABLE"


# -- the command line ------------------------------------------------------------------------


async def cli(*args: str) -> Any:
    from typer.testing import CliRunner

    from ordergate.cli import app

    # The command runs its own event loop: on a thread of its own, beside the server's.
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


async def test_the_cli_kill_switch_reaches_the_running_server_within_a_tick(ct, db_url):
    await long_one_at_6000(ct)
    done = await cli("killswitch", "on", "demo", "--account", "Sim101", "--db", db_url)
    assert done.exit_code == 0, done.output
    await ct.advance(1)  # the risk desk's tick reads the switches
    await until(ct, lambda: _flat(ct))
    assert (await place(ct)).json()["code"] == "ACCOUNT_LOCKED"
    done = await cli("killswitch", "off", "demo", "--account", "Sim101", "--db", db_url)
    assert done.exit_code == 0, done.output
    await ct.advance(1)
    await ct.container.risk.settle()
    assert (await place(ct)).status_code == 200


async def test_the_cli_sets_shows_and_resets_a_monitor(ct, db_url):
    bad = await cli("monitor", "set", "Sim101", '{"lossThreshold": -1}', "--db", db_url)
    assert bad.exit_code == 1
    assert "lossThreshold" in bad.output
    done = await cli(
        "monitor", "set", "Sim101", '{"enabled": true, "lossThreshold": 250}', "--db", db_url
    )
    assert done.exit_code == 0, done.output
    shown = await cli("monitor", "show", "Sim101", "--db", db_url, "--json")
    assert '"lossThreshold": "250"' in shown.output or '"lossThreshold": 250' in shown.output
    await ct.advance(1)
    await ct.container.risk.settle()
    state = await monitor(ct)
    assert (state["state"], state["lossThreshold"]) == ("ACTIVE", 250)


async def test_include_commission_counts_the_commission_of_each_fill(db_url, store):
    from tests.api.crosstrade.conftest import start

    ct = await start(db_url, commission_per_contract="25")
    try:
        await call(
            ct,
            "PUT",
            "/accounts/Sim101/monitor",
            {
                "enabled": True,
                "lossThreshold": 1000,
                "includeCommission": True,
            },
        )
        assert (await place(ct)).status_code == 200  # buys at 6000.25
        await ct.container.engine.settle()
        quote(ct, "5980.75", "5981.00")
        sell = await place(ct, action="Sell")  # sells at 5980.75: realized -975.00
        assert sell.status_code == 200
        await ct.container.engine.settle()
        await ct.advance(1)  # the tick values the (now flat) account: -975 - 2 x 25 = -1,025

        async def stopped() -> bool:
            return (await monitor(ct))["state"] == "STOPPED"

        await until(ct, stopped)
        assert (await monitor(ct))["stoppedRule"] == "lossThreshold"
    finally:
        await ct.client.aclose()
        await shutdown(ct.container)


async def test_without_include_commission_the_same_day_does_not_fire(db_url, store):
    from tests.api.crosstrade.conftest import start

    ct = await start(db_url, commission_per_contract="25")
    try:
        await call(ct, "PUT", "/accounts/Sim101/monitor", {"enabled": True, "lossThreshold": 1000})
        await place(ct)
        await ct.container.engine.settle()
        quote(ct, "5980.75", "5981.00")
        await place(ct, action="Sell")
        await ct.container.engine.settle()
        await ct.advance(1)
        await ct.container.risk.settle()
        assert (await monitor(ct))["state"] == "ACTIVE"
    finally:
        await ct.client.aclose()
        await shutdown(ct.container)


async def test_the_account_item_carries_the_monitors_limits_and_the_commission(db_url, store):
    from tests.api.crosstrade.conftest import start

    ct = await start(db_url, commission_per_contract="2.5")
    try:
        settings = {
            "lossThreshold": 1000,
            "profitThreshold": 1500,
            "trailingDrawdown": {"metric": "sessionPnl", "trigger": 100, "trail": 40},
        }
        assert (await call(ct, "PUT", "/accounts/Sim101/monitor", settings)).status_code == 200
        await place(ct)
        await ct.container.engine.settle()
        item = (await call(ct, "GET", "/accounts/Sim101")).json()["item"]
        assert (item["dailyLossLimit"], item["dailyProfitTarget"]) == (1000, 1500)
        assert (item["trailingMaxDrawdown"], item["commission"]) == (40, 2.5)
        other = (await call(ct, "GET", "/accounts/Sim102")).json()["item"]
        assert (other["dailyLossLimit"], other["commission"]) == (0, 0)
    finally:
        await ct.client.aclose()
        await shutdown(ct.container)


# -- the other rules, through HTTP -------------------------------------------------------------


async def _fires(ct: Server, rule: str) -> None:
    async def stopped() -> bool:
        return (await monitor(ct))["stoppedRule"] == rule

    await until(ct, stopped)
    await until(ct, lambda: _flat(ct))


async def test_the_profit_threshold_fires_at_the_target(ct):
    await long_one_at_6000(ct)
    await call(
        ct,
        "PUT",
        "/accounts/Sim101/monitor",
        {
            "enabled": True,
            "profitThreshold": 500,
            "includeUnrealized": True,
        },
    )
    quote(ct, "6010.00", "6010.25")  # +487.50: not yet
    await ct.container.engine.settle()
    await ct.container.risk.settle()
    assert (await monitor(ct))["state"] == "ACTIVE"
    quote(ct, "6010.25", "6010.50")  # +500.00
    await _fires(ct, "profitThreshold")


async def test_the_trailing_drawdown_fires_the_trail_below_the_high(ct):
    await long_one_at_6000(ct)
    await call(
        ct,
        "PUT",
        "/accounts/Sim101/monitor",
        {
            "enabled": True,
            "includeUnrealized": True,
            "trailingDrawdown": {"metric": "sessionPnl", "trigger": 100, "trail": 40},
        },
    )
    quote(ct, "6006.25", "6006.50")  # +300: watching, high +300
    quote(ct, "6005.50", "6005.75")  # +262.50: above 260
    await ct.container.engine.settle()
    await ct.container.risk.settle()
    assert (await monitor(ct))["state"] == "ACTIVE"
    quote(ct, "6005.25", "6005.50")  # +250.00: below 300 - 40
    await _fires(ct, "trailingDrawdown")


async def test_the_minimum_profit_drawdown_fires_below_its_floor(ct):
    await long_one_at_6000(ct)
    await call(
        ct,
        "PUT",
        "/accounts/Sim101/monitor",
        {
            "enabled": True,
            "includeUnrealized": True,
            "minProfitDrawdown": {"trigger": 500, "floor": 200},
        },
    )
    quote(ct, "6010.25", "6010.50")  # +500: watching
    quote(ct, "6004.25", "6004.50")  # +200: not below
    await ct.container.engine.settle()
    await ct.container.risk.settle()
    assert (await monitor(ct))["state"] == "ACTIVE"
    quote(ct, "6004.00", "6004.25")  # +187.50
    await _fires(ct, "minProfitDrawdown")


def _eastern(ct: Server) -> Any:
    from zoneinfo import ZoneInfo

    return ct.clock.now().astimezone(ZoneInfo("US/Eastern"))


async def test_outside_every_trading_window_opening_orders_are_refused(ct):
    from datetime import timedelta

    now = _eastern(ct)
    # A window that wraps past midnight and leaves out the hour around now.
    start, end = (
        (now + timedelta(hours=1)).strftime("%H:%M"),
        (now - timedelta(hours=1)).strftime("%H:%M"),
    )
    put = await call(
        ct,
        "PUT",
        "/accounts/Sim101/monitor",
        {
            "enabled": True,
            "tradingWindows": [{"start": start, "end": end}],
        },
    )
    assert put.json()["locked"] == "outside the account's trading windows"
    refused = await place(ct)
    assert refused.json()["code"] == "ACCOUNT_LOCKED"
    start, end = (
        (now - timedelta(hours=1)).strftime("%H:%M"),
        (now + timedelta(hours=1)).strftime("%H:%M"),
    )
    await call(
        ct,
        "PUT",
        "/accounts/Sim101/monitor",
        {
            "tradingWindows": [{"start": start, "end": end}],
        },
    )
    assert (await place(ct)).status_code == 200


async def test_auto_flatten_flattens_at_its_time_on_a_weekday_and_does_not_stop(ct):
    from datetime import timedelta

    now = _eastern(ct)
    days = next(d for d in range(1, 8) if (now + timedelta(days=d)).weekday() < 5)
    morning = (now + timedelta(days=days)).replace(hour=10, minute=0, second=0, microsecond=0)
    await long_one_at_6000(ct)
    await call(ct, "PUT", "/accounts/Sim101/monitor", {"enabled": True, "autoFlatten": "10:01"})
    await ct.advance((morning - now).total_seconds())  # a weekday morning, a position held
    await ct.container.risk.settle()
    assert await positions(ct) == [("Long", 1)]
    await ct.advance(61)  # 10:01
    await until(ct, lambda: _flat(ct))
    log = (await call(ct, "GET", "/accounts/Sim101/monitor/log")).json()["entries"]
    assert any(e["event"] == "Auto-Flatten" for e in log)
    assert (await monitor(ct))["state"] != "STOPPED"
