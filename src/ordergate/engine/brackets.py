"""Compound order flows that must wait for the venue between their steps: replace one order,
flatten an instrument then place, cancel an instrument's orders then bracket the position.

Each is a plain function over the engine's public methods. Two habits make them safe against
a real venue's races:

- everything that can be checked is checked before anything changes (``check_place``), so
  bad input changes nothing;
- a step that depends on the venue's answer (a cancel confirmed, a closing order filled)
  waits for exactly that answer, looking again after each batch the engine commits, for at
  most ``timeout`` seconds on the engine's clock: never a fixed sleep, so the wait is as
  short as the venue is fast.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Final, TypeVar

from ordergate.domain.commands import (
    AccountRef,
    CancelOrder,
    CancelOrders,
    Flatten,
    OrderRef,
    PlaceOrder,
)
from ordergate.domain.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    InvalidPrice,
    OrderLocked,
    OrderNotCancellable,
    OrderNotFound,
    Rejected,
)
from ordergate.domain.ids import OrderId
from ordergate.domain.orders import (
    CANCELLABLE,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from ordergate.domain.principal import Principal
from ordergate.domain.reports import CancelFailure
from ordergate.engine import queries
from ordergate.engine.engine import OrderEngine

__all__ = [
    "SETTLE_TIMEOUT_S",
    "Bracket",
    "BracketReport",
    "cancel_and_bracket",
    "check_place",
    "flat_place",
    "replace_order",
]

#: How long a flow waits for the venue's answer before it gives up (seconds).
SETTLE_TIMEOUT_S: Final = 5.0
#: How often a bracket re-asks the cancel of orders the venue put back or just acknowledged.
_CANCEL_RETRIES: Final = 3
_GONE: Final = frozenset({OrderStatus.CANCELLED, OrderStatus.EXPIRED})

T = TypeVar("T")


async def check_place(engine: OrderEngine, principal: Principal, cmd: PlaceOrder) -> None:
    """Raise what ``engine.place`` would raise for ``cmd`` now, but for margin (which the
    flow's own first steps change). Changes nothing."""
    await engine.check_place(principal, cmd)


def _wait(timeout: float | None) -> float:
    """``timeout``, or the module's ``SETTLE_TIMEOUT_S`` as it is now (tests shorten it)."""
    return SETTLE_TIMEOUT_S if timeout is None else timeout


async def _until(
    engine: OrderEngine, read: Callable[[], T], done: Callable[[T], bool], timeout: float
) -> T:
    """``read()`` after each committed batch until ``done`` says so or ``timeout`` seconds
    passed on the engine's clock; the last value read."""
    deadline = engine.clock.now() + timedelta(seconds=timeout)
    while True:
        value = read()
        if done(value) or not await engine.wait_change(deadline):
            return read()


def _orders(
    engine: OrderEngine, principal: Principal, account: AccountRef, ids: Sequence[OrderId]
) -> list[Order]:
    found = engine.state.account_for(principal, account)
    orders = [engine.state.order_in(found.login, i) for i in ids]
    missing = [i for i, o in zip(ids, orders, strict=True) if o is None]
    if missing:
        raise OrderNotFound(f"order {missing[0]} not found in account {found.name}")
    return [copy.copy(o) for o in orders if o is not None]


def _net(engine: OrderEngine, principal: Principal, account: AccountRef, symbol: str) -> Decimal:
    """The account's signed net position in ``symbol`` (long positive)."""
    found = engine.state.account_for(principal, account)
    tickets = engine.state.open_tickets(found.login, symbol)
    return sum((t.quantity * t.side.sign for t in tickets), Decimal(0))


def _after(done: str, exc: DomainError) -> DomainError:
    """``exc`` (same class and code) telling what already happened before it."""
    return type(exc)(f"{done}, but {exc.message}")


async def replace_order(
    engine: OrderEngine,
    principal: Principal,
    account: AccountRef,
    order: OrderRef,
    new: PlaceOrder,
    *,
    timeout: float | None = None,
) -> Order:
    """Cancel ``order`` and place ``new`` in its stead; returns the new order.

    The new order is placed only once the venue has confirmed the cancel, so the two are
    never working together. If the cancel loses the race (the order filled first), the venue
    refuses it (the order rests again), or it is not confirmed within ``timeout``, nothing is
    placed and the error says which: at most one of the two orders is ever working. An
    order partly filled before its rest was cancelled counts as cancelled: ``new`` is placed
    as given.
    """
    timeout = _wait(timeout)
    await check_place(engine, principal, new)
    old = await engine.cancel(principal, CancelOrder(account=account, order=order))

    def read() -> Order:
        return _orders(engine, principal, account, [old.id])[0]

    final = await _until(
        engine, read, lambda o: o.status is not OrderStatus.PENDING_CANCEL, timeout
    )
    if final.status is OrderStatus.PENDING_CANCEL:
        raise OrderLocked(
            f"the cancel of order {old.id} was not confirmed within {timeout:g}s; "
            "the new order was not placed (the old one is still cancelling)"
        )
    if final.status is OrderStatus.FILLED:
        raise OrderNotCancellable(
            f"order {old.id} filled before it could be cancelled; the new order was not placed"
        )
    if final.status not in _GONE:
        raise OrderNotCancellable(
            f"the venue refused to cancel order {old.id} (it is {final.status} again); "
            "the new order was not placed"
        )
    try:
        return await engine.place(principal, new)
    except DomainError as exc:
        raise _after(f"order {old.id} was cancelled", exc) from exc


async def flat_place(
    engine: OrderEngine,
    principal: Principal,
    cmd: PlaceOrder,
    *,
    timeout: float | None = None,
) -> Order:
    """Flatten the account in ``cmd.symbol`` (cancel its orders, close its position), then
    place ``cmd``: CrossTrade's ``flatplace``, whether or not a position existed.

    The order is placed only once the closing orders have filled and the position is seen
    flat (cancels are waited for too, so that an old order filling in the meantime shows;
    one still unanswered after ``timeout`` does not hold the order back). Otherwise nothing
    is placed and the error says why: the close was refused, or not filled within
    ``timeout``, or the position changed.
    """
    timeout = _wait(timeout)
    await check_place(engine, principal, cmd)
    report = await engine.flatten(principal, Flatten(account=cmd.account, symbol=cmd.symbol))
    closing = list(report.closing_orders)
    watched = closing + [a.order_id for a in report.cancel.accepted]

    def settled(orders: list[Order]) -> bool:
        return all(
            o.is_terminal if o.id in closing else o.status is not OrderStatus.PENDING_CANCEL
            for o in orders
        )

    def read() -> list[Order]:
        return _orders(engine, principal, cmd.account, watched)

    final = await _until(engine, read, settled, timeout) if watched else []
    for o in final:
        if o.id in closing and o.status is not OrderStatus.FILLED:
            if not o.is_terminal:
                raise OrderLocked(
                    f"the closing order {o.id} did not fill within {timeout:g}s; "
                    "the new order was not placed"
                )
            raise Rejected(
                f"the position in {cmd.symbol} could not be closed (order {o.id} is "
                f"{o.status}); the new order was not placed"
            )
    left = _net(engine, principal, cmd.account, cmd.symbol)
    if left != 0:
        raise Conflict(
            f"the position in {cmd.symbol} is not flat after closing "
            f"({left.normalize():f}: an order filled meanwhile); the new order was not placed"
        )
    try:
        return await engine.place(principal, cmd)
    except DomainError as exc:
        raise _after(f"the position in {cmd.symbol} was flattened", exc) from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class Bracket:
    """Protect the position on ``side`` in ``symbol`` with a take-profit limit and/or a
    stop-loss stop (the opposite side, one OCO group) of ``quantity``."""

    account: AccountRef
    symbol: str
    side: Side  # the side of the position protected, not of the exit orders
    quantity: Decimal
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    oco: str | None = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class BracketReport:
    """What a bracket did: the orders it cancelled, those still not gone when it placed the
    bracket (the venue was slow or kept refusing), and the bracket's orders."""

    cancelled: tuple[OrderId, ...]
    #: the instrument's orders still there when the bracket was placed, as they were then
    not_cancelled: tuple[Order, ...]
    take_profit: Order | None
    stop_loss: Order | None
    oco: str
    quantity: Decimal
    #: the orders whose cancel was refused (each with why); among ``not_cancelled``
    refused: tuple[CancelFailure, ...] = ()


def _legs(cmd: Bracket, oco: str, quantity: Decimal) -> list[PlaceOrder]:
    """The stop loss first (it is the one that limits a loss), then the take profit."""

    def leg(kind: OrderType, limit: Decimal | None, stop: Decimal | None) -> PlaceOrder:
        return PlaceOrder(
            account=cmd.account,
            symbol=cmd.symbol,
            side=cmd.side.opposite,
            type=kind,
            quantity=quantity,
            limit_price=limit,
            stop_price=stop,
            tif=cmd.tif,
            oco=oco,
            tag=cmd.tag,
        )

    legs = []
    if cmd.stop_loss is not None:
        legs.append(leg(OrderType.STOP, None, cmd.stop_loss))
    if cmd.take_profit is not None:
        legs.append(leg(OrderType.LIMIT, cmd.take_profit, None))
    return legs


def _check_levels(cmd: Bracket) -> None:
    tp, sl = cmd.take_profit, cmd.stop_loss
    if tp is None and sl is None:
        raise InvalidInput("give a take profit, a stop loss or both")
    if tp is not None and sl is not None and (tp - sl) * cmd.side.sign <= 0:
        long = cmd.side is Side.BUY
        raise InvalidPrice(
            f"protecting a {'long' if long else 'short'} position, the take profit must be "
            f"{'above' if long else 'below'} the stop loss"
        )


async def _clear(
    engine: OrderEngine, principal: Principal, cmd: Bracket, timeout: float
) -> list[Order]:
    """Wait until the account has no order left in the instrument, asking again for the
    cancel of orders that became cancellable meanwhile (acknowledged, or put back by a
    refused cancel); the orders still there after ``timeout``."""
    deadline = engine.clock.now() + timedelta(seconds=timeout)
    retries = 0
    while True:
        left = [
            o
            for o in await queries.open_orders(engine, principal, cmd.account)
            if o.symbol == cmd.symbol
        ]
        if not left:
            return left
        if retries < _CANCEL_RETRIES and any(o.status in CANCELLABLE for o in left):
            retries += 1
            await engine.cancel_orders(
                principal, CancelOrders(account=cmd.account, symbol=cmd.symbol)
            )
            continue
        if not await engine.wait_change(deadline):
            return [
                o
                for o in await queries.open_orders(engine, principal, cmd.account)
                if o.symbol == cmd.symbol
            ]


async def cancel_and_bracket(
    engine: OrderEngine,
    principal: Principal,
    cmd: Bracket,
    *,
    timeout: float | None = None,
) -> BracketReport:
    """Cancel every order of the account in ``cmd.symbol``, then place the bracket.

    The position is unprotected from the moment the old orders are gone until the bracket
    rests. That window is kept to the venue's own round trip: everything is checked first
    (bad input changes nothing); all the instrument's orders go to pending cancel in one
    batch; the bracket is submitted as soon as the venue has answered the last cancel
    (looked for after each batch the engine commits, never slept); its two legs go out
    back to back, stop loss first.

    Waiting for the cancels' outcome (rather than placing at once) is what keeps the bracket
    from meeting a position it was not meant for: once they are answered, the position is
    read again. If it went flat (an old stop filled in the window) nothing is placed; if it
    shrank, the bracket is clamped to it; with no position at all the bracket is an entry of
    ``quantity`` (CrossTrade's straddle).
    Orders still not gone after ``timeout`` do not hold the protection back: the bracket is
    placed and they are reported.
    """
    _check_levels(cmd)
    oco = cmd.oco or f"bracket-{uuid.uuid4().hex}"
    for leg in _legs(cmd, oco, cmd.quantity):
        await check_place(engine, principal, leg)
    before = _net(engine, principal, cmd.account, cmd.symbol)
    if before * cmd.side.sign < 0:
        raise Conflict(
            f"{cmd.side} protects a {'long' if cmd.side is Side.BUY else 'short'} position, "
            f"but the position in {cmd.symbol} is {before.normalize():f}"
        )
    report = await engine.cancel_orders(
        principal, CancelOrders(account=cmd.account, symbol=cmd.symbol)
    )
    left = await _clear(engine, principal, cmd, _wait(timeout))
    after = _net(engine, principal, cmd.account, cmd.symbol)
    cancelled = tuple(a.order_id for a in report.accepted)
    if after * cmd.side.sign < 0 or (before != 0 and after == 0):
        raise Conflict(
            f"the position in {cmd.symbol} changed to {after.normalize():f} while its orders "
            "were cancelled; the bracket was not placed"
        )
    quantity = cmd.quantity if after == 0 else min(cmd.quantity, abs(after))
    placed: dict[OrderType, Order] = {}
    for leg in _legs(cmd, oco, quantity):
        try:
            placed[leg.type] = await engine.place(principal, leg)
        except DomainError as exc:
            raise _after(f"the orders in {cmd.symbol} were cancelled", exc) from exc
    return BracketReport(
        cancelled=cancelled,
        not_cancelled=tuple(left),
        take_profit=placed.get(OrderType.LIMIT),
        stop_loss=placed.get(OrderType.STOP),
        oco=oco,
        quantity=quantity,
        refused=report.failures,
    )
