"""The book matches exactly as its rules say, whatever it is asked in whatever order.

``Model`` states the rules as plainly as they can be put (every order in one dict, sorted
on demand by priority: market-like first, then the best price, then the lowest ticket; stops
nearest-trigger first); Hypothesis drives the book and the model through the same random
operations and every answer must agree: each report (prices and sizes digit for digit), the
tickets on the book and every order's state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

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
from ordergate.venue.book import Book, Resting

D = Decimal
S = OrderStatus
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
SYMBOLS = ("ES", "NQ")


def size(quote: Quote, side: Side) -> D | None:
    """What ``quote`` offers to an order of ``side``."""
    return quote.ask_size if side is Side.BUY else quote.bid_size


class Model:
    """The book's rules, plainly: a dict of orders in arrival order, sorted when asked."""

    def __init__(self) -> None:
        self.orders: dict[Ticket, Resting] = {}

    def add(self, order: Resting) -> None:
        self.orders[order.ticket] = order

    def get(self, ticket: Ticket) -> Resting | None:
        return self.orders.get(ticket)

    def remove(self, ticket: Ticket) -> Resting | None:
        return self.orders.pop(ticket, None)

    def remove_many(self, tickets: Iterable[Ticket]) -> None:
        for ticket in tickets:
            self.remove(ticket)

    def amend(
        self, ticket: Ticket, remaining: D, limit_price: D | None, stop_price: D | None
    ) -> Resting | None:
        order = self.orders.get(ticket)
        if order is not None:
            order.remaining, order.limit_price, order.stop_price = (
                remaining,
                limit_price,
                stop_price,
            )
        return order

    def has(self, symbol: str) -> bool:
        return any(o.symbol == symbol for o in self.orders.values())

    def tickets(self, symbol: str | None = None) -> list[Ticket]:
        return sorted(t for t, o in self.orders.items() if symbol in (None, o.symbol))

    def _live(self, symbol: str, side: Side) -> list[Resting]:
        def priority(o: Resting) -> tuple[int, D, int]:
            if o.market_like or o.limit_price is None:
                return (0, D(0), o.ticket)
            return (1, -side.sign * o.limit_price, o.ticket)

        return sorted(self._mine(symbol, side, live=True), key=priority)

    def _mine(self, symbol: str, side: Side, *, live: bool) -> list[Resting]:
        return [
            o for o in self.orders.values() if (o.symbol, o.side, o.live) == (symbol, side, live)
        ]

    def _stops(self, symbol: str, side: Side) -> list[Resting]:
        mine = self._mine(symbol, side, live=False)
        return sorted(mine, key=lambda o: (side.sign * (o.stop_price or D(0)), o.ticket))

    def match(self, quote: Quote, *, partial: bool, at: datetime) -> list[VenueReport]:
        reports: list[VenueReport] = []
        for side in (Side.BUY, Side.SELL):
            for stop in self._stops(quote.symbol, side):
                if not stop.triggered(quote):
                    break
                stop.live = True
                if stop.type is OrderType.STOP_LIMIT:
                    reports.append(Acknowledged(stop.ticket, live=True))
            available = size(quote, side) if partial else None
            while available is None or available > 0:
                live = self._live(quote.symbol, side)
                price = live[0].fill_price(quote) if live else None
                if price is None:
                    break
                qty = live[0].remaining if available is None else min(live[0].remaining, available)
                if available is not None:
                    available -= qty
                reports += self._fill(live[0], qty, price, at)
        return reports

    def fill_now(
        self, order: Resting, quote: Quote, *, partial: bool, at: datetime
    ) -> list[VenueReport]:
        if not order.live:
            if not order.triggered(quote):
                return []
            order.live = True
        price = order.fill_price(quote)
        if price is None:
            return []
        available = size(quote, order.side) if partial else None
        qty = order.remaining if available is None else min(order.remaining, available)
        return self._fill(order, qty, price, at) if qty > 0 else []

    def _fill(self, order: Resting, qty: D, price: D, at: datetime) -> list[VenueReport]:
        reports: list[VenueReport] = [Filled(order.ticket, qty, price, at)]
        order.remaining -= qty
        if order.remaining > 0:
            return reports
        del self.orders[order.ticket]
        siblings = [
            t
            for t, o in self.orders.items()
            if order.oco and (o.oco, o.login, o.symbol) == (order.oco, order.login, order.symbol)
        ]
        for ticket in siblings:
            del self.orders[ticket]
        if siblings:
            reports.append(CancelledByVenue(tuple(siblings), "OCO sibling filled"))
        return reports


def exactly(value: Any) -> Any:
    """A value compared digit for digit (Decimal('1.0') is not Decimal('1.00') here)."""
    if isinstance(value, D):
        return str(value)
    if isinstance(value, tuple):
        return tuple(exactly(v) for v in value)
    return value


def said(reports: list[VenueReport]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for r in reports:
        fields = tuple(getattr(r, name) for name in r.__slots__)  # type: ignore[union-attr]
        out.append((type(r).__name__, *exactly(fields)))
    return out


def state(book: Book | Model) -> list[tuple[Any, ...]]:
    rows = []
    for ticket in book.tickets():
        o = book.get(ticket)
        assert o is not None
        rows.append(exactly((ticket, o.remaining, o.limit_price, o.stop_price, o.live, o.oco)))
    return rows


# -- operations --------------------------------------------------------------------------------

prices = st.builds(
    lambda ticks, places: (D(100) + D(ticks) / 4).quantize(D(1).scaleb(-places)),
    st.integers(0, 4),  # few prices: orders share levels, quotes cross them
    st.sampled_from([2, 3]),  # the same price written two ways
)
sizes = st.builds(
    lambda n, places: D(n).quantize(D(1).scaleb(-places)),
    st.integers(1, 4),
    st.sampled_from([0, 1]),
)


@dataclass
class New:
    ticket: int
    login: int
    symbol: str
    side: Side
    type: OrderType
    quantity: D
    limit: D
    stop: D
    oco: str | None
    status: OrderStatus
    fresh: bool  # just submitted (else restored), and matched at once against the quote

    def venue_order(self) -> VenueOrder:
        limit = self.limit if self.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
        stop = self.stop if self.type in (OrderType.STOP, OrderType.STOP_LIMIT) else None
        return VenueOrder(
            Ticket(self.ticket), Login(self.login), self.symbol, self.side, self.type,
            self.quantity, limit, stop, self.oco, self.status,
        )  # fmt: skip


news = st.builds(
    New,
    ticket=st.integers(1, 60),
    login=st.sampled_from([1001, 1001, 1002]),
    symbol=st.sampled_from([*SYMBOLS, SYMBOLS[0]]),
    side=st.sampled_from(Side),
    type=st.sampled_from([OrderType.LIMIT, OrderType.LIMIT, *OrderType]),
    quantity=sizes,
    limit=prices,
    stop=prices,
    oco=st.sampled_from([None, None, "a"]),
    status=st.sampled_from([S.WORKING, S.ACCEPTED, S.PARTIALLY_FILLED, S.ACCEPTED]),
    fresh=st.booleans(),
)
quotes = st.builds(
    lambda symbol, bid, wide, sized: Quote(
        symbol, bid, bid + D("0.25") * wide, NOW, *(sized or (None, None))
    ),
    st.sampled_from(SYMBOLS),
    prices,
    st.integers(1, 2),
    st.one_of(st.none(), st.tuples(sizes, sizes)),
)
tickets = st.integers(1, 60)
maybe_prices = st.one_of(st.none(), prices)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), news, quotes, st.booleans()),
        st.tuples(st.just("add"), news, quotes, st.booleans()),
        st.tuples(st.just("remove"), tickets),
        st.tuples(st.just("remove_many"), st.lists(tickets, max_size=40)),
        st.tuples(st.just("amend"), tickets, sizes, maybe_prices, maybe_prices),
        st.tuples(st.just("match"), quotes, st.booleans()),
    ),
    min_size=5,
    max_size=60,
)


def run(book: Book | Model, op: tuple[Any, ...]) -> Any:
    kind, *args = op
    if kind == "add":
        new, quote, partial = args
        if book.get(Ticket(new.ticket)) is not None:
            return None  # tickets are unique
        order = Resting.of(new.venue_order(), new=new.fresh)
        book.add(order)
        return said(book.fill_now(order, quote, partial=partial, at=NOW)) if new.fresh else None
    if kind == "remove":
        gone = book.remove(Ticket(args[0]))
        return None if gone is None else gone.ticket
    if kind == "remove_many":
        book.remove_many([Ticket(t) for t in args[0]])
        return None
    if kind == "amend":
        ticket, remaining, limit, stop = args
        amended = book.amend(Ticket(ticket), remaining, limit, stop)
        return None if amended is None else amended.ticket
    quote, partial = args
    return said(book.match(quote, partial=partial, at=NOW))


@settings(max_examples=400, deadline=None)
@given(operations)
def test_the_book_agrees_with_the_plain_model(ops: list[tuple[Any, ...]]) -> None:
    book, model = Book(), Model()
    for op in ops:
        assert run(book, op) == run(model, op), op
        assert state(book) == state(model)
        assert [book.has(s) for s in SYMBOLS] == [model.has(s) for s in SYMBOLS]


def limit_order(ticket: int, price: str, side: Side = Side.BUY, oco: str | None = None) -> New:
    return New(
        ticket, 1001, "ES", side, OrderType.LIMIT, D(1), D(price), D(price), oco,
        OrderStatus.WORKING, fresh=False,
    )  # fmt: skip


def test_an_oco_fill_cancels_the_siblings_in_their_arrival_order() -> None:
    book, model = Book(), Model()
    quote = Quote("ES", D("99.75"), D("100.00"), NOW)
    for book_or_model in (book, model):
        for ticket, price in ((5, "99.00"), (2, "98.00"), (9, "97.00"), (4, "96.00")):
            run(book_or_model, ("add", limit_order(ticket, price, oco="a"), quote, False))

    reports = run(book, ("match", Quote("ES", D("98.75"), D("99.00"), NOW), False))

    assert reports == run(model, ("match", Quote("ES", D("98.75"), D("99.00"), NOW), False))
    assert reports[-1] == ("CancelledByVenue", (2, 9, 4), "OCO sibling filled")
    assert book.tickets() == []


def test_deep_levels_fill_oldest_first_one_unit_at_a_time() -> None:
    # Hundreds of fills off the front of the same levels, orders arriving out of ticket order.
    book, model = Book(), Model()
    far = Quote("ES", D("90.00"), D("110.00"), NOW)
    for ticket in [*range(400, 0, -2), *range(1, 400, 2)]:
        price = "100.00" if ticket % 3 else "100.25"
        for book_or_model in (book, model):
            run(book_or_model, ("add", limit_order(ticket, price), far, False))
    touch = Quote("ES", D("99.75"), D("100.00"), NOW, bid_size=D(1), ask_size=D(1))

    for _ in range(450):
        assert run(book, ("match", touch, True)) == run(model, ("match", touch, True))

    assert state(book) == state(model) == []


def test_removing_most_of_a_deep_level_at_once_keeps_the_rest_in_order() -> None:
    book, model = Book(), Model()
    far = Quote("ES", D("90.00"), D("110.00"), NOW)
    for ticket in range(1, 301):
        price = "100.00" if ticket % 2 else "99.75"
        for book_or_model in (book, model):
            run(book_or_model, ("add", limit_order(ticket, price), far, False))
            run(book_or_model, ("add", limit_order(1000 + ticket, "105.00", Side.SELL), far, False))
    gone = [t for t in range(1, 301) if t % 7] + list(range(1001, 1200))

    for book_or_model in (book, model):
        run(book_or_model, ("remove_many", gone))

    assert state(book) == state(model)
    crossing = Quote("ES", D("99.50"), D("99.75"), NOW, bid_size=D(5), ask_size=D(5))
    assert run(book, ("match", crossing, True)) == run(model, ("match", crossing, True))
    assert state(book) == state(model)
