"""What a webhook alert leaves to do after its entry order: exit legs that wait for a
resting entry's fill, and ``cancel_after`` timers (spec crosstrade-webhooks.md 5.5, 5.7).

Both are kept in the database (store/pending.py) before the alert is answered, and taken up
again at start, so a restart forgets neither. The entry's end is learnt from the engine's
event bus, and always confirmed by reading the order itself: an end missed while the
server was down, or dropped by a lagging subscription, is found at the next look.

When the entry ends: filled in full, the legs are placed for its quantity; partly filled
and then cancelled or expired, for the filled quantity; ended with no fill, the bracket is
dropped. Relative leg prices are taken from the entry's average fill price. The legs carry
client ids made from the entry's id, so placing them twice (a restart between placing and
forgetting) places nothing the second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ordergate.api.crosstrade.ops import Ctx
from ordergate.api.crosstrade.webhook_model import Bracket, PriceSpec, PriceUnit
from ordergate.api.crosstrade.webhook_ops import Outcome, op, price
from ordergate.domain.commands import CancelOrder
from ordergate.domain.errors import DomainError
from ordergate.domain.events import OrderTransitioned
from ordergate.domain.ids import Login, OrderId, UserId
from ordergate.domain.orders import TERMINAL, Order
from ordergate.engine.bus import Subscription, SubscriptionClosed
from ordergate.engine.schema import Lagged
from ordergate.store.alerts import AlertStatus
from ordergate.store.pending import PendingExit, PendingKind, SqlPendingExits

if TYPE_CHECKING:
    from ordergate.bootstrap import Container
    from ordergate.domain.clock import Timer

__all__ = ["PendingExits", "bracket_of", "bracket_spec", "legs_on_fill", "place_legs"]

log = logging.getLogger(__name__)


def _price_wire(spec: PriceSpec | None) -> list[str] | None:
    return None if spec is None else [str(spec.value), spec.unit.value]


def _price_of(wire: Any) -> PriceSpec | None:
    return None if wire is None else PriceSpec(Decimal(wire[0]), PriceUnit(wire[1]))


def bracket_spec(bracket: Bracket, account: str, oco: str | None) -> dict[str, Any]:
    """``bracket`` of an entry in ``account`` in the JSON form a pending exit keeps."""
    return {
        "account": account,
        "oco": oco,
        "takeProfit": _price_wire(bracket.take_profit),
        "stopLoss": _price_wire(bracket.stop_loss),
        "stopLimit": _price_wire(bracket.stop_limit),
    }


def bracket_of(spec: dict[str, Any]) -> Bracket:
    return Bracket(
        take_profit=_price_of(spec.get("takeProfit")),
        stop_loss=_price_of(spec.get("stopLoss")),
        stop_limit=_price_of(spec.get("stopLimit")),
    )


class PendingExits:
    """The pending exits of every account; one per server, started after recovery."""

    def __init__(self, container: Container) -> None:
        self._container = container
        self._table = SqlPendingExits(container.store)
        self._by_order: dict[str, list[PendingExit]] = {}
        self._timers: dict[int, Timer] = {}
        self._subscription: Subscription | None = None
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def waiting(self) -> int:
        """How many entries have something pending."""
        return len(self._by_order)

    async def start(self) -> None:
        """Take up what was pending when the server stopped."""
        for pending in await self._table.all():
            self._track(pending)
        for order_id in list(self._by_order):
            await self._settle(order_id)

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if self._subscription is not None:
            self._subscription.close()
        if self._reader is not None:
            self._reader.cancel()

    async def add_bracket(
        self, user: UserId, login: Login, order_id: str, spec: dict[str, Any]
    ) -> None:
        """Place ``spec``'s legs when entry ``order_id`` ends with a fill."""
        await self._add(PendingKind.BRACKET, user, login, order_id, spec, None)

    async def add_cancel_after(
        self, user: UserId, login: Login, order_id: str, account: str, due: datetime
    ) -> None:
        """Cancel entry ``order_id`` if it is still working at ``due`` (engine clock)."""
        await self._add(PendingKind.CANCEL_AFTER, user, login, order_id, {"account": account}, due)

    async def _add(
        self,
        kind: PendingKind,
        user: UserId,
        login: Login,
        order_id: str,
        spec: dict[str, Any],
        due: datetime | None,
    ) -> None:
        now = self._container.clock.now()
        pending = PendingExit(kind, user, login, order_id, spec, now, due)
        self._track(await self._table.add(pending))
        await self._settle(order_id)  # the entry may have ended before we listened

    def _track(self, pending: PendingExit) -> None:
        self._by_order.setdefault(pending.order_id, []).append(pending)
        if self._subscription is None or self._subscription.closed:
            self._subscription = self._container.bus.subscribe(kinds=["order"])
            self._reader = asyncio.get_running_loop().create_task(
                self._read(self._subscription), name="pending-exits"
            )
        if pending.kind is PendingKind.CANCEL_AFTER and pending.due_at is not None:
            clock = self._container.clock
            self._timers[pending.id] = clock.call_at(
                pending.due_at, lambda: self._spawn(self._cancel_entry(pending))
            )

    def _spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await work
            except Exception:
                log.exception("a pending exit failed")

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(self, subscription: Subscription) -> None:
        with contextlib.suppress(SubscriptionClosed):
            async for envelope in subscription:
                data = envelope.data
                if isinstance(data, Lagged):
                    for order_id in list(self._by_order):
                        await self._settle(order_id)
                elif (
                    isinstance(data, OrderTransitioned)
                    and data.to_status in TERMINAL
                    and data.order_id in self._by_order
                ):
                    await self._settle(data.order_id)
                if not self._by_order:
                    subscription.close()  # the engine builds no events nobody reads

    async def _order(self, order_id: str) -> Order | None:
        engine = self._container.engine
        found = engine.state.order(OrderId(order_id))
        return found if found is not None else await engine.records.order(OrderId(order_id))

    async def _settle(self, order_id: str) -> None:
        """If entry ``order_id`` has ended: place its brackets' legs for what filled, and
        forget everything pending for it."""
        order = await self._order(order_id)
        if order is not None and not order.is_terminal:
            return
        pendings = self._by_order.pop(order_id, [])
        for pending in pendings:
            timer = self._timers.pop(pending.id, None)
            if timer is not None:
                timer.cancel()
            if pending.kind is PendingKind.BRACKET and order is not None and order.filled > 0:
                reference = order.avg_fill_price or order.limit_price or Decimal(0)
                try:
                    await legs_on_fill(
                        self._container, pending.user_id, pending.spec, order, reference
                    )
                except DomainError as exc:
                    log.warning("bracket of order %s not placed: %s", order_id, exc.message)
            await self._table.remove(pending.id)

    async def _cancel_entry(self, pending: PendingExit) -> None:
        self._timers.pop(pending.id, None)
        order = await self._order(pending.order_id)
        if order is not None and not order.is_terminal:
            container = self._container
            principal = await container.users.principal_for_user(pending.user_id)
            with contextlib.suppress(DomainError):  # filled or gone meanwhile
                await container.engine.cancel(
                    principal, CancelOrder(account=order.login, order=order.id)
                )
        still = self._by_order.get(pending.order_id, [])
        if pending in still:
            still.remove(pending)
            if not still:
                del self._by_order[pending.order_id]
            await self._table.remove(pending.id)


async def place_legs(
    ctx: Ctx,
    account: str,
    symbol: str,
    entry_side: str,
    qty: Decimal,
    bracket: Bracket,
    oco: str,
    base: Decimal | None = None,
    entry_id: str | None = None,
) -> Outcome:
    """An entry's exit legs: a take-profit limit and a stop (market, or limit with
    ``stop_loss_limit``) on the other side, GTC, one OCO group. Relative prices are taken
    from ``base`` (default: the market now). With ``entry_id`` the legs carry client ids
    made from it, so placing them again (after a restart) places nothing new."""
    side = "SELL" if entry_side == "BUY" else "BUY"
    placed = Outcome(account, AlertStatus.SUCCESS)
    base_args = {"account": account, "instrument": symbol, "action": side, "quantity": qty}
    legs: list[dict[str, Any]] = []
    if bracket.take_profit is not None:
        take = await price(ctx, symbol, bracket.take_profit, base)
        legs.append(base_args | {"orderType": "Limit", "limitPrice": take, "leg": "tp"})
    if bracket.stop_loss is not None:
        trigger = await price(ctx, symbol, bracket.stop_loss, base)
        if bracket.stop_limit is not None:
            limit = await price(ctx, symbol, bracket.stop_limit, base)
            leg = {"orderType": "StopLimit", "stopPrice": trigger, "limitPrice": limit}
        else:
            leg = {"orderType": "StopMarket", "stopPrice": trigger}
        legs.append(base_args | leg | {"leg": "sl"})
    for leg in legs:
        name = leg.pop("leg")
        if entry_id is not None:
            leg["orderId"] = f"{entry_id}-{name}"
        one = await op(ctx, account, "PlaceOrder", leg | {"timeInForce": "GTC", "ocoId": oco})
        placed.order_ids += one.order_ids
        if one.status is not AlertStatus.SUCCESS:
            return Outcome(account, one.status, placed.order_ids, one.error, one.detail)
    return placed


async def legs_on_fill(
    container: Container,
    user: UserId,
    spec: dict[str, Any],
    entry: Order,
    reference: Decimal,
) -> None:
    """The legs of a resting entry that ended with some of it filled: for what filled,
    relative prices from ``reference``."""
    ctx = Ctx(container, await container.users.principal_for_user(user))
    account = str(spec["account"])
    outcome = await place_legs(
        ctx,
        account,
        entry.symbol,
        entry.side.value.upper(),
        entry.filled,
        bracket_of(spec),
        str(spec.get("oco") or f"wh-{entry.id}"),
        base=reference,
        entry_id=entry.id,
    )
    if outcome.status is not AlertStatus.SUCCESS:
        log.warning("bracket of order %s: %s %s", entry.id, outcome.error, outcome.detail)
