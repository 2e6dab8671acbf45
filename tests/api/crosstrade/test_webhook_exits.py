"""What a webhook alert leaves to do after its entry (spec crosstrade-webhooks.md 5.5, 5.7,
5.8, 5.13): brackets that wait for a resting entry's fill, cancel_after, both across a
restart; the closing-only window with flatten_first; strategy synchronisation. Through
real HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from ordergate.api.app import create_app
from ordergate.auth.webhooks import Webhooks
from ordergate.bootstrap import bootstrap, shutdown
from ordergate.domain.clock import ManualClock
from ordergate.venue.base import Quote
from tests.api.crosstrade.conftest import Server, ct_settings
from tests.conformance import conformance_hook

API = "/v1/api"
ES = "ES 12-26"
D = Decimal
#: A resting BUY 2 at 5990 (the market is 6000.00 / 6000.25) with a bracket in ticks.
ENTRY = (
    "key=KEY; command=PLACE; account=Sim101; instrument=ES 12-26; action=BUY; qty=2;"
    " order_type=LIMIT; limit_price=5990; tif=DAY; take_profit=+40 ticks; stop_loss=-20 ticks;"
)


@pytest.fixture
async def hook(ct: Server) -> str:
    webhook_id = await Webhooks(ct.container.users).webhook_id("demo")
    return f"/v1/send/{webhook_id}"


async def send(ct: Server, hook: str, payload: str) -> dict[str, Any]:
    answer = await ct.client.post(
        hook,
        content=payload.replace("KEY", ct.token).encode(),
        headers={"Content-Type": "text/plain"},
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def orders(ct: Server) -> list[dict[str, Any]]:
    answer = await ct.client.get(f"{API}/accounts/Sim101/orders", headers=ct.auth())
    return list(answer.json()["orders"])


async def positions(ct: Server) -> list[tuple[str, str, Any]]:
    answer = await ct.client.get(f"{API}/accounts/Sim101/positions", headers=ct.auth())
    return [
        (p["instrument"], p["marketPosition"], p["quantity"]) for p in answer.json()["positions"]
    ]


def quote(ct: Server, bid: str, ask: str, size: str | None = None) -> None:
    at = ct.container.clock.now()
    sized = None if size is None else D(size)
    ct.container.market.push(Quote(ES, D(bid), D(ask), at, bid_size=sized, ask_size=sized))


async def until(ct: Server, done: Callable[[], Awaitable[bool]]) -> None:
    """Wait for ``done`` while the engine and the exits' own tasks run (no clock moves)."""
    for _ in range(500):
        await ct.container.engine.settle()
        if await done():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met")


def legs_of(placed: list[dict[str, Any]]) -> list[tuple[str, str, Any, Any, Any]]:
    return sorted(
        (o["orderType"], o["action"], o["quantity"], o["limitPrice"], o["stopPrice"])
        for o in placed
        if o["orderType"] != "Limit" or o["action"] == "Sell"
    )


async def reopen(ct: Server, db_url: str) -> None:
    """The server stops and starts again on the same database (and the same time)."""
    now = ct.container.clock.now()
    await ct.client.aclose()
    await shutdown(ct.container)
    container = await bootstrap(ct_settings(db_url), clock=ManualClock(now))
    container.market.push(Quote(ES, D("6000.00"), D("6000.25"), now))
    ct.container = container
    app = create_app(container=container)
    ct.client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        event_hooks={"response": [conformance_hook]},
    )


# -- brackets on a resting entry -------------------------------------------------------------


async def test_a_resting_entrys_bracket_waits_for_its_fill_then_takes_the_fill_price(ct, hook):
    answer = await send(ct, hook, ENTRY)
    assert answer["status"] == "Success"
    (entry_id,) = answer["orderIds"]
    await ct.container.engine.settle()
    assert [o["orderId"] for o in await orders(ct)] == [entry_id]  # no legs before the fill

    quote(ct, "5989.50", "5989.75")  # the entry fills at the ask, 5989.75

    async def legs_placed() -> bool:
        return len(await orders(ct)) == 2

    await until(ct, legs_placed)
    legs = await orders(ct)
    # 40 ticks above and 20 below the fill price (prices absent from an order read 0)
    assert legs_of(legs) == [
        ("Limit", "Sell", 2, 5999.75, 0),
        ("StopMarket", "Sell", 2, 0, 5984.75),
    ]
    assert {o["oco"] for o in legs} == {f"wh-{entry_id}"}
    assert ct.container.pending_exits.waiting == 0


async def test_a_partly_filled_entry_that_is_cancelled_gets_a_bracket_for_what_filled(ct, hook):
    ct.container.venue.config.set(partial_fills=True)
    (entry_id,) = (await send(ct, hook, ENTRY))["orderIds"]
    await ct.container.engine.settle()
    quote(ct, "5989.50", "5989.75", size="1")  # one of the two fills
    await until(ct, lambda: _filled(ct, entry_id, 1))
    quote(ct, "5990.00", "5990.25")  # between the legs to come: neither fills
    cancelled = await ct.client.post(
        f"{API}/accounts/Sim101/orders/{entry_id}/cancel", headers=ct.auth()
    )
    assert cancelled.status_code == 200, cancelled.text

    async def one_lot_legs() -> bool:
        return len(await orders(ct)) == 2

    await until(ct, one_lot_legs)
    assert [o["quantity"] for o in await orders(ct)] == [1, 1]
    assert await positions(ct) == [(ES, "Long", 1)]


async def _filled(ct: Server, order_id: str, quantity: int) -> bool:
    answer = await ct.client.get(f"{API}/accounts/Sim101/orders/{order_id}", headers=ct.auth())
    return bool(answer.json()["filled"] == quantity)


async def test_an_entry_cancelled_without_a_fill_drops_its_bracket(ct, hook):
    (entry_id,) = (await send(ct, hook, ENTRY))["orderIds"]
    await ct.container.engine.settle()
    await ct.client.post(f"{API}/accounts/Sim101/orders/{entry_id}/cancel", headers=ct.auth())

    async def forgotten() -> bool:
        return ct.container.pending_exits.waiting == 0

    await until(ct, forgotten)
    assert await orders(ct) == []
    quote(ct, "5989.50", "5989.75")
    await ct.container.engine.settle()
    assert await orders(ct) == []


async def test_a_pending_bracket_survives_a_restart(ct, hook, db_url):
    (entry_id,) = (await send(ct, hook, ENTRY))["orderIds"]
    await ct.container.engine.settle()
    await reopen(ct, db_url)
    assert ct.container.pending_exits.waiting == 1
    quote(ct, "5989.50", "5989.75")

    async def legs_placed() -> bool:
        return len(await orders(ct)) == 2

    await until(ct, legs_placed)
    assert {o["oco"] for o in await orders(ct)} == {f"wh-{entry_id}"}


async def test_legs_placed_again_after_a_restart_are_not_doubled(ct, hook, db_url):
    """The legs' client ids come from the entry's: a second placement returns the first."""
    from ordergate.api.crosstrade.webhook_pending import legs_on_fill

    (entry_id,) = (await send(ct, hook, ENTRY))["orderIds"]
    await ct.container.engine.settle()
    quote(ct, "5989.50", "5989.75")

    async def legs_placed() -> bool:
        return len(await orders(ct)) == 2

    await until(ct, legs_placed)
    user = await ct.container.users.get_user("demo")
    entry = await ct.container.engine.records.order(entry_id)
    assert entry is not None
    spec = {"account": "Sim101", "oco": f"wh-{entry_id}", "takeProfit": ["40", "ticks"]}
    await legs_on_fill(ct.container, user.id, spec, entry, D("5990"))
    await ct.container.engine.settle()
    assert len(await orders(ct)) == 2


# -- cancel_after ----------------------------------------------------------------------------


async def test_cancel_after_survives_a_restart(ct, hook, db_url):
    payload = ENTRY.replace(" take_profit=+40 ticks; stop_loss=-20 ticks;", " cancel_after=2;")
    (entry_id,) = (await send(ct, hook, payload))["orderIds"]
    await ct.container.engine.settle()
    await reopen(ct, db_url)
    await ct.advance(60)
    assert [o["orderId"] for o in await orders(ct)] == [entry_id]
    await ct.advance(61)

    async def cancelled() -> bool:
        return await orders(ct) == []

    await until(ct, cancelled)
    assert ct.container.pending_exits.waiting == 0


# -- the closing-only window and flatten_first -----------------------------------------------


async def test_a_closing_only_window_lets_flatten_first_flatten_and_blocks_the_entry(ct, hook):
    market = ENTRY.replace("order_type=LIMIT; limit_price=5990;", "order_type=MARKET;")
    market = market.replace(" take_profit=+40 ticks; stop_loss=-20 ticks;", "")
    assert (await send(ct, hook, market))["status"] == "Success"
    await ct.container.engine.settle()
    assert await positions(ct) == [(ES, "Long", 2)]
    eastern = ct.clock.now().astimezone(ZoneInfo("America/New_York"))
    start = (eastern - timedelta(hours=2)).strftime("%H:%M")
    after = (eastern - timedelta(hours=1)).strftime("%H:%M")
    end = (eastern + timedelta(hours=1)).strftime("%H:%M")
    window = f" start_time={start}; end_time={end}; closing_only_after={after};"
    sell = market.replace("action=BUY", "action=SELL") + " flatten_first=true;" + window
    answer = await send(ct, hook, sell)
    assert (answer["status"], answer["error"]) == ("Blocked", "CLOSING_ONLY")
    assert answer["orderIds"]  # the flatten's closing order

    async def flat() -> bool:
        return await positions(ct) == []

    await until(ct, flat)
    assert await orders(ct) == []


# -- strategy synchronisation ----------------------------------------------------------------

SYNC = (
    "key=KEY; command=PLACE; account=Sim101; instrument=ES 12-26; action=BUY; qty=1;"
    " order_type=MARKET; tif=DAY; sync_strategy=true;"
)


async def test_an_alert_in_sync_runs_and_one_out_of_sync_is_blocked(ct, hook):
    ok = await send(ct, hook, SYNC + " market_position=long; prev_market_position=flat;")
    assert ok["status"] == "Success"
    await ct.container.engine.settle()
    assert await positions(ct) == [(ES, "Long", 1)]
    stale = await send(ct, hook, SYNC + " market_position=long; prev_market_position=flat;")
    assert (stale["status"], stale["error"]) == ("Blocked", "STRATEGY_OUT_OF_SYNC")
    await ct.container.engine.settle()
    assert await positions(ct) == [(ES, "Long", 1)]


async def test_target_quantity_resyncs_the_position_and_is_harmless_to_resend(ct, hook):
    resync = SYNC + " market_position=short; prev_market_position=long; target_quantity=2;"
    first = await send(ct, hook, resync)
    assert first["status"] == "Success"
    await ct.container.engine.settle()
    assert await positions(ct) == [(ES, "Short", 2)]
    again = await send(ct, hook, resync)
    assert (again["status"], again["orderIds"]) == ("Success", [])
    flat = SYNC + " market_position=flat; target_quantity=0;"
    assert (await send(ct, hook, flat))["status"] == "Success"
    await ct.container.engine.settle()
    assert await positions(ct) == []


def test_the_sync_module_states_its_decision_table() -> None:
    from ordergate.api.crosstrade import webhook_sync

    assert "decision table" in (webhook_sync.__doc__ or "")
    assert datetime.now(UTC)  # the module imports on its own


async def test_a_delayed_alert_cut_short_by_a_restart_is_failed_not_left_pending(ct, hook, db_url):
    answer = await send(ct, hook, ENTRY + " delay=60;")
    assert answer["status"] == "Pending"
    await reopen(ct, db_url)
    found = await ct.client.get(f"{API}/alerts", headers=ct.auth())
    (alert,) = found.json()["alerts"]
    assert (alert["alertId"], alert["status"]) == (answer["alertId"], "Failed")
    assert alert["error"] == "DELAY_INTERRUPTED"
    assert "not run" in alert["detail"]
    await ct.advance(61)  # the old process's wait is gone with it: nothing is placed
    assert await orders(ct) == []
