"""Closing positions: market orders against open tickets (all of a symbol, part of it, or
one ticket), flattening an account, and setting a ticket's stop-loss and take-profit."""

from __future__ import annotations

import copy
from decimal import Decimal

from ordergate.domain.commands import (
    CancelOrders,
    ClosePosition,
    Flatten,
    ModifyTrade,
    PlaceOrder,
    new_level,
)
from ordergate.domain.errors import (
    InvalidInput,
    InvalidQuantity,
    OrderLocked,
    PositionNotFound,
)
from ordergate.domain.orders import Order, OrderType, TimeInForce
from ordergate.domain.positions import PositionTicket
from ordergate.domain.principal import Principal
from ordergate.domain.reports import FlattenReport
from ordergate.domain.values import Price, shown
from ordergate.engine.accounting import exit_price
from ordergate.engine.cancel import cancel_orders
from ordergate.engine.place import new_order, store_new, venue_order
from ordergate.engine.risk import check_levels
from ordergate.engine.writer import Step

__all__ = ["close_position", "closing_plan", "flatten", "modify_trade"]


def closing_plan(
    tickets: list[PositionTicket], quantity: Decimal | None
) -> list[tuple[PositionTicket, Decimal]]:
    """Which tickets to close by how much, oldest first, for ``quantity`` (None = all)."""
    total = sum((t.quantity for t in tickets), Decimal(0))
    left = total if quantity is None else quantity
    if left > total:
        raise InvalidQuantity(f"close quantity {shown(left)} exceeds the position {shown(total)}")
    plan = []
    for t in tickets:
        if left <= 0:
            break
        qty = min(t.quantity, left)
        plan.append((t, qty))
        left -= qty
    return plan


def _open_ticket(step: Step, login: int, ticket: int, what: str) -> PositionTicket:
    found = step.state.position_ticket(ticket)  # type: ignore[arg-type]
    if found is None or found.login != login or not found.is_open:
        raise PositionNotFound(f"no open {what} {ticket}")
    return found


def close_position(step: Step, principal: Principal, cmd: ClosePosition) -> list[Order]:
    """Send market orders that close the position in a symbol (all or part) or one ticket.
    Each closing order is checked first; if one cannot be sent, none is."""
    return _send(step, principal, _closing_orders(step, principal, cmd))


def _closing_orders(step: Step, principal: Principal, cmd: ClosePosition) -> list[Order]:
    """The market orders that would close what ``cmd`` names, checked. Changes nothing."""
    if cmd.quantity is not None and cmd.quantity <= 0:
        raise InvalidQuantity("close quantity must be positive")
    state = step.state
    account = state.account_for(principal, cmd.account)
    if cmd.ticket is not None:
        tickets = [_open_ticket(step, account.login, cmd.ticket, "position ticket")]
    elif cmd.symbol is not None:
        state.instrument(cmd.symbol)
        tickets = state.open_tickets(account.login, cmd.symbol)
    else:
        raise InvalidInput("give a symbol or a ticket to close")
    if not tickets:
        raise PositionNotFound(f"no open position in {cmd.symbol} for {account.name}")
    checked: list[Order] = []
    for t, qty in closing_plan(tickets, cmd.quantity):
        request = PlaceOrder(
            account=account.login,
            symbol=t.symbol,
            side=t.side.opposite,
            type=OrderType.MARKET,
            quantity=qty,
            tif=TimeInForce.GTC,
            comment=cmd.comment or f"close #{t.ticket}",
        )
        _, _, order = new_order(state, step.venue, step.now, principal, request, closes=t)
        # An order closing more than the ticket still holds, once the closes already on
        # their way have filled, would find it closed and be left stuck.
        if state.closing(t.ticket) + qty > t.quantity:
            raise OrderLocked(f"trade {t.ticket} is already being closed; wait for that close")
        checked.append(order)
    return checked


def _send(step: Step, principal: Principal, checked: list[Order]) -> list[Order]:
    closing = [store_new(step, principal, order) for order in checked]
    for order in checked:
        step.submit(venue_order(order))
    return closing


def flatten(step: Step, principal: Principal, cmd: Flatten) -> FlattenReport:
    """Cancel the account's working orders, then close its positions (or one symbol's).
    The closes are checked before anything is cancelled: refused, the flatten does nothing."""
    account = step.state.account_for(principal, cmd.account)
    held = step.state.open_tickets(account.login)
    symbols = sorted({t.symbol for t in held if cmd.symbol in (None, t.symbol)})
    checked = [
        order
        for symbol in symbols
        for order in _closing_orders(
            step, principal, ClosePosition(account=account.login, symbol=symbol, comment="flatten")
        )
    ]
    report = cancel_orders(step, principal, CancelOrders(account=cmd.account, symbol=cmd.symbol))
    closing = tuple(o.id for o in _send(step, principal, checked))
    return FlattenReport(report, closing)


def modify_trade(step: Step, principal: Principal, cmd: ModifyTrade) -> PositionTicket:
    """Set or remove the stop-loss and take-profit of an open ticket. Levels must be on the
    tick grid and on the right side of the price the ticket would close at now."""
    if cmd.stop_loss is None and cmd.take_profit is None:
        raise InvalidInput("nothing to modify: give a stop-loss or a take-profit")
    state = step.state
    account = state.account_for(principal, cmd.account)
    account.ensure_enabled()
    ticket = _open_ticket(step, account.login, cmd.ticket, "trade")
    instrument = state.instrument(ticket.symbol)
    stop_loss = new_level(ticket.stop_loss, cmd.stop_loss)
    take_profit = new_level(ticket.take_profit, cmd.take_profit)
    for what, value in (("stop loss", stop_loss), ("take profit", take_profit)):
        if value is not None:
            instrument.check_price(Price.of(value), what)
    price = exit_price(ticket.side, step.venue.quote(ticket.symbol))
    if price is not None:
        check_levels(ticket.side, price, stop_loss, take_profit, "current price")
    state.set_levels(ticket, stop_loss, take_profit, step.batch)
    state.protection.track(ticket)
    return copy.copy(ticket)
