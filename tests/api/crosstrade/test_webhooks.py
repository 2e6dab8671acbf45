"""TradingView alerts through ``POST /v1/send/{webhookId}``: the spec's payloads in their
forms, the commands and options, the refusals (nothing changes), and the Alert History
record of each; checked through REST on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordergate.auth.webhooks import Webhooks
from ordergate.store.alerts import SqlAlertHistory
from tests.api.crosstrade.conftest import Server
from tests.api.crosstrade.wsclient import session
from tests.builders import snapshot

API = "/v1/api"
ES = "ES 12-26"


@pytest.fixture
async def hook(ct: Server) -> str:
    """The path of user demo's webhook."""
    webhook_id = await Webhooks(ct.container.users).webhook_id("demo")
    return f"/v1/send/{webhook_id}"


async def send(ct: Server, hook: str, payload: str | dict[str, Any], **kw: Any) -> httpx.Response:
    if isinstance(payload, dict):
        return await ct.client.post(hook, json=payload, **kw)
    body = payload.replace("KEY", ct.token)
    return await ct.client.post(
        hook, content=body.encode(), headers={"Content-Type": "text/plain"}, **kw
    )


async def orders(ct: Server, account: str = "Sim101") -> list[dict[str, Any]]:
    answer = await ct.client.get(f"{API}/accounts/{account}/orders", headers=ct.auth())
    return list(answer.json()["orders"])


async def positions(ct: Server, account: str = "Sim101") -> list[tuple[str, str, Any]]:
    answer = await ct.client.get(f"{API}/accounts/{account}/positions", headers=ct.auth())
    return [
        (p["instrument"], p["marketPosition"], p["quantity"]) for p in answer.json()["positions"]
    ]


async def history(ct: Server) -> list[Any]:
    user = await ct.container.users.get_user("demo")
    return await SqlAlertHistory(ct.container.store).list(user.id, limit=100)


PLACE = (
    "key=KEY; command=PLACE; account=Sim101; instrument=ES 12-26; action=BUY; qty=1;"
    " order_type=LIMIT; limit_price=5990; tif=DAY;"
)
#: The start of a PLACE alert, before its order fields.
HEAD = "key=KEY; command=PLACE; account=Sim101; instrument=ES 12-26;"


# -- the payload's forms ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        PLACE,
        PLACE.replace("; ", ";\n"),  # one field per line
        PLACE.lower().replace("key=key", "key=KEY").replace("es 12-26", "ES 12-26"),
        PLACE.rstrip(";"),  # the final ; missing
        "key=KEY; command=place; account=sim101; instrument=ESZ26; action=buy; qty=1;"
        " order_type=limit; limit_price=5990; tif=gtc",
    ],
)
async def test_a_place_alert_in_any_of_its_forms_places_the_order(ct, hook, payload):
    answer = await send(ct, hook, payload)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["success"], body["status"], body["command"]) == (True, "Success", "PLACE")
    await ct.container.engine.settle()
    placed = await orders(ct)
    assert [o["orderId"] for o in placed] == body["orderIds"]
    assert (placed[0]["instrument"], placed[0]["limitPrice"]) == (ES, 5990)


async def test_a_json_alert_places_the_same_order(ct, hook):
    payload = {
        "key": ct.token,
        "command": "PLACE",
        "account": "Sim101",
        "instrument": "ES 12-26",
        "action": "SELL",
        "qty": 1,
        "order_type": "MARKET",
        "tif": "DAY",
    }
    answer = await send(ct, hook, payload)
    assert answer.json()["status"] == "Success", answer.text
    await ct.container.engine.settle()
    assert await positions(ct) == [(ES, "Short", 1)]


# -- who may send ----------------------------------------------------------------------------


async def test_a_wrong_key_an_unknown_hook_and_a_rotated_one_are_the_same_401(ct, hook):
    before = await snapshot(ct.container.store)
    wrong_key = await ct.client.post(hook, content=PLACE.replace("KEY", "og_" + "x" * 43))
    stranger = await ct.client.post(hook, content=PLACE.replace("KEY", ct.other_token))
    unknown = await send(ct, "/v1/send/wh_" + "A" * 32, PLACE)
    no_key = await ct.client.post(hook, content=b"command=PLACE; account=Sim101;")
    await Webhooks(ct.container.users).rotate_webhook("demo")
    rotated = await send(ct, hook, PLACE)
    answers = [wrong_key, stranger, unknown, no_key, rotated]
    assert {a.status_code for a in answers} == {401}
    assert len({a.text for a in answers}) == 1
    assert ct.token not in "".join(a.text for a in answers)
    assert await snapshot(ct.container.store) == before
    assert await history(ct) == []  # nothing is recorded for a stranger


async def test_a_revoked_token_is_refused(ct, hook):
    await ct.container.users.revoke_tokens("demo")
    assert (await send(ct, hook, PLACE)).status_code == 401


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (
            f"{HEAD} action=BUY; order_type=MARKET; tif=DAY;",
            "qty",
        ),
        ("key=KEY; command=JUMP; account=Sim101;", "command"),
        ("key=KEY; command=PLACE; command=PLACE;", "command"),
        (
            f"{HEAD} action=HOLD; qty=1; order_type=MARKET; tif=DAY;",
            "action",
        ),
    ],
)
async def test_a_malformed_alert_is_400_naming_the_first_bad_field_and_is_recorded(
    ct, hook, payload, field
):
    before = await snapshot(ct.container.store)
    answer = await send(ct, hook, payload)
    assert answer.status_code == 400
    body = answer.json()
    assert (body["success"], body["code"], body["field"]) == (False, "INVALID_ALERT", field)
    (record,) = await history(ct)
    assert (record.status, record.error) == ("Failed", "INVALID_ALERT")
    assert ct.token not in record.raw
    assert "key=***" in record.raw
    # Only the Alert History changed.
    after = await snapshot(ct.container.store)
    assert {k: v for k, v in after.items() if k != "alerts"} == {
        k: v for k, v in before.items() if k != "alerts"
    }


async def test_an_atm_strategy_is_refused_clearly(ct, hook):
    answer = await send(ct, hook, PLACE + " strategy=ATM-2R;")
    body = answer.json()
    assert (body["status"], body["error"]) == ("Failed", "ATM_NOT_SUPPORTED")
    assert await orders(ct) == []


# -- the commands ----------------------------------------------------------------------------


async def test_close_position_flatten_and_reverse(ct, hook):
    await send(ct, hook, f"{HEAD} action=BUY; qty=3; order_type=MARKET; tif=DAY;")
    await ct.container.engine.settle()
    partial = await send(
        ct, hook, f"key=KEY; command=CLOSEPOSITION; account=Sim101; instrument={ES}; quantity=1;"
    )
    assert partial.json()["status"] == "Success", partial.text
    await ct.container.engine.settle()
    assert await positions(ct) == [(ES, "Long", 2)]
    reverse = await send(ct, hook, f"key=KEY; command=REVERSE; account=Sim101; instrument={ES};")
    assert reverse.json()["status"] == "Success", reverse.text
    await ct.container.engine.settle()
    assert await positions(ct) == [(ES, "Short", 2)]
    flat = await send(ct, hook, "key=KEY; command=FLATTEN; market_position=short;")
    assert flat.json()["status"] == "Success", flat.text
    await ct.container.engine.settle()
    assert await positions(ct) == []


async def test_cancel_change_and_cancel_orders_by_the_alerts_own_order_id(ct, hook):
    placed = await send(ct, hook, PLACE + " order_id=swing-7;")
    assert placed.json()["status"] == "Success", placed.text
    await ct.container.engine.settle()
    changed = await send(
        ct, hook, "key=KEY; command=CHANGE; account=Sim101; order_id=swing-7; limit_price=5985;"
    )
    assert changed.json()["status"] == "Success", changed.text
    await ct.container.engine.settle()
    assert (await orders(ct))[0]["limitPrice"] == 5985
    cancelled = await send(ct, hook, "key=KEY; command=CANCEL; account=Sim101; order_id=swing-7;")
    assert cancelled.json()["status"] == "Success", cancelled.text
    await ct.container.engine.settle()
    assert await orders(ct) == []
    await send(ct, hook, PLACE)
    await send(ct, hook, PLACE.replace("Sim101", "Sim102"))
    await ct.container.engine.settle()
    one = await send(ct, hook, "key=KEY; command=CANCELORDERS; account=Sim101;")
    assert one.json()["status"] == "Success", one.text
    every = await send(ct, hook, "key=KEY; command=CANCELALLORDERS;")
    assert every.json()["status"] == "Success", every.text
    await ct.container.engine.settle()
    assert await orders(ct) == [] == await orders(ct, "Sim102")


async def test_a_closed_market_fails_the_cancel_and_says_why(ct, hook):
    await send(ct, hook, PLACE)
    await ct.container.engine.settle()
    ct.container.venue.set_market_closed(ES)
    answer = await send(ct, hook, "key=KEY; command=CANCELORDERS; account=Sim101;")
    body = answer.json()
    assert (body["status"], body["error"]) == ("Failed", "MARKET_CLOSED")
    assert len(await orders(ct)) == 1


# -- options ---------------------------------------------------------------------------------


async def test_multi_account_places_one_order_per_account_and_records_each(ct, hook):
    answer = await send(ct, hook, PLACE.replace("account=Sim101", "account=Sim101, sim102,Sim101"))
    body = answer.json()
    assert body["status"] == "Success", answer.text
    assert [r["account"] for r in body["results"]] == ["Sim101", "Sim102"]  # NT8's spelling
    await ct.container.engine.settle()
    assert len(await orders(ct)) == 1 == len(await orders(ct, "Sim102"))
    records = await history(ct)
    assert len(records) == 3
    assert len({r.multi_account_id for r in records}) == 1


async def test_the_kill_switch_blocks_every_alert_until_it_is_off(ct, hook):
    on = await send(ct, hook, "key=KEY; kill_switch=on;")
    assert on.json()["killSwitch"] == "on"
    blocked = await send(ct, hook, PLACE)
    assert (blocked.json()["status"], blocked.json()["error"]) == ("Blocked", "KILL_SWITCH")
    assert await orders(ct) == []
    await send(ct, hook, "key=KEY; kill_switch=off;")
    assert (await send(ct, hook, PLACE)).json()["status"] == "Success"


async def test_relative_prices_are_taken_from_the_quote_and_rounded_to_the_tick(ct, hook):
    # ES 12-26 quotes 6000.00 / 6000.25: the mid 6000.125, 8 ticks below it 5998.125 -> 5998.25
    answer = await send(ct, hook, PLACE.replace("limit_price=5990", "limit_price=-8 ticks"))
    assert answer.json()["status"] == "Success", answer.text
    await ct.container.engine.settle()
    assert (await orders(ct))[0]["limitPrice"] == 5998.25


async def test_a_market_entry_gets_its_bracket_at_once(ct, hook):
    payload = (
        "key=KEY; command=PLACE; account=Sim101; instrument=ES 12-26; action=BUY; qty=1;"
        " order_type=MARKET; tif=DAY; take_profit=6050; stop_loss=5950;"
    )
    answer = await send(ct, hook, payload)
    assert answer.json()["status"] == "Success", answer.text
    await ct.container.engine.settle()
    legs = await orders(ct)
    assert sorted((o["orderType"], o["action"]) for o in legs) == [
        ("Limit", "Sell"),
        ("StopMarket", "Sell"),
    ]
    assert len({o["oco"] for o in legs}) == 1


async def test_a_delayed_alert_answers_pending_and_runs_on_the_clock(ct, hook):
    answer = await send(ct, hook, PLACE + " delay=2.5;")
    body = answer.json()
    assert body["status"] == "Pending", answer.text
    assert await orders(ct) == []
    await ct.advance(3)  # the delay is over; the alert runs as a task of its own: wait for it
    for _ in range(500):
        record = (await history(ct))[0]
        if record.status != "Pending":
            break
        await asyncio.sleep(0.01)
        await ct.container.engine.settle()
    assert record.status == "Success"
    assert [o["orderId"] for o in await orders(ct)] == list(record.order_ids)


async def test_the_alerts_own_rate_limit_blocks_the_extra_ones(ct, hook):
    limited = PLACE + " rate_limit=1/60; id=scalper;"
    first, second = await send(ct, hook, limited), await send(ct, hook, limited)
    assert first.json()["status"] == "Success"
    assert (second.json()["status"], second.json()["error"]) == ("Blocked", "RATE_LIMITED")
    await ct.advance(61)
    assert (await send(ct, hook, limited)).json()["status"] == "Success"


async def test_position_rules_block_the_alert(ct, hook):
    await send(ct, hook, PLACE.replace("LIMIT", "MARKET").replace(" limit_price=5990;", ""))
    await ct.container.engine.settle()
    answer = await send(ct, hook, PLACE + " require_market_position=flat;")
    assert (answer.json()["status"], answer.json()["error"]) == (
        "Blocked",
        "POSITION_REQUIREMENT_NOT_MET",
    )


async def test_the_history_record_holds_the_redacted_payload_and_the_outcome(ct, hook):
    answer = await send(ct, hook, PLACE + " comment=breakout; colour=red;")
    (record,) = await history(ct)
    assert record.alert_id == answer.json()["alertId"]
    assert (record.status, record.command, record.accounts) == ("Success", "PLACE", ("Sim101",))
    assert record.order_ids == tuple(answer.json()["orderIds"])
    assert ct.token not in json.dumps(record.fields) + record.raw
    assert any("colour" in w for w in record.warnings)


async def test_cancel_after_cancels_a_resting_entry_on_the_clock(ct, hook):
    answer = await send(ct, hook, PLACE + " cancel_after=1;")
    assert answer.json()["status"] == "Success", answer.text
    await ct.advance(30)
    assert len(await orders(ct)) == 1
    await ct.advance(31)  # the timer fires; its cancel is a task of its own: wait for it
    for _ in range(500):
        if not await orders(ct):
            break
        await asyncio.sleep(0.01)
        await ct.container.engine.settle()
    assert await orders(ct) == []


async def test_an_alert_outside_its_trading_window_is_blocked_unless_bypassed(ct, hook):
    eastern = ct.clock.now().astimezone(ZoneInfo("America/New_York"))
    start, end = eastern + timedelta(hours=2), eastern + timedelta(hours=3)
    window = f" start_time={start:%H:%M}; end_time={end:%H:%M};"
    outside = await send(ct, hook, PLACE + window)
    assert (outside.json()["status"], outside.json()["error"]) == ("Blocked", "TRADE_WINDOW")
    assert await orders(ct) == []
    bypassed = await send(ct, hook, PLACE + window + " bypass_trade_windows=true;")
    assert bypassed.json()["status"] == "Success", bypassed.text


async def test_each_alert_is_pushed_to_the_users_websocket(ct, hook, live):
    async with session(live, ct.token) as client:
        answer = await send(ct, hook, PLACE)
        frame = await client.until(lambda f: f.get("type") == "alertUpdate")
    alert = frame["alert"]
    assert (alert["alertId"], alert["status"]) == (answer.json()["alertId"], "Success")
    assert alert["orderIds"] == answer.json()["orderIds"]
    assert ct.token not in json.dumps(alert)


async def long_two(ct: Server, hook: str) -> None:
    await send(ct, hook, f"{HEAD} action=BUY; qty=2; order_type=MARKET; tif=DAY;")
    await ct.container.engine.settle()


async def test_flatplace_and_flatten_first_close_the_position_before_the_order(ct, hook):
    await long_two(ct, hook)
    flat = await send(
        ct,
        hook,
        (
            f"key=KEY; command=FLATPLACE; account=Sim101; instrument={ES};"
            f" action=SELL; qty=1; order_type=MARKET; tif=DAY;"
        ),
    )
    assert flat.json()["status"] == "Success", flat.text
    await ct.container.engine.settle()
    assert await positions(ct) == [(ES, "Short", 1)]
    first = await send(
        ct, hook, f"{HEAD} action=BUY; qty=1; order_type=MARKET; tif=DAY; flatten_first=true;"
    )
    assert first.json()["status"] == "Success", first.text
    await ct.container.engine.settle()
    assert await positions(ct) == [(ES, "Long", 1)]


async def test_reverseposition_needs_a_position_then_places_the_order(ct, hook):
    order = (
        f"key=KEY; command=REVERSEPOSITION; account=Sim101;"
        f" instrument={ES}; action=SELL; qty=1; order_type=MARKET; tif=DAY;"
    )
    none = await send(ct, hook, order)
    assert (none.json()["status"], none.json()["error"]) == ("Failed", "POSITION_NOT_FOUND")
    await long_two(ct, hook)
    done = await send(ct, hook, order)
    assert done.json()["status"] == "Success", done.text
    await ct.container.engine.settle()
    assert await positions(ct) == [(ES, "Short", 1)]


async def test_cancelreplace_swaps_the_order_and_fails_for_an_unknown_one(ct, hook):
    await send(ct, hook, PLACE + " order_id=old-1;")
    await ct.container.engine.settle()
    swap = (
        f"key=KEY; command=CANCELREPLACE; account=Sim101; order_id=old-1;"
        f" instrument={ES}; action=BUY; qty=1; order_type=LIMIT; limit_price=5980; tif=GTC;"
    )
    done = await send(ct, hook, swap)
    assert done.json()["status"] == "Success", done.text
    await ct.container.engine.settle()
    assert [o["limitPrice"] for o in await orders(ct)] == [5980]
    unknown = await send(ct, hook, swap.replace("old-1", "nope-9"))
    assert (unknown.json()["status"], unknown.json()["error"]) == ("Failed", "ORDER_NOT_FOUND")


async def test_cancelandbracket_protects_the_position_and_flatteneverything_clears_all(ct, hook):
    await long_two(ct, hook)
    bracket = (
        f"key=KEY; command=CANCELANDBRACKET; account=Sim101; instrument={ES};"
        f" action=BUY; qty=2; take_profit=6050; stop_loss=5950;"
    )
    done = await send(ct, hook, bracket)
    assert done.json()["status"] == "Success", done.text
    assert len(done.json()["orderIds"]) == 2
    await ct.container.engine.settle()
    assert sorted(o["orderType"] for o in await orders(ct)) == ["Limit", "StopMarket"]
    everything = await send(ct, hook, "key=KEY; command=FLATTENEVERYTHING;")
    assert everything.json()["status"] == "Success", everything.text
    await ct.container.engine.settle()
    assert await orders(ct) == []
    assert await positions(ct) == []


async def test_closeposition_by_percent_rounds_up_and_closestrategy_is_refused(ct, hook):
    await long_two(ct, hook)
    half = await send(
        ct, hook, f"key=KEY; command=CLOSEPOSITION; account=Sim101; instrument={ES}; percent=0.34;"
    )
    assert half.json()["status"] == "Success", half.text
    await ct.container.engine.settle()
    assert await positions(ct) == [(ES, "Long", 1)]  # 34 % of 2 rounds up to 1
    atm = await send(ct, hook, "key=KEY; command=CLOSESTRATEGY; account=Sim101; strategy_id=ATM_1;")
    assert (atm.json()["status"], atm.json()["error"]) == ("Failed", "ATM_NOT_SUPPORTED")


async def test_max_positions_blocks_an_alert_that_would_open_one_more(ct, hook):
    await long_two(ct, hook)
    nq = (
        "key=KEY; command=PLACE; account=Sim101; instrument=NQ 12-26;"
        " action=BUY; qty=1; order_type=MARKET; tif=DAY; max_positions=1;"
    )
    answer = await send(ct, hook, nq)
    assert (answer.json()["status"], answer.json()["error"]) == ("Blocked", "MAX_POSITIONS_REACHED")


async def test_an_unknown_instrument_or_account_fails_and_another_users_reads_as_unknown(ct, hook):
    unknown_instrument = await send(ct, hook, PLACE.replace("ES 12-26", "ZZ 01-30"))
    assert (unknown_instrument.json()["status"], unknown_instrument.json()["error"]) == (
        "Failed",
        "INSTRUMENT_NOT_FOUND",
    )
    foreign = await send(ct, hook, PLACE.replace("Sim101", "Other"))
    unknown = await send(ct, hook, PLACE.replace("Sim101", "Nope1"))
    assert (foreign.json()["error"], unknown.json()["error"]) == ("ACCOUNT_NOT_FOUND",) * 2
    assert foreign.json()["detail"].replace("Other", "X") == unknown.json()["detail"].replace(
        "Nope1", "X"
    )
    assert await orders(ct) == []


FIELD_NAMES = [
    "command",
    "account",
    "instrument",
    "action",
    "qty",
    "order_type",
    "tif",
    "limit_price",
    "stop_price",
    "take_profit",
    "stop_loss",
    "order_id",
    "delay",
    "percent",
    "quantity",
    "market_position",
    "start_time",
    "rate_limit",
    "id",
    "kill_switch",
    "flatten_first",
    "cancel_after",
    "max_positions",
]
VALUES = [
    "PLACE",
    "CANCELALLORDERS",
    "FLATTEN",
    "Sim101",
    "Other",
    "ES 12-26",
    "ES1!",
    "BUY",
    "SELL",
    "1",
    "0",
    "-3",
    "1.5",
    "MARKET",
    "LIMIT",
    "DAY",
    "5990",
    "-8 ticks",
    "+2%",
    "on",
    "true",
    "short",
    "09:30",
    "2/60",
    "x",
    "",
    "\u00e9",
    "1e9",
]


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    fields=st.lists(st.tuples(st.sampled_from(FIELD_NAMES), st.sampled_from(VALUES)), max_size=9),
    tail=st.text(max_size=20),
)
async def test_no_alert_a_holder_of_the_key_sends_gets_a_500(ct, hook, fields, tail):
    payload = "key=KEY; " + " ".join(f"{n}={v};" for n, v in fields) + tail
    answer = await send(ct, hook, payload)
    assert answer.status_code in (200, 400), answer.text
    assert answer.json()["success"] in (True, False)


async def test_a_disabled_user_s_alerts_are_refused_like_a_strangers(ct, hook):
    from sqlalchemy import update

    from ordergate.store.tables import users

    async with ct.container.store.transaction() as tx:  # as another process would
        await tx.connection.execute(
            update(users).where(users.c.name == "demo").values(enabled=False)
        )
        await tx.commit()
    assert await ct.container.access.check()
    answer = await send(ct, hook, PLACE)
    assert answer.status_code == 401
    assert list(ct.container.engine.state.all_open()) == []
    assert await history(ct) == []
