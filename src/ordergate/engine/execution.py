"""Applying the venue's reports: acknowledgements, fills, cancel and change outcomes.

Each report is applied in its own unit of work, in the order the venue sent them, but for a
run of acknowledgements and cancel confirmations, which is applied in one, shared with the
placements and cancels being written at the time (the engine's group commit). A report
about an order that has already moved on (a late acknowledgement of a cancelled order) is
logged and dropped: the table decides what is legal, never the report.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, cast

from ordergate.domain.errors import DomainError, InvalidOrderTransition
from ordergate.domain.events import (
    Event,
    OrderFilled,
    OrderTransitioned,
    PositionChanged,
    transitioned,
)
from ordergate.domain.ids import Login, Ticket, new_hex_id
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import CANCELLABLE, Order, OrderStatus, Trigger, next_status
from ordergate.domain.positions import Fill, apply_fill
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

if TYPE_CHECKING:
    from ordergate.engine.ports import Clock, EventSink, MovedOrder, Store, Transaction
    from ordergate.engine.protection import Protection

__all__ = ["VENUE_ACTOR", "AppliedRun", "ExecutionMixin"]

log = logging.getLogger(__name__)

VENUE_ACTOR = "venue"
_CANCELLED = next_status(OrderStatus.PENDING_CANCEL, Trigger.CANCEL_ACK)
#: Reports applied together when they come in a run (``on_venue_reports``).
_BATCHED = (Acknowledged, CancelConfirmed)
#: Where an acknowledgement puts a submitted order: (waiting for its trigger, working).
_ACKNOWLEDGED = (
    next_status(OrderStatus.SUBMITTED, Trigger.ACCEPT),
    next_status(OrderStatus.SUBMITTED, Trigger.WORK),
)
#: Where a refused cancel puts an order back, per resting status: (unfilled, partly filled).
_RESTORED = {
    prior: (
        next_status(OrderStatus.PENDING_CANCEL, Trigger.CANCEL_REFUSED, prior, Decimal(0)),
        next_status(OrderStatus.PENDING_CANCEL, Trigger.CANCEL_REFUSED, prior, Decimal(1)),
    )
    for prior in CANCELLABLE
}

#: Reports that move each named order one step: the trigger and the audit reason.
_STEPS: dict[type, tuple[Trigger, str]] = {
    Refused: (Trigger.REJECT, "rejected"),
    ChangeConfirmed: (Trigger.CHANGE_ACK, "change confirmed"),
    ChangeRefused: (Trigger.CHANGE_REFUSED, "change refused"),
    Expired: (Trigger.EXPIRE, "expired"),
    CancelledByVenue: (Trigger.VENUE_CANCEL, "cancelled by the venue"),
}


@dataclass(frozen=True, slots=True)
class AppliedRun:
    """A run of acknowledgements and cancel confirmations, written in a transaction not yet
    committed: what ``acknowledged`` publishes once it is."""

    reports: Sequence[Acknowledged | CancelConfirmed]
    first: dict[Ticket, Acknowledged]  # each ticket's first acknowledgement in the run
    moved: list[MovedOrder]
    cancelled: list[MovedOrder]
    at: datetime


class ExecutionMixin:
    """The engine's side of the venue protocol (``VenueListener``)."""

    store: Store
    clock: Clock
    protection: Protection
    sink: EventSink

    async def instrument(self, tx: Transaction, symbol: str) -> Instrument:
        raise NotImplementedError

    def _publish(self, events: Sequence[Event]) -> None:
        raise NotImplementedError

    async def on_venue_reports(self, reports: Sequence[VenueReport]) -> None:
        i = 0
        while i < len(reports):
            # A run of acknowledgements and cancel confirmations is applied in one unit of
            # work (under load they come by the hundred); every other report in its own, in
            # the venue's order. Within a run the order does not matter: a confirmation is of
            # an order whose cancel was asked, so whose acknowledgement was applied before.
            j = i + 1
            if isinstance(reports[i], _BATCHED):
                while j < len(reports) and isinstance(reports[j], _BATCHED):
                    j += 1
            await self._guarded(reports[i:j])
            i = j

    async def _guarded(self, reports: Sequence[VenueReport]) -> None:
        try:
            if isinstance(reports[0], _BATCHED):
                await self._apply_run(cast(Sequence[Acknowledged | CancelConfirmed], reports))
            else:
                await self._apply(reports[0])
        except DomainError as exc:
            # A report that no longer fits the order's state: the order moved on first.
            log.warning("venue report %r not applied: %s", reports[0], exc.message)
        except Exception:
            # Anything else (a lost database connection, a bug) must not cost the rest
            # of the batch its reports. An order whose report was lost stays as stored;
            # a restart hands it to the venue again.
            log.exception("venue reports %r not applied", reports[:3])

    async def _apply_run(self, reports: Sequence[Acknowledged | CancelConfirmed]) -> None:
        """Acknowledgements of submitted orders and cancel confirmations, in one unit of
        work shared with whatever else is being written then (``_write_run``); an
        acknowledgement of any other order (a stop-limit that triggered, a late one) goes
        the single way after, before the venue's next reports are applied."""
        for r in await self._write_run(reports):
            try:
                await self._step(
                    r.ticket, Trigger.WORK if r.live else Trigger.ACCEPT, "acknowledged"
                )
            except DomainError as exc:
                log.warning("venue report %r not applied: %s", r, exc.message)

    async def _write_run(
        self, reports: Sequence[Acknowledged | CancelConfirmed]
    ) -> list[Acknowledged]:
        """Write ``reports`` (``acknowledge_in``, then ``acknowledged`` once committed) and
        answer the acknowledgements left for the single way: the engine's group commit."""
        raise NotImplementedError

    async def acknowledge_in(
        self,
        tx: Transaction,
        reports: Sequence[Acknowledged | CancelConfirmed],
        now: datetime,
    ) -> AppliedRun:
        """In ``tx``: the submitted orders ``reports`` acknowledge move on, and the orders
        their confirmations name are cancelled."""
        first: dict[Ticket, Acknowledged] = {}
        confirms: list[CancelConfirmed] = []
        for r in reports:
            if isinstance(r, Acknowledged):
                first.setdefault(r.ticket, r)
            else:
                confirms.append(r)
        moved: list[MovedOrder] = []
        if first:
            moved = await tx.orders.acknowledge_batch(
                list(first),
                [t for t, r in first.items() if r.live],
                OrderStatus.SUBMITTED,
                _ACKNOWLEDGED,
                VENUE_ACTOR,
                "acknowledged",
                new_hex_id(),
                now,
            )
        cancelled = await self._confirm(tx, confirms, now)
        return AppliedRun(reports, first, moved, cancelled, now)

    def acknowledged(self, run: AppliedRun) -> list[Acknowledged]:
        """Once ``run`` is committed: its events published, and the acknowledgements it
        did not apply (their orders were not submitted) for the single way."""
        self._publish_moved(run.moved, OrderStatus.SUBMITTED, "acknowledged", run.at)
        self._publish_moved(run.cancelled, OrderStatus.PENDING_CANCEL, str(_CANCELLED), run.at)
        done = {m.ticket for m in run.moved}
        return [
            r
            for r in run.reports
            if isinstance(r, Acknowledged) and run.first[r.ticket] is r and r.ticket not in done
        ]

    @staticmethod
    async def _confirm(
        tx: Transaction, confirms: Sequence[CancelConfirmed], now: datetime
    ) -> list[MovedOrder]:
        """Cancel the orders the confirmations name: those without exceptions (single
        cancels) one statement per account, the others one each."""
        plain: dict[Login, list[str]] = {}
        moved: list[MovedOrder] = []
        for c in confirms:
            if c.except_tickets:
                moved += await tx.orders.confirm_batch(
                    c.login,
                    [c.request_id],
                    c.except_tickets,
                    OrderStatus.PENDING_CANCEL,
                    _CANCELLED,
                    VENUE_ACTOR,
                    new_hex_id(),
                    now,
                )
            else:
                plain.setdefault(c.login, []).append(c.request_id)
        for login, request_ids in plain.items():
            moved += await tx.orders.confirm_batch(
                login,
                request_ids,
                (),
                OrderStatus.PENDING_CANCEL,
                _CANCELLED,
                VENUE_ACTOR,
                new_hex_id(),
                now,
            )
        return moved

    async def _apply(self, report: VenueReport) -> None:
        if isinstance(report, Filled):
            await self._fill(report)
        elif isinstance(report, CancelRefused):
            await self._restore_cancels(report)
        else:
            trigger, reason = _STEPS[type(report)]
            if isinstance(report, ChangeRefused | Refused | CancelledByVenue):
                reason = f"{reason}: {report.reason}"
            many = isinstance(report, Expired | CancelledByVenue)
            for ticket in report.tickets if many else (report.ticket,):  # type: ignore[union-attr]
                await self._step(ticket, trigger, reason)

    async def _load(self, tx: Transaction, ticket: Ticket) -> Order:
        order = await tx.orders.by_ticket(ticket, lock=True)
        if order is None:
            raise InvalidOrderTransition(f"venue reported unknown ticket {ticket}")
        return order

    async def _step(self, ticket: Ticket, trigger: Trigger, reason: str) -> None:
        async with self.store.transaction() as tx:
            order = await self._load(tx, ticket)
            version = order.version
            step = order.apply(trigger, self.clock.now(), reason)
            await tx.orders.save(order, [step], VENUE_ACTOR, new_hex_id(), expected_version=version)
            await tx.commit()
        self._publish([transitioned(order, step)])

    async def _fill(self, report: Filled) -> None:
        async with self.store.transaction() as tx:
            order = await self._load(tx, report.ticket)
            version = order.version
            step = order.record_fill(report.quantity, report.price, report.at)
            account = await tx.accounts.get(order.login)
            instrument = await self.instrument(tx, order.symbol)
            if account is None:
                raise InvalidOrderTransition(f"order {order.id} has no account")
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
            tickets = await tx.positions.open_tickets(order.login, order.symbol)
            existing = next((t for t in tickets if t.ticket == order.ticket), None)
            if existing is None and order.filled > report.quantity:
                # The ticket an earlier fill of this order opened, since closed (netted away):
                # this fill opens it again; a second ticket of the same number cannot exist.
                existing = await tx.positions.get(order.key, lock=True)
            change = apply_fill(account.mode, tickets, fill, instrument.point_value, existing)
            if change.opened is not None and change.opened is not existing:
                # The protection an entry order asked for goes onto the ticket it opens.
                change.opened.stop_loss = order.stop_loss
                change.opened.take_profit = order.take_profit
            await tx.positions.add_fill(fill)
            await tx.positions.save(change.reduced)
            if change.opened is not None:
                await tx.positions.save([change.opened], new=change.opened is not existing)
            if change.realized:
                await tx.accounts.credit(order.login, change.realized)
            await tx.orders.save(
                order,
                [step],
                VENUE_ACTOR,
                new_hex_id(),
                expected_version=version,
                # A part filled while its cancel is on its way: the venue confirms that
                # cancel by its request id, which the order must keep to be found.
                keep_request_id=order.status is OrderStatus.PENDING_CANCEL,
            )
            await tx.commit()
        for ticket in [*change.reduced, *([change.opened] if change.opened else [])]:
            self.protection.track(ticket)
        events: list[Event] = [
            transitioned(order, step),
            OrderFilled(
                order.id,
                order.key,
                order.login,
                order.symbol,
                order.side,
                report.quantity,
                report.price,
                report.at,
            ),
        ]
        for t in [*change.reduced, *([change.opened] if change.opened else [])]:
            events.append(
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
        self._publish(events)

    async def _restore_cancels(self, report: CancelRefused) -> None:
        now = self.clock.now()
        reason = f"cancel refused: {report.reason}"
        async with self.store.transaction() as tx:
            moved = await tx.orders.restore_batch(
                report.tickets,
                OrderStatus.PENDING_CANCEL,
                _RESTORED,
                VENUE_ACTOR,
                reason,
                new_hex_id(),
                now,
            )
            await tx.commit()
        self._publish_moved(moved, OrderStatus.PENDING_CANCEL, reason, now)

    def _publish_moved(
        self, moved: Sequence[MovedOrder], source: OrderStatus, reason: str, at: datetime
    ) -> None:
        if moved and self.sink.active:
            self._publish(
                [
                    OrderTransitioned(
                        m.order_id,
                        m.ticket,
                        m.login,
                        m.symbol,
                        source,
                        m.status,
                        reason,
                        at,
                    )
                    for m in moved
                ]
            )
