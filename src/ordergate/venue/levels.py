"""Price levels of the simulated venue's book: per price the tickets resting there, oldest
first, and the distinct prices in order.

The book holds every resting order in memory, so it keeps as little per order as it can: a
ticket is 8 bytes in its level's ``array``, and a price is held once per level, not once per
order.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, insort
from collections.abc import Collection, Mapping
from decimal import Decimal

__all__ = ["FEW", "Ladder", "Tickets"]

#: Up to this many tickets (or levels) are taken out one by one; more, by one rebuild.
FEW = 32
#: Taken tickets at the front are cut off once they are this many and half of the array.
_SLACK = 64


class Tickets:
    """Tickets in ascending order, which is arrival order: a new order's ticket is the highest,
    so adding one is an append. Taking the first is O(1) (amortised)."""

    __slots__ = ("_head", "_tickets")

    def __init__(self) -> None:
        self._tickets = array("q")
        self._head = 0  # the tickets before it were taken

    def __len__(self) -> int:
        return len(self._tickets) - self._head

    def first(self) -> int | None:
        # Never only taken tickets: _compact empties the array when the last one is taken.
        return self._tickets[self._head] if self._tickets else None

    def add(self, ticket: int) -> None:
        tickets = self._tickets
        if len(tickets) == self._head or tickets[-1] < ticket:
            tickets.append(ticket)
        else:  # an older ticket coming back (a triggered stop-limit, an amended price)
            tickets.insert(bisect_left(tickets, ticket, self._head), ticket)

    def discard(self, ticket: int) -> None:
        tickets, head = self._tickets, self._head
        if head < len(tickets) and tickets[head] == ticket:
            self._head = head + 1
        else:
            i = bisect_left(tickets, ticket, head)
            if i < len(tickets) and tickets[i] == ticket:
                del tickets[i]
        self._compact()

    def discard_many(self, gone: Collection[int]) -> None:
        if len(gone) <= FEW:
            for ticket in gone:
                self.discard(ticket)
            return
        kept = [t for t in self._tickets[self._head :] if t not in gone]
        self._tickets, self._head = array("q", kept), 0

    def _compact(self) -> None:
        head = self._head
        if head == len(self._tickets):
            self._tickets, self._head = array("q"), 0
        elif head >= _SLACK and 2 * head >= len(self._tickets):
            del self._tickets[:head]
            self._head = 0


class Ladder:
    """Price levels, best first: the highest price first (buy limits, sell stops) or the
    lowest; within a level, the oldest ticket first."""

    __slots__ = ("_highest_first", "_levels", "prices")

    def __init__(self, *, highest_first: bool) -> None:
        self._highest_first = highest_first
        self.prices: list[Decimal] = []  # ascending, one per level (read it, never change it)
        self._levels: dict[Decimal, Tickets] = {}

    def __bool__(self) -> bool:
        return bool(self.prices)

    def first(self) -> int | None:
        """The ticket first in priority, if any: the oldest at the best price."""
        if not self.prices:
            return None
        level = self._levels[self.prices[-1 if self._highest_first else 0]]
        return level._tickets[level._head]  # a level is never empty (inline: every quote)

    def add(self, price: Decimal, ticket: int) -> None:
        level = self._levels.get(price)
        if level is None:
            level = self._levels[price] = Tickets()
            insort(self.prices, price)
        level.add(ticket)

    def discard(self, price: Decimal, ticket: int) -> None:
        level = self._levels.get(price)
        if level is not None:
            level.discard(ticket)
            if not level:
                self._drop([price])

    def discard_many(self, gone: Mapping[Decimal, Collection[int]]) -> None:
        """Take out many tickets (by price), each touched level rebuilt at most once."""
        emptied = []
        for price, tickets in gone.items():
            level = self._levels.get(price)
            if level is not None:
                level.discard_many(tickets)
                if not level:
                    emptied.append(price)
        self._drop(emptied)

    def _drop(self, prices: Collection[Decimal]) -> None:
        for price in prices:
            del self._levels[price]
        if len(prices) <= FEW:
            for price in prices:
                del self.prices[bisect_left(self.prices, price)]
        else:
            gone = set(prices)
            self.prices = [p for p in self.prices if p not in gone]
