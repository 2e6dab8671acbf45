"""The simulated venue's order book and its matching against the quote.

Per symbol and side, live orders are kept best first (market-like orders, then by limit
price, then oldest) and untriggered stops nearest-trigger first, so a quote that crosses
nothing costs a look at the head of each list, whatever the book holds. A quote fills what
it crosses: buys at the ask, sells at the bid, limits at their price or better, stops once
touched (then as market), stop-limits become limits. With partial fills on, a quote's size
is shared out in that priority and the rest keeps resting.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ordergate.domain.ids import Login, Ticket
from ordergate.domain.orders import OrderStatus, OrderType, Side
from ordergate.venue.base import (
    Acknowledged,
    CancelledByVenue,
    Filled,
    Quote,
    VenueOrder,
    VenueReport,
)

__all__ = ["Book", "Resting"]

#: A sort key: (0 market-like | 1 limit, price made "smaller is better", ticket).
Key = tuple[int, Decimal, Ticket]
_ZERO = Decimal(0)


@dataclass(slots=True)
class Resting:
    ticket: Ticket
    login: Login
    symbol: str
    side: Side
    type: OrderType
    remaining: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    oco: str | None
    live: bool  # False while a stop waits for its trigger
    expires_at: datetime | None = None

    @classmethod
    def of(cls, o: VenueOrder, *, new: bool) -> Resting:
        """``new``: just submitted (stops wait); else restored from the order's status."""
        live = o.type in (OrderType.MARKET, OrderType.LIMIT) or (
            not new and o.status in (OrderStatus.WORKING, OrderStatus.PARTIALLY_FILLED)
        )
        return cls(
            o.ticket,
            o.login,
            o.symbol,
            o.side,
            o.type,
            o.quantity,
            o.limit_price,
            o.stop_price,
            o.oco,
            live,
            o.expires_at,
        )

    def fill_price(self, quote: Quote) -> Decimal | None:
        """The price this order fills at against ``quote``, or None if it does not cross."""
        touch = quote.ask if self.side is Side.BUY else quote.bid
        if self.limit_price is None or self.type in (OrderType.MARKET, OrderType.STOP):
            return touch
        if (self.limit_price - touch) * self.side.sign < 0:
            return None
        # A limit fills at its price, or at the touch when that is better for the order.
        return touch if (touch - self.limit_price) * self.side.sign < 0 else self.limit_price

    def triggered(self, quote: Quote) -> bool:
        touch = quote.ask if self.side is Side.BUY else quote.bid
        return self.stop_price is not None and (touch - self.stop_price) * self.side.sign >= 0

    def live_key(self) -> Key:
        if self.limit_price is None or self.type in (OrderType.MARKET, OrderType.STOP):
            return (0, _ZERO, self.ticket)
        return (1, -self.side.sign * self.limit_price, self.ticket)

    def stop_key(self) -> Key:
        # Buy stops trigger as the ask rises to them (lowest first), sell stops as the bid
        # falls to them (highest first).
        return (1, self.side.sign * (self.stop_price or _ZERO), self.ticket)


@dataclass(slots=True)
class _Side:
    live: list[Key] = field(default_factory=list)
    stops: list[Key] = field(default_factory=list)


def _discard(keys: list[Key], key: Key) -> None:
    i = bisect_left(keys, key)
    if i < len(keys) and keys[i] == key:
        del keys[i]


def _without(keys: list[Key], gone: set[Key]) -> list[Key]:
    if len(gone) <= _FEW:
        for key in gone:
            _discard(keys, key)
        return keys
    return [k for k in keys if k not in gone]


#: Up to this many keys are taken out one by one (a move each); more, by one rebuild.
_FEW = 32


class Book:
    """Resting orders by symbol; ``match`` turns a quote into venue reports."""

    def __init__(self) -> None:
        self._orders: dict[Ticket, Resting] = {}
        self._sides: dict[tuple[str, Side], _Side] = {}
        self._keys: dict[Ticket, Key] = {}
        self._count: dict[str, int] = {}

    def _side(self, order: Resting) -> _Side:
        return self._sides.setdefault((order.symbol, order.side), _Side())

    def _index(self, order: Resting) -> None:
        side = self._side(order)
        key = order.live_key() if order.live else order.stop_key()
        insort(side.live if order.live else side.stops, key)
        self._keys[order.ticket] = key

    def _unindex(self, order: Resting) -> None:
        side = self._side(order)
        _discard(side.live if order.live else side.stops, self._keys.pop(order.ticket))

    def add(self, order: Resting) -> None:
        self._orders[order.ticket] = order
        self._count[order.symbol] = self._count.get(order.symbol, 0) + 1
        self._index(order)

    def get(self, ticket: Ticket) -> Resting | None:
        return self._orders.get(ticket)

    def remove(self, ticket: Ticket) -> Resting | None:
        order = self._orders.pop(ticket, None)
        if order is not None:
            self._unindex(order)
            self._count[order.symbol] -= 1
        return order

    def remove_many(self, tickets: Iterable[Ticket]) -> None:
        """Take many orders off the book in one pass: each touched side's keys are rebuilt
        once, where removing them one by one would move the list for every order."""
        gone: dict[tuple[str, Side], tuple[set[Key], set[Key]]] = {}
        for ticket in tickets:
            order = self._orders.pop(ticket, None)
            if order is None:
                continue
            live, stops = gone.setdefault((order.symbol, order.side), (set(), set()))
            (live if order.live else stops).add(self._keys.pop(ticket))
            self._count[order.symbol] -= 1
        for where, (live, stops) in gone.items():
            side = self._sides[where]
            side.live = _without(side.live, live)
            side.stops = _without(side.stops, stops)

    def amend(
        self,
        ticket: Ticket,
        remaining: Decimal,
        limit_price: Decimal | None,
        stop_price: Decimal | None,
    ) -> Resting | None:
        """Change a resting order's size and prices (it keeps its place only if its price
        is unchanged: the key holds the ticket, so time priority is by arrival)."""
        order = self._orders.get(ticket)
        if order is not None:
            self._unindex(order)
            order.remaining, order.limit_price, order.stop_price = (
                remaining,
                limit_price,
                stop_price,
            )
            self._index(order)
        return order

    def has(self, symbol: str) -> bool:
        return self._count.get(symbol, 0) > 0

    def tickets(self, symbol: str | None = None) -> list[Ticket]:
        return sorted(t for t, o in self._orders.items() if symbol in (None, o.symbol))

    def _trigger(self, order: Resting) -> None:
        self._unindex(order)
        order.live = True
        self._index(order)

    def match(self, quote: Quote, *, partial: bool, at: datetime) -> list[VenueReport]:
        """Trigger the stops and fill the orders ``quote`` crosses, best first; fills are
        stamped ``at`` (when the venue matched, not when the quote was made)."""
        reports: list[VenueReport] = []
        for side_of in (Side.BUY, Side.SELL):
            side = self._sides.get((quote.symbol, side_of))
            if side is None:
                continue
            while side.stops and self._orders[side.stops[0][2]].triggered(quote):
                order = self._orders[side.stops[0][2]]
                self._trigger(order)
                if order.type is OrderType.STOP_LIMIT:
                    reports.append(Acknowledged(order.ticket, live=True))
            available = (
                (quote.ask_size if side_of is Side.BUY else quote.bid_size) if partial else None
            )
            while side.live and (available is None or available > 0):
                order = self._orders[side.live[0][2]]
                price = order.fill_price(quote)
                if price is None:
                    break  # the best order does not cross: nothing behind it does
                qty = order.remaining if available is None else min(order.remaining, available)
                if available is not None:
                    available -= qty
                reports.extend(self._fill(order, qty, price, at))
        return reports

    def fill_now(
        self, order: Resting, quote: Quote, *, partial: bool, at: datetime
    ) -> list[VenueReport]:
        """Match one just-arrived order against the current quote."""
        if not order.live:
            if not order.triggered(quote):
                return []
            self._trigger(order)
        price = order.fill_price(quote)
        if price is None:
            return []
        available = (
            (quote.ask_size if order.side is Side.BUY else quote.bid_size) if partial else None
        )
        qty = order.remaining if available is None else min(order.remaining, available)
        return self._fill(order, qty, price, at) if qty > 0 else []

    def _fill(
        self, order: Resting, qty: Decimal, price: Decimal, at: datetime
    ) -> list[VenueReport]:
        reports: list[VenueReport] = [Filled(order.ticket, qty, price, at)]
        order.remaining -= qty
        if order.remaining > 0:
            return reports
        self.remove(order.ticket)
        if order.oco:
            siblings = [
                t
                for t, r in self._orders.items()
                if r.oco == order.oco and r.login == order.login and r.symbol == order.symbol
            ]
            for ticket in siblings:
                self.remove(ticket)
            if siblings:
                reports.append(CancelledByVenue(tuple(siblings), "OCO sibling filled"))
        return reports
