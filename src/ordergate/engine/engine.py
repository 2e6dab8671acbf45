"""The order engine: one per server, shared by both dialects.

Its state lives in memory (engine/state.py); one writer applies every command to it and
journals the result before anyone is answered (engine/writer.py). The use cases are one
module each (place, cancel, change, close) and the venue's reports another (reports.py);
this class is their front door: it learns the reference data a command names (an account
or instrument added while the server runs), queues the command, and answers reads from
memory, or from the journal's database for what memory no longer holds.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from ordergate.domain.accounts import Account
from ordergate.domain.clock import Clock, SystemClock
from ordergate.domain.commands import (
    AccountRef,
    CancelOrder,
    CancelOrders,
    ChangeOrder,
    ClosePosition,
    Flatten,
    ModifyTrade,
    OrderRef,
    PlaceOrder,
)
from ordergate.domain.errors import DomainError, OrderNotFound
from ordergate.domain.events import Event
from ordergate.domain.ids import Login, Ticket
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import Order, OrderStatus
from ordergate.domain.positions import PositionTicket
from ordergate.domain.principal import Principal, Role, can_act
from ordergate.domain.reports import CancelReport, FlattenReport
from ordergate.engine import cancel as cancelling
from ordergate.engine import change as changing
from ordergate.engine import close as closing
from ordergate.engine import place as placing
from ordergate.engine.journal import Journal
from ordergate.engine.ports import EventSink, NullSink, Records
from ordergate.engine.protection import Touched
from ordergate.engine.reports import VenueReports, apply_reports
from ordergate.engine.state import KEEP_ENDED, State
from ordergate.engine.watermarks import Watermarks
from ordergate.engine.writer import Writer
from ordergate.venue.base import Quote, Venue, VenueReport

__all__ = ["PROTECTION", "OrderEngine"]

log = logging.getLogger(__name__)

#: Who closes a ticket whose stop-loss or take-profit was touched, in the audit trail.
PROTECTION: Final = Principal(user_id=None, role=Role.ADMIN, name="protection")


class OrderEngine:
    """Place, change, cancel (one or in bulk), close and flatten, and every read of orders,
    positions and accounts the dialects need."""

    def __init__(
        self,
        journal: Journal,
        venue: Venue,
        records: Records,
        *,
        clock: Clock | None = None,
        sink: EventSink | None = None,
        keep_ended: int = KEEP_ENDED,
    ) -> None:
        self.venue = venue
        self.records = records
        self.clock: Clock = clock or SystemClock()
        self.sink: EventSink = sink or NullSink()
        self.state = State(keep_ended=keep_ended)
        self.protection = self.state.protection
        self.writer = Writer(
            self.state, journal, venue, self.clock, self._publish, lambda: self.sink.active
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self.watermarks = Watermarks()
        venue.bind(self)

    # -- start -----------------------------------------------------------------------------

    async def load(self) -> None:
        """Read the journal's snapshot into memory (before the market opens: it names the
        instruments)."""
        self.state.load(await self.writer.journal.load())

    async def recover(self) -> int:
        """Hand every order that has not ended back to the venue, and send the pending
        cancels again (grouped by the request that asked them). Returns how many orders."""
        orders = list(self.state.all_open())
        orders.sort(key=lambda o: o.key)
        await self.venue.restore([placing.venue_order(o) for o in orders])
        cancels: dict[tuple[Login, str], list[Ticket]] = {}
        for o in orders:
            if o.status is OrderStatus.PENDING_CANCEL:
                cancels.setdefault((o.login, o.request_id or ""), []).append(o.key)
        for (login, request_id), tickets in cancels.items():
            await self.venue.cancel(login, request_id, tickets)
        return len(orders)

    async def settle(self) -> None:
        """Wait until the venue has delivered every report due now, each is journaled, and
        every protective close has been sent (tests, shutdown)."""
        while True:
            written = self.writer.batches
            await self.venue.drain()
            await self.writer.idle()
            if self._tasks:
                await asyncio.gather(*list(self._tasks))
                continue
            if self.writer.batches == written and self.writer.idle_now:
                return

    # -- reference data --------------------------------------------------------------------

    async def know(self, account: AccountRef | None = None, symbol: str | None = None) -> None:
        """Learn ``account`` and ``symbol`` from the database if memory does not hold them
        (added while the server runs)."""
        state = self.state
        if account is not None and state.account(account) is None:
            found = await self.records.account(account)
            if found is not None and state.account(account) is None:
                state.learn_account(found)
        if symbol is not None and state.maybe_instrument(symbol) is None:
            inst = await self.records.instrument(symbol)
            if inst is not None and state.maybe_instrument(symbol) is None:
                self.learn_instrument(inst)

    def set_disabled(self, logins: frozenset[Login]) -> None:
        """The accounts disabled now (read from the database by the access watch): they
        take no new exposure until enabled again."""
        self.state.set_disabled(logins)

    def learn_instrument(self, instrument: Instrument) -> None:
        self.state.learn_instrument(instrument)
        self.venue.load_instruments([instrument])

    async def account(self, principal: Principal, ref: AccountRef) -> Account:
        """The account ``ref`` names, if ``principal`` may act on it."""
        await self.know(ref)
        return self.state.account_for(principal, ref)

    async def instrument(self, symbol: str) -> Instrument:
        await self.know(symbol=symbol)
        return self.state.instrument(symbol)

    # -- commands --------------------------------------------------------------------------

    async def place(self, principal: Principal, cmd: PlaceOrder) -> Order:
        """Check and store a new order as submitted; the venue gets it once journaled."""
        await self.know(cmd.account, cmd.symbol)
        if cmd.client_id is not None:
            # A retry of a placement memory no longer holds (ended long ago) is answered from
            # the journal; the writer finds the ones memory holds.
            account = self.state.account_for(principal, cmd.account)
            if self.state.client_order(account.login, cmd.client_id) is None:
                placed = await self.records.client_order(account.login, cmd.client_id)
                if placed is not None:
                    return placed
        return await self.writer.submit(principal, cmd, placing.place)

    async def client_order(
        self, principal: Principal, account: AccountRef, client_id: str
    ) -> Order | None:
        """The order of ``account`` placed with the caller's own id ``client_id``."""
        await self.know(account)
        found = self.state.account_for(principal, account)
        held = self.state.client_order(found.login, client_id)
        if held is not None:
            return copy.copy(held)
        return await self.records.client_order(found.login, client_id)

    async def check_place(self, principal: Principal, cmd: PlaceOrder) -> None:
        """Raise what ``place`` would raise for ``cmd`` now, but for margin. Changes nothing
        (compound flows check before their first step)."""
        await self.know(cmd.account, cmd.symbol)
        placing.check_place(self.state, self.venue, self.clock.now(), principal, cmd)

    async def cancel(self, principal: Principal, cmd: CancelOrder) -> Order:
        """Ask the venue to cancel one resting order."""
        if cmd.account is not None:
            await self.know(cmd.account)
        try:
            return await self.writer.submit(principal, cmd, cancelling.cancel)
        except OrderNotFound:
            await self._ended(principal, cmd.account, cmd.order, "cancelled")
            raise

    async def change(self, principal: Principal, cmd: ChangeOrder) -> Order:
        """Change quantity and/or prices of a resting order; the venue confirms."""
        changing.check_change(cmd)
        await self.know(cmd.account)
        try:
            return await self.writer.submit(principal, cmd, changing.change)
        except OrderNotFound:
            await self._ended(principal, cmd.account, cmd.order, "changed")
            raise

    async def _ended(
        self, principal: Principal, account: AccountRef | None, ref: OrderRef, what: str
    ) -> None:
        """For an order memory no longer holds (ended long ago): the refusal it would get."""
        stored = await self.records.order(ref)
        if stored is None or not stored.is_terminal:
            return
        owner = self.state.account(stored.login)
        if account is not None:
            named = self.state.account(account)
            if named is None or named.login != stored.login:
                return
        if owner is None or not can_act(principal, owner):
            return
        cancelling.ensure_resting(stored, what)

    async def cancel_orders(self, principal: Principal, cmd: CancelOrders) -> CancelReport:
        """Cancel every working order of an account (or of one instrument in it), atomically,
        reported order by order."""
        await self.know(cmd.account, cmd.symbol)
        return await self.writer.submit(principal, cmd, cancelling.cancel_orders)

    async def close_position(self, principal: Principal, cmd: ClosePosition) -> list[Order]:
        """Send market orders that close the position in a symbol (all or part) or one ticket."""
        await self.know(cmd.account, cmd.symbol)
        return await self.writer.submit(principal, cmd, closing.close_position)

    async def flatten(self, principal: Principal, cmd: Flatten) -> FlattenReport:
        """Cancel the account's working orders, then close its positions (or one symbol's)."""
        await self.know(cmd.account, cmd.symbol)
        return await self.writer.submit(principal, cmd, closing.flatten)

    async def modify_trade(self, principal: Principal, cmd: ModifyTrade) -> PositionTicket:
        """Set or remove the stop-loss and take-profit of an open ticket."""
        await self.know(cmd.account)
        return await self.writer.submit(principal, cmd, closing.modify_trade)

    async def wait_change(self, deadline: datetime) -> bool:
        """Wait until the next batch is committed or, on the engine's clock, ``deadline``
        comes; False once it has come (a flow waiting for the venue gives up then)."""
        if self.clock.now() >= deadline:
            return False
        loop = asyncio.get_running_loop()
        came: asyncio.Future[None] = loop.create_future()

        def timeout() -> None:
            if not came.done():
                came.set_result(None)

        timer = self.clock.call_at(deadline, timeout)
        commit = self.writer.next_commit()
        try:
            await asyncio.wait([commit, came], return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            commit.cancel()
            came.cancel()
        return self.clock.now() < deadline

    # -- the venue's side ------------------------------------------------------------------

    async def on_venue_reports(self, reports: Sequence[VenueReport]) -> None:
        try:
            await self.writer.submit(None, VenueReports(reports), apply_reports)
        except DomainError as exc:
            log.warning("venue reports not applied: %s", exc.message)

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
            ticket = self.state.position_ticket(hit.ticket)
            if ticket is not None:
                self.protection.track(ticket)  # try again on the next quote

    def _publish(self, events: Sequence[Event]) -> None:
        if events and self.sink.active:
            self.sink.publish(events)
