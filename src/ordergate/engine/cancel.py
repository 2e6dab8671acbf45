"""Cancelling: one order, or every working order of an account (optionally one instrument's)
at once — the bulk cancel, atomic and reported order by order."""

from __future__ import annotations

import copy
from collections.abc import Sequence

from ordergate.domain.commands import CancelOrder, CancelOrders
from ordergate.domain.errors import (
    AlreadyPendingCancel,
    MarketClosed,
    OrderLocked,
    OrderNotCancellable,
    OrderNotFound,
)
from ordergate.domain.events import OrderTransitioned, transitioned
from ordergate.domain.orders import (
    CANCELLABLE,
    LOCKED,
    Order,
    OrderStatus,
    OrderType,
    Trigger,
)
from ordergate.domain.principal import Principal, can_act
from ordergate.domain.reports import CancelAccepted, CancelFailure, CancelReport, FailureCode
from ordergate.engine.writer import Step

__all__ = ["BULK_REASON", "cancel", "cancel_orders", "ensure_resting", "failure"]

BULK_REASON = "bulk cancel requested"


def ensure_resting(order: Order, what: str) -> None:
    """Raise unless a cancel or a change may be asked of ``order`` now."""
    if order.status in LOCKED:
        raise OrderLocked(f"order {order.id} is {order.status}: the venue is processing it")
    if order.status is OrderStatus.PENDING_CANCEL:
        raise AlreadyPendingCancel(f"order {order.id} is already pending cancel")
    if order.status not in CANCELLABLE:
        raise OrderNotCancellable(f"order {order.id} is {order.status} and cannot be {what}")


def _target(step: Step, principal: Principal, cmd: CancelOrder) -> Order:
    """The order ``cmd`` names, in its account or (none named) in its own, if the caller
    may act on it; an order of an account out of reach is as unknown as a missing one."""
    state = step.state
    if cmd.account is not None:
        account = state.account_for(principal, cmd.account)
        order = state.order_in(account.login, cmd.order)
        if order is None:
            raise OrderNotFound(f"order {cmd.order} not found in account {account.name}")
        return order
    order = state.order(cmd.order)
    owner = None if order is None else state.account(order.login)
    if order is None or owner is None or not can_act(principal, owner):
        what = "ticket" if isinstance(cmd.order, int) else "order"
        raise OrderNotFound(f"{what} {cmd.order} not found")
    return order


def cancel(step: Step, principal: Principal, cmd: CancelOrder) -> Order:
    """Ask the venue to cancel one resting order: it goes to pending cancel now, and the
    venue confirms (or refuses) later."""
    order = _target(step, principal, cmd)
    if cmd.resting_only and order.type is OrderType.MARKET:
        raise OrderNotCancellable(f"order {order.id} is a market order")
    ensure_resting(order, "cancelled")
    refusal = step.venue.cancel_refusal(order.symbol, step.now)
    if refusal is not None:
        raise MarketClosed(f"{order.symbol}: {refusal}")
    request_id = step.request_id()
    transition = step.state.step(
        order,
        Trigger.REQUEST_CANCEL,
        step.now,
        "cancel requested",
        principal.actor,
        request_id,
        step.batch,
    )
    step.publish(transitioned(order, transition))
    venue, login, tickets = step.venue, order.login, [order.key]
    step.tell(lambda: venue.cancel(login, request_id, tickets))
    return copy.copy(order)


def failure(order: Order, reason: str | None) -> CancelFailure:
    """Why an order in a bulk cancel's scope was not accepted; ``reason``: why the venue
    refuses cancels in its instrument now, if it does."""
    if order.status is OrderStatus.PENDING_CANCEL:
        code, message = FailureCode.ALREADY_PENDING_CANCEL, "a cancel is already pending"
    elif reason is not None:
        code, message = FailureCode.VENUE_REJECTED, f"the venue refuses cancels now: {reason}"
    else:
        code, message = (
            FailureCode.ORDER_LOCKED,
            f"the venue is still processing it ({order.status})",
        )
    return CancelFailure(
        order_id=order.id,
        ticket=order.key,
        login=order.login,
        symbol=order.symbol,
        side=order.side,
        type=order.type,
        quantity=order.quantity,
        status=order.status,
        code=code,
        message=message,
        reason=reason,
    )


def cancel_orders(step: Step, principal: Principal, cmd: CancelOrders) -> CancelReport:
    """Cancel every working order of an account (or of one instrument in it), atomically.

    Every order of the scope that has not ended is in the report, accepted or failed with a
    code. The accepted ones move to pending cancel together, as one entry of the journal;
    the venue then confirms them."""
    state, now = step.state, step.now
    account = state.account_for(principal, cmd.account)
    symbol = None if cmd.symbol is None else state.instrument(cmd.symbol).symbol
    refusals: dict[str, str | None] = {}
    by_status: dict[OrderStatus, list[Order]] = {}
    failed: list[CancelFailure] = []
    for order in state.open_orders(account.login):
        if symbol is not None and order.symbol != symbol:
            continue
        if order.symbol not in refusals:
            refusals[order.symbol] = step.venue.cancel_refusal(order.symbol, now)
        refusal = refusals[order.symbol]
        if order.status in CANCELLABLE and refusal is None:
            by_status.setdefault(order.status, []).append(order)
        else:
            failed.append(failure(order, refusal))
    if not by_status:
        return CancelReport((), tuple(failed))
    request_id = step.request_id()
    accepted: list[CancelAccepted] = []
    for prior, orders in by_status.items():
        target = state.move_many(
            orders,
            Trigger.REQUEST_CANCEL,
            now,
            BULK_REASON,
            principal.actor,
            request_id,
            step.batch,
        )
        accepted += _accepted(orders, prior, target)
        if step.publishing:
            for o in orders:
                step.publish(
                    OrderTransitioned(
                        o.id, o.key, o.login, o.symbol, prior, target, BULK_REASON, now
                    )
                )
    if len(by_status) > 1:
        accepted.sort(key=lambda a: a.ticket)
    tickets = [a.ticket for a in accepted]
    venue, login = step.venue, account.login
    step.tell(lambda: venue.cancel(login, request_id, tickets))
    return CancelReport(tuple(accepted), tuple(failed))


def _accepted(
    orders: Sequence[Order], prior: OrderStatus, target: OrderStatus
) -> list[CancelAccepted]:
    # Built as the tuples they are: a bulk cancel makes one per order, a hundred thousand.
    new = tuple.__new__
    return [
        new(
            CancelAccepted,
            (
                o.id,
                o.ticket,
                o.login,
                o.symbol,
                o.side,
                o.type,
                o.quantity,
                o.quantity - o.filled if o.filled else o.quantity,
                prior,
                target,
            ),
        )
        for o in orders
    ]
