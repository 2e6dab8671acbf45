"""The admin API's administration through a real uvicorn: tokens listed and revoked, users
and accounts listed, disabled and enabled, and a reset of a server back to a fresh demo."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from ordergate.api.app import create_app
from ordergate.bootstrap import shutdown
from ordergate.cli import app as cli
from ordergate.settings import Settings
from tests.api.crosstrade.conftest import Server, free_port, start
from tests.conformance import conformance_hook
from tests.wire import serving


@pytest.fixture
async def server(db_url: str, store: Any) -> AsyncIterator[Server]:
    built = await start(db_url)
    yield built
    await built.client.aclose()
    await shutdown(built.container)


@pytest.fixture
async def admin(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the server on uvicorn with the admin's token."""
    async with (
        serving(server, log_level="warning") as port,
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers=server.auth(server.admin_token),
            event_hooks={"response": [conformance_hook]},  # every answer fits its documentation
        ) as client,
    ):
        yield client


async def test_tokens_are_listed_without_values_and_revoked_by_id(
    server: Server, admin: httpx.AsyncClient
) -> None:
    listed = (await admin.get("/admin/tokens", params={"user": "demo"})).json()["tokens"]
    assert [t["user"] for t in listed] == ["demo"]
    assert server.token not in str(listed)

    revoked = await admin.post(f"/admin/tokens/{listed[0]['id']}/revoke")

    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    account = await admin.get("/v1/api/accounts", headers=server.auth())
    assert account.status_code == 401
    assert (await admin.get("/admin/tokens", params={"user": "demo"})).json()["tokens"] == []
    assert (await admin.post("/admin/tokens/9999/revoke")).status_code == 404


async def test_users_and_accounts_are_listed_disabled_and_enabled(
    server: Server, admin: httpx.AsyncClient
) -> None:
    users = (await admin.get("/admin/users")).json()["users"]
    assert [u["name"] for u in users] == ["demo", "other", "root"]

    disabled = await admin.post("/admin/users/other/disable")

    assert disabled.json() == {"name": "other", "enabled": False}
    refused = await admin.get("/v1/api/accounts", headers=server.auth(server.other_token))
    assert refused.status_code == 401
    assert (await admin.post("/admin/users/other/enable")).json()["enabled"] is True
    assert (await admin.post("/admin/accounts/sim102/disable")).json() == {
        "login": 1002,
        "enabled": False,
    }
    accounts = (await admin.get("/admin/accounts")).json()["accounts"]
    assert [(a["name"], a["owner"], a["enabled"]) for a in accounts] == [
        ("Sim101", "demo", True),
        ("Sim102", "demo", False),
        ("Other", "other", True),
    ]
    assert (await admin.post("/admin/users/nobody/disable")).status_code == 404


async def test_only_an_admin_may_administer(server: Server, admin: httpx.AsyncClient) -> None:
    for path in ("/admin/tokens", "/admin/users", "/admin/accounts"):
        assert (await admin.get(path, headers=server.auth())).status_code == 403
        assert (await admin.get(path, headers={"Authorization": ""})).status_code == 401


async def test_reset_needs_confirmation_and_a_server_that_built_its_engine(
    admin: httpx.AsyncClient,
) -> None:
    assert (await admin.post("/admin/reset")).status_code == 400
    assert (await admin.post("/admin/reset", params={"confirm": "true"})).status_code == 409


def _cli(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


@pytest.fixture
def demo(tmp_path: Path) -> tuple[str, str]:
    """A demo database with a user of its own: its path, and an admin's token."""
    db = str(tmp_path / "reset.db")
    _cli("init", "--demo", "--db", db)
    _cli("user", "add", "alice", "--role", "trader", "--db", db)
    return db, _cli("token", "create", "admin", "--db", db)


async def test_a_reset_gives_a_running_server_a_fresh_demo(demo: tuple[str, str]) -> None:
    db, old_admin = demo
    settings = Settings(database_url=f"sqlite:///{db}", market_source="none")
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=free_port(), log_level="warning"
    )
    running = uvicorn.Server(config)
    task = asyncio.create_task(running.serve())
    while not running.started:
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{config.port}", event_hooks={"response": [conformance_hook]}
        ) as client:
            auth = {"Authorization": f"Bearer {old_admin}"}
            before = (await client.get("/admin/users", headers=auth)).json()["users"]
            assert "alice" in {u["name"] for u in before}

            reset = await client.post("/admin/reset", params={"confirm": "true"}, headers=auth)

            assert reset.status_code == 200, reset.text
            fresh = reset.json()
            assert fresh["added"]["users"] == ["admin", "demo", "desk"]
            assert (await client.get("/admin/users", headers=auth)).status_code == 401
            auth = {"Authorization": f"Bearer {fresh['admin_token']}"}
            after = (await client.get("/admin/users", headers=auth)).json()["users"]
            assert {u["name"] for u in after} == {"admin", "demo", "desk"}
            demo = {"Authorization": f"Bearer {fresh['token']}"}
            orders = await client.get("/v1/api/accounts/Sim101/orders", headers=demo)
            assert orders.status_code == 200
            assert orders.json()["orders"]
    finally:
        running.should_exit = True
        await task
