"""The order view: a per-process, read-through cache of orders (and, briefly, of accounts)
that answers ``OrderEngine.get_order`` from memory.

Who keeps it fresh: the store. Every unit of work records the orders it writes (``Writes``)
and, when it ends (committed or rolled back), tells the view, which drops them. So every path
that writes an order through the store's repository invalidates it, whatever use case it
belongs to, and only a transaction's end does it: a rolled-back write never leaves anything
behind, because the view never takes a value from a writer, only from a read of the database.

The race it guards against: a reader misses, reads the database, and meanwhile a writer
commits and invalidates; the reader must then not store the row it read (it may be the old
one). Every invalidation moves a counter (``epoch``) and stamps the ticket (or the whole
account, for the bulk statements) with it; a reader takes ``mark()`` before its read and
``keep(mark, order)`` stores the row only if nothing stamped that ticket or account since,
and no write of it is still in flight. Writes are marked in flight from their statement
until their transaction ends, so that while one is committing no reader is served (or
stores) the version it replaces.

What it cannot see: writes of other processes (a second server or a CLI on the same
database). Hence ``ORDERGATE_ORDER_CACHE`` (on by default, for the single-process server;
off when several processes share one database). New orders are never a problem (a miss is
never cached), and accounts are kept only ``ACCOUNT_TTL`` seconds, so an account's owner,
group or enabled flag changed by the CLI shows within that time.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from typing import Final, Protocol, runtime_checkable

from ordergate.domain.accounts import Account
from ordergate.domain.commands import AccountRef, OrderRef
from ordergate.domain.ids import Login, OrderId, Ticket
from ordergate.domain.orders import Order

__all__ = ["ACCOUNT_TTL", "OrderView", "ViewedStore", "Writes"]

#: How long (seconds) an account read from the database is used for ``get_order``: the
#: staleness bound of a change made by another process (owner, group, enabled).
ACCOUNT_TTL: Final = 1.0
#: Orders kept at most (the oldest kept goes first; about 1 kB each).
CAPACITY: Final = 50_000
#: Ticket stamps kept at most; past that they are forgotten at once, and readers that
#: started before cannot store what they read (a miss, never a stale answer).
STAMPS: Final = 100_000
_ACCOUNTS: Final = 10_000


@runtime_checkable
class ViewedStore(Protocol):
    """A store that tells an order view about every order it writes."""

    @property
    def order_view(self) -> OrderView | None: ...


def _count(marks: dict[int, int], keys: Iterable[int], step: int) -> None:
    for key in keys:
        left = marks.get(key, 0) + step
        if left:
            marks[key] = left
        else:
            del marks[key]


class OrderView:
    """Orders by ticket (and id), as last read from the database; see the module docstring."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._now = monotonic
        self._orders: dict[Ticket, tuple[Order, int]] = {}  # ticket -> (order, mark)
        self._ids: dict[OrderId, Ticket] = {}
        self._accounts: dict[int | str, tuple[Account, float]] = {}
        self._epoch = 0
        self._floor = 0  # readers marked before this may not store
        self._stamps: dict[int, int] = {}  # ticket -> epoch of its last invalidation
        self._login_stamps: dict[int, int] = {}  # login -> epoch of its last bulk write
        self._writing: dict[int, int] = {}  # ticket -> writes in flight
        self._writing_logins: dict[int, int] = {}  # login -> bulk writes in flight

    def __len__(self) -> int:
        return len(self._orders)

    # -- readers ---------------------------------------------------------------------------

    def order(self, login: Login, ref: OrderRef) -> Order | None:
        """A copy of order ``ref`` of ``login`` if the view holds it fresh, else None."""
        ticket = ref if isinstance(ref, int) else self._ids.get(ref)
        if ticket is None or ticket in self._writing or login in self._writing_logins:
            return None
        found = self._orders.get(ticket)
        if found is None:
            return None
        order, mark = found
        if order.login != login or (not isinstance(ref, int) and order.id != ref):
            return None
        if self._login_stamps.get(login, 0) > mark:  # a bulk write since it was read
            self._drop(ticket)
            return None
        return copy.copy(order)

    def mark(self) -> int:
        """Take before reading an order from the database; hand to ``keep``."""
        return self._epoch

    def keep(self, mark: int, order: Order) -> None:
        """Keep ``order``, read from the database after ``mark()`` returned ``mark``, unless
        a write of it started or ended since (then the row read may be the old one)."""
        ticket, login = order.ticket, order.login
        if (
            ticket is None
            or mark < self._floor
            or ticket in self._writing
            or login in self._writing_logins
            or self._stamps.get(ticket, 0) > mark
            or self._login_stamps.get(login, 0) > mark
        ):
            return
        self._drop(ticket)
        while len(self._orders) >= CAPACITY:
            self._drop(next(iter(self._orders)))
        self._orders[ticket] = (copy.copy(order), mark)
        self._ids[order.id] = ticket

    def account(self, ref: AccountRef) -> Account | None:
        """The account ``ref`` names if it was read less than ``ACCOUNT_TTL`` seconds ago."""
        if isinstance(ref, bool):
            return None
        found = self._accounts.get(ref if isinstance(ref, int) else ref.casefold())
        if found is None or found[1] <= self._now():
            return None
        return found[0]

    def keep_account(self, account: Account) -> None:
        """Keep ``account`` (just read from the database) for ``ACCOUNT_TTL`` seconds."""
        now = self._now()
        if len(self._accounts) >= _ACCOUNTS:
            self._accounts = {k: v for k, v in self._accounts.items() if v[1] > now}
            if len(self._accounts) >= _ACCOUNTS:
                self._accounts.clear()
        until = now + ACCOUNT_TTL
        self._accounts[account.login] = self._accounts[account.key] = (account, until)

    # -- writers (the store's units of work, through Writes) -------------------------------

    def writing(self, tickets: Iterable[Ticket] = (), logins: Iterable[Login] = ()) -> None:
        """Writes of ``tickets`` (or of any order of ``logins``) start: until ``written``,
        the view neither answers nor stores them."""
        tickets, logins = list(tickets), list(logins)
        _count(self._writing, tickets, 1)
        _count(self._writing_logins, logins, 1)
        self._invalidate(tickets, logins)

    def written(self, tickets: Iterable[Ticket] = (), logins: Iterable[Login] = ()) -> None:
        """The transaction that wrote them ended (committed or rolled back)."""
        tickets, logins = list(tickets), list(logins)
        _count(self._writing, tickets, -1)
        _count(self._writing_logins, logins, -1)
        self._invalidate(tickets, logins)

    def _invalidate(self, tickets: list[Ticket], logins: list[Login]) -> None:
        self._epoch += 1
        epoch = self._epoch
        for ticket in tickets:
            self._drop(ticket)
            self._stamps[ticket] = epoch
        for login in logins:
            self._login_stamps[login] = epoch
        if len(self._stamps) > STAMPS:
            self._stamps.clear()
            self._floor = epoch + 1
            self._epoch = epoch + 1

    def _drop(self, ticket: Ticket) -> None:
        found = self._orders.pop(ticket, None)
        if found is not None and self._ids.get(found[0].id) == ticket:
            del self._ids[found[0].id]


class Writes:
    """The orders one unit of work writes: marked in ``view`` as they are written, released
    (and so invalidated) once when the unit of work ends, whatever its outcome."""

    __slots__ = ("_logins", "_tickets", "_view")

    def __init__(self, view: OrderView) -> None:
        self._view = view
        self._tickets: set[Ticket] = set()
        self._logins: set[Login] = set()

    def tickets(self, tickets: Iterable[Ticket]) -> None:
        fresh = set(tickets) - self._tickets
        if fresh:
            self._tickets.update(fresh)
            self._view.writing(tickets=fresh)

    def logins(self, logins: Iterable[Login]) -> None:
        fresh = set(logins) - self._logins
        if fresh:
            self._logins.update(fresh)
            self._view.writing(logins=fresh)

    def end(self) -> None:
        if self._tickets or self._logins:
            tickets, logins = self._tickets, self._logins
            self._tickets, self._logins = set(), set()
            self._view.written(tickets, logins)
