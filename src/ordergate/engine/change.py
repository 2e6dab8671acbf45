"""Changing a resting order's quantity, prices, protective levels or expiry; the venue
confirms the change (or refuses it) later."""

from __future__ import annotations

import copy
from dataclasses import replace

from ordergate.domain.commands import ChangeOrder, new_level
from ordergate.domain.errors import InvalidInput, InvalidQuantity, MarketClosed, OrderNotFound
from ordergate.domain.events import transitioned
from ordergate.domain.orders import Order, OrderType, TimeInForce
from ordergate.domain.principal import Principal
from ordergate.engine.cancel import ensure_resting
from ordergate.engine.place import venue_order
from ordergate.engine.risk import check_order, check_stops
from ordergate.engine.writer import Step

__all__ = ["change", "check_change"]


def _changed(order: Order, cmd: ChangeOrder) -> Order:
    """``order`` as ``cmd`` asks it to be (checked by the caller)."""
    tif, expires_at = order.tif, order.expires_at
    if cmd.clear_expiry:
        if tif is TimeInForce.DAY:
            raise InvalidInput("a day order expires at the session end; its expiry stays")
        tif, expires_at = TimeInForce.GTC, None
    elif cmd.expires_at is not None:
        if order.type is OrderType.MARKET:
            raise InvalidInput("a market order cannot be good-till-date")
        tif, expires_at = TimeInForce.GTD, cmd.expires_at
    return replace(
        order,
        quantity=order.quantity if cmd.quantity is None else cmd.quantity,
        limit_price=order.limit_price if cmd.limit_price is None else cmd.limit_price,
        stop_price=order.stop_price if cmd.stop_price is None else cmd.stop_price,
        stop_loss=new_level(order.stop_loss, cmd.stop_loss),
        take_profit=new_level(order.take_profit, cmd.take_profit),
        tif=tif,
        expires_at=expires_at,
    )


def check_change(cmd: ChangeOrder) -> None:
    if cmd.empty:
        raise InvalidInput(
            "nothing to change: give quantity, a price, stop-loss, take-profit or expiry"
        )


def change(step: Step, principal: Principal, cmd: ChangeOrder) -> Order:
    """Change quantity and/or prices of a resting order: it goes to pending change with its
    new values, and the venue confirms."""
    check_change(cmd)
    state, now = step.state, step.now
    account = state.account_for(principal, cmd.account)
    account.ensure_enabled()
    order = state.order_in(account.login, cmd.order)
    if order is None:
        raise OrderNotFound(f"order {cmd.order} not found in account {account.name}")
    ensure_resting(order, "changed")
    instrument = state.instrument(order.symbol)
    changed = _changed(order, cmd)
    check_order(changed, instrument, now)
    check_stops(changed, step.venue.quote(order.symbol))
    if changed.quantity <= order.filled:
        raise InvalidQuantity(f"quantity must exceed the filled {order.filled}")
    refusal = step.venue.submission_refusal(order.symbol, now)
    if refusal is not None:
        raise MarketClosed(f"{order.symbol}: {refusal}")
    request_id = step.request_id()
    transition = state.change(
        order, changed, now, "change requested", principal.actor, request_id, step.batch
    )
    step.publish(transitioned(changed, transition))
    venue, sent = step.venue, venue_order(changed)
    step.tell(lambda: venue.change(sent))
    return copy.copy(changed)
