"""Running one webhook alert for one account: the alert's own gates (rate limit, trading
window, position rules), then its command, as the CrossTrade operation REST would run.

Each command is translated into the arguments of a CrossTrade operation (``ops.OPERATIONS``)
and run by the same handler as REST and the WebSocket, so an alert and a REST call can never
disagree. Relative prices (ticks, percent, points, dollars) are turned into prices from the
instrument's current quote, rounded to its tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi.exceptions import RequestValidationError

from ordergate.api.bodies import validate
from ordergate.api.crosstrade.errors import Unsuccessful
from ordergate.api.crosstrade.ops import OPERATIONS, Ctx
from ordergate.api.crosstrade.webhook_model import (
    Alert,
    Command,
    OrderType,
    PriceSpec,
    PriceUnit,
)
from ordergate.api.errors import validation_summary
from ordergate.domain.commands import CancelOrder
from ordergate.domain.errors import (
    AccountNotFound,
    DomainError,
    MaxPositions,
    PermissionDenied,
    PositionRequired,
)
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

T = TypeVar("T")

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
_ORDER_TYPE = {
    OrderType.MARKET: "Market",
    OrderType.LIMIT: "Limit",
    OrderType.STOPMARKET: "StopMarket",
    OrderType.STOPLIMIT: "StopLimit",
}


@dataclass(slots=True)
class Outcome:
    """What an alert did in one account (or in none, for commands over all of them)."""

    account: str | None
    status: AlertStatus
    order_ids: list[str] = field(default_factory=list)
    error: str | None = None
    detail: str | None = None


def _refused(account: str | None, exc: DomainError) -> Outcome:
    """A domain refusal as a failed outcome; someone else's account reads like an unknown
    one, as over REST."""
    if isinstance(exc, AccountNotFound | PermissionDenied):
        return failed(account, "ACCOUNT_NOT_FOUND", f"Account '{account}' not found")
    return failed(account, exc.code, exc.message)


def blocked(account: str | None, error: str, detail: str) -> Outcome:
    return Outcome(account, AlertStatus.BLOCKED, error=error, detail=detail)


def failed(account: str | None, error: str, detail: str) -> Outcome:
    return Outcome(account, AlertStatus.FAILED, error=error, detail=detail)


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


async def _price(ctx: Ctx, symbol: str, spec: PriceSpec | None) -> Decimal | None:
    """``spec`` as a price: absolute as given, relative from the current price (the last
    trade, else the mid), rounded to the tick."""
    if spec is None:
        return None
    if spec.is_absolute:
        return spec.value
    instrument = await ctx.engine.instrument(symbol)
    quote = ctx.container.venue.quote(symbol)
    if quote is None:
        raise DomainError(f"no quote for {symbol}: a relative price needs one")
    base = quote.last if quote.last is not None else (quote.bid + quote.ask) / 2
    offsets = {
        PriceUnit.TICKS: spec.value * instrument.tick_size,
        PriceUnit.PERCENT: base * spec.value / 100,
        PriceUnit.POINTS: spec.value,
        PriceUnit.DOLLARS: spec.value / instrument.point_value,
    }
    raw = base + offsets[spec.unit]
    ticks = (raw / instrument.tick_size).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return ticks * instrument.tick_size


async def _place_args(ctx: Ctx, alert: Alert, account: str, symbol: str) -> dict[str, Any]:
    args: dict[str, Any] = {
        "account": account,
        "instrument": symbol,
        "action": None if alert.action is None else alert.action.value,
        "quantity": alert.qty,
        "orderType": None if alert.order_type is None else _ORDER_TYPE[alert.order_type],
        "timeInForce": None if alert.tif is None else alert.tif.value,
        "limitPrice": await _price(ctx, symbol, alert.limit_price),
        "stopPrice": await _price(ctx, symbol, alert.stop_price),
        "ocoId": alert.oco_id,
        "orderId": alert.order_id,
        "maxPositions": alert.max_positions,
    }
    if alert.require_market_position is not None:
        args["requireMarketPosition"] = ",".join(
            sorted(p.value for p in alert.require_market_position)
        )
    return {k: v for k, v in args.items() if v is not None}


def _order_ids(data: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    for key in ("orderId", "orderIds", "closingOrderIds", "takeProfitOrderId", "stopLossOrderId"):
        value = data.get(key)
        for one in value if isinstance(value, list) else [value]:
            if isinstance(one, str) and one not in ids:
                ids.append(one)
    return ids


async def _op(ctx: Ctx, account: str | None, name: str, args: dict[str, Any]) -> Outcome:
    """Run CrossTrade operation ``name``: Success with the order ids it names, or why not."""
    op = OPERATIONS[name]
    try:
        data = await op.handler(ctx, validate(op.args, args, "alert"))
    except Unsuccessful as exc:
        body = exc.body
        outcome = failed(account, str(body.get("code", "REFUSED")), str(body.get("error")))
        outcome.order_ids = _order_ids(body)
        return outcome
    except (PositionRequired, MaxPositions) as exc:
        return blocked(account, exc.code, exc.message)
    except DomainError as exc:
        return _refused(account if account is not None else args.get("account"), exc)
    except RequestValidationError as exc:
        return failed(account, "INVALID_ALERT", validation_summary(exc))
    status = AlertStatus.SUCCESS if data.get("success", True) else AlertStatus.FAILED
    outcome = Outcome(account, status, _order_ids(data))
    if status is AlertStatus.FAILED:
        outcome.error = str(data.get("code", "INCOMPLETE"))
        outcome.detail = str(data.get("error", ""))
    return outcome


async def run_for_account(
    ctx: Ctx, alert: Alert, account: str | None, tasks: set[asyncio.Task[None]]
) -> Outcome:
    """The alert's command in ``account`` (None: the commands over every account), after
    its window and position gates. ``tasks`` keeps the cancel-after timers' work alive."""
    gate = _gate_window(alert, account, ctx.container.clock.now())
    if gate is not None:
        return gate
    try:
        if account is not None:  # the name as NT8 spells it, from here on
            account = (await ctx.engine.account(ctx.principal, account)).name
        symbol = None if alert.instrument is None else await ctx.symbol(alert.instrument)
        if account is not None and symbol is not None:
            gate = await _position_gate(ctx, alert, account, symbol)
            if gate is not None:
                return gate
    except DomainError as exc:
        return _refused(account, exc)
    outcome = await _command(ctx, alert, account, symbol)
    if (
        alert.cancel_after is not None
        and outcome.status is AlertStatus.SUCCESS
        and account is not None
        and outcome.order_ids
    ):
        _cancel_later(ctx, account, outcome.order_ids[0], alert.cancel_after, tasks)
    return outcome


def _cancel_later(
    ctx: Ctx, account: str, order_id: str, seconds: int, tasks: set[asyncio.Task[None]]
) -> None:
    """Cancel the entry if still resting after ``seconds`` of the engine's clock. Kept in
    memory: a restart forgets it (the order then rests as placed)."""

    async def cancel() -> None:
        with contextlib.suppress(DomainError):  # filled or gone meanwhile: nothing to do
            order = await ctx.order_id(account, order_id)
            await ctx.engine.cancel(ctx.principal, CancelOrder(account=account, order=order))

    def fire() -> None:
        task = asyncio.get_running_loop().create_task(cancel())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    clock = ctx.container.clock
    clock.call_at(clock.now() + timedelta(seconds=seconds), fire)


def _needed(value: T | None, name: str) -> T:
    """``value``, required by the command; upstream's text when it is missing."""
    if value is None:
        raise DomainError(f"Check message format, missing required field: {name.upper()}")
    return value


async def _command(ctx: Ctx, alert: Alert, account: str | None, symbol: str | None) -> Outcome:
    try:
        return await _dispatch(ctx, alert, account, symbol)
    except DomainError as exc:
        return _refused(account, exc)


async def _dispatch(ctx: Ctx, alert: Alert, account: str | None, symbol: str | None) -> Outcome:
    command = alert.command
    if alert.strategy is not None or command is Command.CLOSESTRATEGY:
        detail = "ATM strategies are not simulated: place the orders themselves"
        return failed(account, "ATM_NOT_SUPPORTED", detail)
    if command in (Command.FLATTENEVERYTHING, Command.CANCELALLORDERS) or (
        command is Command.FLATTEN and account is None
    ):
        return await _everywhere(ctx, alert, symbol)
    named = _needed(account, "account")
    if command in (Command.CANCEL, Command.CHANGE):
        return await _one_order(ctx, alert, named)
    if command is Command.CANCELORDERS:
        args = {"account": named} | ({} if symbol is None else {"instrument": symbol})
        return await _op(ctx, named, "CancelOrders", args)
    return await _on_instrument(ctx, alert, named, _needed(symbol, "instrument"))


async def _everywhere(ctx: Ctx, alert: Alert, symbol: str | None) -> Outcome:
    if alert.command is Command.CANCELALLORDERS:
        return await _op(ctx, None, "CancelAllOrders", {})
    args: dict[str, Any] = {}
    if alert.command is Command.FLATTEN:
        if symbol is not None:
            args["instrument"] = symbol
        if alert.market_position is not None:
            args["marketPosition"] = alert.market_position.value
    return await _op(ctx, None, "FlattenEverything", args or {"all": True})


async def _one_order(ctx: Ctx, alert: Alert, account: str) -> Outcome:
    args: dict[str, Any] = {"account": account, "orderId": _needed(alert.order_id, "order_id")}
    if alert.command is Command.CANCEL:
        return await _op(ctx, account, "Cancel", args)
    prices = [p for p in (alert.limit_price, alert.stop_price) if p is not None]
    symbol = None if alert.instrument is None else await ctx.symbol(alert.instrument)
    if symbol is None and any(not p.is_absolute for p in prices):
        raise DomainError("a relative price needs the instrument")
    # 0 or absent: unchanged (upstream's rule for CHANGE).
    changes = {
        "quantity": alert.qty,
        "limitPrice": await _price(ctx, symbol or "", alert.limit_price),
        "stopPrice": await _price(ctx, symbol or "", alert.stop_price),
    }
    return await _op(ctx, account, "ChangeOrder", args | {k: v for k, v in changes.items() if v})


async def _on_instrument(ctx: Ctx, alert: Alert, account: str, symbol: str) -> Outcome:
    command = alert.command
    if command is Command.CLOSEPOSITION:
        return await _close(ctx, alert, account, symbol)
    if command is Command.REVERSE:
        return await _op(ctx, account, "Reverse", {"account": account, "instrument": symbol})
    if command is Command.FLATTEN:
        return await _op(ctx, account, "Flatten", {"account": account, "instrument": symbol})
    if command is Command.CANCELANDBRACKET:
        return await _bracket(ctx, alert, account, symbol)
    return await _place(ctx, alert, account, symbol)


async def _place(ctx: Ctx, alert: Alert, account: str, symbol: str) -> Outcome:
    """The place family: PLACE (with flatten_first and brackets), FLATPLACE,
    REVERSEPOSITION, CANCELREPLACE."""
    command = alert.command
    for name in ("action", "qty", "order_type", "tif"):
        _needed(getattr(alert, name), name)
    args = await _place_args(ctx, alert, account, symbol)
    if command is Command.REVERSEPOSITION:
        return await _op(ctx, account, "ReversePosition", args)
    if command is Command.CANCELREPLACE:
        _needed(alert.order_id, "order_id")
        return await _op(ctx, account, "ReplaceOrder", args)
    flat = command is Command.FLATPLACE or alert.flatten_first
    if alert.bracket is not None and alert.order_type is not OrderType.MARKET:
        detail = "brackets wait for a resting entry's fill: not simulated yet; use a market entry"
        return failed(account, "BRACKET_NOT_SUPPORTED", detail)
    entry = await _op(ctx, account, "FlatPlaceOrder" if flat else "PlaceOrder", args)
    if entry.status is AlertStatus.SUCCESS and alert.bracket is not None:
        legs = await _legs(ctx, alert, account, symbol)
        entry.order_ids += legs.order_ids
        if legs.status is not AlertStatus.SUCCESS:
            entry.status, entry.error, entry.detail = legs.status, legs.error, legs.detail
    return entry


async def _close(ctx: Ctx, alert: Alert, account: str, symbol: str) -> Outcome:
    args: dict[str, Any] = {"account": account, "instrument": symbol}
    if alert.quantity is not None:
        return await _op(ctx, account, "ClosePosition", args | {"quantity": alert.quantity})
    if alert.percent is not None:
        return await _op(ctx, account, "ClosePosition", args | {"percent": alert.percent})
    # A full close also cancels the instrument's working orders, only if a position exists.
    held = await compound.position(
        ctx.engine, await ctx.engine.account(ctx.principal, account), symbol
    )
    if held.side is None:
        return failed(
            account, "POSITION_NOT_FOUND", f"No positions found for instrument '{symbol}'"
        )
    return await _op(ctx, account, "Flatten", args)


async def _bracket(ctx: Ctx, alert: Alert, account: str, symbol: str) -> Outcome:
    _needed(alert.action, "action")
    _needed(alert.qty, "qty")
    bracket = alert.bracket
    take = None if bracket is None else await _price(ctx, symbol, bracket.take_profit)
    stop = None if bracket is None else await _price(ctx, symbol, bracket.stop_loss)
    args = {
        "account": account,
        "instrument": symbol,
        "action": None if alert.action is None else alert.action.value,
        "quantity": alert.qty,
        "takeProfit": take,
        "stopLoss": stop,
        "ocoId": alert.oco_id,
    }
    return await _op(
        ctx, account, "CancelAndBracket", {k: v for k, v in args.items() if v is not None}
    )


async def _legs(ctx: Ctx, alert: Alert, account: str, symbol: str) -> Outcome:
    """A market entry's exit legs, at once: a take-profit limit and a stop (market, or
    limit with ``stop_loss_limit``) on the other side, one OCO group."""
    bracket = _needed(alert.bracket, "take_profit")
    side = "SELL" if _needed(alert.action, "action").value == "BUY" else "BUY"
    oco = alert.oco_id or f"wh-{alert.order_id or id(alert)}-{ctx.container.clock.now():%H%M%S%f}"
    placed = Outcome(account, AlertStatus.SUCCESS)
    base = {"account": account, "instrument": symbol, "action": side, "quantity": alert.qty}
    legs: list[dict[str, Any]] = []
    if bracket.take_profit is not None:
        price = await _price(ctx, symbol, bracket.take_profit)
        legs.append(base | {"orderType": "Limit", "limitPrice": price})
    if bracket.stop_loss is not None:
        trigger = await _price(ctx, symbol, bracket.stop_loss)
        if bracket.stop_limit is not None:
            limit = await _price(ctx, symbol, bracket.stop_limit)
            legs.append(
                base | {"orderType": "StopLimit", "stopPrice": trigger, "limitPrice": limit}
            )
        else:
            legs.append(base | {"orderType": "StopMarket", "stopPrice": trigger})
    for leg in legs:
        one = await _op(ctx, account, "PlaceOrder", leg | {"timeInForce": "GTC", "ocoId": oco})
        placed.order_ids += one.order_ids
        if one.status is not AlertStatus.SUCCESS:
            return Outcome(account, one.status, placed.order_ids, one.error, one.detail)
    return placed
