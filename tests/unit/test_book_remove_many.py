"""Book.remove_many takes a batch off the book in one pass and leaves it exactly as removing
the orders one by one would."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ordergate.domain.ids import Login, Ticket
from ordergate.domain.orders import OrderType, Side
from ordergate.venue.base import Quote
from ordergate.venue.book import Book, Resting

D = Decimal
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def resting(ticket: int, side: Side, price: str, kind: OrderType = OrderType.LIMIT) -> Resting:
    live = kind is OrderType.LIMIT
    return Resting(
        Ticket(ticket),
        Login(1001),
        "EURUSD",
        side,
        kind,
        D(1),
        D(price) if live else None,
        None if live else D(price),
        None,
        live,
    )


def filled_book(n: int) -> Book:
    book = Book()
    for i in range(1, n + 1):
        side = Side.BUY if i % 2 else Side.SELL
        kind = OrderType.LIMIT if i % 3 else OrderType.STOP
        offset = D(i % 50) / 10000
        price = D("1.09") - offset if side is Side.BUY else D("1.11") + offset
        if kind is OrderType.STOP:
            price = D("1.12") + offset if side is Side.BUY else D("1.08") - offset
        book.add(resting(i, side, str(price), kind))
    return book


@pytest.mark.parametrize("removed", [[], [7], list(range(1, 20)), list(range(1, 400, 3))])
def test_remove_many_matches_removing_one_by_one(removed: list[int]) -> None:
    one_by_one, batch = filled_book(400), filled_book(400)
    for ticket in removed:
        one_by_one.remove(Ticket(ticket))

    batch.remove_many([Ticket(t) for t in [*removed, 9999]])  # an unknown ticket is skipped

    assert batch.tickets() == one_by_one.tickets()
    assert batch.has("EURUSD") == one_by_one.has("EURUSD")
    quote = Quote("EURUSD", D("1.05"), D("1.15"), NOW)  # crosses every limit and stop
    assert [type(r).__name__ for r in batch.match(quote, partial=False, at=NOW)] == [
        type(r).__name__ for r in one_by_one.match(quote, partial=False, at=NOW)
    ]
    assert batch.tickets() == one_by_one.tickets()


def test_removing_everything_empties_the_symbol() -> None:
    book = filled_book(100)

    book.remove_many([Ticket(t) for t in range(1, 101)])

    assert book.tickets() == []
    assert not book.has("EURUSD")
