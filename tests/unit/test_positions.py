"""Fills into position tickets: netting nets FIFO, hedging keeps tickets apart."""

from decimal import Decimal

from ordergate.domain.accounts import PositionMode
from ordergate.domain.ids import Login, Ticket
from ordergate.domain.orders import Side
from ordergate.domain.positions import Fill, PositionTicket, apply_fill
from tests.builders import NOW

D = Decimal
PV = D("50")


def fill(side, qty, price, ticket, closes=None):
    return Fill(Ticket(ticket), Login(1001), "ES 12-26", side, D(qty), D(price), NOW, closes)


def held(ticket, side, qty, price):
    return PositionTicket(
        ticket=Ticket(ticket),
        login=Login(1001),
        symbol="ES 12-26",
        side=side,
        quantity=D(qty),
        open_price=D(price),
        opened_at=NOW,
    )


def test_netting_closes_oldest_tickets_first_and_books_pnl():
    old, new = held(1, Side.BUY, "2", "5000"), held(2, Side.BUY, "2", "5010")
    change = apply_fill(PositionMode.NETTING, [old, new], fill(Side.SELL, "3", "5020", 3), PV)
    assert [t.ticket for t in change.reduced] == [1, 2]
    assert change.opened is None
    assert old.quantity == 0
    assert old.realized_pnl == D("2000")
    assert old.closed_at == NOW
    assert new.quantity == 1
    assert new.realized_pnl == D("500")


def test_netting_overfill_reverses_into_a_new_ticket():
    change = apply_fill(
        PositionMode.NETTING, [held(1, Side.BUY, "1", "5000")], fill(Side.SELL, "3", "4990", 7), PV
    )
    assert change.opened is not None
    assert (change.opened.ticket, change.opened.side, change.opened.quantity) == (7, Side.SELL, 2)


def test_hedging_keeps_opposite_tickets_apart():
    long = held(1, Side.BUY, "1", "5000")
    change = apply_fill(PositionMode.HEDGING, [long], fill(Side.SELL, "1", "5005", 2), PV)
    assert long.quantity == 1
    assert change.opened is not None
    assert change.opened.side is Side.SELL


def test_explicit_close_reduces_the_named_ticket_only():
    a, b = held(1, Side.BUY, "1", "5000"), held(2, Side.BUY, "1", "5000")
    apply_fill(PositionMode.HEDGING, [a, b], fill(Side.SELL, "1", "4999", 3, closes=2), PV)
    assert a.quantity == 1
    assert b.quantity == 0
    assert b.realized_pnl == D("-50")


def test_a_close_whose_ticket_is_gone_is_an_ordinary_fill_hedging():
    # Another fill closed ticket 99 first; the venue filled this close anyway: the ledger takes
    # it, and on a hedging account it stands as a ticket of its own.
    a = held(1, Side.BUY, "1", "5000")
    change = apply_fill(PositionMode.HEDGING, [a], fill(Side.SELL, "1", "4999", 4, closes=99), PV)
    assert a.quantity == 1
    assert change.opened is not None
    assert (change.opened.side, change.opened.quantity) == (Side.SELL, D(1))


def test_a_close_larger_than_its_ticket_nets_the_rest_fifo_netting():
    a, b = held(1, Side.BUY, "1", "5000"), held(2, Side.BUY, "2", "5000")
    change = apply_fill(PositionMode.NETTING, [a, b], fill(Side.SELL, "2", "5000", 5, closes=2), PV)
    assert (a.quantity, b.quantity) == (D(1), D(0))  # the named ticket first...
    change = apply_fill(PositionMode.NETTING, [a], fill(Side.SELL, "2", "5000", 6, closes=2), PV)
    assert a.quantity == 0  # ...then, its ticket gone, oldest first
    assert change.opened is not None
    assert (change.opened.side, change.opened.quantity) == (Side.SELL, D(1))


def test_partial_fills_of_one_order_grow_one_ticket_at_the_average():
    first = apply_fill(PositionMode.NETTING, [], fill(Side.BUY, "1", "5000", 5), PV).opened
    assert first is not None
    apply_fill(PositionMode.NETTING, [first], fill(Side.BUY, "1", "5001", 5), PV, existing=first)
    assert first.quantity == 2
    assert first.open_price == D("5000.5")
