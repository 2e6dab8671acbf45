"""The engine's live state, held in memory: accounts, instruments, orders, position tickets
and the running totals the risk checks read.

Only the writer (engine/writer.py) changes it, one command at a time, and every change goes
into the batch being journaled (``Batch``), so that memory and the journal never disagree.
Readers on the event loop read it between two commands.

Orders are indexed by ticket and id, and the orders that have not ended by account. Per
account the quantity still to fill in its orders and the quantity held in its open tickets
are kept per symbol, so that a margin check costs a look per symbol held, whatever the
account rests. Ended orders and closed tickets stay for a while (``keep_ended`` of each,
the most recent), then only the journal has them.
"""

from __future__ import annotations

import sys
from bisect import insort
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Final, TypeVar

from ordergate.domain.accounts import Account
from ordergate.domain.commands import AccountRef, OrderRef
from ordergate.domain.errors import AccountNotFound, InstrumentNotFound
from ordergate.domain.ids import Login, OrderId, Ticket
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import (
    NON_TERMINAL,
    Order,
    OrderStatus,
    Side,
    Transition,
    Trigger,
    next_status,
)
from ordergate.domain.positions import PositionTicket
from ordergate.domain.principal import Principal, ensure_can_act
from ordergate.domain.values import SCALE
from ordergate.engine.journal import Batch, Moved, Snapshot, Transitioned
from ordergate.engine.protection import Protection

__all__ = ["KEEP_ENDED", "State"]

#: Ended orders (and closed tickets) kept in memory, the most recent; older ones are read
#: from the journal when asked for.
KEEP_ENDED: Final = 100_000
_ZERO: Final = Decimal(0)
_NOBODY: Final[set[Login]] = set()
_QUANTUM: Final = Decimal(1).scaleb(-SCALE)
#: Distinct numbers and times ``_shared`` remembers before it starts again.
_SHARED: Final = 1 << 16

_PENDING: Final = frozenset({OrderStatus.PENDING_CHANGE, OrderStatus.PENDING_CANCEL})
_OPEN: Final = NON_TERMINAL
_V = TypeVar("_V")


def _side_key(login: Login, symbol: str, side: Side) -> tuple[Login, str, Side]:
    return (login, symbol, side)


class State:
    """Accounts, instruments, orders and position tickets of one engine."""

    def __init__(self, *, keep_ended: int = KEEP_ENDED) -> None:
        self._keep = keep_ended
        self._accounts: dict[Login, Account] = {}
        self._names: dict[str, Login] = {}
        self._instruments: dict[str, Instrument] = {}
        self._orders: dict[Ticket, Order] = {}
        self._ids: dict[OrderId, Ticket] = {}
        #: the callers' own ids of the orders memory holds, per account
        self._clients: dict[tuple[Login, str], Ticket] = {}
        self._open: dict[Login, dict[Ticket, Order]] = {}
        self._ended: OrderedDict[Ticket, None] = OrderedDict()
        #: per account and symbol: what its orders that have not ended still have to fill
        self._resting: dict[Login, dict[str, Decimal]] = {}
        #: per position ticket: what the orders that close it still have to fill
        self._closing: dict[Ticket, Decimal] = {}
        self._tickets: dict[Ticket, PositionTicket] = {}
        self._closed: OrderedDict[Ticket, None] = OrderedDict()
        #: open tickets by account, symbol and side, oldest first
        self._held_tickets: dict[tuple[Login, str, Side], list[PositionTicket]] = {}
        #: per account and symbol: the quantity of its open tickets (both sides added)
        self._held: dict[Login, dict[str, Decimal]] = {}
        self._holders: dict[str, set[Login]] = {}
        self._realized: dict[Login, Decimal] = {}
        self._filled: dict[Login, Decimal] = {}
        #: why each locked account takes no opening orders now (risk: monitors, kill switches)
        self.locks: dict[Login, str] = {}
        #: why each locked user's requests open nothing now (its kill switch)
        self.user_locks: dict[int, str] = {}
        self._traded: dict[Login, set[str]] = {}
        self._last_ticket = 0
        self._values: dict[object, object] = {}
        #: the stop-loss and take-profit levels of open tickets, watched against quotes
        self.protection = Protection()

    # -- loading ---------------------------------------------------------------------------

    def load(self, snapshot: Snapshot) -> None:
        """Start from ``snapshot`` (a restart)."""
        for account in snapshot.accounts:
            self.learn_account(account)
        for instrument in snapshot.instruments:
            self.learn_instrument(instrument)
        for order in sorted(snapshot.open_orders, key=lambda o: o.key):
            self._share(order)
            self._remember(order)
            self._index(order)
        for ticket in sorted(snapshot.open_tickets, key=lambda t: (t.opened_at, t.ticket)):
            self._tickets[ticket.ticket] = ticket
            self._hold(ticket, ticket.quantity)
            self.protection.track(ticket)
        self._realized = dict(snapshot.realized)
        self._filled = dict(snapshot.filled)
        self._traded = {login: set(symbols) for login, symbols in snapshot.traded.items()}
        self._last_ticket = snapshot.last_ticket

    def learn_account(self, account: Account) -> None:
        """Know ``account`` (reference data from the database, or a restart)."""
        previous = self._accounts.get(account.login)
        if previous is not None and previous.key != account.key:
            self._names.pop(previous.key, None)
        self._accounts[account.login] = account
        self._names[account.key] = account.login

    def set_disabled(self, logins: frozenset[Login]) -> None:
        """Mark the accounts of ``logins`` disabled and every other known one enabled."""
        for login, account in self._accounts.items():
            if account.enabled == (login in logins):
                self._accounts[login] = replace(account, enabled=login not in logins)

    def learn_instrument(self, instrument: Instrument) -> None:
        self._instruments[instrument.symbol] = instrument

    # -- reading ---------------------------------------------------------------------------

    def account(self, ref: AccountRef) -> Account | None:
        """The account ``ref`` names: its login, or its name in any case."""
        if isinstance(ref, bool):
            return None
        if isinstance(ref, int):
            return self._accounts.get(Login(ref))
        login = self._names.get(ref.casefold())
        return None if login is None else self._accounts[login]

    def account_for(self, principal: Principal, ref: AccountRef) -> Account:
        """The account ``ref`` names, if ``principal`` may act on it."""
        account = self.account(ref)
        if account is None:
            raise AccountNotFound(f"account {ref} not found")
        ensure_can_act(principal, account)
        return account

    def accounts(self) -> list[Account]:
        return [self._accounts[login] for login in sorted(self._accounts)]

    def instrument(self, symbol: str) -> Instrument:
        found = self._instruments.get(symbol)
        if found is None:
            raise InstrumentNotFound(f"unknown instrument {symbol!r}")
        return found

    def maybe_instrument(self, symbol: str) -> Instrument | None:
        return self._instruments.get(symbol)

    def instruments(self) -> list[Instrument]:
        return [self._instruments[s] for s in sorted(self._instruments)]

    def order(self, ref: OrderRef) -> Order | None:
        """The order ``ref`` (an id or a ticket) names, if memory holds it."""
        if isinstance(ref, int):
            return self._orders.get(Ticket(ref))
        ticket = self._ids.get(OrderId(ref))
        return None if ticket is None else self._orders.get(ticket)

    def client_order(self, login: Login, client_id: str) -> Order | None:
        """The account's order the caller gave its own id ``client_id``, if memory holds it."""
        ticket = self._clients.get((login, client_id))
        return None if ticket is None else self._orders.get(ticket)

    def order_in(self, login: Login, ref: OrderRef) -> Order | None:
        found = self.order(ref)
        return found if found is not None and found.login == login else None

    def open_orders(self, login: Login) -> list[Order]:
        """The account's orders that have not ended, in ticket order."""
        return list(self._open.get(login, {}).values())

    def open_count(self, login: Login) -> int:
        return len(self._open.get(login, ()))

    def all_open(self) -> Iterable[Order]:
        for orders in self._open.values():
            yield from orders.values()

    def exposure(self, login: Login) -> dict[str, Decimal]:
        """Per symbol: quantity still to fill in the account's orders plus quantity held in
        its open tickets (both sides added: the margin check does not net them)."""
        totals = {s: q for s, q in self._resting.get(login, {}).items() if q}
        for symbol, quantity in self._held.get(login, {}).items():
            if quantity:
                totals[symbol] = totals.get(symbol, _ZERO) + quantity
        return totals

    def closing(self, ticket: Ticket) -> Decimal:
        """What the orders closing position ticket ``ticket`` still have to fill."""
        return self._closing.get(ticket, _ZERO)

    def position_ticket(self, ticket: Ticket) -> PositionTicket | None:
        """A position ticket memory holds (every open one, and recently closed ones)."""
        return self._tickets.get(ticket)

    def open_tickets(self, login: Login, symbol: str | None = None) -> list[PositionTicket]:
        """The account's open tickets (in one symbol), oldest first."""
        symbols = tuple(self._held.get(login, ())) if symbol is None else (symbol,)
        held = self._held_tickets
        found = [
            t
            for s in symbols
            for side in (Side.BUY, Side.SELL)
            for t in held.get((login, s, side), ())
        ]
        found.sort(key=lambda t: (t.opened_at, t.ticket))
        return found

    def net_position(self, login: Login, symbol: str) -> Decimal:
        """The account's net quantity in ``symbol``: positive long, negative short."""
        held = self._held_tickets
        bought = sum((t.quantity for t in held.get((login, symbol, Side.BUY), ())), _ZERO)
        sold = sum((t.quantity for t in held.get((login, symbol, Side.SELL), ())), _ZERO)
        return bought - sold

    def positions_held(self, login: Login) -> int:
        """How many instruments the account holds a position in (either side)."""
        return sum(1 for total in self._held.get(login, {}).values() if total)

    def facing(self, login: Login, symbol: str, side: Side) -> list[PositionTicket]:
        """The account's open tickets in ``symbol`` on ``side``, oldest first (the list
        itself: a fill reduces them in place)."""
        return self._held_tickets.setdefault(_side_key(login, symbol, side), [])

    def realized(self, login: Login) -> Decimal:
        return self._realized.get(login, _ZERO)

    def filled(self, login: Login) -> Decimal:
        """The contracts (lots) the account has ever had filled."""
        return self._filled.get(login, _ZERO)

    def count_fill(self, login: Login, quantity: Decimal) -> None:
        self._filled[login] = self._filled.get(login, _ZERO) + quantity

    def traded(self, login: Login) -> set[str]:
        return self._traded.get(login, set())

    def protected(self) -> list[PositionTicket]:
        return [
            t
            for t in self._tickets.values()
            if t.is_open and (t.stop_loss is not None or t.take_profit is not None)
        ]

    # -- changing (the writer only) --------------------------------------------------------

    def next_ticket(self) -> Ticket:
        self._last_ticket += 1
        return Ticket(self._last_ticket)

    def insert(
        self, order: Order, step: Transition, actor: str, request_id: str | None, batch: Batch
    ) -> None:
        """Store a new order (its ticket given) with its first step."""
        self._share(order)
        order.request_id = request_id
        self._remember(order)
        self._index(order)
        batch.new_orders[order.key] = order
        batch.trail.append(
            Transitioned(
                order.key, None, step.to_status, step.reason, actor, request_id, order.created_at
            )
        )

    def step(
        self,
        order: Order,
        trigger: Trigger,
        at: datetime,
        reason: str,
        actor: str,
        request_id: str | None,
        batch: Batch,
        *,
        keep_request_id: bool = False,
    ) -> Transition:
        """Move ``order`` along the transition table, with its audit row."""
        self._unindex(order)
        try:  # a refused trigger leaves the order as it was, indexed
            transition = order.apply(trigger, at, reason)
        finally:
            self._index(order)
        if not keep_request_id:
            order.request_id = request_id
        self._record(order, transition, actor, request_id, batch)
        return transition

    def fill(
        self,
        order: Order,
        quantity: Decimal,
        price: Decimal,
        at: datetime,
        actor: str,
        batch: Batch,
    ) -> Transition:
        """Add a fill to ``order`` (its position effects are the caller's). A part filled
        while its cancel is on its way keeps the cancel's request id."""
        self._unindex(order)
        try:  # a refused fill leaves the order as it was, indexed
            transition = order.record_fill(quantity, price, at)
        finally:
            self._index(order)
        self._record(order, transition, actor, None, batch)
        return transition

    def change(
        self,
        order: Order,
        changed: Order,
        at: datetime,
        reason: str,
        actor: str,
        request_id: str,
        batch: Batch,
    ) -> Transition:
        """Put ``changed`` (``order`` with new quantity, prices or expiry) in its place and
        move it to pending change."""
        self._share(changed)
        self._unindex(order)
        try:
            transition = changed.apply(Trigger.REQUEST_CHANGE, at, reason)
        except BaseException:
            self._index(order)  # refused: the order stays as it was
            raise
        changed.request_id = request_id
        self._orders[changed.key] = changed
        self._index(changed)
        self._record(changed, transition, actor, request_id, batch)
        return transition

    def move_many(
        self,
        orders: Sequence[Order],
        trigger: Trigger,
        at: datetime,
        reason: str,
        actor: str,
        request_id: str | None,
        batch: Batch,
    ) -> OrderStatus:
        """Move many orders one step along the table at once (a bulk cancel, the venue's
        answer to it): one audit entry for all, written set-wise. They must all stand
        alike: one status, one prior status, and all with or all without fills. Returns the
        status they moved to."""
        first = orders[0]
        source, held = first.status, first.prior_status
        target = next_status(source, trigger, held, first.filled)
        if target in _PENDING and source in _PENDING:
            raise ValueError(f"move_many() cannot take {source} -> {target}")
        prior = source if target in _PENDING else None
        ends = target not in _OPEN
        _check_alike(orders)  # before any moves: a refusal leaves every order as it was
        tickets: list[Ticket] = []
        add = tickets.append
        for order in orders:
            if ends:
                self._unindex(order)
            order.status = target
            order.prior_status = prior
            order.version += 1
            order.updated_at = at
            if request_id is not None:
                order.request_id = request_id
            if ends:
                self._index(order)
            add(order.ticket)  # type: ignore[arg-type]
        batch.trail.append(
            Moved(tickets, source, target, prior, request_id, reason[:255], actor[:64], at)
        )
        if batch.new_orders:
            for order in orders:
                if order.key in batch.new_orders:
                    batch.orders[order.key] = order  # written whole after the set-wise move
        return target

    def credit(self, login: Login, amount: Decimal, batch: Batch) -> None:
        """Add ``amount`` (negative: a debit) to the account's balance."""
        account = self._accounts[login]
        balance = account.balance + amount
        self._accounts[login] = replace(account, balance=balance)
        self._realized[login] = self._realized.get(login, _ZERO) + amount
        batch.balances[login] = balance

    def tickets_changed(
        self,
        login: Login,
        symbol: str,
        reduced: Sequence[PositionTicket],
        opened: PositionTicket | None,
        held_delta: Decimal,
        batch: Batch,
    ) -> None:
        """After a fill: ``reduced`` tickets (some now closed) and the ticket ``opened`` or
        grown, and how much the account's open quantity in ``symbol`` moved."""
        for ticket in reduced:
            batch.positions[ticket.ticket] = ticket
            if not ticket.is_open:
                tickets = self.facing(login, symbol, ticket.side)
                tickets[:] = [t for t in tickets if t.is_open]
                self._close(ticket)
        if opened is not None:
            batch.positions[opened.ticket] = opened
            if opened.ticket not in self._tickets or opened.ticket in self._closed:
                self._closed.pop(opened.ticket, None)
                self._tickets[opened.ticket] = opened
                tickets = self.facing(login, symbol, opened.side)
                last = tickets[-1] if tickets else None
                if last is None or (last.opened_at, last.ticket) < (
                    opened.opened_at,
                    opened.ticket,
                ):
                    tickets.append(opened)  # the newest, as a new ticket nearly always is
                else:
                    insort(tickets, opened, key=lambda t: (t.opened_at, t.ticket))
            self._traded.setdefault(login, set()).add(symbol)
        held = self._held.setdefault(login, {})
        held[symbol] = held.get(symbol, _ZERO) + held_delta
        self._note_holder(login, symbol, held[symbol])

    def set_levels(
        self,
        ticket: PositionTicket,
        stop_loss: Decimal | None,
        take_profit: Decimal | None,
        batch: Batch,
    ) -> None:
        ticket.stop_loss, ticket.take_profit = stop_loss, take_profit
        batch.positions[ticket.ticket] = ticket

    # -- the indexes -----------------------------------------------------------------------

    def _record(
        self,
        order: Order,
        transition: Transition,
        actor: str,
        request_id: str | None,
        batch: Batch,
    ) -> None:
        batch.changed(order)
        batch.trail.append(
            Transitioned(
                order.key,
                transition.from_status,
                transition.to_status,
                transition.reason[:255],
                actor[:64],
                request_id,
                order.updated_at,
            )
        )

    def _index(self, order: Order) -> None:
        """Count ``order`` in the indexes as it stands now."""
        login = order.login
        if order.status in _OPEN:
            self._open.setdefault(login, {})[order.key] = order
            left = order.quantity - order.filled
            resting = self._resting.setdefault(login, {})
            resting[order.symbol] = resting.get(order.symbol, _ZERO) + left
            if order.closes_ticket is not None:
                closes = order.closes_ticket
                self._closing[closes] = self._closing.get(closes, _ZERO) + left
        else:
            orders = self._open.get(login)
            if orders is not None:
                orders.pop(order.key, None)
            self._ended[order.key] = None
            while len(self._ended) > self._keep:
                gone, _ = self._ended.popitem(last=False)
                dropped = self._orders.pop(gone, None)
                if dropped is not None:
                    self._ids.pop(dropped.id, None)
                    if dropped.client_id is not None:
                        self._clients.pop((dropped.login, dropped.client_id), None)

    def _remember(self, order: Order) -> None:
        self._orders[order.key] = order
        self._ids[order.id] = order.key
        if order.client_id is not None:
            self._clients[(order.login, order.client_id)] = order.key

    def _unindex(self, order: Order) -> None:
        """Take ``order`` out of the running totals, before it changes."""
        if order.status not in _OPEN:
            return
        left = order.quantity - order.filled
        resting = self._resting[order.login]
        resting[order.symbol] -= left
        if order.closes_ticket is not None:
            closes = order.closes_ticket
            self._closing[closes] -= left
            if not self._closing[closes]:
                del self._closing[closes]

    def _hold(self, ticket: PositionTicket, quantity: Decimal) -> None:
        self.facing(ticket.login, ticket.symbol, ticket.side).append(ticket)
        held = self._held.setdefault(ticket.login, {})
        held[ticket.symbol] = held.get(ticket.symbol, _ZERO) + quantity
        self._note_holder(ticket.login, ticket.symbol, held[ticket.symbol])
        self._traded.setdefault(ticket.login, set()).add(ticket.symbol)

    def _note_holder(self, login: Login, symbol: str, held: Decimal) -> None:
        if held:
            self._holders.setdefault(symbol, set()).add(login)
        else:
            self._holders.get(symbol, set()).discard(login)

    def holders(self, symbol: str) -> set[Login]:
        """The accounts holding open tickets in ``symbol`` (risk values them on its quotes)."""
        return self._holders.get(symbol, _NOBODY)

    def _close(self, ticket: PositionTicket) -> None:
        self._closed[ticket.ticket] = None
        while len(self._closed) > self._keep:
            gone, _ = self._closed.popitem(last=False)
            self._tickets.pop(gone, None)

    def _share(self, order: Order) -> None:
        """The order's numbers to the journal's precision, and the same objects as those of
        other orders with the same values (a million resting orders, a few hundred prices),
        its symbol and login those of its instrument and account."""
        shared = self._shared
        order.symbol = sys.intern(order.symbol)
        account = self._accounts.get(order.login)
        if account is not None:
            order.login = account.login
        order.quantity = shared(order.quantity.quantize(_QUANTUM))
        order.filled = shared(order.filled.quantize(_QUANTUM))
        if order.limit_price is not None:
            order.limit_price = shared(order.limit_price.quantize(_QUANTUM))
        if order.stop_price is not None:
            order.stop_price = shared(order.stop_price.quantize(_QUANTUM))
        if order.expires_at is not None:
            order.expires_at = shared(order.expires_at)

    def _shared(self, value: _V) -> _V:
        values = self._values
        found = values.get(value)
        if found is None:
            if len(values) >= _SHARED:
                values.clear()
            values[value] = value
            return value
        return found  # type: ignore[return-value]


def _check_alike(orders: Sequence[Order]) -> None:
    first = orders[0]
    source, held, filled = first.status, first.prior_status, first.filled > 0
    for order in orders:
        if order.status is not source or order.prior_status is not held:
            raise ValueError("move_many() needs orders that stand alike")
        if (order.filled > 0) is not filled:
            raise ValueError("move_many() needs orders all with or all without fills")
