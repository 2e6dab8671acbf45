"""The admin client and send_alert against a real server."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import uvicorn

from ordergate.api.app import create_app
from ordergate.client import (
    AdminClient,
    AdminError,
    AsyncAdminClient,
    CrossTradeError,
    quote,
    send_alert,
)
from ordergate.reset import reset_demo
from ordergate.settings import Settings
from ordergate.store import sqlite_url
from tests.api.crosstrade.conftest import free_port
from tests.conformance import conformance_hook

D = Decimal
ES = "ES 03-26"


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


def test_venue_faults_are_set_read_and_cleared(sandbox):
    admin, ct = sandbox.admin, sandbox.crosstrade
    assert admin.faults()["symbols"] == {}

    closed = admin.set_faults(ES, market_closed=True, ack_delay_ms=100)

    assert closed["symbols"][ES]["market_closed"] is True
    assert closed["symbols"][ES]["ack_delay_ms"] == 100
    with pytest.raises(CrossTradeError) as refused:
        ct.place_order("Sim101", "ES", "Buy", 1, "Limit", limit_price=5990)
    assert refused.value.code == "MARKET_CLOSED"
    assert admin.set_faults(cancel_refusal_pct=25)["venue"]["cancel_refusal_pct"] == 25
    assert admin.clear_faults(ES)["symbols"] == {}
    assert ct.place_order("Sim101", "ES", "Buy", 1, "Limit", limit_price=5990)["success"]
    assert admin.clear_faults()["venue"]["cancel_refusal_pct"] == 0


def test_bad_faults_raise_admin_errors_and_change_nothing(sandbox):
    admin = sandbox.admin
    before = admin.faults()
    with pytest.raises(AdminError) as out_of_range:
        admin.set_faults(cancel_refusal_pct=101)
    assert (out_of_range.value.status, out_of_range.value.code) == (400, "INVALID_INPUT")
    with pytest.raises(AdminError) as unknown:
        admin.set_faults("NOPE", market_closed=True)
    assert (unknown.value.status, unknown.value.code) == (404, "INSTRUMENT_NOT_FOUND")
    assert admin.faults() == before


def test_tokens_users_and_accounts_are_administered(sandbox):
    admin, ct = sandbox.admin, sandbox.crosstrade
    spare = sandbox.new_token(label="spare")
    (listed,) = [t for t in admin.tokens(user="demo")["tokens"] if t["label"] == "spare"]
    assert spare not in str(admin.tokens())

    assert admin.revoke_token(listed["id"])["revoked_at"] is not None
    assert listed["id"] not in {t["id"] for t in admin.tokens()["tokens"]}
    assert listed["id"] in {t["id"] for t in admin.tokens(revoked=True)["tokens"]}
    assert {u["name"] for u in admin.users()["users"]} == {"admin", "demo", "desk"}
    assert admin.disable_user("demo") == {"name": "demo", "enabled": False}
    with pytest.raises(CrossTradeError) as disabled:
        ct.list_accounts()
    assert disabled.value.status == 401
    assert admin.enable_user("demo")["enabled"] is True
    assert admin.disable_account("Sim102") == {"login": 1002, "enabled": False}
    states = {a["name"]: a["enabled"] for a in admin.accounts()["accounts"]}
    assert states == {"Sim101": True, "Sim102": False}
    assert admin.enable_account(1002) == {"login": 1002, "enabled": True}
    with pytest.raises(AdminError) as nobody:
        admin.disable_user("nobody")
    assert (nobody.value.status, nobody.value.code) == (404, "USER_NOT_FOUND")


def test_a_server_that_did_not_build_its_engine_refuses_a_reset(sandbox):
    with pytest.raises(AdminError) as refused:
        sandbox.admin.reset()
    assert (refused.value.status, refused.value.code) == (409, "CONFLICT")


def checked(base_url: str, token: str) -> AsyncAdminClient:
    """An async admin client whose every answer is held against its documented schema."""
    http = httpx.AsyncClient(base_url=base_url, event_hooks={"response": [conformance_hook]})
    return AsyncAdminClient(base_url, token, http=http)


async def test_the_async_client_administers_the_same_server(sandbox):
    async with checked(sandbox.base_url, sandbox.admin_token) as admin:
        changed = await admin.set_faults(ES, partial_fills=True)
        assert changed["symbols"][ES]["partial_fills"] is True
        assert (await admin.faults()) == changed
        assert (await admin.clear_faults())["symbols"] == {}
        assert "demo" in {t["user"] for t in (await admin.tokens())["tokens"]}
        assert (await admin.disable_account("Sim101"))["enabled"] is False
        assert (await admin.enable_account("Sim101"))["enabled"] is True
        assert len((await admin.users())["users"]) == 3
        with pytest.raises(AdminError) as unknown:
            await admin.clear_faults("NOPE")
        assert unknown.value.status == 404


async def test_a_reset_gives_the_client_a_fresh_demo_and_new_tokens(tmp_path: Path) -> None:
    settings = Settings(database_url=sqlite_url(str(tmp_path / "reset.db")), market_source="none")
    old_admin = (await reset_demo(settings))["admin_token"]
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=free_port(), log_level="warning"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    base_url = f"http://127.0.0.1:{config.port}"
    try:
        async with checked(base_url, old_admin) as admin:
            fresh = await admin.reset()
            assert fresh["added"]["users"] == ["admin", "demo", "desk"]
            with pytest.raises(AdminError) as gone:
                await admin.users()
            assert gone.value.status == 401
        async with checked(base_url, fresh["admin_token"]) as admin:
            assert {u["name"] for u in (await admin.users())["users"]} == {"admin", "demo", "desk"}
    finally:
        server.should_exit = True
        await serving
