"""The use cases: place, change, cancel one, cancel in bulk, close and flatten.

Each runs in one unit of work: check who may act, check the request, commit the new state with
its events, and only then tell the venue. Placements, cancels of one order and runs of the
venue's acknowledgements that arrive together share one unit of work (group commit,
engine/batching.py; ``_write_together``), each checked and answered on its own. The venue's
answers come back through ``on_venue_reports`` (engine/execution.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import cast

from ordergate.domain.accounts import Account
from ordergate.domain.commands import (
    AccountRef,
    CancelOrder,
    CancelOrders,
    ChangeOrder,
    ClosePosition,
    Flatten,
    OrderRef,
    PlaceOrder,
    new_level,
)
from ordergate.domain.errors import (
    AccountNotFound,
    AlreadyPendingCancel,
    DomainError,
    InstrumentNotFound,
    InvalidInput,
    InvalidQuantity,
    MarketClosed,
    OrderLocked,
    OrderNotCancellable,
    OrderNotFound,
    PositionNotFound,
)
from ordergate.domain.events import Event, OrderTransitioned, transitioned
from ordergate.domain.ids import Login, OrderId, Ticket, new_hex_id, new_order_id
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import (
    CANCELLABLE,
    LOCKED,
    Order,
    OrderStatus,
    OrderType,
    TimeInForce,
    Transition,
    Trigger,
    next_status,
)
from ordergate.domain.positions import PositionTicket
from ordergate.domain.principal import Principal, Role, can_act, ensure_can_act
from ordergate.domain.reports import CancelFailure, CancelReport, FailureCode, FlattenReport
from ordergate.domain.values import shown
from ordergate.engine.accounting import AccountState, account_state
from ordergate.engine.batching import GroupCommit, Outcomes
from ordergate.engine.execution import AppliedRun, ExecutionMixin
from ordergate.engine.orderview import OrderView, ViewedStore
from ordergate.engine.ports import (
    BatchCancel,
    Clock,
    EventSink,
    NullSink,
    SaveOrder,
    Store,
    SystemClock,
    Transaction,
)
from ordergate.engine.protection import Protection, Touched
from ordergate.engine.risk import check_margin, check_order, check_stops
from ordergate.venue.base import Acknowledged, CancelConfirmed, Quote, Venue, VenueOrder

__all__ = ["PROTECTION", "OrderEngine", "venue_order"]

log = logging.getLogger(__name__)

#: Who closes a ticket whose stop-loss or take-profit was touched, in the audit trail.
PROTECTION = Principal(user_id=None, role=Role.ADMIN, name="protection")

#: Where a bulk cancel moves orders, read from the transition table (the same for every
#: cancellable status: tests/unit/test_order_lifecycle.py).
_CANCEL_TARGET = next_status(OrderStatus.WORKING, Trigger.REQUEST_CANCEL)
MARKET_CLOSED_REASON = "market_closed"
#: At most this many placements (or cancels of one order) share one transaction.
PLACEMENT_BATCH = 500
#: A group commit is brief (``Store.transaction``) if its runs move at most this many orders
#: (an acknowledgement moves one, a cancel confirmation as many as it cancelled).
BRIEF_REPORTS = 2_000
#: Open orders ``recover`` reads and hands to the venue at a time.
RECOVER_CHUNK = 1_000


def _request_id() -> str:
    return new_hex_id()


#: A new order's first step.
_SUBMITTED = Transition(None, OrderStatus.SUBMITTED, None, "submitted")


@dataclass(frozen=True, slots=True)
class _Run:
    """A run of the venue's acknowledgements and cancel confirmations to write."""

    reports: Sequence[Acknowledged | CancelConfirmed]


#: What the engine's group commit writes: a placement, a cancel of one order, or a run.
_Write = tuple[Principal, PlaceOrder] | tuple[Principal, CancelOrder] | _Run
#: A batch's answers, in its order: an order, a run's acknowledgements left for the single
#: way, or the error that refused the request.
_Answers = list[Order | list[Acknowledged] | BaseException]


def _sorted(
    items: Sequence[_Write],
) -> tuple[
    list[tuple[int, _Run]],
    list[tuple[int, Principal, PlaceOrder]],
    list[tuple[int, Principal, CancelOrder]],
]:
    """A batch's runs, placements and cancels, each with its place in the batch."""
    runs: list[tuple[int, _Run]] = []
    places: list[tuple[int, Principal, PlaceOrder]] = []
    cancels: list[tuple[int, Principal, CancelOrder]] = []
    for i, item in enumerate(items):
        if isinstance(item, _Run):
            runs.append((i, item))
        elif isinstance(item[1], PlaceOrder):
            places.append((i, item[0], item[1]))
        else:
            cancels.append((i, item[0], item[1]))
    return runs, places, cancels


def _brief(runs: Sequence[tuple[int, _Run]]) -> bool:
    """Whether a batch with ``runs`` writes few rows (its placements and cancels do)."""
    moved = 0
    for _, run in runs:
        for r in run.reports:
            moved += r.orders if isinstance(r, CancelConfirmed) else 1
    return moved <= BRIEF_REPORTS


def venue_order(order: Order) -> VenueOrder:
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


def _failure(order: Order, reason: str | None) -> CancelFailure:
    """Why an order in a bulk cancel's scope was not accepted."""
    if order.status is OrderStatus.PENDING_CANCEL:
        code, message = FailureCode.ALREADY_PENDING_CANCEL, "a cancel is already pending"
    elif reason is not None:
        code, message = FailureCode.VENUE_REJECTED, f"the venue refuses cancels now: {reason}"
    elif order.status in LOCKED:
        code, message = (
            FailureCode.ORDER_LOCKED,
            f"the venue is still processing it ({order.status})",
        )
    else:
        # It became cancellable after the batch was taken (a concurrent acknowledgement).
        code, message = FailureCode.ORDER_LOCKED, "it changed while the batch was taken; retry"
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


class _Recovered:
    """What ``recover`` read: how many open orders, and the pending cancels by (login,
    request id), to be sent again once every order is back on the venue."""

    def __init__(self) -> None:
        self.count = 0
        self.cancels: dict[tuple[int, str], list[Ticket]] = {}

    async def read(self, tx: Transaction, chunk: int) -> AsyncIterator[list[VenueOrder]]:
        async for orders in tx.orders.open_chunks(chunk):
            self.count += len(orders)
            for o in orders:
                if o.status is OrderStatus.PENDING_CANCEL and o.ticket is not None:
                    self.cancels.setdefault((o.login, o.request_id or ""), []).append(o.ticket)
            yield [venue_order(o) for o in orders]


class OrderEngine(ExecutionMixin):
    """The order engine: one instance per process, shared by both dialects."""

    def __init__(
        self,
        store: Store,
        venue: Venue,
        *,
        clock: Clock | None = None,
        sink: EventSink | None = None,
    ) -> None:
        self.store = store
        self.venue = venue
        self.clock: Clock = clock or SystemClock()
        self.sink: EventSink = sink or NullSink()
        self._instruments: dict[str, Instrument] = {}
        self.protection = Protection()
        self._tasks: set[asyncio.Task[None]] = set()
        # Placements, cancels of one order and runs of the venue's acknowledgements that
        # arrive together share one transaction (engine/batching.py). Where the store writes
        # one transaction at a time, all three share one queue; where it writes several at
        # once (PostgreSQL), each has its own, and the three are written side by side.
        self._placing = self._new_writes()
        self._cancelling = self._placing if store.serial_writes else self._new_writes()
        self._reporting = self._placing if store.serial_writes else self._new_writes()
        #: ``get_order`` answers from the store's order view when it keeps one: only the
        #: store can keep it fresh, as every write goes through it (engine/orderview.py).
        self.view: OrderView | None = store.order_view if isinstance(store, ViewedStore) else None
        venue.bind(self)

    async def instrument(self, tx: Transaction, symbol: str) -> Instrument:
        """A known instrument (cached: instruments do not change under a running server)."""
        found = self._instruments.get(symbol)
        if found is None:
            found = await tx.accounts.instrument(symbol)
            if found is None:
                raise InstrumentNotFound(f"unknown instrument {symbol!r}")
            self._instruments[symbol] = found
        return found

    async def account(self, tx: Transaction, principal: Principal, ref: AccountRef) -> Account:
        """The account ``ref`` names, if ``principal`` may act on it."""
        account = await tx.accounts.get(ref)
        if account is None:
            raise AccountNotFound(f"account {ref} not found")
        ensure_can_act(principal, account)
        return account

    async def _account_in(
        self,
        tx: Transaction,
        principal: Principal,
        ref: AccountRef,
        accounts: dict[AccountRef, Account] | None,
    ) -> Account:
        """``account(tx, principal, ref)``, read once per ``accounts`` (a batch's)."""
        if accounts is None:
            return await self.account(tx, principal, ref)
        found = accounts.get(ref)
        if found is None:
            found = accounts[ref] = await self.account(tx, principal, ref)
        else:
            ensure_can_act(principal, found)
        return found

    async def _order(self, tx: Transaction, account: Account, ref: OrderRef) -> Order:
        order = await tx.orders.get(account.login, ref, lock=True)
        if order is None:
            raise OrderNotFound(f"order {ref} not found in account {account.name}")
        return order

    def _publish(self, events: Sequence[Event]) -> None:
        if events and self.sink.active:
            self.sink.publish(events)

    async def place(self, principal: Principal, cmd: PlaceOrder) -> Order:
        """Check and store a new order as submitted, then send it to the venue. Placements
        that arrive together are written in one transaction (``_write_together``)."""
        return cast(Order, await self._placing.submit((principal, cmd)))

    def _new_writes(self) -> GroupCommit[_Write, Order | list[Acknowledged]]:
        return GroupCommit(self._write_together, max_batch=PLACEMENT_BATCH)

    async def _write_run(
        self, reports: Sequence[Acknowledged | CancelConfirmed]
    ) -> list[Acknowledged]:
        return cast(list[Acknowledged], await self._reporting.submit(_Run(reports)))

    async def _write_together(
        self, items: Sequence[_Write]
    ) -> Outcomes[Order | list[Acknowledged]]:
        """One transaction for the placements, cancels and runs of the venue's reports that
        arrived together. The reports go first (they happened at the venue already), then
        the cancels, then the placements. Each request is checked as it would be alone and
        answered its order or its error; a refused one changes nothing. Once committed the
        events are published in that order, the callers answered (a run with what it left
        for the single way), and then the venue is told."""
        now = self.clock.now()
        reported, places, cancels = _sorted(items)
        runs: list[tuple[int, AppliedRun]] = []
        outcomes: _Answers = [[] for _ in items]  # each set below, in the transaction or after
        async with self.store.transaction(brief=_brief(reported)) as tx:
            for i, item in reported:
                runs.append((i, await self.acknowledge_in(tx, item.reports, now)))
            saves = await self._cancel_in(tx, cancels, now, outcomes)
            placed = await self._place_in(tx, places, now, outcomes)
            await tx.commit()
        for i, run in runs:
            outcomes[i] = self.acknowledged(run)
        if self.sink.active:
            self._publish(
                [transitioned(s.order, s.steps[0]) for s in saves]
                + [transitioned(order, _SUBMITTED) for order, *_ in placed]
            )

        async def tell_venue() -> None:
            for s in saves:
                await self.venue.cancel(s.order.login, s.request_id, [s.order.key])
            if placed:
                await self.venue.submit([venue_order(order) for order, *_ in placed])

        return outcomes, tell_venue if saves or placed else None

    async def _place_in(
        self,
        tx: Transaction,
        requests: Sequence[tuple[int, Principal, PlaceOrder]],
        now: datetime,
        outcomes: _Answers,
    ) -> list[tuple[Order, Transition, str, str]]:
        """In ``tx``: each request checked (who may act, the order's own rules, margin
        against what the account holds and rests, including the orders earlier in this
        batch), its outcome set, and the accepted ones stored."""
        placed: list[tuple[Order, Transition, str, str]] = []
        accounts: dict[AccountRef, Account] = {}
        exposures: dict[Login, dict[str, Decimal]] = {}
        for i, principal, cmd in requests:
            try:
                account, instrument, order = await self._new_order(
                    tx, principal, cmd, now, None, accounts
                )
                exposure = exposures.get(account.login)
                if exposure is None:
                    exposure = await tx.accounts.exposure(account.login)
                    exposures[account.login] = exposure
                await check_margin(
                    account,
                    order,
                    instrument,
                    exposure,
                    lambda s: self._maybe_instrument(tx, s),
                    self.venue.quote,
                )
            except DomainError as exc:
                outcomes[i] = exc
                continue
            # What the later orders of the batch are checked against includes this one.
            exposure[order.symbol] = exposure.get(order.symbol, Decimal(0)) + order.quantity
            outcomes[i] = order
            placed.append((order, _SUBMITTED, principal.actor, _request_id()))
        await tx.orders.add_many(placed)
        return placed

    async def check_place(self, principal: Principal, cmd: PlaceOrder) -> None:
        """Raise what ``place`` would raise for ``cmd`` now, but for margin: who may act, the
        account, the instrument, the order's own rules, its grid and expiry, an open market.
        Changes nothing (compound flows check before their first step)."""
        async with self.store.transaction(readonly=True) as tx:
            await self._new_order(tx, principal, cmd, self.clock.now(), None)

    async def _new_order(
        self,
        tx: Transaction,
        principal: Principal,
        cmd: PlaceOrder,
        now: datetime,
        closes: PositionTicket | None,
        accounts: dict[AccountRef, Account] | None = None,
    ) -> tuple[Account, Instrument, Order]:
        """The order ``cmd`` asks for, checked (all but margin); a closing order skips the
        grid checks (it takes what the ticket holds). ``accounts`` keeps the accounts read
        in this transaction (a batch of placements reads each once)."""
        account = await self._account_in(tx, principal, cmd.account, accounts)
        account.ensure_enabled()
        instrument = await self.instrument(tx, cmd.symbol)
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
            expires_at=self._expiry(cmd, instrument, now),
            oco=cmd.oco,
            tag=cmd.tag,
            stop_loss=cmd.stop_loss,
            take_profit=cmd.take_profit,
            comment=cmd.comment,
            closes_ticket=None if closes is None else closes.ticket,
            created_at=now,
            updated_at=now,
        )
        if closes is None:
            check_order(order, instrument, now)
            check_stops(order, self.venue.quote(instrument.symbol))
        refusal = self.venue.submission_refusal(instrument.symbol, now)
        if refusal is not None:
            raise MarketClosed(f"{instrument.symbol}: {refusal}")
        return account, instrument, order

    async def _place_closing(
        self, principal: Principal, cmd: PlaceOrder, closes: PositionTicket
    ) -> Order:
        """Store an order that closes ``closes`` as submitted (the caller sends it): no
        margin check, but no more closing than the ticket holds (``_ensure_closable``).
        Placements go through ``_write_together``."""
        now = self.clock.now()
        async with self.store.transaction() as tx:
            _, _, order = await self._new_order(tx, principal, cmd, now, closes)
            await self._ensure_closable(tx, closes, order.quantity)
            await tx.orders.add(order, _SUBMITTED, principal.actor, _request_id())
            await tx.commit()
        self._publish([transitioned(order, _SUBMITTED)])
        return order

    @staticmethod
    async def _ensure_closable(tx: Transaction, ticket: PositionTicket, quantity: Decimal) -> None:
        """Refuse a closing order that, with the closes of ``ticket`` already on their way,
        would close more than it holds: the extra order would find the ticket closed when it
        fills, and be left stuck. The ticket's row is locked, so two closes take turns."""
        current = await tx.positions.get(ticket.ticket, lock=True)
        if current is None or not current.is_open:
            raise PositionNotFound(f"no open position ticket {ticket.ticket}")
        on_its_way = await tx.orders.closing(current.login, current.symbol, current.ticket)
        if on_its_way + quantity > current.quantity:
            raise OrderLocked(f"trade {ticket.ticket} is already being closed; wait for that close")

    @staticmethod
    def _expiry(cmd: PlaceOrder, instrument: Instrument, now: datetime) -> datetime | None:
        """GTD orders expire when asked; DAY orders at the end of the session open now."""
        if cmd.tif is not TimeInForce.DAY:
            return cmd.expires_at
        if cmd.expires_at is not None:
            raise InvalidInput("only a gtd order takes an expiry")
        end = instrument.day_end(now)
        if end is None:
            raise MarketClosed(f"{instrument.symbol}: {MARKET_CLOSED_REASON}")
        return end

    async def _maybe_instrument(self, tx: Transaction, symbol: str) -> Instrument | None:
        try:
            return await self.instrument(tx, symbol)
        except InstrumentNotFound:
            return None

    async def change(self, principal: Principal, cmd: ChangeOrder) -> Order:
        """Change quantity and/or prices of a resting order; the venue confirms."""
        if cmd.empty:
            raise InvalidInput(
                "nothing to change: give quantity, a price, stop-loss, take-profit or expiry"
            )
        now = self.clock.now()
        async with self.store.transaction() as tx:
            account = await self.account(tx, principal, cmd.account)
            account.ensure_enabled()
            order = await self._order(tx, account, cmd.order)
            self._ensure_resting(order, "changed")
            instrument = await self.instrument(tx, order.symbol)
            changed = _changed(order, cmd)
            check_order(changed, instrument, now)
            check_stops(changed, self.venue.quote(order.symbol))
            if changed.quantity <= order.filled:
                raise InvalidQuantity(f"quantity must exceed the filled {order.filled}")
            refusal = self.venue.submission_refusal(order.symbol, now)
            if refusal is not None:
                raise MarketClosed(f"{order.symbol}: {refusal}")
            version = changed.version
            step = changed.apply(Trigger.REQUEST_CHANGE, now, "change requested")
            await tx.orders.save(
                changed, [step], principal.actor, _request_id(), expected_version=version
            )
            await tx.commit()
        self._publish([transitioned(changed, step)])
        await self.venue.change(venue_order(changed))
        return changed

    @staticmethod
    def _ensure_resting(order: Order, what: str) -> None:
        if order.status in LOCKED:
            raise OrderLocked(f"order {order.id} is {order.status}: the venue is processing it")
        if order.status is OrderStatus.PENDING_CANCEL:
            raise AlreadyPendingCancel(f"order {order.id} is already pending cancel")
        if order.status not in CANCELLABLE:
            raise OrderNotCancellable(f"order {order.id} is {order.status} and cannot be {what}")

    async def cancel(self, principal: Principal, cmd: CancelOrder) -> Order:
        """Request the cancel of one resting order. Cancels that arrive together are written
        in one transaction, as placements are (``_write_together``)."""
        return cast(Order, await self._cancelling.submit((principal, cmd)))

    async def _cancel_in(
        self,
        tx: Transaction,
        requests: Sequence[tuple[int, Principal, CancelOrder]],
        now: datetime,
        outcomes: _Answers,
    ) -> list[SaveOrder]:
        """In ``tx``: each request checked as a lone cancel would be, in order (a second
        cancel of an order in the same batch finds it pending cancel), its outcome set; the
        batch's orders read in one statement per account and the accepted cancels written
        in two."""
        saves: list[SaveOrder] = []
        if not requests:
            return saves
        accounts = await self._accounts_of(tx, requests)
        loaded = await self._orders_of(tx, [cmd.order for *_, cmd in requests], accounts)
        for (i, principal, cmd), account in zip(requests, accounts, strict=True):
            try:
                if not isinstance(account, Account):
                    raise account
                order = loaded.get((account.login, cmd.order))
                if order is None:
                    raise OrderNotFound(f"order {cmd.order} not found in account {account.name}")
                if cmd.resting_only and order.type is OrderType.MARKET:
                    raise OrderNotCancellable(f"order {order.id} is a market order")
                version = order.version
                step = self._request_cancel(order, now)
            except DomainError as exc:
                outcomes[i] = exc
                continue
            saves.append(SaveOrder(order, [step], principal.actor, _request_id(), version))
            outcomes[i] = order
        await tx.orders.save_many(saves)
        return saves

    async def _accounts_of(
        self, tx: Transaction, requests: Sequence[tuple[int, Principal, CancelOrder]]
    ) -> list[Account | DomainError]:
        """Each request's account, or the error that refuses it (read once per batch). A
        request that names no account acts on its order's, found in one statement for the
        batch; an order the caller may not act on is answered as an unknown one."""
        accounts: dict[AccountRef, Account] = {}
        unnamed = [cmd.order for *_, cmd in requests if cmd.account is None]
        owners = await tx.orders.logins_of(unnamed) if unnamed else {}
        found: list[Account | DomainError] = []
        for _, principal, cmd in requests:
            try:
                if cmd.account is not None:
                    found.append(await self._account_in(tx, principal, cmd.account, accounts))
                    continue
                login = owners.get(cmd.order)
                account = None
                if login is not None:
                    account = accounts.get(login) or await tx.accounts.get(login)
                if account is None or not can_act(principal, account):
                    what = "ticket" if isinstance(cmd.order, int) else "order"
                    raise OrderNotFound(f"{what} {cmd.order} not found")
                found.append(accounts.setdefault(account.login, account))
            except DomainError as exc:
                found.append(exc)
        return found

    @staticmethod
    async def _orders_of(
        tx: Transaction, refs: Sequence[OrderRef], accounts: Sequence[Account | DomainError]
    ) -> dict[tuple[Login, OrderRef], Order]:
        """The orders ``refs`` name in their accounts, locked, one statement per account;
        by id and by ticket, so that both forms of a ref find the same order."""
        wanted: dict[Login, set[OrderRef]] = {}
        for ref, account in zip(refs, accounts, strict=True):
            if isinstance(account, Account):
                wanted.setdefault(account.login, set()).add(ref)
        loaded: dict[tuple[Login, OrderRef], Order] = {}
        for login, named in wanted.items():
            for order in await tx.orders.get_many(login, named, lock=True):
                loaded[(login, order.id)] = loaded[(login, order.key)] = order
        return loaded

    def _request_cancel(self, order: Order, now: datetime) -> Transition:
        """Move ``order`` to pending cancel, if a cancel may be asked of it now."""
        self._ensure_resting(order, "cancelled")
        refusal = self.venue.cancel_refusal(order.symbol, now)
        if refusal is not None:
            raise MarketClosed(f"{order.symbol}: {refusal}")
        return order.apply(Trigger.REQUEST_CANCEL, now, "cancel requested")

    async def cancel_orders(self, principal: Principal, cmd: CancelOrders) -> CancelReport:
        """Cancel every working order of an account (or of one instrument in it), atomically.

        Every matched (non-terminal) order ends up in the report, accepted or failed with a
        code. The accepted ones move to pending_cancel in one statement with their events;
        the venue then confirms them.
        """
        now = self.clock.now()
        request_id = _request_id()
        async with self.store.transaction() as tx:
            account = await self.account(tx, principal, cmd.account)
            if cmd.symbol is not None:
                symbols = [(await self.instrument(tx, cmd.symbol)).symbol]
            else:
                symbols = [i.symbol for i in await tx.accounts.instruments()]
            refused = {
                s: reason
                for s in symbols
                if (reason := self.venue.cancel_refusal(s, now)) is not None
            }
            batch = BatchCancel(
                login=account.login,
                symbol=cmd.symbol,
                refused_symbols=refused,
                cancellable=CANCELLABLE,
                target=_CANCEL_TARGET,
                reason="bulk cancel requested",
                actor=principal.actor,
                request_id=request_id,
                at=now,
            )
            accepted, rest = await tx.orders.cancel_batch(batch)
            failures = tuple(_failure(order, reason) for order, reason in rest)
            await tx.commit()
        if self.sink.active:
            self._publish(
                [
                    OrderTransitioned(
                        a.order_id,
                        a.ticket,
                        a.login,
                        a.symbol,
                        a.prior_status,
                        a.status,
                        batch.reason,
                        now,
                    )
                    for a in accepted
                ]
            )
        if accepted:
            await self.venue.cancel(account.login, request_id, [a.ticket for a in accepted])
        return CancelReport(tuple(accepted), failures)

    async def close_position(self, principal: Principal, cmd: ClosePosition) -> list[Order]:
        """Send market orders that close the position in a symbol (all or part) or one ticket."""
        if cmd.quantity is not None and cmd.quantity <= 0:
            raise InvalidQuantity("close quantity must be positive")
        async with self.store.transaction(readonly=True) as tx:
            account = await self.account(tx, principal, cmd.account)
            if cmd.ticket is not None:
                ticket = await tx.positions.get(cmd.ticket)
                if ticket is None or ticket.login != account.login or not ticket.is_open:
                    raise PositionNotFound(f"no open position ticket {cmd.ticket}")
                tickets = [ticket]
            elif cmd.symbol is not None:
                await self.instrument(tx, cmd.symbol)
                tickets = await tx.positions.open_tickets(account.login, cmd.symbol)
            else:
                raise InvalidInput("give a symbol or a ticket to close")
        if not tickets:
            raise PositionNotFound(f"no open position in {cmd.symbol} for {account.name}")
        plan = self._closing_plan(tickets, cmd.quantity)
        closing: list[Order] = []
        try:
            for t, qty in plan:
                order = PlaceOrder(
                    account=account.login,
                    symbol=t.symbol,
                    side=t.side.opposite,
                    type=OrderType.MARKET,
                    quantity=qty,
                    tif=TimeInForce.GTC,
                    comment=cmd.comment or f"close #{t.ticket}",
                )
                closing.append(await self._place_closing(principal, order, t))
        finally:
            # Every stored closing order goes to the venue, even when a later one is refused:
            # one left out would stay submitted for ever.
            if closing:
                await self.venue.submit([venue_order(o) for o in closing])
        return closing

    @staticmethod
    def _closing_plan(
        tickets: list[PositionTicket], quantity: Decimal | None
    ) -> list[tuple[PositionTicket, Decimal]]:
        """Which tickets to close by how much, oldest first, for ``quantity`` (None = all)."""
        total = sum((t.quantity for t in tickets), Decimal(0))
        left = total if quantity is None else quantity
        if left > total:
            raise InvalidQuantity(
                f"close quantity {shown(left)} exceeds the position {shown(total)}"
            )
        plan = []
        for t in tickets:
            if left <= 0:
                break
            qty = min(t.quantity, left)
            plan.append((t, qty))
            left -= qty
        return plan

    async def flatten(self, principal: Principal, cmd: Flatten) -> FlattenReport:
        """Cancel the account's working orders, then close its positions (or one symbol's)."""
        report = await self.cancel_orders(
            principal, CancelOrders(account=cmd.account, symbol=cmd.symbol)
        )
        async with self.store.transaction(readonly=True) as tx:
            account = await self.account(tx, principal, cmd.account)
            held = await tx.positions.for_account(account.login)
        symbols = sorted({t.symbol for t in held if cmd.symbol in (None, t.symbol)})
        closing: list[OrderId] = []
        for symbol in symbols:
            orders = await self.close_position(
                principal, ClosePosition(account=account.login, symbol=symbol, comment="flatten")
            )
            closing.extend(o.id for o in orders)
        return FlattenReport(report, tuple(closing))

    async def open_orders(self, principal: Principal, account: AccountRef) -> list[Order]:
        return (await self.find_open_orders(principal, account))[1]

    async def find_open_orders(
        self, principal: Principal, account: AccountRef
    ) -> tuple[Account, list[Order]]:
        """The account ``account`` names and its open orders, in one read transaction."""
        async with self.store.transaction(readonly=True) as tx:
            found = await self.account(tx, principal, account)
            return found, await tx.orders.open_orders(found.login)

    async def get_order(self, principal: Principal, account: AccountRef, ref: OrderRef) -> Order:
        return (await self.find_order(principal, account, ref))[1]

    async def find_order(
        self, principal: Principal, account: AccountRef, ref: OrderRef
    ) -> tuple[Account, Order]:
        """The account ``account`` names and its order ``ref``, if ``principal`` may act on
        it: from the order view when it holds both, else in one read transaction."""
        view = self.view
        if view is None:
            return await self._read_order(principal, account, ref, None, None)
        found = view.account(account)
        if found is not None:
            ensure_can_act(principal, found)  # the view never skips the permission rule
            order = view.order(found.login, ref)
            if order is not None:
                return found, order
        return await self._read_order(principal, account, ref, found, view)

    async def _read_order(
        self,
        principal: Principal,
        account: AccountRef,
        ref: OrderRef,
        found: Account | None,
        view: OrderView | None,
    ) -> tuple[Account, Order]:
        mark = 0 if view is None else view.mark()  # before the read: see OrderView.keep
        async with self.store.transaction(readonly=True) as tx:
            if found is None:
                found = await self.account(tx, principal, account)
                if view is not None:
                    view.keep_account(found)
            order = await tx.orders.get(found.login, ref)
        if order is None:
            raise OrderNotFound(f"order {ref} not found in account {found.name}")
        if view is not None:
            view.keep(mark, order)
        return found, order

    async def recover(self, *, chunk: int = RECOVER_CHUNK) -> int:
        """After a restart: hand every non-terminal order back to the venue (read and handed
        over ``chunk`` at a time, so that a million of them never sit in memory at once),
        send their pending cancels again and watch the open tickets' stop-loss and
        take-profit again. Returns how many orders."""
        recovered = _Recovered()
        async with self.store.transaction(readonly=True) as tx:
            for ticket in await tx.positions.protected():
                self.protection.track(ticket)
            await self.venue.restore(recovered.read(tx, chunk))
        for (login, request_id), tickets in recovered.cancels.items():
            await self.venue.cancel(Login(login), request_id, tickets)
        return recovered.count

    async def settle(self) -> None:
        """Wait until the venue has delivered every report it owes and every protective close
        has been sent (tests, shutdown)."""
        await self.venue.drain()
        while self._tasks:
            await asyncio.gather(*list(self._tasks))
            await self.venue.drain()

    def on_quote(self, quote: Quote) -> None:
        """Close the tickets whose stop-loss or take-profit ``quote`` touches."""
        for hit in self.protection.touched(quote):
            task = asyncio.get_running_loop().create_task(self._close_touched(hit))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _close_touched(self, hit: Touched) -> None:
        try:
            await self.close_position(
                PROTECTION,
                ClosePosition(account=hit.login, ticket=hit.ticket, comment=hit.reason),
            )
        except DomainError as exc:
            log.warning("could not close ticket %s at its %s: %s", hit.ticket, hit.reason, exc)
            async with self.store.transaction(readonly=True) as tx:
                ticket = await tx.positions.get(hit.ticket)
            if ticket is not None:
                self.protection.track(ticket)  # try again on the next quote

    async def account_state(self, principal: Principal, ref: AccountRef) -> AccountState:
        """Balance, equity, margin and the open tickets at the current quotes."""
        async with self.store.transaction(readonly=True) as tx:
            account = await self.account(tx, principal, ref)
            tickets = await tx.positions.for_account(account.login)
            for symbol in {t.symbol for t in tickets}:
                await self.instrument(tx, symbol)
        return account_state(account, tickets, self._instruments.get, self.venue.quote)
