"""What a WebSocket connection streams: its accounts' order, execution and position updates,
the market data of the instruments it subscribed to, and periodic P&L.

Each stream is one task reading one bus subscription (or a timer) and sending through the
connection's single writer. Streams read in batches: quotes are conflated to the newest per
instrument, and a position is sent once per batch, as it stands after the batch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final

from ordergate.api.crosstrade.ops import Ctx
from ordergate.api.crosstrade.wire import epoch_ms
from ordergate.api.crosstrade.ws_views import (
    execution_update,
    lagged_frame,
    monitor_update,
    order_update,
    pnl_account,
    position_update,
    quote_out,
)
from ordergate.bootstrap import Container
from ordergate.domain.accounts import Account
from ordergate.domain.errors import DomainError
from ordergate.domain.events import (
    MarketQuote,
    MonitorLogged,
    OrderFilled,
    OrderTransitioned,
    PositionChanged,
)
from ordergate.domain.principal import Principal
from ordergate.engine import queries
from ordergate.engine.accounting import AccountState
from ordergate.engine.bus import Subscription, SubscriptionClosed
from ordergate.engine.schema import Envelope, Lagged

__all__ = [
    "Send",
    "market_data",
    "pump_account_events",
    "pump_pnl",
    "pump_quotes",
    "visible_accounts",
]

log = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]

#: The most envelopes handled as one batch (conflated, one position per instrument).
BATCH: Final = 500


async def visible_accounts(container: Container, principal: Principal) -> list[Account]:
    """The accounts ``principal`` may act on, by login."""
    return await queries.visible_accounts(container.engine, principal)


def _batch(sub: Subscription, first: Envelope) -> list[Envelope]:
    """``first`` and whatever else is already waiting (up to BATCH)."""
    batch = [first]
    try:
        while len(batch) < BATCH and (more := sub.get_nowait()) is not None:
            batch.append(more)
    except SubscriptionClosed:
        pass  # the loop reading ``sub`` ends on its next read
    return batch


async def pump_account_events(
    sub: Subscription, send: Send, ctx: Ctx, names: dict[int, str]
) -> None:
    """Order, execution, position and monitor updates of the accounts ``names`` lists (by
    login)."""
    async for first in sub:
        await _account_batch(_batch(sub, first), send, ctx, names)


async def _account_batch(
    batch: list[Envelope], send: Send, ctx: Ctx, names: dict[int, str]
) -> None:
    # A position is sent where its last event of the batch is, as it stands then.
    last = {
        (e.data.login, e.data.symbol): i
        for i, e in enumerate(batch)
        if isinstance(e.data, PositionChanged)
    }
    states: dict[int, AccountState | None] = {}
    for i, envelope in enumerate(batch):
        data = envelope.data
        if isinstance(data, Lagged):
            await send(lagged_frame(data, "orders"))
            continue
        if isinstance(data, MarketQuote):
            continue  # not subscribed to; the filter keeps them out
        name = names.get(data.login, str(data.login))
        if isinstance(data, MonitorLogged):
            await send(monitor_update(envelope.seq, name, data))
        elif isinstance(data, OrderTransitioned):
            await send(order_update(envelope.seq, name, data))
        elif isinstance(data, OrderFilled):
            await send(execution_update(envelope.seq, name, data))
        elif last[(data.login, data.symbol)] == i:
            if data.login not in states:
                states[data.login] = await _state(ctx, data.login)
            state = states[data.login]
            if state is not None:
                held = [v for v in state.positions if v.ticket.symbol == data.symbol]
                await send(position_update(envelope.seq, name, data.symbol, held, data.at))


async def _state(ctx: Ctx, login: int) -> AccountState | None:
    try:
        return await queries.account_state(ctx.engine, ctx.principal, login)
    except DomainError as exc:  # the account went away (or out of reach) since connect
        log.debug("no state for account %s: %s", login, exc)
        return None


def market_data(container: Container, symbols: Iterable[str]) -> dict[str, Any] | None:
    """A ``marketData`` frame of ``symbols``' current markets (None if none is quoted)."""
    now = container.clock.now()
    quotes = []
    for symbol in symbols:
        snapshot = container.market.snapshot(symbol)
        if snapshot is not None:
            is_open = container.venue.submission_refusal(symbol, now) is None
            quotes.append(quote_out(snapshot, container.market.instrument(symbol), is_open))
    return {"type": "marketData", "quotes": quotes} if quotes else None


async def pump_quotes(sub: Subscription, send: Send, container: Container) -> None:
    """``marketData`` frames for the subscription's instruments, newest quote of each."""
    async for first in sub:
        symbols: dict[str, None] = {}
        for envelope in _batch(sub, first):
            if isinstance(envelope.data, Lagged):
                await send(lagged_frame(envelope.data, "marketData"))
            elif isinstance(envelope.data, MarketQuote):
                symbols[envelope.data.symbol] = None
        frame = market_data(container, symbols)
        if frame is not None:
            await send(frame)


async def pump_pnl(send: Send, ctx: Ctx, chosen: list[Account], interval: float) -> None:
    """A ``pnlUpdate`` frame of ``chosen`` every ``interval`` seconds, the first at once."""
    while True:
        entries = []
        for account in chosen:
            state = await _state(ctx, account.login)
            if state is not None:
                entries.append(pnl_account(account.name, state))
        epoch = epoch_ms(ctx.container.clock.now())
        await send({"type": "pnlUpdate", "epoch": epoch, "accounts": entries})
        await asyncio.sleep(interval)
