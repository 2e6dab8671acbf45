"""Risk that acts: account monitors, kill switches and the dead man's switch, in the engine.

Every quote values the monitored accounts that hold its instrument (the state's index of
holders makes that a few dictionary reads for an account that holds nothing there), and a
clock tick every second evaluates the time rules (auto-flatten, windows, the session's
roll). When a rule fires, one engine step cancels every working order of the account and
closes its positions (``engine.flatten``), the monitor moves to STOPPED, and the account
takes only closing orders (``state.locks``, checked in the writer) until it is reset or
the next session starts.

A kill switch (per user or per account) does the same cancel-and-close at once and locks
until it is turned off; the dead man's switch cancels the account's working orders unless
renewed in time. Each action, reset and setting change is a management log entry, kept
(``RiskRecords``) and published on the event bus as a ``monitor`` event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from ordergate.domain.accounts import Account
from ordergate.domain.clock import Timer
from ordergate.domain.commands import CancelOrders, Flatten
from ordergate.domain.errors import DomainError, InvalidInput
from ordergate.domain.events import MonitorLogged
from ordergate.domain.ids import Login
from ordergate.domain.monitor import Firing, Marks, Monitor, MonitorState, Sample
from ordergate.domain.monitor_settings import Action, MonitorSettings
from ordergate.domain.principal import Principal, Role, ensure_can_act
from ordergate.engine.accounting import account_state
from ordergate.engine.engine import OrderEngine
from ordergate.engine.ports import KeptMonitor, LogEntry, RiskRecords
from ordergate.venue.base import Quote

__all__ = ["RISK", "MonitorView", "RiskDesk", "json_safe"]

log = logging.getLogger(__name__)

#: Who the audit trail names for what risk does by itself.
RISK: Final = Principal(user_id=None, role=Role.ADMIN, name="risk")
#: How often the time rules are evaluated and changed watermarks kept (engine clock).
TICK: Final = timedelta(seconds=1)
#: The longest dead man's switch timeout (seconds), as BitMEX's cancelAllAfter.
MAX_CANCEL_AFTER_S: Final = 86_400


@dataclass(frozen=True, slots=True)
class MonitorView:
    """An account's monitor as the edge shows it."""

    login: Login
    account: str
    settings: MonitorSettings
    state: MonitorState
    stopped_rule: str | None
    marks: Marks | None
    locked: str | None
    cancel_after: datetime | None


class RiskDesk:
    """The monitors, kill switches and dead man's switches of every account."""

    def __init__(
        self,
        engine: OrderEngine,
        records: RiskRecords,
        *,
        commission: Decimal = Decimal(0),
        on_firing: Callable[[str], None] | None = None,
    ) -> None:
        self._engine = engine
        self._state = engine.state
        self._records = records
        self._clock = engine.clock
        self._commission = commission
        self._on_firing = on_firing
        self._monitors: dict[Login, Monitor] = {}
        self._dirty: set[Login] = set()
        self._killed_accounts: set[Login] = set()
        self._killed_users: set[int] = set()
        self._deadlines: dict[Login, tuple[datetime, Timer]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticker: Timer | None = None
        #: what this process last kept of each monitor: a different row was written by
        #: another process (the CLI) and is taken up
        self._written: dict[Login, tuple[dict[str, Any], str]] = {}
        #: held while this process writes what it keeps, and while _sync compares with it
        self._keeping = asyncio.Lock()
        self._syncing = False

    # -- start and stop ----------------------------------------------------------------------

    async def load(self) -> None:
        """Take up the kept monitors and kill switches; start the clock tick."""
        for kept in await self._records.monitors():
            settings = MonitorSettings.from_wire(kept.settings)
            marks = None if kept.marks is None else Marks.from_wire(kept.marks)
            self._written[Login(kept.login)] = (kept.settings, kept.state)
            self._monitors[Login(kept.login)] = Monitor(
                settings,
                state=MonitorState(kept.state),
                marks=marks,
                stopped_rule=kept.stopped_rule,
            )
        for scope, ref in await self._records.kill_switches():
            if scope == "user":
                self._killed_users.add(ref)
            else:
                self._killed_accounts.add(Login(ref))
        for login in {*self._monitors, *self._killed_accounts}:
            self._relock(login)
        for user in self._killed_users:
            self._state.user_locks[user] = "the user's kill switch is on"
        self._schedule_tick()

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        for _, timer in self._deadlines.values():
            timer.cancel()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._keep_marks()

    async def settle(self) -> None:
        """Wait for the actions already started (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    # -- reads -------------------------------------------------------------------------------

    async def view(self, principal: Principal, account: str | int) -> MonitorView:
        found = await self._engine.account(principal, account)
        return self.view_of(found)

    def view_of(self, account: Account) -> MonitorView:
        """``account``'s monitor (the account already one the caller may see)."""
        monitor = self._monitors.get(account.login)
        deadline = self._deadlines.get(account.login)
        return MonitorView(
            login=account.login,
            account=account.name,
            settings=MonitorSettings() if monitor is None else monitor.settings,
            state=MonitorState.DISABLED if monitor is None else monitor.state,
            stopped_rule=None if monitor is None else monitor.stopped_rule,
            marks=None if monitor is None else monitor.marks,
            locked=self._state.locks.get(account.login),
            cancel_after=None if deadline is None else deadline[0],
        )

    async def log(
        self, principal: Principal, account: str | int, since: datetime | None, limit: int
    ) -> list[LogEntry]:
        found = await self._engine.account(principal, account)
        return await self._records.log(found.login, since, limit)

    def user_killed(self, user_id: int) -> bool:
        """Whether the user's own kill switch is on."""
        return user_id in self._killed_users

    def kill_switch(
        self, principal: Principal, logins: list[Login]
    ) -> tuple[bool, dict[Login, bool]]:
        """The caller's own switch, and each of ``logins``'s."""
        user = principal.user_id is not None and principal.user_id in self._killed_users
        return user, {login: login in self._killed_accounts for login in logins}

    # -- configuration -----------------------------------------------------------------------

    async def configure(
        self, principal: Principal, account: str | int, settings: MonitorSettings
    ) -> MonitorView:
        found = await self._engine.account(principal, account)
        now = self._clock.now()
        monitor = self._monitors.get(found.login)
        before = None if monitor is None else monitor.settings
        if monitor is None:
            monitor = Monitor(settings)
            monitor.configure(settings, now)
            self._monitors[found.login] = monitor
        else:
            monitor.configure(settings, now)
        kind = "Edit"
        if before is None or before.enabled != settings.enabled:
            kind = "Enable" if settings.enabled else "Disable"
        self._observe(found.login, now)  # marks start now, the whole day's P&L counts
        await self._keep(found.login)
        self._relock(found.login)
        await self._note(found.login, kind, f"monitor settings: {_summary(settings)}", principal)
        return self.view_of(found)

    async def reset(self, principal: Principal, account: str | int) -> MonitorView:
        found = await self._engine.account(principal, account)
        monitor = self._monitors.get(found.login)
        if monitor is None:
            return self.view_of(found)  # nothing to restart
        rule = monitor.stopped_rule
        monitor.reset(self._clock.now())
        await self._keep(found.login)
        self._relock(found.login)
        message = "monitor reset" + ("" if rule is None else f" (was stopped by {rule})")
        await self._note(found.login, "Reset", message, principal)
        return self.view_of(found)

    async def set_kill_switch(
        self, principal: Principal, enabled: bool, account: str | int | None = None
    ) -> list[Login]:
        """Turn a kill switch on or off: the account's, or (no ``account``) the caller's own,
        which covers every account it owns. On: cancel and close them now. Returns the
        accounts it covers."""
        if account is not None:
            found = await self._engine.account(principal, account)
            ensure_can_act(principal, found)
            scope, ref = "account", int(found.login)
        else:
            if principal.user_id is None:
                raise InvalidInput("a kill switch without an account is a user's own")
            scope, ref = "user", int(principal.user_id)
        async with self._keeping:
            logins = self._switch(scope, ref, enabled)
            now = self._clock.now()
            await self._records.set_kill_switch(scope, ref, enabled, principal.actor, now)
        for login in logins:
            self._relock(login)
            state = "on" if enabled else "off"
            await self._note(login, "Kill Switch", f"{scope} kill switch {state}", principal)
            if enabled:
                await self._flatten(login, f"{scope} kill switch", principal)
        return logins

    def _switch(self, scope: str, ref: int, on: bool) -> list[Login]:
        """Turn a switch on or off in memory; the accounts it covers."""
        if scope == "account":
            (self._killed_accounts.add if on else self._killed_accounts.discard)(Login(ref))
            return [Login(ref)]
        if on:
            self._killed_users.add(ref)
            self._state.user_locks[ref] = "the user's kill switch is on"
        else:
            self._killed_users.discard(ref)
            self._state.user_locks.pop(ref, None)
        return [a.login for a in self._state.accounts() if a.owner_id == ref]

    async def cancel_after(
        self, principal: Principal, account: str | int, timeout_s: int
    ) -> datetime | None:
        """Arm (or renew) the account's dead man's switch: unless called again within
        ``timeout_s`` seconds, every working order of the account is cancelled. 0 disarms.
        Returns when it would fire."""
        if not 0 <= timeout_s <= MAX_CANCEL_AFTER_S:
            raise InvalidInput(f"timeout must be 0 to {MAX_CANCEL_AFTER_S} seconds")
        found = await self._engine.account(principal, account)
        ensure_can_act(principal, found)
        armed = self._deadlines.pop(found.login, None)
        if armed is not None:
            armed[1].cancel()
        if timeout_s == 0:
            if armed is not None:
                await self._note(
                    found.login, "Cancel After", "dead man's switch disarmed", principal
                )
            return None
        due = self._clock.now() + timedelta(seconds=timeout_s)
        timer = self._clock.call_at(
            due, lambda: self._spawn(self._dead_man(found.login, principal))
        )
        self._deadlines[found.login] = (due, timer)
        if armed is None:
            message = f"dead man's switch armed: {timeout_s} s"
            await self._note(found.login, "Cancel After", message, principal)
        return due

    async def _dead_man(self, login: Login, principal: Principal) -> None:
        self._deadlines.pop(login, None)
        report = await self._engine.cancel_orders(RISK, CancelOrders(account=login))
        message = (
            f"dead man's switch fired: {report.cancelled} cancelled, {report.failed} not cancelled"
        )
        await self._note(login, "Cancel After", message, principal)

    # -- evaluation --------------------------------------------------------------------------

    def on_quote(self, quote: Quote) -> None:
        """Value the monitored accounts holding ``quote``'s instrument."""
        holders = self._state.holders(quote.symbol)
        if not holders or not self._monitors:
            return
        now = self._clock.now()
        for login in holders:
            if login in self._monitors:
                self._observe(login, now)

    def _tick(self) -> None:
        self._ticker = None
        now = self._clock.now()
        for login in list(self._monitors):
            self._observe(login, now)
            self._relock(login)
        if self._dirty:
            self._spawn(self._keep_marks())
        if not self._syncing:
            self._syncing = True
            self._spawn(self._sync())
        self._schedule_tick()

    def _schedule_tick(self) -> None:
        self._ticker = self._clock.call_at(self._clock.now() + TICK, self._tick)

    def _observe(self, login: Login, now: datetime) -> None:
        monitor = self._monitors[login]
        if monitor.state is MonitorState.DISABLED:
            return
        account = self._state.account(login)
        if account is None:
            return
        tickets = self._state.open_tickets(login)
        valued = account_state(
            account, tickets, self._state.maybe_instrument, self._engine.venue.quote
        )
        sample = Sample(
            at=now,
            realized=self._state.realized(login),
            unrealized=valued.unrealized_pnl,
            commission=self._state.filled(login) * self._commission,
            net_liquidation=valued.equity,
            flat=not tickets,
        )
        firings = monitor.observe(sample)
        self._dirty.add(login)  # the marks change in place; the tick keeps them in a batch
        for firing in firings:
            self._relock(login)
            self._spawn(self._act(login, firing))

    async def _act(self, login: Login, firing: Firing) -> None:
        if self._on_firing is not None:
            self._on_firing(firing.rule)
        await self._note(login, _LOG_TYPE.get(firing.rule, "Stop Monitor"), firing.message, RISK)
        if firing.action is Action.FLATTEN:
            await self._flatten(login, firing.rule, RISK)
        await self._keep(login)

    async def _flatten(self, login: Login, why: str, principal: Principal) -> None:
        """Cancel every working order of the account and close its positions, in one step."""
        try:
            report = await self._engine.flatten(RISK, Flatten(account=login))
        except DomainError as exc:
            await self._note(
                login, "Flatten", f"flatten for {why} refused: {exc.message}", principal
            )
            return
        failures = [f"{f.code} {f.message}" for f in report.cancel.failures]
        message = (
            f"flattened for {why}: {report.cancel.cancelled} orders cancelled,"
            f" {len(report.closing_orders)} closing orders"
        )
        if failures:
            message += "; not cancelled: " + "; ".join(failures[:5])
        await self._note(login, "Flatten", message, principal)

    def _relock(self, login: Login) -> None:
        """Set why the account opens nothing now, or lift its lock."""
        reason = None
        if login in self._killed_accounts:
            reason = "the account's kill switch is on"
        else:
            monitor = self._monitors.get(login)
            if monitor is not None:
                reason = monitor.opening_blocked(self._clock.now())
        if reason is None:
            self._state.locks.pop(login, None)
        else:
            self._state.locks[login] = reason

    # -- keeping -----------------------------------------------------------------------------

    async def _keep(self, login: Login) -> None:
        async with self._keeping:
            self._dirty.discard(login)
            await self._records.save_monitors([self._kept(login)], self._clock.now())

    async def _keep_marks(self) -> None:
        async with self._keeping:
            dirty, self._dirty = self._dirty, set()
            kept = [self._kept(login) for login in dirty if login in self._monitors]
            await self._records.save_monitors(kept, self._clock.now())

    def _kept(self, login: Login) -> KeptMonitor:
        monitor = self._monitors[login]
        marks = monitor.marks
        kept = KeptMonitor(
            login=login,
            settings=json_safe(monitor.settings.to_wire()),
            state=monitor.state.value,
            stopped_rule=monitor.stopped_rule,
            marks=None if marks is None else dict(marks.to_wire()),
        )
        self._written[login] = (kept.settings, kept.state)
        return kept

    async def _sync(self) -> None:
        """Take up what another process (the CLI) changed: kill switches and monitors.
        Under ``_keeping``: what this process keeps is written whole before it is compared."""
        try:
            async with self._keeping:
                await self._take_up()
        finally:
            self._syncing = False

    async def _take_up(self) -> None:
        switches = set(await self._records.kill_switches())
        held = {("user", u) for u in self._killed_users}
        held |= {("account", int(a)) for a in self._killed_accounts}
        for scope, ref in switches ^ held:
            await self._apply_switch(scope, ref, (scope, ref) in switches)
        for kept in await self._records.monitors():
            login = Login(kept.login)
            if self._written.get(login, (None, None)) != (kept.settings, kept.state):
                await self._adopt(login, kept)

    async def _apply_switch(self, scope: str, ref: int, on: bool) -> None:
        for login in self._switch(scope, ref, on):
            self._relock(login)
            if on:
                await self._flatten(login, f"{scope} kill switch", _CLI)

    async def _adopt(self, login: Login, kept: KeptMonitor) -> None:
        settings = MonitorSettings.from_wire(kept.settings)
        now = self._clock.now()
        monitor = self._monitors.get(login)
        if monitor is None:
            monitor = self._monitors[login] = Monitor(settings)
        monitor.configure(settings, now)
        if kept.state == MonitorState.ACTIVE.value and monitor.state is MonitorState.STOPPED:
            monitor.reset(now)
        self._written[login] = (kept.settings, kept.state)
        self._relock(login)

    async def _note(self, login: Login, kind: str, message: str, principal: Principal) -> None:
        entry = LogEntry(login, self._clock.now(), kind, message, principal.actor)
        await self._records.append_log([entry])
        monitor = self._monitors.get(login)
        state = MonitorState.DISABLED if monitor is None else monitor.state
        if self._engine.sink.active:
            locked = self._state.locks.get(login)
            event = MonitorLogged(login, entry.at, kind, message, entry.actor, state.value, locked)
            self._engine.sink.publish([event])

    def _spawn(self, work: object) -> None:
        async def run() -> None:
            try:
                await work  # type: ignore[misc]
            except Exception:
                log.exception("a risk action failed")

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


#: Who the audit trail names for changes another process made.
_CLI: Final = Principal(user_id=None, role=Role.ADMIN, name="cli")
_LOG_TYPE: Final = {"autoFlatten": "Auto-Flatten", "windowFlatten": "Window Flatten"}


def json_safe(wire: dict[str, object]) -> dict[str, object]:
    """Settings in JSON: Decimals as strings (from_wire reads them back exactly)."""

    def safe(value: object) -> object:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, dict):
            return {k: safe(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [safe(v) for v in value]
        return value

    return {k: safe(v) for k, v in wire.items()}


def _summary(settings: MonitorSettings) -> str:
    parts = [f"enabled={str(settings.enabled).lower()}"]
    if settings.loss_threshold:
        parts.append(f"lossThreshold={settings.loss_threshold}")
    if settings.profit_threshold:
        parts.append(f"profitThreshold={settings.profit_threshold}")
    if settings.trailing_drawdown is not None:
        parts.append("trailingDrawdown")
    if settings.min_profit_drawdown is not None:
        parts.append("minProfitDrawdown")
    if settings.auto_flatten is not None:
        parts.append(f"autoFlatten={settings.auto_flatten:%H:%M}")
    if settings.trading_windows:
        parts.append(f"tradingWindows={len(settings.trading_windows)}")
    return ", ".join(parts)
