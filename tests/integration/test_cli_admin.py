"""``ordergate token|user|account list``, ``token revoke`` and ``reset`` on a SQLite file, and
the refusal of every command but ``init`` to make a database."""

from __future__ import annotations

import asyncio
import json
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ordergate.bootstrap import administration, close_administration
from ordergate.cli import app
from ordergate.domain.errors import AuthError
from ordergate.settings import Settings
from ordergate.store import open_journal
from tests.integration.test_cli import ok_json, ordergate, refused


@pytest.fixture
def fresh(tmp_path: Path) -> str:
    """Where a database may be made (nothing there yet)."""
    return str(tmp_path / "cli.db")


@pytest.fixture
def db(fresh: str) -> str:
    """A database ``ordergate init`` made."""
    ok_json("init", "--db", fresh)
    return fresh


@pytest.mark.parametrize(
    "command",
    [
        "serve",
        "user list",
        "user add x --role trader",
        "user disable demo",
        "account list",
        "account disable Sim101",
        "token create demo",
        "token list",
        "token revoke 1",
        "webhook url demo",
        "instrument add X --tick-size 1 --point-value 1 --digits 0 --lot-min 1 --lot-max 1 "
        "--lot-step 1",
        "reset --yes",
    ],
)
def test_every_command_but_init_refuses_to_make_a_database(fresh: str, command: str) -> None:
    message = refused(*shlex.split(command), "--db", fresh)

    assert message == (
        f"error: no ordergate database at sqlite:///{fresh}; "
        f"run: ordergate init --demo --db {fresh}"
    )
    assert not Path(fresh).exists()


def test_the_refusal_is_json_with_json_and_a_database_without_schema_counts_as_none(
    fresh: str,
) -> None:
    Path(fresh).touch()  # an empty file: SQLite opens it, but it holds no ordergate schema
    result = ordergate("token", "list", "--db", fresh, "--json")

    assert result.exit_code == 1
    assert json.loads(result.stderr)["error"] == "NO_DATABASE"


async def _authenticates(db: str, token: str) -> bool:
    admin = await administration(Settings(database_url=f"sqlite:///{db}"))
    try:
        await admin.users.authenticate_token(token)
    except AuthError:
        return False
    finally:
        await close_administration(admin)
    return True


def authenticates(db: str, token: str) -> bool:
    return asyncio.run(_authenticates(db, token))


def test_tokens_are_listed_without_their_values_and_revoked_by_id_or_by_value(db: str) -> None:
    ok_json("user", "add", "alice", "--role", "trader", "--db", db)
    bot = ok_json("token", "create", "alice", "--label", "bot", "--db", db)["token"]
    desk = ok_json("token", "create", "alice", "--label", "desk", "--db", db)["token"]

    listed = ok_json("token", "list", "alice", "--db", db)["tokens"]

    assert [(t["user"], t["label"], t["revoked_at"]) for t in listed] == [
        ("alice", "bot", None),
        ("alice", "desk", None),
    ]
    assert bot not in json.dumps(listed)
    revoked = ok_json("token", "revoke", str(listed[0]["id"]), "--db", db)
    assert (revoked["label"], revoked["revoked_at"] is not None) == ("bot", True)
    assert ok_json("token", "revoke", desk, "--db", db)["label"] == "desk"
    assert ok_json("token", "list", "--db", db)["tokens"] == []
    assert len(ok_json("token", "list", "--revoked", "--db", db)["tokens"]) == 2
    assert not authenticates(db, bot)
    assert not authenticates(db, desk)
    assert refused("token", "revoke", "999", "--db", db) == "error: token 999 not found"
    text = ordergate("token", "list", "--revoked", "--db", db)
    assert text.exit_code == 0
    assert text.stdout.splitlines()[0].split() == ["ID", "USER", "LABEL", "CREATED", "REVOKED"]


def test_users_and_accounts_are_listed_with_their_state(fresh: str) -> None:
    ok_json("init", "--demo", "--db", fresh)
    ok_json("account", "disable", "Sim102", "--db", fresh)

    users = ok_json("user", "list", "--db", fresh)["users"]
    accounts = ok_json("account", "list", "--db", fresh)["accounts"]

    assert [(u["name"], u["role"], u["login"]) for u in users] == [
        ("admin", "admin", None),
        ("demo", "trader", None),
        ("desk", "manager", 900),
    ]
    assert [(a["login"], a["name"], a["owner"], a["enabled"]) for a in accounts] == [
        (1001, "Sim101", "demo", True),
        (1002, "Sim102", "demo", False),
    ]
    text = ordergate("account", "list", "--db", fresh).stdout
    assert "Sim102" in text
    assert "no" in text.splitlines()[2].split()


def test_reset_asks_first_then_gives_back_a_fresh_demo(fresh: str) -> None:
    old = ok_json("init", "--demo", "--db", fresh)["demo"]["token"]
    ok_json("user", "add", "alice", "--role", "trader", "--db", fresh)

    declined = CliRunner().invoke(app, ["reset", "--db", fresh], input="n\n")
    assert declined.exit_code == 1
    assert "reset cancelled" in declined.stderr
    assert "alice" in {u["name"] for u in ok_json("user", "list", "--db", fresh)["users"]}

    out = ok_json("reset", "--yes", "--db", fresh)

    assert out["added"]["users"] == ["admin", "demo", "desk"]
    assert out["added"]["orders"] > 0
    names = {u["name"] for u in ok_json("user", "list", "--db", fresh)["users"]}
    assert names == {"admin", "demo", "desk"}
    assert not authenticates(fresh, old)
    assert authenticates(fresh, out["token"])
    assert authenticates(fresh, out["admin_token"])
    confirmed = CliRunner().invoke(app, ["reset", "--db", fresh], input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert "reset to a fresh demo" in confirmed.stdout


def test_reset_is_refused_while_a_server_writes_to_the_database(db: str) -> None:
    loop = asyncio.new_event_loop()
    journal = loop.run_until_complete(open_journal(f"sqlite:///{db}"))  # what a server holds
    try:
        message = refused("reset", "--yes", "--db", db)
    finally:
        loop.run_until_complete(journal.close())
        loop.close()
    assert "error:" in message
    assert ok_json("user", "list", "--db", db)["users"] == []
