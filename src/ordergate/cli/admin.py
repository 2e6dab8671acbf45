"""``ordergate user|account|token|instrument|webhook`` and ``ordergate reset``: administration
of the database.

Every command here needs a database that ``ordergate init`` made: on a missing one (or one
without ordergate's schema) it prints one line saying how to make it and exits with status
1, rather than making an empty one silently (``needs_database``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ParamSpec

import typer
from sqlalchemy import inspect

from ordergate.auth.access import set_account_enabled, set_user_enabled
from ordergate.auth.directory import list_accounts, list_tokens, revoke_token
from ordergate.auth.passwords import check_password, hash_password_async
from ordergate.auth.webhooks import Webhooks, webhook_url
from ordergate.cli.common import (
    AsJson,
    CliError,
    Db,
    emit,
    fail,
    load_settings,
    opened,
    parse_currency,
    parse_decimal,
    parse_session,
    run,
    session_json,
    session_text,
    shown_url,
)
from ordergate.domain.accounts import Account, PositionMode
from ordergate.domain.errors import InvalidInput
from ordergate.domain.ids import Login, UserId
from ordergate.domain.instruments import Instrument
from ordergate.domain.principal import Role
from ordergate.settings import Settings
from ordergate.store import create_engine, normalize_url

__all__ = [
    "NoDatabase",
    "account_app",
    "database_exists",
    "instrument_app",
    "needs_database",
    "reset",
    "token_app",
    "user_app",
    "webhook_app",
]

P = ParamSpec("P")

user_app = typer.Typer(help="Users: people and API clients.", no_args_is_help=True)
account_app = typer.Typer(help="Trading accounts.", no_args_is_help=True)
token_app = typer.Typer(help="CrossTrade bearer tokens.", no_args_is_help=True)
instrument_app = typer.Typer(help="Tradable instruments.", no_args_is_help=True)
webhook_app = typer.Typer(help="CrossTrade webhook URLs of users.", no_args_is_help=True)


async def database_exists(url: str) -> bool:
    """Whether ``url`` holds ordergate's schema, found without creating anything (SQLite
    makes a file by connecting to it, so a missing file is answered first)."""
    parsed = normalize_url(url)
    file = parsed.database if parsed.drivername.startswith("sqlite") else None
    if file is not None and (file in ("", ":memory:") or not Path(file).is_file()):
        return False
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            found = await conn.run_sync(lambda c: inspect(c).has_table("alembic_version"))
            return bool(found)
    finally:
        await engine.dispose()


class NoDatabase(CliError):
    """The command's database does not exist (or has no ordergate schema)."""

    code = "NO_DATABASE"


async def _require_database(settings: Settings) -> None:
    if await database_exists(settings.database_url):
        return
    parsed = normalize_url(settings.database_url)
    sqlite = parsed.drivername.startswith("sqlite") and parsed.database
    where = parsed.database if sqlite else shown_url(settings.database_url)
    raise NoDatabase(
        f"no ordergate database at {shown_url(settings.database_url)}; "
        f"run: ordergate init --demo --db {where}"
    )


def needs_database(command: Callable[P, None]) -> Callable[P, None]:
    """``command`` (which takes ``db`` and ``as_json``), refused in one line when its
    database does not exist yet."""

    @functools.wraps(command)
    def checked(*args: P.args, **kwargs: P.kwargs) -> None:
        db, as_json = kwargs.get("db"), bool(kwargs.get("as_json"))
        try:
            settings = load_settings(db if isinstance(db, str) else None)
        except CliError as exc:
            fail(as_json, exc.code, str(exc))
        run(as_json, lambda: _require_database(settings))
        command(*args, **kwargs)

    return checked


_MAX_DESCRIPTION = 128  # the column's width


@user_app.command("add")
@needs_database
def user_add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="User name (A-Z a-z 0-9 _ . @ -).")],
    role: Annotated[Role, typer.Option(case_sensitive=False, help="trader, manager or admin.")],
    group: Annotated[
        list[str] | None,
        typer.Option("--group", metavar="GROUP", help="A group (repeat for several)."),
    ] = None,
    password: Annotated[
        str | None, typer.Option(help="Password for a manager's or admin's ScaleTrade sign-in.")
    ] = None,
    login: Annotated[
        int | None,
        typer.Option(help="Integer login a manager or admin signs in to ScaleTrade with."),
    ] = None,
    db: Db = None,
    as_json: AsJson = False,
) -> None:
    """Add a user."""

    async def work() -> dict[str, Any]:
        async with opened(load_settings(db)) as c:
            user = await c.users.add_user(name, role, group or (), password, login)
        return {
            "id": user.id,
            "name": user.name,
            "login": user.login,
            "role": user.role.value,
            "groups": sorted(user.groups),
            "enabled": user.enabled,
        }

    out = run(as_json, work)
    groups = ", ".join(out["groups"]) or "none"
    emit(
        as_json, out, f"added user {out['name']} (id {out['id']}, {out['role']}, groups: {groups})"
    )


@account_app.command("add")
@needs_database
def account_add(
    login: Annotated[int, typer.Option(help="Integer login (ScaleTrade).")],
    name: Annotated[str, typer.Option(help="Unique, case-insensitive name (CrossTrade).")],
    owner: Annotated[str, typer.Option(help="Name of the owning user.")],
    group: Annotated[str, typer.Option(help="Group; managers of it may act.")] = "default",
    password: Annotated[
        str | None, typer.Option(help="ScaleTrade sign-in password (6-64 characters).")
    ] = None,
    balance: Annotated[
        str, typer.Option(metavar="DECIMAL", help="Opening balance (decimal).")
    ] = "100000",
    mode: Annotated[PositionMode, typer.Option(case_sensitive=False)] = PositionMode.NETTING,
    leverage: Annotated[int, typer.Option(help="1..1000.")] = 100,
    currency: Annotated[str, typer.Option(help="Three-letter currency code.")] = "USD",
    db: Db = None,
    as_json: AsJson = False,
) -> None:
    """Add a trading account owned by a user."""

    async def work() -> dict[str, Any]:
        account_balance = parse_decimal(balance, "--balance")
        if account_balance < 0:
            raise InvalidInput("--balance must not be negative")
        account_currency = parse_currency(currency)
        password_hash = None
        if password is not None:
            check_password(password)
            password_hash = await hash_password_async(password)
        async with opened(load_settings(db)) as c:
            user = await c.users.get_user(owner)
            account = Account(
                login=Login(login),
                name=name,
                owner_id=UserId(user.id),
                group=group,
                currency=account_currency,
                balance=account_balance,
                leverage=leverage,
                mode=mode,
            )
            async with c.store.transaction() as tx:
                await tx.accounts.add(account, password_hash)
                await tx.commit()
        return {
            "login": account.login,
            "name": account.name,
            "owner": owner,
            "group": account.group,
            "currency": account.currency,
            "balance": str(account.balance),
            "leverage": account.leverage,
            "mode": account.mode.value,
            "password_set": password_hash is not None,
        }

    out = run(as_json, work)
    emit(
        as_json,
        out,
        f"added account {out['name']} (login {out['login']}, owner {owner}, group {out['group']}, "
        f"{out['balance']} {out['currency']}, 1:{out['leverage']}, {out['mode']})",
    )


def _set_user(name: str, enabled: bool, db: str | None, as_json: bool) -> None:
    async def work() -> dict[str, Any]:
        async with opened(load_settings(db)) as c:
            user = await set_user_enabled(c.users, name, enabled)
        return {"name": user.name, "enabled": user.enabled}

    out = run(as_json, work)
    emit(as_json, out, f"user {out['name']} {'enabled' if enabled else 'disabled'}")


@user_app.command("disable")
@needs_database
def user_disable(
    name: Annotated[str, typer.Argument(metavar="NAME", help="User name.")],
    db: Db = None,
    as_json: AsJson = False,
) -> None:
    """Disable a user: its tokens, sessions (those of the accounts it owns too), sign-in
    and open WebSockets stop within about a second, also on a running server."""
    _set_user(name, False, db, as_json)


@user_app.command("enable")
@needs_database
def user_enable(
    name: Annotated[str, typer.Argument(metavar="NAME", help="User name.")],
    db: Db = None,
    as_json: AsJson = False,
) -> None:
    """Enable a disabled user again (its tokens work again; sessions must sign in anew)."""
    _set_user(name, True, db, as_json)


def _set_account(ref: str, enabled: bool, db: str | None, as_json: bool) -> None:
    async def work() -> dict[str, Any]:
        async with opened(load_settings(db)) as c:
            login = await set_account_enabled(c.users, ref, enabled)
        return {"login": login, "enabled": enabled}

    out = run(as_json, work)
    emit(as_json, out, f"account {out['login']} {'enabled' if enabled else 'disabled'}")


_ACCOUNT_REF = Annotated[str, typer.Argument(metavar="ACCOUNT", help="Login or name.")]


@account_app.command("disable")
@needs_database
def account_disable(ref: _ACCOUNT_REF, db: Db = None, as_json: AsJson = False) -> None:
    """Disable an account: it signs in no more and takes no new orders, changes or closes
    (cancelling stays open), within about a second, also on a running server."""
    _set_account(ref, False, db, as_json)


@account_app.command("enable")
@needs_database
def account_enable(ref: _ACCOUNT_REF, db: Db = None, as_json: AsJson = False) -> None:
    """Enable a disabled account again."""
    _set_account(ref, True, db, as_json)


@token_app.command("create")
@needs_database
def token_create(
    user: Annotated[str, typer.Argument(metavar="USER", help="User name.")],
    label: Annotated[str, typer.Option(help="What the token is for.")] = "",
    db: Db = None,
    as_json: AsJson = False,
) -> None:
    """Create a bearer token for a user. It is printed once and stored only as a hash."""

    async def work() -> str:
        async with opened(load_settings(db)) as c:
            return await c.users.create_token(user, label)

    token = run(as_json, work)
    if not as_json:
        typer.echo(f"new token for {user} (shown once; keep it):", err=True)
    # The token alone on stdout, so that TOKEN=$(ordergate token create demo) works.
    emit(as_json, {"user": user, "label": label, "token": token}, token)


@instrument_app.command("add")
@needs_database
def instrument_add(
    symbol: Annotated[
        str, typer.Argument(metavar="SYMBOL", help="Symbol, e.g. 'ES 03-27' or EURUSD.")
    ],
    tick_size: Annotated[str, typer.Option(metavar="DECIMAL", help="Price increment (decimal).")],
    point_value: Annotated[
        str, typer.Option(metavar="DECIMAL", help="Currency value of a 1.0 price move per lot.")
    ],
    digits: Annotated[int, typer.Option(help="Price decimals shown (0..8).")],
    lot_min: Annotated[str, typer.Option(metavar="DECIMAL", help="Smallest quantity.")],
    lot_max: Annotated[str, typer.Option(metavar="DECIMAL", help="Largest quantity.")],
    lot_step: Annotated[str, typer.Option(metavar="DECIMAL", help="Quantity increment.")],
    currency: Annotated[str, typer.Option(help="Three-letter currency code.")] = "USD",
    description: Annotated[str, typer.Option(help="Free text.")] = "",
    session: Annotated[
        list[str] | None,
        typer.Option(
            metavar="'DAYS HH:MM-HH:MM'",
            help="Trading window in UTC, 'DAYS HH:MM-HH:MM' with Python weekdays (0 = Monday); "
            "end before start runs overnight. Repeat for several; none = always open.",
        ),
    ] = None,
    db: Db = None,
    as_json: AsJson = False,
) -> None:
    """Add an instrument."""

    async def work() -> Instrument:
        if len(description) > _MAX_DESCRIPTION:
            raise InvalidInput(f"--description must be at most {_MAX_DESCRIPTION} characters")
        instrument = Instrument(
            symbol=symbol.strip(),
            tick_size=parse_decimal(tick_size, "--tick-size"),
            point_value=parse_decimal(point_value, "--point-value"),
            digits=digits,
            lot_min=parse_decimal(lot_min, "--lot-min"),
            lot_max=parse_decimal(lot_max, "--lot-max"),
            lot_step=parse_decimal(lot_step, "--lot-step"),
            currency=parse_currency(currency),
            description=description,
            sessions=tuple(parse_session(s) for s in session or ()),
        )
        async with opened(load_settings(db)) as c, c.store.transaction() as tx:
            await tx.accounts.add_instrument(instrument)
            await tx.commit()
        return instrument

    i = run(as_json, work)
    out = {
        "symbol": i.symbol,
        "tick_size": i.tick_size,
        "point_value": i.point_value,
        "digits": i.digits,
        "lot_min": i.lot_min,
        "lot_max": i.lot_max,
        "lot_step": i.lot_step,
        "currency": i.currency,
        "description": i.description,
        "sessions": [session_json(s) for s in i.sessions],
    }
    sessions = "; ".join(session_text(s) for s in i.sessions) or "always open"
    emit(
        as_json,
        out,
        f"added instrument {i.symbol} (tick {i.tick_size}, point value {i.point_value}, "
        f"lots {i.lot_min}..{i.lot_max} step {i.lot_step}, sessions: {sessions})",
    )


_WEBHOOK_USER = Annotated[str, typer.Argument(metavar="USER", help="User name.")]
_BASE_URL = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        metavar="URL",
        help="Where senders reach the server, e.g. https://og.example.com "
        "(default: http://ORDERGATE_HOST:ORDERGATE_PORT, as serve prints it).",
        show_default=False,
    ),
]


def _webhook(user: str, rotate: bool, base_url: str | None, db: str | None, as_json: bool) -> None:
    async def work() -> dict[str, str]:
        settings = load_settings(db)
        base = f"http://{settings.host}:{settings.port}" if base_url is None else base_url
        if not base.startswith(("http://", "https://")) or base.strip() != base:
            raise InvalidInput(f"--base-url must be an http:// or https:// URL, got {base!r}")
        async with opened(settings) as c:
            hooks = Webhooks(c.users, c.clock)
            found = await (hooks.rotate_webhook(user) if rotate else hooks.webhook_id(user))
        return {"url": webhook_url(base, found), "webhookId": found}

    out = run(as_json, work)
    # The URL alone on stdout, so that URL=$(ordergate webhook url demo) works.
    emit(as_json, out, out["url"])


@webhook_app.command("url")
@needs_database
def webhook_url_command(
    user: _WEBHOOK_USER, base_url: _BASE_URL = None, db: Db = None, as_json: AsJson = False
) -> None:
    """Print the webhook URL of a user (its id is made on first use). Alerts posted to it
    still need the user's token as their key."""
    _webhook(user, False, base_url, db, as_json)


@webhook_app.command("rotate")
@needs_database
def webhook_rotate(
    user: _WEBHOOK_USER, base_url: _BASE_URL = None, db: Db = None, as_json: AsJson = False
) -> None:
    """Give a user a new webhook URL and print it; the old one stops working (on a running
    server within ORDERGATE_AUTH_CACHE_S seconds)."""
    _webhook(user, True, base_url, db, as_json)


def _table(rows: list[list[str]]) -> str:
    """``rows`` (a header first) in aligned columns."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


@user_app.command("list")
@needs_database
def user_list(db: Db = None, as_json: AsJson = False) -> None:
    """List the users: name, role, groups, ScaleTrade staff login, enabled."""

    async def work() -> list[dict[str, Any]]:
        async with opened(load_settings(db)) as c:
            found = await c.users.list_users()
        return [
            {
                "id": u.id,
                "name": u.name,
                "role": u.role.value,
                "groups": sorted(u.groups),
                "login": u.login,
                "enabled": u.enabled,
            }
            for u in found
        ]

    out = run(as_json, work)
    rows = [["NAME", "ROLE", "GROUPS", "LOGIN", "ENABLED"]]
    rows += [
        [
            u["name"],
            u["role"],
            ",".join(u["groups"]) or "-",
            "-" if u["login"] is None else str(u["login"]),
            "yes" if u["enabled"] else "no",
        ]
        for u in out
    ]
    emit(as_json, {"users": out}, _table(rows))


@account_app.command("list")
@needs_database
def account_list(db: Db = None, as_json: AsJson = False) -> None:
    """List the accounts: login, name, owner, group, balance, mode, enabled."""

    async def work() -> list[dict[str, Any]]:
        async with opened(load_settings(db)) as c:
            found = await list_accounts(c.users)
        return [
            {
                "login": a.login,
                "name": a.name,
                "owner": a.owner,
                "group": a.group,
                "currency": a.currency,
                "balance": str(a.balance),
                "leverage": a.leverage,
                "mode": a.mode,
                "enabled": a.enabled,
            }
            for a in found
        ]

    out = run(as_json, work)
    rows = [["LOGIN", "NAME", "OWNER", "GROUP", "BALANCE", "MODE", "ENABLED"]]
    rows += [
        [
            str(a["login"]),
            a["name"],
            a["owner"],
            a["group"],
            f"{a['balance']} {a['currency']}",
            a["mode"],
            "yes" if a["enabled"] else "no",
        ]
        for a in out
    ]
    emit(as_json, {"accounts": out}, _table(rows))


def _token_json(t: Any) -> dict[str, Any]:
    return {
        "id": t.id,
        "user": t.user,
        "label": t.label,
        "created_at": t.created_at.isoformat(),
        "revoked_at": None if t.revoked_at is None else t.revoked_at.isoformat(),
    }


@token_app.command("list")
@needs_database
def token_list(
    user: Annotated[
        str | None, typer.Argument(metavar="[USER]", help="Only this user's tokens.")
    ] = None,
    revoked: Annotated[bool, typer.Option("--revoked", help="Revoked tokens too.")] = False,
    db: Db = None,
    as_json: AsJson = False,
) -> None:
    """List the live tokens (their ids, users, labels; a token's value is never kept)."""

    async def work() -> list[dict[str, Any]]:
        async with opened(load_settings(db)) as c:
            found = await list_tokens(c.users, user, revoked=revoked)
        return [_token_json(t) for t in found]

    out = run(as_json, work)
    rows = [["ID", "USER", "LABEL", "CREATED", "REVOKED"]]
    rows += [
        [
            str(t["id"]),
            t["user"],
            t["label"] or "-",
            t["created_at"][:19],
            "-" if t["revoked_at"] is None else t["revoked_at"][:19],
        ]
        for t in out
    ]
    emit(as_json, {"tokens": out}, _table(rows))


@token_app.command("revoke")
@needs_database
def token_revoke(
    token: Annotated[
        str, typer.Argument(metavar="TOKEN", help="The token's id (token list) or the token.")
    ],
    db: Db = None,
    as_json: AsJson = False,
) -> None:
    """Revoke a token: refused at once by this machine's server, by others within
    ORDERGATE_AUTH_CACHE_S seconds."""

    async def work() -> dict[str, Any]:
        async with opened(load_settings(db)) as c:
            return _token_json(await revoke_token(c.users, token.strip(), c.clock.now()))

    out = run(as_json, work)
    emit(as_json, out, f"token {out['id']} of {out['user']} revoked")


def _reset_text(result: dict[str, Any]) -> str:
    added = result["added"]
    return "\n".join(
        [
            f"Database {result['database']}: reset to a fresh demo.",
            f"Demo data added: {len(added['instruments'])} instruments, users "
            f"[{', '.join(added['users'])}], accounts [{', '.join(added['accounts'])}], "
            f"{added['orders']} resting orders.",
            "",
            f"CrossTrade bearer token of user '{result['user']}' (new; shown once):",
            f"  {result['token']}",
            "Bearer token of user 'admin' (new; shown once):",
            f"  {result['admin_token']}",
            "ScaleTrade sign-in (login / password):",
            *(f"  {a['name']}: {a['login']} / {a['password']}" for a in result["accounts"]),
        ]
    )


@needs_database
def reset(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    db: Db = None,
    as_json: AsJson = False,
) -> None:
    """Empty the database and add the demo data again.

    Users, accounts, orders, tokens and alerts all go; new tokens for the demo user and the
    admin are printed. Asks first (--yes: does not). Refused while a server runs on it.
    """
    # Imported here: the other commands need none of the demo machinery.
    from ordergate.reset import reset_demo

    settings = load_settings(db)
    where = shown_url(settings.database_url)
    if not yes and not typer.confirm(f"Empty {where} and start a fresh demo?", err=True):
        fail(as_json, "CANCELLED", "reset cancelled; nothing changed")
    result = run(as_json, lambda: reset_demo(settings))
    result = {"database": where, **result}
    emit(as_json, result, _reset_text(result))
