"""The order state machine: every (status, trigger) pair is either one of the legal edges
written out below (the specification) or refused with InvalidOrderTransition."""

from decimal import Decimal
from itertools import product

import pytest

from ordergate.domain.errors import InvalidInput, InvalidOrderTransition, InvalidQuantity
from ordergate.domain.orders import (
    CANCELLABLE,
    LOCKED,
    TERMINAL,
    OrderStatus,
    OrderType,
    Trigger,
    next_status,
)
from tests.builders import NOW, new_order

S, T = OrderStatus, Trigger
R = "restore"

LEGAL = {
    (S.SUBMITTED, T.ACCEPT): S.ACCEPTED,
    (S.SUBMITTED, T.WORK): S.WORKING,
    (S.SUBMITTED, T.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.SUBMITTED, T.FILL): S.FILLED,
    (S.SUBMITTED, T.REJECT): S.REJECTED,
    (S.ACCEPTED, T.WORK): S.WORKING,
    (S.ACCEPTED, T.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.ACCEPTED, T.FILL): S.FILLED,
    (S.ACCEPTED, T.REQUEST_CHANGE): S.PENDING_CHANGE,
    (S.ACCEPTED, T.REQUEST_CANCEL): S.PENDING_CANCEL,
    (S.ACCEPTED, T.VENUE_CANCEL): S.CANCELLED,
    (S.ACCEPTED, T.EXPIRE): S.EXPIRED,
    (S.WORKING, T.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.WORKING, T.FILL): S.FILLED,
    (S.WORKING, T.REQUEST_CHANGE): S.PENDING_CHANGE,
    (S.WORKING, T.REQUEST_CANCEL): S.PENDING_CANCEL,
    (S.WORKING, T.VENUE_CANCEL): S.CANCELLED,
    (S.WORKING, T.EXPIRE): S.EXPIRED,
    (S.PARTIALLY_FILLED, T.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, T.FILL): S.FILLED,
    (S.PARTIALLY_FILLED, T.REQUEST_CHANGE): S.PENDING_CHANGE,
    (S.PARTIALLY_FILLED, T.REQUEST_CANCEL): S.PENDING_CANCEL,
    (S.PARTIALLY_FILLED, T.VENUE_CANCEL): S.CANCELLED,
    (S.PARTIALLY_FILLED, T.EXPIRE): S.EXPIRED,
    (S.PENDING_CHANGE, T.CHANGE_ACK): R,
    (S.PENDING_CHANGE, T.CHANGE_REFUSED): R,
    (S.PENDING_CHANGE, T.PARTIAL_FILL): S.PENDING_CHANGE,
    (S.PENDING_CHANGE, T.FILL): S.FILLED,
    (S.PENDING_CHANGE, T.VENUE_CANCEL): S.CANCELLED,
    (S.PENDING_CHANGE, T.EXPIRE): S.EXPIRED,
    (S.PENDING_CANCEL, T.CANCEL_ACK): S.CANCELLED,
    (S.PENDING_CANCEL, T.CANCEL_REFUSED): R,
    (S.PENDING_CANCEL, T.PARTIAL_FILL): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, T.FILL): S.FILLED,
    (S.PENDING_CANCEL, T.VENUE_CANCEL): S.CANCELLED,
    (S.PENDING_CANCEL, T.EXPIRE): S.EXPIRED,
}
ALL_PAIRS = list(product(OrderStatus, Trigger))


@pytest.mark.parametrize(("status", "trigger"), [p for p in ALL_PAIRS if p in LEGAL])
def test_legal_transition_reaches_its_status(status, trigger):
    expected = LEGAL[(status, trigger)]
    prior = S.WORKING if expected == R else None
    assert next_status(status, trigger, prior) == (S.WORKING if expected == R else expected)


@pytest.mark.parametrize(("status", "trigger"), [p for p in ALL_PAIRS if p not in LEGAL])
def test_illegal_transition_is_refused(status, trigger):
    with pytest.raises(InvalidOrderTransition, match=f"{status} -> {trigger}"):
        next_status(status, trigger, S.WORKING)


def test_terminal_statuses_have_no_way_out():
    for status, trigger in product(TERMINAL, Trigger):
        with pytest.raises(InvalidOrderTransition):
            next_status(status, trigger, S.WORKING)


def test_status_groups_match_the_design():
    assert {S.ACCEPTED, S.WORKING, S.PARTIALLY_FILLED} == CANCELLABLE
    assert {S.SUBMITTED, S.PENDING_CHANGE} == LOCKED
    assert {S.CANCELLED, S.EXPIRED, S.FILLED, S.REJECTED} == TERMINAL


def test_every_cancellable_status_goes_to_pending_cancel():
    assert {next_status(s, T.REQUEST_CANCEL) for s in CANCELLABLE} == {S.PENDING_CANCEL}


def test_refused_cancel_restores_the_resting_status():
    order = new_order(status=S.ACCEPTED)
    order.apply(T.REQUEST_CANCEL, NOW)
    assert order.prior_status is S.ACCEPTED
    order.apply(T.CANCEL_REFUSED, NOW)
    assert order.status is S.ACCEPTED
    assert order.prior_status is None


def test_fill_while_cancel_pending_restores_as_partially_filled():
    order = new_order(status=S.WORKING)
    order.apply(T.REQUEST_CANCEL, NOW)
    order.record_fill(Decimal("1"), Decimal("5000"), NOW)
    assert order.status is S.PENDING_CANCEL
    order.apply(T.CANCEL_REFUSED, NOW)
    assert order.status is S.PARTIALLY_FILLED


def test_cancel_loses_the_race_to_a_full_fill():
    order = new_order(status=S.WORKING)
    order.apply(T.REQUEST_CANCEL, NOW)
    order.record_fill(Decimal("2"), Decimal("5000"), NOW)
    assert order.status is S.FILLED
    with pytest.raises(InvalidOrderTransition):
        order.apply(T.CANCEL_ACK, NOW)


def test_each_transition_bumps_the_version():
    order = new_order()
    order.apply(T.WORK, NOW)
    order.apply(T.REQUEST_CHANGE, NOW)
    assert order.version == 3


def test_fills_average_their_prices_and_never_overfill():
    order = new_order(status=S.WORKING, quantity=Decimal("3"))
    order.record_fill(Decimal("1"), Decimal("5000"), NOW)
    order.record_fill(Decimal("1"), Decimal("5001"), NOW)
    assert order.avg_fill_price == Decimal("5000.5")
    assert order.status is S.PARTIALLY_FILLED
    with pytest.raises(InvalidQuantity):
        order.record_fill(Decimal("2"), Decimal("5000"), NOW)
    assert order.filled == Decimal("2")


def test_refused_transition_changes_nothing():
    order = new_order(status=S.FILLED)
    before = (order.status, order.version, order.prior_status)
    with pytest.raises(InvalidOrderTransition):
        order.apply(T.REQUEST_CANCEL, NOW)
    assert (order.status, order.version, order.prior_status) == before


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"quantity": Decimal("0")}, "positive"),
        ({"type": OrderType.MARKET}, "takes no limit"),
        ({"type": OrderType.STOP, "limit_price": None}, "needs stop"),
        ({"type": OrderType.STOP_LIMIT, "stop_price": None}, "needs stop"),
        ({"filled": Decimal("3")}, "filled"),
    ],
)
def test_malformed_orders_are_refused(kw, message):
    with pytest.raises((InvalidInput, InvalidQuantity), match=message):
        new_order(**kw)
