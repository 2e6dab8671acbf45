"""The book's resting orders are out of the garbage collector's sight (so that its
collections do not walk them) and are still freed once the book lets go of them."""

from __future__ import annotations

import gc
import sys

from ordergate.domain.ids import Ticket
from ordergate.domain.orders import Side
from ordergate.venue.book import Book, Resting
from tests.unit.test_book_remove_many import resting


def test_resting_orders_are_not_tracked_by_the_garbage_collector() -> None:
    book = Book()
    for i in range(1, 101):
        book.add(resting(i, Side.BUY if i % 2 else Side.SELL, "1.09" if i % 2 else "1.11"))

    assert not any(isinstance(o, Resting) for o in gc.get_objects())
    assert not gc.is_tracked(book.get(Ticket(7)))


def test_a_resting_order_the_book_drops_is_freed() -> None:
    # Its ticket is an int of its own (the book shares equal prices, sizes and times between
    # orders): what holds that one shows whether the order lives.
    ticket = int("1000001")
    held = sys.getrefcount(ticket)
    book = Book()
    book.add(resting(ticket, Side.BUY, "1.09"))
    assert sys.getrefcount(ticket) == held + 2  # the order, and the book's key

    book.remove(Ticket(ticket))

    assert sys.getrefcount(ticket) == held
