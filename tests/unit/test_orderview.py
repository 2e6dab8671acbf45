"""The order view: what it answers, and what it refuses to keep (the reader/writer races)."""

from __future__ import annotations

from decimal import Decimal

from ordergate.domain.ids import Login, OrderId, Ticket
from ordergate.domain.orders import Order, OrderStatus
from ordergate.engine import orderview
from ordergate.engine.orderview import ACCOUNT_TTL, OrderView, Writes
from tests.builders import account, new_order

SIM101 = Login(1001)


def stored(ticket: int = 7, login: int = 1001, **kw: object) -> Order:
    return new_order(id=f"{ticket:032x}", ticket=ticket, login=login, **kw)


def read(view: OrderView, order: Order) -> None:
    """A reader that missed, read ``order`` from the database and keeps it."""
    view.keep(view.mark(), order)


def test_a_kept_order_is_answered_by_id_and_by_ticket_as_a_copy():
    view = OrderView()
    order = stored()
    read(view, order)
    by_id = view.order(SIM101, order.id)
    assert by_id == order
    assert by_id is not order
    by_id.status = OrderStatus.CANCELLED  # a caller's change stays the caller's
    assert view.order(SIM101, Ticket(7)) == order


def test_an_order_is_not_answered_for_another_login_or_an_unknown_id():
    view = OrderView()
    read(view, stored())
    assert view.order(Login(2002), Ticket(7)) is None
    assert view.order(Login(2002), OrderId(f"{7:032x}")) is None
    assert view.order(SIM101, OrderId("f" * 32)) is None
    assert view.order(SIM101, Ticket(8)) is None


def test_a_write_hides_the_order_from_its_statement_until_its_transaction_ends():
    view = OrderView()
    read(view, stored())
    writes = Writes(view)
    writes.tickets([Ticket(7)])
    assert view.order(SIM101, Ticket(7)) is None
    read(view, stored())  # a reader meanwhile reads the committed (old) row: not kept
    assert view.order(SIM101, Ticket(7)) is None
    writes.end()
    assert view.order(SIM101, Ticket(7)) is None
    read(view, stored(status=OrderStatus.PENDING_CANCEL))  # read after the end: kept
    assert view.order(SIM101, Ticket(7)).status is OrderStatus.PENDING_CANCEL


def test_a_read_that_started_before_a_write_ended_is_not_kept():
    view = OrderView()
    mark = view.mark()  # the reader misses and starts reading the old row
    writes = Writes(view)
    writes.tickets([Ticket(7)])
    writes.end()  # the writer commits and invalidates
    view.keep(mark, stored())  # the reader comes back with what may be the old row
    assert view.order(SIM101, Ticket(7)) is None


def test_a_read_that_ends_before_a_write_starts_is_dropped_by_the_write():
    view = OrderView()
    read(view, stored())
    writes = Writes(view)
    writes.tickets([Ticket(7)])
    writes.end()
    assert view.order(SIM101, Ticket(7)) is None


def test_two_writes_in_flight_hide_the_order_until_both_ended():
    view = OrderView()
    first, second = Writes(view), Writes(view)
    first.tickets([Ticket(7)])
    second.tickets([Ticket(7)])
    first.end()
    read(view, stored())
    assert view.order(SIM101, Ticket(7)) is None
    second.end()
    read(view, stored())
    assert view.order(SIM101, Ticket(7)) is not None


def test_a_bulk_write_of_an_account_hides_and_drops_all_its_orders_only():
    view = OrderView()
    mine, theirs = stored(7), stored(8, login=2002)
    read(view, mine)
    read(view, theirs)
    mark = view.mark()
    writes = Writes(view)
    writes.logins([SIM101])
    assert view.order(SIM101, Ticket(7)) is None
    assert view.order(Login(2002), Ticket(8)) == theirs
    writes.end()
    assert view.order(SIM101, Ticket(7)) is None
    view.keep(mark, mine)  # read while the bulk statement ran
    assert view.order(SIM101, Ticket(7)) is None
    read(view, mine)
    assert view.order(SIM101, Ticket(7)) == mine


def test_ending_a_unit_of_work_twice_releases_once():
    view = OrderView()
    writes = Writes(view)
    writes.tickets([Ticket(7), Ticket(7)])
    other = Writes(view)
    other.tickets([Ticket(7)])
    writes.end()
    writes.end()
    read(view, stored())
    assert view.order(SIM101, Ticket(7)) is None  # ``other`` still writes it
    other.end()
    read(view, stored())
    assert view.order(SIM101, Ticket(7)) is not None


def test_forgetting_the_stamps_refuses_every_read_in_flight(monkeypatch):
    monkeypatch.setattr(orderview, "STAMPS", 3)
    view = OrderView()
    mark = view.mark()
    writes = Writes(view)
    writes.tickets([Ticket(t) for t in range(10, 15)])
    writes.end()
    view.keep(mark, stored(7))  # ticket 7 was never written, but its stamp may be forgotten
    assert view.order(SIM101, Ticket(7)) is None
    read(view, stored(7))
    assert view.order(SIM101, Ticket(7)) is not None


def test_the_oldest_order_goes_first_when_the_view_is_full(monkeypatch):
    monkeypatch.setattr(orderview, "CAPACITY", 2)
    view = OrderView()
    for ticket in (1, 2, 3):
        read(view, stored(ticket))
    assert len(view) == 2
    assert view.order(SIM101, Ticket(1)) is None
    assert view.order(SIM101, OrderId(f"{1:032x}")) is None
    assert view.order(SIM101, Ticket(3)) is not None


def test_an_account_is_kept_for_its_ttl_by_login_and_by_name_in_any_case():
    now = [100.0]
    view = OrderView(monotonic=lambda: now[0])
    sim = account(1001, "Sim101", balance=Decimal(5))
    view.keep_account(sim)
    assert view.account(1001) is sim
    assert view.account("sIM101") is sim
    assert view.account(True) is None
    assert view.account("Sim102") is None
    now[0] += ACCOUNT_TTL
    assert view.account(1001) is None
    assert view.account("sim101") is None
