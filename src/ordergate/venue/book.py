"""The simulated venue's order book and its matching against the quote.

Orders rest per symbol in arrival order. A quote fills what it crosses: buys at the ask,
sells at the bid, limits at their price or better, stops once touched (then as market),
stop-limits become limits. With partial fills on, a quote's size is shared out in price
then time priority, and the rest keeps resting.
"""

from __future__ import annotations

from dataclasses import dataclass
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
        if self.type in (OrderType.MARKET, OrderType.STOP):
            return touch
        if self.limit_price is None or (self.limit_price - touch) * self.side.sign < 0:
            return None
        # A limit fills at its price, or at the touch when that is better for the order.
        return touch if (touch - self.limit_price) * self.side.sign < 0 else self.limit_price

    def triggered(self, quote: Quote) -> bool:
        touch = quote.ask if self.side is Side.BUY else quote.bid
        return self.stop_price is not None and (touch - self.stop_price) * self.side.sign >= 0


def _priority(entry: tuple[Decimal, Resting]) -> tuple[int, Decimal, Ticket]:
    """Market-like orders first, then the best limit, then the oldest."""
    order = entry[1]
    if order.limit_price is None:
        return (0, Decimal(0), order.ticket)
    return (1, -order.side.sign * order.limit_price, order.ticket)


class Book:
    """Resting orders by symbol; ``match`` turns a quote into venue reports."""

    def __init__(self) -> None:
        self._by_symbol: dict[str, dict[Ticket, Resting]] = {}
        self._symbol_of: dict[Ticket, str] = {}

    def add(self, order: Resting) -> None:
        self._by_symbol.setdefault(order.symbol, {})[order.ticket] = order
        self._symbol_of[order.ticket] = order.symbol

    def get(self, ticket: Ticket) -> Resting | None:
        symbol = self._symbol_of.get(ticket)
        return None if symbol is None else self._by_symbol[symbol].get(ticket)

    def remove(self, ticket: Ticket) -> Resting | None:
        symbol = self._symbol_of.pop(ticket, None)
        return None if symbol is None else self._by_symbol[symbol].pop(ticket, None)

    def has(self, symbol: str) -> bool:
        return bool(self._by_symbol.get(symbol))

    def tickets(self, symbol: str | None = None) -> list[Ticket]:
        if symbol is None:
            return sorted(self._symbol_of)
        return sorted(self._by_symbol.get(symbol, {}))

    def match(self, quote: Quote, *, partial: bool) -> list[VenueReport]:
        """Fill (and trigger) what ``quote`` crosses, best price first, then oldest."""
        reports: list[VenueReport] = []
        resting = self._by_symbol.get(quote.symbol)
        if not resting:
            return reports
        for order in list(resting.values()):
            if not order.live and order.triggered(quote):
                order.live = True
                if order.type is OrderType.STOP_LIMIT:
                    reports.append(Acknowledged(order.ticket, live=True))
        left = {
            Side.BUY: quote.ask_size if partial else None,
            Side.SELL: quote.bid_size if partial else None,
        }
        crossing = [
            (price, o) for o in resting.values() if o.live and (price := o.fill_price(quote))
        ]
        crossing.sort(key=_priority)
        for price, order in crossing:
            if order.ticket not in resting:  # cancelled as an OCO sibling above
                continue
            available = left[order.side]
            qty = order.remaining if available is None else min(order.remaining, available)
            if qty <= 0:
                continue
            if available is not None:
                left[order.side] = available - qty
            reports.extend(self._fill(order, qty, price, quote.at))
        return reports

    def fill_now(self, order: Resting, quote: Quote, *, partial: bool) -> list[VenueReport]:
        """Match one just-arrived order against the current quote."""
        if not order.live:
            if not order.triggered(quote):
                return []
            order.live = True
        price = order.fill_price(quote)
        if price is None:
            return []
        available = (
            (quote.ask_size if order.side is Side.BUY else quote.bid_size) if partial else None
        )
        qty = order.remaining if available is None else min(order.remaining, available)
        return self._fill(order, qty, price, quote.at) if qty > 0 else []

    def _fill(
        self, order: Resting, qty: Decimal, price: Decimal, at: datetime
    ) -> list[VenueReport]:
        reports: list[VenueReport] = [Filled(order.ticket, qty, price, at)]
        order.remaining -= qty
        if order.remaining > 0:
            return reports
        self.remove(order.ticket)
        if order.oco:
            book = self._by_symbol.get(order.symbol, {})
            siblings = [t for t, r in book.items() if r.oco == order.oco and r.login == order.login]
            for ticket in siblings:
                self.remove(ticket)
            if siblings:
                reports.append(CancelledByVenue(tuple(siblings), "OCO sibling filled"))
        return reports
