"""Fills and position tickets: fills are the ledger, tickets are what they add up to.

Each entry fill opens (or grows) a ticket numbered like its order. A netting account nets an
opposite fill against its open tickets oldest first; a hedging account keeps opposite tickets
apart and reduces one only when an order names it (``closes_ticket``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from ordergate.domain.accounts import PositionMode
from ordergate.domain.ids import Login, Ticket
from ordergate.domain.orders import Side
from ordergate.domain.values import SCALE

__all__ = ["Fill", "PositionChange", "PositionTicket", "apply_fill"]

_QUANTUM = Decimal(1).scaleb(-SCALE)


class Fill(NamedTuple):
    """One execution of (part of) an order. A NamedTuple rather than a frozen dataclass:
    every fill builds one, and a tuple is several times cheaper."""

    order_ticket: Ticket
    login: Login
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    at: datetime
    closes_ticket: Ticket | None = None


@dataclass(slots=True, kw_only=True)
class PositionTicket:
    """An open (or closed) trade: ScaleTrade's ticket; CrossTrade sums them per instrument."""

    ticket: Ticket
    login: Login
    symbol: str
    side: Side
    quantity: Decimal
    open_price: Decimal
    opened_at: datetime
    closed_quantity: Decimal = Decimal(0)
    close_price: Decimal | None = None
    realized_pnl: Decimal = Decimal(0)
    closed_at: datetime | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None

    @property
    def is_open(self) -> bool:
        return self.quantity > 0


@dataclass(slots=True)
class PositionChange:
    """What one fill did: tickets reduced or closed, and the ticket opened or grown."""

    reduced: list[PositionTicket] = field(default_factory=list)
    opened: PositionTicket | None = None
    #: profit or loss this fill realized, in the account currency
    realized: Decimal = Decimal(0)


def _reduce(ticket: PositionTicket, qty: Decimal, fill: Fill, point_value: Decimal) -> Decimal:
    """Close ``qty`` of ``ticket`` at the fill's price; returns the profit or loss."""
    closed_before = ticket.closed_quantity
    pnl = ((fill.price - ticket.open_price) * qty * point_value * ticket.side.sign).quantize(
        _QUANTUM
    )
    previous = (ticket.close_price or Decimal(0)) * closed_before
    ticket.closed_quantity = closed_before + qty
    ticket.close_price = ((previous + fill.price * qty) / ticket.closed_quantity).quantize(_QUANTUM)
    ticket.quantity -= qty
    ticket.realized_pnl += pnl
    if ticket.quantity == 0:
        ticket.closed_at = fill.at
    return pnl


def apply_fill(
    mode: PositionMode,
    open_tickets: list[PositionTicket],
    fill: Fill,
    point_value: Decimal,
    existing: PositionTicket | None = None,
) -> PositionChange:
    """Apply ``fill`` to the account's open tickets in ``fill.symbol`` (oldest first).

    ``existing`` is the ticket this order already opened by an earlier partial fill, if any
    (open, or closed since by other fills: it opens again).
    """
    change = PositionChange()
    left = fill.quantity
    if fill.closes_ticket is not None:
        target = next(
            (
                t
                for t in open_tickets
                if t.ticket == fill.closes_ticket and t.side is not fill.side and t.is_open
            ),
            None,
        )
        if target is not None:
            qty = min(left, target.quantity)
            change.realized += _reduce(target, qty, fill, point_value)
            change.reduced.append(target)
            left -= qty
        # What the named ticket no longer holds (another fill closed it first) is an ordinary
        # fill: the venue has filled it, and the ledger takes every fill.
    if mode is PositionMode.NETTING:
        for ticket in open_tickets:
            if left == 0:
                break
            if ticket.side is fill.side or not ticket.is_open:
                continue
            qty = min(left, ticket.quantity)
            change.realized += _reduce(ticket, qty, fill, point_value)
            change.reduced.append(ticket)
            left -= qty
    if left > 0:
        if existing is not None:
            total = existing.quantity + left
            cost = existing.open_price * existing.quantity + fill.price * left
            existing.open_price = (cost / total).quantize(_QUANTUM)
            existing.quantity = total
            existing.closed_at = None  # open again, if other fills had closed it meanwhile
            change.opened = existing
        else:
            change.opened = PositionTicket(
                ticket=fill.order_ticket,
                login=fill.login,
                symbol=fill.symbol,
                side=fill.side,
                quantity=left,
                open_price=fill.price,
                opened_at=fill.at,
            )
    return change
