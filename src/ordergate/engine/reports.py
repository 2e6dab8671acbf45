"""Applying the venue's reports: acknowledgements, fills, cancel and change outcomes,
expiries, and orders the venue cancelled itself.

A delivery of reports is one command, applied in the venue's order. A report about an order
that has moved on (a late acknowledgement of a cancelled order) is logged and dropped: the
transition table decides what is legal, never the report. Many orders answered alike at once
(the confirmation of a bulk cancel) move together, as one entry of the journal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ordergate.domain.accounts import Account
from ordergate.domain.errors import DomainError
from ordergate.domain.events import OrderFilled, OrderTransitioned, PositionChanged, transitioned
from ordergate.domain.ids import Ticket
from ordergate.domain.orders import Order, OrderStatus, Trigger
from ordergate.domain.positions import Fill, PositionTicket, apply_fill
from ordergate.engine.writer import Step
from ordergate.venue.base import (
    Acknowledged,
    CancelConfirmed,
    CancelledByVenue,
    CancelRefused,
    ChangeConfirmed,
    ChangeRefused,
    Expired,
    Filled,
    Refused,
    VenueReport,
)

__all__ = ["VENUE_ACTOR", "VenueReports", "apply_reports"]

log = logging.getLogger(__name__)

VENUE_ACTOR = "venue"


@dataclass(frozen=True, slots=True)
class VenueReports:
    """The venue's reports of one delivery, in the order they happened."""

    reports: Sequence[VenueReport]


def apply_reports(step: Step, _: None, cmd: VenueReports) -> None:
    for report in cmd.reports:
        try:
            _apply(step, report)
        except DomainError as exc:
            # The order moved on first (a late acknowledgement, a fill of an ended order).
            log.warning("venue report %r not applied: %s", report, exc.message)


def _apply(step: Step, report: VenueReport) -> None:
    if isinstance(report, Filled):
        _fill(step, report)
    elif isinstance(report, CancelConfirmed):
        _confirm(step, report)
    elif isinstance(report, CancelRefused):
        reason = f"cancel refused: {report.reason}"
        _together(step, report.tickets, Trigger.CANCEL_REFUSED, reason)
    elif isinstance(report, Expired | CancelledByVenue):
        trigger, reason = _STEPS[type(report)]
        if isinstance(report, CancelledByVenue):
            reason = f"{reason}: {report.reason}"
        for ticket in report.tickets:
            _guarded(step, ticket, trigger, reason)
    elif type(report) not in _STEPS:  # a venue bug: the delivery's other reports still count
        log.error("venue report of unknown kind %r dropped", report)
    else:
        trigger, reason = _STEPS[type(report)]
        if isinstance(report, Acknowledged):
            trigger = Trigger.WORK if report.live else Trigger.ACCEPT
        elif isinstance(report, Refused | ChangeRefused):
            reason = f"{reason}: {report.reason}"
        _one(step, report.ticket, trigger, reason)


#: Reports that move each order they name one step: the trigger and the audit reason.
_STEPS: dict[type, tuple[Trigger, str]] = {
    Acknowledged: (Trigger.ACCEPT, "acknowledged"),
    Refused: (Trigger.REJECT, "rejected"),
    ChangeConfirmed: (Trigger.CHANGE_ACK, "change confirmed"),
    ChangeRefused: (Trigger.CHANGE_REFUSED, "change refused"),
    Expired: (Trigger.EXPIRE, "expired"),
    CancelledByVenue: (Trigger.VENUE_CANCEL, "cancelled by the venue"),
}


def _order(step: Step, ticket: Ticket) -> Order | None:
    order = step.state.order(ticket)
    if order is None:
        log.warning("venue reported unknown (or long ended) ticket %s", ticket)
    return order


def _one(step: Step, ticket: Ticket, trigger: Trigger, reason: str) -> None:
    order = _order(step, ticket)
    if order is None:
        return
    transition = step.state.step(
        order, trigger, step.now, reason, VENUE_ACTOR, None, step.batch, keep_request_id=True
    )
    step.publish(transitioned(order, transition))


def _guarded(step: Step, ticket: Ticket, trigger: Trigger, reason: str) -> None:
    """``_one`` for a report naming several orders: one that moved on does not stop the rest."""
    try:
        _one(step, ticket, trigger, reason)
    except DomainError as exc:
        log.warning("venue report on %s not applied: %s", ticket, exc.message)


def _together(step: Step, tickets: Sequence[Ticket], trigger: Trigger, reason: str) -> None:
    """Move the orders ``tickets`` name that are still pending cancel, alike ones at once."""
    groups: dict[tuple[OrderStatus | None, bool], list[Order]] = {}
    for ticket in tickets:
        order = step.state.order(ticket)
        if order is not None and order.status is OrderStatus.PENDING_CANCEL:
            groups.setdefault((order.prior_status, order.filled > 0), []).append(order)
    _move(step, groups.values(), trigger, reason)


def _confirm(step: Step, report: CancelConfirmed) -> None:
    """The venue took the orders off its book: those still pending this cancel end."""
    groups: dict[tuple[OrderStatus | None, bool], list[Order]] = {}
    for ticket in report.tickets:
        order = step.state.order(ticket)
        if (
            order is not None
            and order.status is OrderStatus.PENDING_CANCEL
            and order.request_id == report.request_id
        ):
            groups.setdefault((order.prior_status, order.filled > 0), []).append(order)
    _move(step, groups.values(), Trigger.CANCEL_ACK, "cancelled")


def _move(step: Step, groups: Iterable[list[Order]], trigger: Trigger, reason: str) -> None:
    for orders in groups:
        source = orders[0].status
        target = step.state.move_many(
            orders, trigger, step.now, reason, VENUE_ACTOR, None, step.batch
        )
        if step.publishing:
            for o in orders:
                step.publish(
                    OrderTransitioned(
                        o.id, o.key, o.login, o.symbol, source, target, reason, step.now
                    )
                )


def _fill(step: Step, report: Filled) -> None:
    """A fill: the order's fill, then the position ledger (netting or hedging) and the
    balance by what it realized."""
    state = step.state
    order = _order(step, report.ticket)
    if order is None:
        return
    account: Account | None = state.account(order.login)
    instrument = state.instrument(order.symbol)
    if account is None:
        raise DomainError(f"order {order.id} has no account")
    transition = state.fill(
        order, report.quantity, report.price, report.at, VENUE_ACTOR, step.batch
    )
    fill = Fill(
        order.key,
        order.login,
        order.symbol,
        order.side,
        report.quantity,
        report.price,
        report.at,
        order.closes_ticket,
    )
    existing = state.position_ticket(order.key)
    before = existing.quantity if existing is not None else Decimal(0)
    facing = state.facing(order.login, order.symbol, order.side.opposite)
    change = apply_fill(account.mode, facing, fill, instrument.point_value, existing)
    opened = change.opened
    grown = Decimal(0)
    if opened is not None:
        grown = opened.quantity - (before if opened is existing else Decimal(0))
        if opened is not existing:
            # The protection an entry order asked for goes onto the ticket it opens.
            opened.stop_loss = order.stop_loss
            opened.take_profit = order.take_profit
    step.batch.fills.append(fill)
    state.count_fill(order.login, fill.quantity)
    state.tickets_changed(
        order.login,
        order.symbol,
        change.reduced,
        opened,
        2 * grown - report.quantity,
        step.batch,
    )
    if change.realized:
        state.credit(order.login, change.realized, step.batch)
    touched: list[PositionTicket] = [*change.reduced, *([opened] if opened else [])]
    for ticket in touched:
        state.protection.track(ticket)
    if not step.publishing:
        return
    step.publish(transitioned(order, transition))
    step.publish(
        OrderFilled(
            order.id,
            order.key,
            order.login,
            order.symbol,
            order.side,
            report.quantity,
            report.price,
            report.at,
        )
    )
    for t in touched:
        step.publish(
            PositionChanged(
                t.ticket,
                t.login,
                t.symbol,
                t.side,
                t.quantity,
                t.open_price,
                t.realized_pnl,
                report.at,
            )
        )
