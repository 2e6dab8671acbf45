"""Running one webhook alert for one account: the alert's own gates (rate limit, trading
window, position rules), then its command, as the CrossTrade operation REST would run.

Each command is translated into the arguments of a CrossTrade operation (``ops.OPERATIONS``)
and run by the same handler as REST and the WebSocket, so an alert and a REST call can never
disagree. Relative prices (ticks, percent, points, dollars) are turned into prices from the
instrument's current quote, rounded to its tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ordergate.api.crosstrade import webhook_sync as sync
from ordergate.api.crosstrade.ops import Ctx
from ordergate.api.crosstrade.webhook_model import Alert, Command, OrderType
from ordergate.api.crosstrade.webhook_ops import (
    Outcome,
    blocked,
    failed,
    needed,
    op,
    place_args,
    price,
    refused,
    user_of,
)
from ordergate.api.crosstrade.webhook_pending import bracket_spec, place_legs
from ordergate.domain.errors import DomainError
from ordergate.engine import compound
from ordergate.store.alerts import AlertStatus

__all__ = [
    "CLOSING",
    "Outcome",
    "RateLimits",
    "blocked",
    "failed",
    "run_for_account",
    "sleep_on_clock",
]

log = logging.getLogger(__name__)

#: Commands that only reduce or protect exposure: they pass a closing-only window.
CLOSING = frozenset(
    {
        Command.CLOSEPOSITION,
        Command.FLATTEN,
        Command.FLATTENEVERYTHING,
        Command.CANCEL,
        Command.CANCELORDERS,
        Command.CANCELALLORDERS,
        Command.CHANGE,
        Command.CANCELANDBRACKET,
    }
)
#: Commands whose order the gates of the place family apply to.
_PLACING = frozenset(
    {Command.PLACE, Command.FLATPLACE, Command.REVERSEPOSITION, Command.CANCELREPLACE}
)


class RateLimits:
    """The alerts' own rate limits (``rate_limit=N/S; id=…``): per user and id, a sliding
    window on the engine's clock. In memory: a restart forgets what was spent."""

    def __init__(self) -> None:
        self._sent: dict[tuple[int, str], deque[datetime]] = {}

    def take(self, user: int, key: str, count: int, seconds: int, now: datetime) -> bool:
        """Spend one alert of ``key``; False when ``count`` were taken in the last
        ``seconds``."""
        sent = self._sent.setdefault((user, key), deque())
        while sent and sent[0] <= now - timedelta(seconds=seconds):
            sent.popleft()
        if len(sent) >= count:
            return False
        sent.append(now)
        return True


async def sleep_on_clock(ctx: Ctx, seconds: Decimal) -> None:
    """Wait ``seconds`` of the engine's clock (a test moves it; the server's runs)."""
    clock = ctx.container.clock
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake() -> None:
        if not done.done():
            done.set_result(None)

    timer = clock.call_at(clock.now() + timedelta(seconds=float(seconds)), wake)
    try:
        await done
    finally:
        timer.cancel()


def _gate_window(alert: Alert, account: str | None, now: datetime) -> Outcome | None:
    window = alert.window
    if window is None or alert.bypass_trade_windows or alert.command is Command.CANCELANDBRACKET:
        return None
    local = now.astimezone(ZoneInfo(window.time_zone)).time()
    if not window.contains(local):
        detail = f"outside the alert's trading window ({window.time_zone} {local:%H:%M})"
        return blocked(account, "TRADE_WINDOW", detail)
    if window.closing_only(local) and alert.command not in CLOSING:
        return blocked(
            account, "CLOSING_ONLY", "only closing commands pass now (closing_only_after)"
        )
    return None


async def _position_gate(ctx: Ctx, alert: Alert, account: str, symbol: str) -> Outcome | None:
    """``require_market_position`` on commands the engine does not check it for."""
    wanted = alert.require_market_position
    if wanted is None or alert.command in _PLACING:
        return None  # the placement checks it in the engine's writer
    held = await compound.position(
        ctx.engine, await ctx.engine.account(ctx.principal, account), symbol
    )
    now = "flat" if held.side is None else ("long" if held.side.sign > 0 else "short")
    if now not in {w.value for w in wanted}:
        required = ",".join(sorted(w.value for w in wanted))
        detail = f"position in {symbol} is {now.title()}; required {required}"
        return blocked(account, "POSITION_REQUIREMENT_NOT_MET", detail)
    return None


async def run_for_account(ctx: Ctx, alert: Alert, account: str | None) -> Outcome:
    """Run ``alert`` in ``account`` (None for the commands over every account), through
    its window and position gates."""
    closing_only = False
    gate = _gate_window(alert, account, ctx.container.clock.now())
    if gate is not None:
        # The flatten step of flatten_first is a closing order: it passes, the entry not.
        if gate.error != "CLOSING_ONLY" or not (_flattens_first(alert) and account):
            return gate
        closing_only = True
    try:
        if account is not None:  # the name as NT8 spells it, from here on
            account = (await ctx.engine.account(ctx.principal, account)).name
        symbol = None if alert.instrument is None else await ctx.symbol(alert.instrument)
        if account is not None and symbol is not None:
            gate = await _instrument_gates(ctx, alert, account, symbol, closing_only)
            if gate is not None:
                return gate
    except DomainError as exc:
        return refused(account, exc)
    outcome = await _command(ctx, alert, account, symbol)
    if (
        alert.cancel_after is not None
        and outcome.status is AlertStatus.SUCCESS
        and account is not None
        and outcome.order_ids
    ):
        await _cancel_later(ctx, account, outcome.order_ids[0], alert.cancel_after)
    return outcome


async def _instrument_gates(
    ctx: Ctx, alert: Alert, account: str, symbol: str, closing_only: bool
) -> Outcome | None:
    """What the alert did instead of its command (blocked, flattened only, resynced), or
    None to run it."""
    gate = await _position_gate(ctx, alert, account, symbol)
    if gate is not None:
        return gate
    if closing_only:
        return await _flatten_then_block(ctx, account, symbol)
    if alert.sync_strategy and alert.command is Command.PLACE:
        return await sync.gate(ctx, alert, account, symbol)
    return None


def _flattens_first(alert: Alert) -> bool:
    return alert.command is Command.FLATPLACE or (
        alert.command is Command.PLACE and alert.flatten_first
    )


async def _flatten_then_block(ctx: Ctx, account: str, symbol: str) -> Outcome:
    """A closing-only window: the flatten step of flatten_first runs, the entry is blocked."""
    flat = await op(ctx, account, "Flatten", {"account": account, "instrument": symbol})
    if flat.status is not AlertStatus.SUCCESS:
        return flat
    detail = "flattened; the entry is blocked: only closing orders pass now (closing_only_after)"
    outcome = blocked(account, "CLOSING_ONLY", detail)
    outcome.order_ids = flat.order_ids
    return outcome


async def _cancel_later(ctx: Ctx, account: str, order_id: str, seconds: int) -> None:
    """Cancel the entry if still working ``seconds`` from now on the engine's clock; kept
    across restarts (webhook_pending.py)."""
    found = await ctx.engine.account(ctx.principal, account)
    due = ctx.container.clock.now() + timedelta(seconds=seconds)
    user = user_of(ctx)
    await ctx.container.pending_exits.add_cancel_after(user, found.login, order_id, account, due)


async def _command(ctx: Ctx, alert: Alert, account: str | None, symbol: str | None) -> Outcome:
    try:
        return await _dispatch(ctx, alert, account, symbol)
    except DomainError as exc:
        return refused(account, exc)


async def _dispatch(ctx: Ctx, alert: Alert, account: str | None, symbol: str | None) -> Outcome:
    command = alert.command
    if alert.strategy is not None or command is Command.CLOSESTRATEGY:
        detail = "ATM strategies are not simulated: place the orders themselves"
        return failed(account, "ATM_NOT_SUPPORTED", detail)
    if command in (Command.FLATTENEVERYTHING, Command.CANCELALLORDERS) or (
        command is Command.FLATTEN and account is None
    ):
        return await _everywhere(ctx, alert, symbol)
    named = needed(account, "account")
    if command in (Command.CANCEL, Command.CHANGE):
        return await _one_order(ctx, alert, named)
    if command is Command.CANCELORDERS:
        args = {"account": named} | ({} if symbol is None else {"instrument": symbol})
        return await op(ctx, named, "CancelOrders", args)
    return await _on_instrument(ctx, alert, named, needed(symbol, "instrument"))


async def _everywhere(ctx: Ctx, alert: Alert, symbol: str | None) -> Outcome:
    if alert.command is Command.CANCELALLORDERS:
        return await op(ctx, None, "CancelAllOrders", {})
    args: dict[str, Any] = {}
    if alert.command is Command.FLATTEN:
        if symbol is not None:
            args["instrument"] = symbol
        if alert.market_position is not None:
            args["marketPosition"] = alert.market_position.value
    return await op(ctx, None, "FlattenEverything", args or {"all": True})


async def _one_order(ctx: Ctx, alert: Alert, account: str) -> Outcome:
    args: dict[str, Any] = {"account": account, "orderId": needed(alert.order_id, "order_id")}
    if alert.command is Command.CANCEL:
        return await op(ctx, account, "Cancel", args)
    prices = [p for p in (alert.limit_price, alert.stop_price) if p is not None]
    symbol = None if alert.instrument is None else await ctx.symbol(alert.instrument)
    if symbol is None and any(not p.is_absolute for p in prices):
        raise DomainError("a relative price needs the instrument")
    # 0 or absent: unchanged (upstream's rule for CHANGE).
    changes = {
        "quantity": alert.qty,
        "limitPrice": await price(ctx, symbol or "", alert.limit_price),
        "stopPrice": await price(ctx, symbol or "", alert.stop_price),
    }
    return await op(ctx, account, "ChangeOrder", args | {k: v for k, v in changes.items() if v})


async def _on_instrument(ctx: Ctx, alert: Alert, account: str, symbol: str) -> Outcome:
    command = alert.command
    if command is Command.CLOSEPOSITION:
        return await _close(ctx, alert, account, symbol)
    if command is Command.REVERSE:
        return await op(ctx, account, "Reverse", {"account": account, "instrument": symbol})
    if command is Command.FLATTEN:
        return await op(ctx, account, "Flatten", {"account": account, "instrument": symbol})
    if command is Command.CANCELANDBRACKET:
        return await _bracket(ctx, alert, account, symbol)
    return await _place(ctx, alert, account, symbol)


async def _place(ctx: Ctx, alert: Alert, account: str, symbol: str) -> Outcome:
    """The place family: PLACE (with flatten_first and brackets), FLATPLACE,
    REVERSEPOSITION, CANCELREPLACE."""
    command = alert.command
    for name in ("action", "qty", "order_type", "tif"):
        needed(getattr(alert, name), name)
    args = await place_args(ctx, alert, account, symbol)
    if command is Command.REVERSEPOSITION:
        return await op(ctx, account, "ReversePosition", args)
    if command is Command.CANCELREPLACE:
        needed(alert.order_id, "order_id")
        return await op(ctx, account, "ReplaceOrder", args)
    flat = command is Command.FLATPLACE or alert.flatten_first
    entry = await op(ctx, account, "FlatPlaceOrder" if flat else "PlaceOrder", args)
    bracket = alert.bracket
    if entry.status is not AlertStatus.SUCCESS or bracket is None or not entry.order_ids:
        return entry
    side = needed(alert.action, "action").value
    oco = alert.oco_id or f"wh-{entry.order_ids[0]}"
    if alert.order_type is not OrderType.MARKET:
        # A resting entry's legs wait for its fill (webhook_pending.py).
        found = await ctx.engine.account(ctx.principal, account)
        spec = bracket_spec(bracket, account, oco)
        await ctx.container.pending_exits.add_bracket(
            user_of(ctx), found.login, entry.order_ids[0], spec
        )
        return entry
    qty = needed(alert.qty, "qty")
    legs = await place_legs(ctx, account, symbol, side, qty, bracket, oco)
    entry.order_ids += legs.order_ids
    if legs.status is not AlertStatus.SUCCESS:
        entry.status, entry.error, entry.detail = legs.status, legs.error, legs.detail
    return entry


async def _close(ctx: Ctx, alert: Alert, account: str, symbol: str) -> Outcome:
    args: dict[str, Any] = {"account": account, "instrument": symbol}
    if alert.quantity is not None:
        return await op(ctx, account, "ClosePosition", args | {"quantity": alert.quantity})
    if alert.percent is not None:
        return await op(ctx, account, "ClosePosition", args | {"percent": alert.percent})
    # A full close also cancels the instrument's working orders, only if a position exists.
    held = await compound.position(
        ctx.engine, await ctx.engine.account(ctx.principal, account), symbol
    )
    if held.side is None:
        return failed(
            account, "POSITION_NOT_FOUND", f"No positions found for instrument '{symbol}'"
        )
    return await op(ctx, account, "Flatten", args)


async def _bracket(ctx: Ctx, alert: Alert, account: str, symbol: str) -> Outcome:
    needed(alert.action, "action")
    needed(alert.qty, "qty")
    bracket = alert.bracket
    take = None if bracket is None else await price(ctx, symbol, bracket.take_profit)
    stop = None if bracket is None else await price(ctx, symbol, bracket.stop_loss)
    args = {
        "account": account,
        "instrument": symbol,
        "action": None if alert.action is None else alert.action.value,
        "quantity": alert.qty,
        "takeProfit": take,
        "stopLoss": stop,
        "ocoId": alert.oco_id,
    }
    return await op(
        ctx, account, "CancelAndBracket", {k: v for k, v in args.items() if v is not None}
    )
