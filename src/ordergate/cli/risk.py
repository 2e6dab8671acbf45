"""``ordergate monitor show|set|reset ACCOUNT`` and ``ordergate killswitch on|off USER``.

They write the database; a running server takes the change up within about a second (its
risk desk reads the monitors and kill switches on its clock tick) and acts on it there: a
kill switch turned on here flattens the accounts in the server.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ordergate.cli.admin import needs_database
from ordergate.cli.common import AsJson, Db, emit, load_settings, opened, run
from ordergate.domain.errors import AccountNotFound, InvalidInput
from ordergate.domain.monitor import MonitorState
from ordergate.domain.monitor_settings import MonitorSettings
from ordergate.engine.ports import KeptMonitor, LogEntry
from ordergate.engine.riskdesk import json_safe
from ordergate.store.risk import SqlRisk

__all__ = ["killswitch_app", "monitor_app"]

monitor_app = typer.Typer(help="Account monitors (risk rules).", no_args_is_help=True)
killswitch_app = typer.Typer(help="Kill switches of users and accounts.", no_args_is_help=True)

_ACCOUNT = Annotated[str, typer.Argument(metavar="ACCOUNT", help="Account name or login.")]
_ACTOR = "cli"


async def _account(c: Any, ref: str) -> tuple[int, str]:
    key: int | str = int(ref) if ref.isdigit() else ref
    async with c.store.transaction(readonly=True) as tx:
        found = await tx.accounts.get(key)
    if found is None:
        raise AccountNotFound(f"account {ref} not found")
    return int(found.login), str(found.name)


async def _kept(risk: SqlRisk, login: int) -> KeptMonitor | None:
    return next((k for k in await risk.monitors() if k.login == login), None)


def _shown(name: str, kept: KeptMonitor | None) -> dict[str, Any]:
    if kept is None:
        return {"account": name, "state": MonitorState.DISABLED.value, **_defaults()}
    return {"account": name, "state": kept.state, "stoppedRule": kept.stopped_rule, **kept.settings}


def _defaults() -> dict[str, Any]:
    return json_safe(MonitorSettings().to_wire())


@monitor_app.command("show")
@needs_database
def monitor_show(account: _ACCOUNT, db: Db = None, as_json: AsJson = False) -> None:
    """Print the account's monitor: state and settings."""

    async def work() -> dict[str, Any]:
        async with opened(load_settings(db)) as c:
            login, name = await _account(c, account)
            return _shown(name, await _kept(SqlRisk(c.store), login))

    out = run(as_json, work)
    emit(as_json, out, json.dumps(out, indent=2, default=str))


@monitor_app.command("set")
@needs_database
def monitor_set(
    account: _ACCOUNT,
    settings: Annotated[
        str,
        typer.Argument(
            metavar="JSON", help='Settings, e.g. \'{"enabled": true, "lossThreshold": 1000}\'.'
        ),
    ],
    db: Db = None,
    as_json: AsJson = False,
) -> None:
    """Change the account's monitor settings (keys left out keep their value)."""

    async def work() -> dict[str, Any]:
        try:
            given = json.loads(settings, parse_float=str)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"settings are not JSON: {exc.msg}") from None
        if not isinstance(given, dict):
            raise InvalidInput("settings must be a JSON object")
        async with opened(load_settings(db)) as c:
            login, name = await _account(c, account)
            risk = SqlRisk(c.store)
            kept = await _kept(risk, login)
            current = (
                MonitorSettings() if kept is None else MonitorSettings.from_wire(kept.settings)
            )
            merged = current.merged(given)
            state = MonitorState.ACTIVE if merged.enabled else MonitorState.DISABLED
            if kept is not None and kept.state == MonitorState.STOPPED.value:
                state = MonitorState.STOPPED
            new = KeptMonitor(
                login,
                json_safe(merged.to_wire()),
                state.value,
                None if kept is None else kept.stopped_rule,
                None if kept is None else kept.marks,
            )
            now = c.clock.now()
            await risk.save_monitors([new], now)
            await risk.append_log([LogEntry(login, now, "Edit", "monitor settings set", _ACTOR)])
            return _shown(name, new)

    out = run(as_json, work)
    emit(as_json, out, json.dumps(out, indent=2, default=str))


@monitor_app.command("reset")
@needs_database
def monitor_reset(account: _ACCOUNT, db: Db = None, as_json: AsJson = False) -> None:
    """Restart a stopped monitor: the account takes opening orders again."""

    async def work() -> dict[str, Any]:
        async with opened(load_settings(db)) as c:
            login, name = await _account(c, account)
            risk = SqlRisk(c.store)
            kept = await _kept(risk, login)
            if kept is None:
                raise InvalidInput(f"account {name} has no monitor")
            state = MonitorState.ACTIVE.value if kept.state == "STOPPED" else kept.state
            new = KeptMonitor(login, kept.settings, state, None, kept.marks)
            now = c.clock.now()
            await risk.save_monitors([new], now)
            await risk.append_log([LogEntry(login, now, "Reset", "monitor reset", _ACTOR)])
            return _shown(name, new)

    out = run(as_json, work)
    emit(as_json, out, f"{out['account']}: {out['state']}")


def _switch(user: str, on: bool, account: str | None, db: str | None, as_json: bool) -> None:
    async def work() -> dict[str, Any]:
        async with opened(load_settings(db)) as c:
            risk = SqlRisk(c.store)
            now = c.clock.now()
            if account is not None:
                login, name = await _account(c, account)
                await risk.set_kill_switch("account", login, on, _ACTOR, now)
                return {"account": name, "enabled": on}
            found = await c.users.get_user(user)
            await risk.set_kill_switch("user", int(found.id), on, _ACTOR, now)
            return {"user": found.name, "enabled": on}

    out = run(as_json, work)
    emit(as_json, out, f"kill switch {'on' if on else 'off'}")


_USER = Annotated[str, typer.Argument(metavar="USER", help="The user whose switch it is.")]
_ONLY = Annotated[str | None, typer.Option("--account", help="This account's switch instead.")]


@killswitch_app.command("on")
@needs_database
def killswitch_on(
    user: _USER, account: _ONLY = None, db: Db = None, as_json: AsJson = False
) -> None:
    """Turn a kill switch on: the server cancels and flattens, then opens nothing."""
    _switch(user, True, account, db, as_json)


@killswitch_app.command("off")
@needs_database
def killswitch_off(
    user: _USER, account: _ONLY = None, db: Db = None, as_json: AsJson = False
) -> None:
    """Turn a kill switch off."""
    _switch(user, False, account, db, as_json)
