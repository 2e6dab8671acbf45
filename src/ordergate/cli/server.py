"""``ordergate serve`` and ``ordergate init``."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

import typer
from sqlalchemy import inspect

from ordergate.cli.common import (
    AsJson,
    CliError,
    Db,
    emit,
    fail,
    load_settings,
    opened,
    run,
    shown_url,
)
from ordergate.demo import (
    DEMO_ACCOUNTS,
    DEMO_USER,
    MANAGER_USER,
    issue_demo_token,
    seed_demo,
)
from ordergate.logs import configure_logging
from ordergate.settings import Settings
from ordergate.store import JournalLocked, create_engine
from ordergate.store.journals import ensure_free

__all__ = ["init", "serve"]


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (ORDERGATE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (ORDERGATE_PORT).")] = None,
    db: Db = None,
    as_json: AsJson = False,
) -> None:
    """Run the HTTP server (--json: the startup line is JSON; ORDERGATE_LOG_FORMAT=json makes
    the log lines JSON)."""
    # Imported here: the administration commands need neither the web stack nor a server.
    import uvicorn

    from ordergate.api.app import create_app
    from ordergate.api.limits import redact_server_logs, uvicorn_options

    try:
        settings = load_settings(db, host=host, port=port)
    except CliError as exc:
        fail(as_json, exc.code, str(exc))
    configure_logging(settings.log_level, settings.log_format)
    # Alembic announces its context on every start; only its problems are news.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        asyncio.run(ensure_free(settings.database_url))
    except JournalLocked as exc:
        fail(as_json, "DATABASE_IN_USE", str(exc))
    except Exception as exc:  # a database that cannot be opened: the server's start says why
        logging.getLogger(__name__).debug("writer lock not checked: %r", exc)
    url = f"http://{settings.host}:{settings.port}"
    where = shown_url(settings.database_url)
    emit(as_json, {"url": url, "database": where}, f"ordergate serving {url} on {where}")
    redact_server_logs()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # its lines go through configure_logging's handler
        **uvicorn_options(settings),
    )


async def _initialised(url: str) -> bool:
    """Whether the database already has ordergate's schema (or the start of it)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(readonly=True)
            return await conn.run_sync(lambda c: inspect(c).has_table("alembic_version"))
    finally:
        await engine.dispose()


async def _init(settings: Settings, demo: bool, if_new: bool) -> dict[str, Any]:
    existed = await _initialised(settings.database_url)
    if existed and not if_new:
        raise CliError(
            f"{shown_url(settings.database_url)} is already initialised "
            "(pass --if-new to migrate and reuse it)"
        )
    result: dict[str, Any] = {"database": shown_url(settings.database_url), "created": not existed}
    async with opened(settings) as admin:
        if demo:
            seed = await seed_demo(admin)
            accounts = [
                {"name": a.name, "login": a.login, "password": a.password} for a in DEMO_ACCOUNTS
            ]
            manager, login, password = MANAGER_USER
            accounts.append({"name": f"{manager} (manager)", "login": login, "password": password})
            result["demo"] = {
                "added": {
                    "instruments": list(seed.instruments),
                    "users": list(seed.users),
                    "accounts": list(seed.accounts),
                    "orders": seed.orders,
                },
                "user": DEMO_USER,
                "token": await issue_demo_token(admin),
                "accounts": accounts,
            }
    return result


def _init_text(result: dict[str, Any]) -> str:
    state = "created" if result["created"] else "already there; migrated"
    lines = [f"Database {result['database']}: {state}."]
    demo = result.get("demo")
    if demo is not None:
        added = demo["added"]
        if any(added.values()):
            users, accounts = ", ".join(added["users"]), ", ".join(added["accounts"])
            lines.append(
                f"Demo data added: {len(added['instruments'])} instruments, "
                f"users [{users}], accounts [{accounts}], {added['orders']} resting orders."
            )
        else:
            lines.append("Demo data: already present.")
        lines += [
            "",
            f"CrossTrade bearer token of user '{demo['user']}' (new; shown once):",
            f"  {demo['token']}",
            "ScaleTrade sign-in (login / password):",
            *(f"  {a['name']}: {a['login']} / {a['password']}" for a in demo["accounts"]),
        ]
    return "\n".join(lines)


def init(
    demo: Annotated[bool, typer.Option("--demo", help="Add the demo data when absent.")] = False,
    if_new: Annotated[
        bool, typer.Option("--if-new", help="Do not fail when the database already exists.")
    ] = False,
    db: Db = None,
    as_json: AsJson = False,
) -> None:
    """Create the database (--if-new: or migrate an existing one); --demo adds the demo data.

    With --demo, the demo users, accounts, instruments and resting orders are added where
    absent, and a new bearer token for the demo user is printed with the demo logins.
    """
    result = run(as_json, lambda: _init(load_settings(db), demo, if_new))
    emit(as_json, result, _init_text(result))
