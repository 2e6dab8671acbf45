"""Placing an order: checked (who may act, the order's own rules, an open market, margin
against what the account holds and rests), stored as submitted, then sent to the venue."""

from __future__ import annotations

import copy
from datetime import datetime

from ordergate.domain.accounts import Account
from ordergate.domain.commands import PlaceOrder
from ordergate.domain.errors import (
    AccountLocked,
    InvalidInput,
    MarketClosed,
    MaxPositions,
    PositionRequired,
)
from ordergate.domain.events import transitioned
from ordergate.domain.ids import Login, new_order_id
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import Order, OrderStatus, TimeInForce, Transition
from ordergate.domain.positions import PositionTicket
from ordergate.domain.principal import Principal
from ordergate.engine.risk import check_margin, check_order, check_stops
from ordergate.engine.state import State
from ordergate.engine.writer import Step
from ordergate.venue.base import Venue, VenueOrder

__all__ = [
    "MARKET_CLOSED_REASON",
    "SUBMITTED",
    "check_place",
    "new_order",
    "place",
    "publish_new",
    "store_new",
    "venue_order",
]

MARKET_CLOSED_REASON = "market_closed"
#: A new order's first step.
SUBMITTED = Transition(None, OrderStatus.SUBMITTED, None, "submitted")


def venue_order(order: Order) -> VenueOrder:
    """What the venue needs of ``order``: what remains of it, its prices and status."""
    return VenueOrder(
        ticket=order.key,
        login=order.login,
        symbol=order.symbol,
        side=order.side,
        type=order.type,
        quantity=order.remaining,
        limit_price=order.limit_price,
        stop_price=order.stop_price,
        oco=order.oco,
        status=order.status,
        expires_at=order.expires_at,
    )


def _expiry(
    cmd: PlaceOrder, instrument: Instrument, venue: Venue, now: datetime
) -> datetime | None:
    """GTD orders expire when asked; DAY orders at the end of the session open now, as the
    venue judges trading hours (it may ignore them)."""
    if cmd.tif is not TimeInForce.DAY:
        return cmd.expires_at
    if cmd.expires_at is not None:
        raise InvalidInput("only a gtd order takes an expiry")
    end = venue.day_end(instrument, now)
    if end is None:
        raise MarketClosed(f"{instrument.symbol}: {MARKET_CLOSED_REASON}")
    return end


def new_order(
    state: State,
    venue: Venue,
    now: datetime,
    principal: Principal,
    cmd: PlaceOrder,
    closes: PositionTicket | None = None,
) -> tuple[Account, Instrument, Order]:
    """The order ``cmd`` asks for, checked (all but margin), not yet stored (no ticket). A
    closing order skips the grid checks: it takes what the ticket holds."""
    account = state.account_for(principal, cmd.account)
    account.ensure_enabled()
    instrument = state.instrument(cmd.symbol)
    if closes is None:
        _check_lock(state, principal, account, instrument.symbol, cmd)
        _check_positions(state, account.login, instrument.symbol, cmd)
    order = Order(
        id=new_order_id(),
        ticket=None,
        login=account.login,
        symbol=instrument.symbol,
        side=cmd.side,
        type=cmd.type,
        quantity=cmd.quantity,
        limit_price=cmd.limit_price,
        stop_price=cmd.stop_price,
        tif=cmd.tif,
        expires_at=_expiry(cmd, instrument, venue, now),
        oco=cmd.oco,
        tag=cmd.tag,
        stop_loss=cmd.stop_loss,
        take_profit=cmd.take_profit,
        comment=cmd.comment,
        closes_ticket=None if closes is None else closes.ticket,
        created_at=now,
        updated_at=now,
        client_id=cmd.client_id,
    )
    if closes is None:
        check_order(order, instrument, now)
        check_stops(order, venue.quote(instrument.symbol))
    refusal = venue.submission_refusal(instrument.symbol, now)
    if refusal is not None:
        raise MarketClosed(f"{instrument.symbol}: {refusal}")
    return account, instrument, order


def _check_lock(
    state: State, principal: Principal, account: Account, symbol: str, cmd: PlaceOrder
) -> None:
    """A locked account (or user) takes only orders that reduce the position they face."""
    reason = state.locks.get(account.login)
    if reason is None and principal.user_id is not None:
        reason = state.user_locks.get(principal.user_id)
    if reason is None:
        return
    net = state.net_position(account.login, symbol)
    if net and (net > 0) != (cmd.side.sign > 0) and cmd.quantity <= abs(net):
        return  # it closes (part of) the position
    raise AccountLocked(f"account {account.name} is locked: {reason}")


def _check_positions(state: State, login: Login, symbol: str, cmd: PlaceOrder) -> None:
    """The order's own position rules, against the positions as they are now (in the writer:
    two orders cannot both pass on the same position)."""
    net = state.net_position(login, symbol)
    if cmd.require_position is not None:
        now = "long" if net > 0 else "short" if net < 0 else "flat"
        if now not in cmd.require_position:
            allowed = ",".join(w for w in ("flat", "long", "short") if w in cmd.require_position)
            raise PositionRequired(f"position in {symbol} is {now.title()}; required {allowed}")
    if cmd.max_positions is not None and not net:
        held = state.positions_held(login)
        if held >= cmd.max_positions:
            raise MaxPositions(f"{held} open positions, limit {cmd.max_positions}")


def check_place(
    state: State, venue: Venue, now: datetime, principal: Principal, cmd: PlaceOrder
) -> None:
    """Raise what ``place`` would raise for ``cmd`` now, but for margin. Changes nothing."""
    new_order(state, venue, now, principal, cmd)


def store_new(step: Step, principal: Principal, order: Order) -> Order:
    """Give ``order`` its ticket and store it as submitted; its copy as stored."""
    order.ticket = step.state.next_ticket()
    step.state.insert(order, SUBMITTED, principal.actor, None, step.batch)
    publish_new(step, order)
    return copy.copy(order)


def publish_new(step: Step, order: Order) -> None:
    if step.publishing:
        step.publish(transitioned(order, SUBMITTED))


def place(step: Step, principal: Principal, cmd: PlaceOrder) -> Order:
    """Check and store a new order as submitted; the venue gets it once it is journaled."""
    state, venue = step.state, step.venue
    if cmd.client_id is not None:
        account = state.account_for(principal, cmd.account)
        placed = state.client_order(account.login, cmd.client_id)
        if placed is not None:  # a retry: the order it placed, nothing new
            return copy.copy(placed)
    account, instrument, order = new_order(state, venue, step.now, principal, cmd)
    check_margin(
        account,
        order,
        instrument,
        state.exposure(account.login),
        state.maybe_instrument,
        venue.quote,
    )
    stored = store_new(step, principal, order)
    step.submit(venue_order(order))
    return stored
