"""The ``ordergate`` command on a SQLite file: init, the demo data, and administration."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shlex
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
from typer.testing import CliRunner, Result

from ordergate.api.crosstrade.instruments import resolve_instrument
from ordergate.bootstrap import administration, bootstrap, close_administration, shutdown
from ordergate.cli import app
from ordergate.demo import demo_orders, seed_demo
from ordergate.domain.clock import ManualClock
from ordergate.domain.contracts import front_months, parse_contract
from ordergate.domain.errors import AuthError
from ordergate.domain.orders import OrderStatus
from ordergate.domain.principal import Principal, Role
from ordergate.engine import queries
from ordergate.settings import Settings

#: The demo's orders change contracts with the date, not in number: any date counts them.
SIM101_ORDERS = sum(1 for cmd in demo_orders(date(2027, 1, 4)) if cmd.account == 1001)


@pytest.fixture
def fresh(tmp_path: Path) -> str:
    """Where a database may be made (nothing there yet)."""
    return str(tmp_path / "cli.db")


@pytest.fixture
def db(fresh: str) -> str:
    """A database ``ordergate init`` made (the other commands need one)."""
    result = CliRunner().invoke(app, ["init", "--db", fresh])
    assert result.exit_code == 0, result.output
    return fresh


def ordergate(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def ok_json(*args: str) -> Any:
    result = ordergate(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def refused(*args: str) -> str:
    """The one-line refusal of a command that must fail cleanly."""
    result = ordergate(*args)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


async def _authenticate(db: str, token: str) -> tuple[Principal, list[OrderStatus]]:
    container = await bootstrap(Settings(database_url=f"sqlite:///{db}"))
    try:
        principal = await container.users.authenticate_token(token)
        orders = await queries.open_orders(container.engine, principal, "Sim101")
        account = await container.users.verify_account_password(1002, "Sim102pass")
        assert account is not None
        assert account.name == "Sim102"
        return principal, [o.status for o in orders]
    finally:
        await shutdown(container)


def authenticate(db: str, token: str) -> tuple[Principal, list[OrderStatus]]:
    return asyncio.run(_authenticate(db, token))


def test_init_demo_prints_a_token_that_authenticates_the_demo_user(fresh: str) -> None:
    out = ok_json("init", "--demo", "--db", fresh)
    assert out["created"] is True
    assert out["demo"]["added"]["users"] == ["admin", "demo", "desk"]
    assert out["demo"]["added"]["accounts"] == ["Sim101", "Sim102"]
    assert out["demo"]["added"]["orders"] > 0
    assert {"name": "Sim101", "login": 1001, "password": "Sim101pass"} in out["demo"]["accounts"]
    assert {"name": "desk (manager)", "login": 900, "password": "Desk900pass"} in out["demo"][
        "accounts"
    ]

    principal, statuses = authenticate(fresh, out["demo"]["token"])
    assert (principal.name, principal.role) == ("demo", Role.TRADER)
    # Resting whatever the day: the demo orders do not depend on the market being open.
    assert statuses
    assert set(statuses) <= {OrderStatus.WORKING, OrderStatus.ACCEPTED}


def test_init_demo_lists_the_futures_contracts_live_today(fresh: str) -> None:
    before = datetime.now(UTC).date()
    out = ok_json("init", "--demo", "--db", fresh)
    after = datetime.now(UTC).date()  # init may run across midnight: either day's will do
    futures = sorted(s for s in out["demo"]["added"]["instruments"] if parse_contract(s))
    assert futures in (_live_futures(before), _live_futures(after))
    for symbol in futures:
        contract = parse_contract(symbol)
        assert contract is not None
        assert contract[1].is_live(before)


def _live_futures(today: date) -> list[str]:
    return sorted(m.symbol(root) for root in ("ES", "MES", "NQ") for m in front_months(today))


async def _seed_on(db: str, now: datetime) -> tuple[list[str], list[str], str]:
    """Seed the demo with an administration whose clock reads ``now``; the instruments, the
    symbols of Sim101's open orders and what ``ES1!`` names, as a server at ``now`` sees them."""
    settings = Settings(database_url=f"sqlite:///{db}")
    admin = dataclasses.replace(await administration(settings), clock=ManualClock(now))
    try:
        seeded = await seed_demo(admin)
    finally:
        await close_administration(admin)
    container = await bootstrap(settings, clock=ManualClock(now))
    try:
        principal = await container.users.principal_for_user(
            (await container.users.get_user("demo")).id
        )
        orders = await queries.open_orders(container.engine, principal, "Sim101")
        front = resolve_instrument("ES1!", container.market.instruments(), now)
        return list(seeded.instruments), sorted({o.symbol for o in orders}), front
    finally:
        await shutdown(container)


def test_init_demo_takes_its_contracts_from_the_clock_date(fresh: str) -> None:
    # The day after the March 2027 contracts' third Friday: June and September are live.
    instruments, ordered, front = asyncio.run(_seed_on(fresh, datetime(2027, 3, 20, 9, tzinfo=UTC)))
    assert instruments[:6] == [
        "ES 06-27",
        "ES 09-27",
        "MES 06-27",
        "MES 09-27",
        "NQ 06-27",
        "NQ 09-27",
    ]
    assert ordered == ["ES 06-27", "ES 09-27", "EURUSD", "MES 06-27", "NQ 06-27"]
    assert front == "ES 06-27"


def test_init_text_output_shows_the_token_and_the_demo_logins(fresh: str) -> None:
    result = ordergate("init", "--demo", "--db", fresh)
    assert result.exit_code == 0, result.output
    assert "og_" in result.stdout
    assert "Sim101: 1001 / Sim101pass" in result.stdout


def test_init_if_new_twice_reuses_the_database_and_prints_a_fresh_token(fresh: str) -> None:
    first = ok_json("init", "--demo", "--if-new", "--db", fresh)
    again = ok_json("init", "--demo", "--if-new", "--db", fresh)
    assert again["created"] is False
    assert again["demo"]["added"] == {"instruments": [], "users": [], "accounts": [], "orders": 0}
    assert again["demo"]["token"] != first["demo"]["token"]
    for token in (first["demo"]["token"], again["demo"]["token"]):
        principal, statuses = authenticate(fresh, token)
        assert principal.name == "demo"
        assert len(statuses) == SIM101_ORDERS  # not seeded twice


def test_init_without_if_new_refuses_an_existing_database(fresh: str) -> None:
    ok_json("init", "--db", fresh)
    message = refused("init", "--db", fresh)
    assert "already initialised" in message
    assert "--if-new" in message


def test_administration_commands_print_parseable_json(db: str) -> None:
    user = ok_json(
        *shlex.split("user add alice --role manager --group desk --login 910 --password desk-pw"),
        "--db",
        db,
    )
    assert user == {
        "id": user["id"],
        "name": "alice",
        "login": 910,
        "role": "manager",
        "groups": ["desk"],
        "enabled": True,
    }
    acct = ok_json(
        *shlex.split(
            "account add --login 5001 --name Alice1 --owner alice --group desk "
            "--password secret-pw --balance 250000.50 --mode hedging --leverage 50 --currency eur"
        ),
        "--db",
        db,
    )
    assert acct["balance"] == "250000.50"
    assert acct["currency"] == "EUR"
    assert (acct["mode"], acct["leverage"], acct["password_set"]) == ("hedging", 50, True)
    token = ok_json("token", "create", "alice", "--label", "bot", "--db", db)
    assert token["token"].startswith("og_")
    assert token["label"] == "bot"
    inst = ok_json(
        *shlex.split(
            "instrument add 'CL 01-27' --tick-size 0.01 --point-value 1000 --digits 2 "
            "--lot-min 1 --lot-max 100 --lot-step 1 --description 'Crude oil' "
            "--session '6,0-3 23:00-22:00'"
        ),
        "--db",
        db,
    )
    assert inst["tick_size"] == "0.01"
    assert inst["point_value"] == "1000"
    assert inst["sessions"] == [{"days": [0, 1, 2, 3, 6], "start": "23:00", "end": "22:00"}]


def test_token_create_prints_only_the_token_on_stdout(db: str) -> None:
    ok_json("user", "add", "bob", "--role", "trader", "--db", db)
    result = ordergate("token", "create", "bob", "--db", db)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("og_")
    assert len(result.stdout.split()) == 1


def test_a_duplicate_user_is_refused_with_a_clear_message(db: str) -> None:
    ok_json("user", "add", "carol", "--role", "trader", "--db", db)
    assert refused("user", "add", "carol", "--role", "admin", "--db", db) == (
        "error: a user named carol exists"
    )


def test_refusals_are_json_with_json(db: str) -> None:
    ok_json("user", "add", "dave", "--role", "trader", "--db", db)
    result = ordergate("user", "add", "dave", "--role", "trader", "--db", db, "--json")
    assert result.exit_code == 1
    assert json.loads(result.stderr) == {
        "error": "ALREADY_EXISTS",
        "message": "a user named dave exists",
    }


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--tick-size", "abc", "--tick-size is not a number: 'abc'"),
        ("--lot-step", "1e999999", "--lot-step"),
        ("--point-value", "0.000000001", "more than 8 decimal places"),
        ("--lot-max", "99999999999", "--lot-max is too large"),
    ],
)
def test_a_bad_decimal_is_refused_clearly(db: str, option: str, value: str, expected: str) -> None:
    args = {
        "--tick-size": "0.25",
        "--point-value": "50",
        "--lot-min": "1",
        "--lot-max": "10",
        "--lot-step": "1",
    }
    args[option] = value
    flat = [part for pair in args.items() for part in pair]
    message = refused("instrument", "add", "ES 03-27", "--digits", "2", *flat, "--db", db)
    assert message.startswith("error: ")
    assert expected in message


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("account add --login 7 --name X7 --owner nobody", "no user named nobody"),
        ("account add --login 7 --name X7 --owner erin --balance -5", "must not be negative"),
        ("account add --login 7 --name X7 --owner erin --password 123", "6 to 64 characters"),
        ("account add --login 7 --name X7 --owner erin --currency dollars", "three-letter"),
        ("token create nobody", "no user named nobody"),
        (
            "instrument add X --tick-size 1 --point-value 1 --digits 0 --lot-min 1 --lot-max 1 "
            "--lot-step 1 --session 'mon 9-5'",
            "--session must look like",
        ),
        (
            "instrument add X --tick-size 1 --point-value 1 --digits 0 --lot-min 1 --lot-max 1 "
            "--lot-step 1 --session '0-4 25:00-22:00'",
            "bad session time",
        ),
    ],
)
def test_other_refusals_are_one_clear_line(db: str, command: str, expected: str) -> None:
    ok_json("user", "add", "erin", "--role", "trader", "--db", db)
    assert expected in refused(*shlex.split(command), "--db", db)


def test_a_bad_database_url_is_refused_clearly() -> None:
    assert "bad database URL" in refused(
        "user", "add", "x", "--role", "admin", "--db", "mysql://h/db"
    )


def test_a_database_in_a_missing_directory_is_refused_clearly(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    assert f"no directory {missing}" in refused("init", "--db", str(missing / "x.db"))


def test_a_database_that_does_not_answer_is_refused_clearly() -> None:
    # Port 1 on localhost: nothing listens there, the connection is refused at once.
    message = refused("init", "--db", "postgresql://ordergate@127.0.0.1:1/ordergate")
    assert message.startswith("error: database error: ")


async def _access(db: str, token: str, login: int) -> tuple[bool, bool]:
    """Whether ``token`` authenticates, and whether account ``login`` is enabled, as a
    server on ``db`` sees them."""
    container = await bootstrap(Settings(database_url=f"sqlite:///{db}"))
    try:
        try:
            await container.users.authenticate_token(token)
            authenticated = True
        except AuthError:
            authenticated = False
        account = container.engine.state.account(login)
        assert account is not None
        return authenticated, account.enabled
    finally:
        await shutdown(container)


def test_users_and_accounts_are_disabled_and_enabled_again(db: str) -> None:
    ok_json("user", "add", "carol", "--role", "trader", "--db", db)
    ok_json(*shlex.split("account add --login 5002 --name Carol1 --owner carol"), "--db", db)
    token = ok_json("token", "create", "carol", "--db", db)["token"]

    assert ok_json("user", "disable", "carol", "--db", db) == {"name": "carol", "enabled": False}
    assert ok_json("account", "disable", "carol1", "--db", db) == {"login": 5002, "enabled": False}
    assert asyncio.run(_access(db, token, 5002)) == (False, False)

    assert ok_json("user", "enable", "carol", "--db", db)["enabled"] is True
    assert ok_json("account", "enable", "5002", "--db", db) == {"login": 5002, "enabled": True}
    assert asyncio.run(_access(db, token, 5002)) == (True, True)

    assert "no user named nobody" in refused("user", "disable", "nobody", "--db", db)
    assert "account Nope not found" in refused("account", "disable", "Nope", "--db", db)


def test_webhook_url_is_made_once_and_printed_alone_on_stdout(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERGATE_HOST", "127.0.0.1")
    monkeypatch.setenv("ORDERGATE_PORT", "8123")
    ok_json("user", "add", "frank", "--role", "trader", "--db", db)

    out = ok_json("webhook", "url", "frank", "--db", db)

    assert out == {"url": f"http://127.0.0.1:8123/v1/send/{out['webhookId']}", "webhookId": ANY}
    assert out["webhookId"].startswith("wh_")
    result = ordergate("webhook", "url", "frank", "--db", db)
    assert result.exit_code == 0, result.output
    assert result.stdout == out["url"] + "\n"
    at = ok_json("webhook", "url", "frank", "--base-url", "https://og.example.com/", "--db", db)
    assert at["url"] == f"https://og.example.com/v1/send/{out['webhookId']}"


def test_webhook_rotate_prints_a_new_url_and_the_old_one_is_gone(db: str) -> None:
    ok_json("user", "add", "gina", "--role", "trader", "--db", db)
    old = ok_json("webhook", "url", "gina", "--db", db)["webhookId"]

    rotated = ordergate("webhook", "rotate", "gina", "--base-url", "https://h", "--db", db)

    assert rotated.exit_code == 0, rotated.output
    new = rotated.stdout.strip().removeprefix("https://h/v1/send/")
    assert new.startswith("wh_")
    assert new != old
    assert ok_json("webhook", "url", "gina", "--db", db)["webhookId"] == new
    assert ok_json("webhook", "rotate", "gina", "--db", db)["webhookId"] not in (old, new)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("webhook url nobody", "error: no user named nobody"),
        ("webhook rotate nobody", "error: no user named nobody"),
        ("webhook url hank --base-url og.example.com", "error: --base-url must be an http"),
    ],
)
def test_webhook_refusals_are_one_clear_line(db: str, command: str, expected: str) -> None:
    ok_json("user", "add", "hank", "--role", "trader", "--db", db)
    assert refused(*shlex.split(command), "--db", db).startswith(expected)
