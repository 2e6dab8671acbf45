"""The simulated venue's order book and its matching against the quote.

Per symbol and side, live orders are kept best first (market-like orders, then by limit
price, then oldest) and untriggered stops nearest-trigger first, so a quote that crosses
nothing costs a look at the head of each list, whatever the book holds. A quote fills what
it crosses: buys at the ask, sells at the bid, limits at their price or better, stops once
touched (then as market), stop-limits become limits. With partial fills on, a quote's size
is shared out in that priority and the rest keeps resting. "Oldest" is by ticket (arrival):
an order whose price is amended back, or a stop-limit that triggers, takes its place by its
ticket among the orders at its price.

The book holds every resting order in memory, so per order it keeps one slotted ``Resting``,
whose prices, size, login and symbol are the same objects as those of the other orders that
have them, and its ticket in the dict of orders and once in its price level
(venue/levels.py).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Generic, TypeVar, overload

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
from ordergate.venue.levels import Ladder, Tickets

__all__ = ["Book", "Resting"]

_ZERO = Decimal(0)
_T = TypeVar("_T")
#: Distinct values a ``_Shared`` remembers; past that it starts again (sharing is a saving,
#: never needed for being right).
_SHARED = 1 << 16


@dataclass(slots=True)
class Resting:
    """An order on the book. Change its prices only through ``Book.amend`` (they place it)."""

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

    @property
    def market_like(self) -> bool:
        """Fills at the touch, ahead of every limit: a market order or a (triggered) stop."""
        return self.limit_price is None or self.type in (OrderType.MARKET, OrderType.STOP)

    def fill_price(self, quote: Quote) -> Decimal | None:
        """The price this order fills at against ``quote``, or None if it does not cross."""
        touch = quote.ask if self.side is Side.BUY else quote.bid
        if self.limit_price is None or self.type in (OrderType.MARKET, OrderType.STOP):
            return touch  # market-like (inline: this runs on every quote)
        if (self.limit_price - touch) * self.side.sign < 0:
            return None
        # A limit fills at its price, or at the touch when that is better for the order.
        return touch if (touch - self.limit_price) * self.side.sign < 0 else self.limit_price

    def triggered(self, quote: Quote) -> bool:
        touch = quote.ask if self.side is Side.BUY else quote.bid
        return self.stop_price is not None and (touch - self.stop_price) * self.side.sign >= 0


def _level(order: Resting) -> Decimal | None:
    """The price level ``order`` rests at: its stop price until triggered, then its limit
    price; None for a live market-like order (ahead of every level)."""
    if not order.live:
        return order.stop_price or _ZERO
    return None if order.limit_price is None or order.market_like else order.limit_price


class _Side:
    """One symbol's orders on one side, in priority order."""

    __slots__ = ("limits", "market", "stops")

    def __init__(self, side: Side) -> None:
        self.market = Tickets()  # live market-like orders
        self.limits = Ladder(highest_first=side is Side.BUY)
        # Buy stops trigger as the ask rises to them (lowest first), sell stops as the bid
        # falls to them (highest first).
        self.stops = Ladder(highest_first=side is Side.SELL)

    def add(self, order: Resting) -> None:
        price = _level(order)
        if price is None:
            self.market.add(order.ticket)
        else:
            (self.limits if order.live else self.stops).add(price, order.ticket)

    def discard(self, order: Resting) -> None:
        price = _level(order)
        if price is None:
            self.market.discard(order.ticket)
        else:
            (self.limits if order.live else self.stops).discard(price, order.ticket)

    def discard_many(self, orders: Iterable[Resting]) -> None:
        market: set[int] = set()
        limits: dict[Decimal, set[int]] = {}
        stops: dict[Decimal, set[int]] = {}
        for order in orders:
            price = _level(order)
            if price is None:
                market.add(order.ticket)
            else:
                (limits if order.live else stops).setdefault(price, set()).add(order.ticket)
        self.market.discard_many(market)
        self.limits.discard_many(limits)
        self.stops.discard_many(stops)


class _Shared(Generic[_T]):
    """One object for equal values that are also ``alike`` (Decimal('1.0') equals
    Decimal('1.00'), but a fill must keep the order's own figures): a million orders at a few
    hundred prices hold a few hundred Decimals, not a million."""

    __slots__ = ("_alike", "_known")

    def __init__(self, alike: Callable[[_T, _T], bool] | None = None) -> None:
        self._alike = alike
        self._known: dict[_T, _T] = {}

    @overload
    def __call__(self, value: None) -> None: ...

    @overload
    def __call__(self, value: _T) -> _T: ...

    def __call__(self, value: _T | None) -> _T | None:
        if value is None:
            return None
        known = self._known.get(value)
        if known is None:
            if len(self._known) >= _SHARED:
                self._known.clear()
            self._known[value] = value
            return value
        return known if self._alike is None or self._alike(known, value) else value


def _same_digits(a: Decimal, b: Decimal) -> bool:
    # Zero in the total order: same sign, digits and exponent (cheaper than comparing
    # as_tuple()).
    return not a.compare_total(b)


def _same_zone(a: datetime, b: datetime) -> bool:
    return a.tzinfo == b.tzinfo


class Book:
    """Resting orders by symbol; ``match`` turns a quote into venue reports."""

    def __init__(self) -> None:
        self._orders: dict[int, Resting] = {}
        self._sides: dict[tuple[str, Side], _Side] = {}
        self._count: dict[str, int] = {}
        self._oco: dict[tuple[Login, str, str], dict[Ticket, None]] = {}  # in arrival order
        self._logins: _Shared[Login] = _Shared()
        self._decimals: _Shared[Decimal] = _Shared(_same_digits)
        self._times: _Shared[datetime] = _Shared(_same_zone)

    def _side(self, order: Resting) -> _Side:
        where = (order.symbol, order.side)
        side = self._sides.get(where)
        if side is None:
            side = self._sides[where] = _Side(order.side)
        return side

    def _share(self, order: Resting) -> None:
        decimals = self._decimals
        order.login = self._logins(order.login)
        order.symbol = sys.intern(order.symbol)
        order.remaining = decimals(order.remaining)
        order.limit_price = decimals(order.limit_price)
        order.stop_price = decimals(order.stop_price)
        order.expires_at = self._times(order.expires_at)

    def add(self, order: Resting) -> None:
        self._share(order)
        self._orders[order.ticket] = order
        self._count[order.symbol] = self._count.get(order.symbol, 0) + 1
        if order.oco:
            self._oco.setdefault((order.login, order.symbol, order.oco), {})[order.ticket] = None
        self._side(order).add(order)

    def get(self, ticket: Ticket) -> Resting | None:
        return self._orders.get(ticket)

    def _forget(self, order: Resting) -> None:
        self._count[order.symbol] -= 1
        if order.oco:
            group = (order.login, order.symbol, order.oco)
            tickets = self._oco.get(group)
            if tickets is not None:
                tickets.pop(order.ticket, None)
                if not tickets:
                    del self._oco[group]

    def remove(self, ticket: Ticket) -> Resting | None:
        order = self._orders.pop(ticket, None)
        if order is not None:
            self._side(order).discard(order)
            self._forget(order)
        return order

    def remove_many(self, tickets: Iterable[Ticket]) -> None:
        """Take many orders off the book in one pass: each touched price level is rebuilt
        once, where removing them one by one would move its array for every order."""
        gone: dict[tuple[str, Side], list[Resting]] = {}
        for ticket in tickets:
            order = self._orders.pop(ticket, None)
            if order is not None:
                self._forget(order)
                gone.setdefault((order.symbol, order.side), []).append(order)
        for where, orders in gone.items():
            self._sides[where].discard_many(orders)

    def amend(
        self,
        ticket: Ticket,
        remaining: Decimal,
        limit_price: Decimal | None,
        stop_price: Decimal | None,
    ) -> Resting | None:
        """Change a resting order's size and prices (it keeps its place only if its price
        is unchanged: time priority is by ticket, i.e. by arrival)."""
        order = self._orders.get(ticket)
        if order is not None:
            side = self._side(order)
            side.discard(order)
            order.remaining, order.limit_price, order.stop_price = (
                remaining,
                limit_price,
                stop_price,
            )
            self._share(order)
            side.add(order)
        return order

    def has(self, symbol: str) -> bool:
        return self._count.get(symbol, 0) > 0

    def tickets(self, symbol: str | None = None) -> list[Ticket]:
        return sorted(o.ticket for o in self._orders.values() if symbol in (None, o.symbol))

    def _trigger(self, order: Resting) -> None:
        side = self._side(order)
        side.discard(order)
        order.live = True
        side.add(order)

    def match(self, quote: Quote, *, partial: bool, at: datetime) -> list[VenueReport]:
        """Trigger the stops and fill the orders ``quote`` crosses, best first; fills are
        stamped ``at`` (when the venue matched, not when the quote was made)."""
        reports: list[VenueReport] = []
        for side_of in (Side.BUY, Side.SELL):
            side = self._sides.get((quote.symbol, side_of))
            if side is None:
                continue
            if side.stops.prices:
                self._trigger_stops(side, quote, reports)
            available = (
                (quote.ask_size if side_of is Side.BUY else quote.bid_size) if partial else None
            )
            market, limits = side.market, side.limits
            while available is None or available > 0:
                ticket = market.first()
                if ticket is None:
                    ticket = limits.first()
                    if ticket is None:
                        break
                order = self._orders[ticket]
                price = order.fill_price(quote)
                if price is None:
                    break  # the best order does not cross: nothing behind it does
                qty = order.remaining if available is None else min(order.remaining, available)
                if available is not None:
                    available -= qty
                reports.extend(self._fill(order, qty, price, at))
        return reports

    def _trigger_stops(self, side: _Side, quote: Quote, reports: list[VenueReport]) -> None:
        while (ticket := side.stops.first()) is not None:
            order = self._orders[ticket]
            if not order.triggered(quote):
                break  # the nearest stop is not touched: none behind it is
            self._trigger(order)
            if order.type is OrderType.STOP_LIMIT:
                reports.append(Acknowledged(order.ticket, live=True))

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
            siblings = list(self._oco.get((order.login, order.symbol, order.oco), ()))
            for ticket in siblings:
                self.remove(ticket)
            if siblings:
                reports.append(CancelledByVenue(tuple(siblings), "OCO sibling filled"))
        return reports
