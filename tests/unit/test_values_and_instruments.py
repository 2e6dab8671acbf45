from datetime import UTC, datetime, time
from decimal import Decimal

import pytest

from ordergate.domain.errors import InvalidInput, InvalidPrice, InvalidQuantity
from ordergate.domain.ids import new_order_id, parse_order_id
from ordergate.domain.instruments import TradingSession
from ordergate.domain.values import Price, Quantity, to_decimal
from tests.builders import es, eurusd

D = Decimal


@pytest.mark.parametrize("raw", [1.5, float("nan"), True, None, [1]])
def test_non_decimal_inputs_are_refused(raw):
    with pytest.raises(InvalidInput):
        to_decimal(raw)


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "1e400000000", "abc", "0.123456789"])
def test_bad_decimal_strings_are_refused(raw):
    with pytest.raises(InvalidInput):
        to_decimal(raw)


def test_decimals_keep_their_exact_value():
    assert to_decimal("0.1") + to_decimal("0.2") == D("0.3")
    assert to_decimal(100) == D(100)
    assert str(to_decimal("100")) == "100"


def test_price_must_be_positive_and_quantity_not_negative():
    with pytest.raises(InvalidPrice):
        Price.of("0")
    with pytest.raises(InvalidPrice):
        Price.of("x")
    with pytest.raises(InvalidQuantity):
        Quantity.of("-1")
    assert Quantity.of("2") - Quantity.of("0.5") == Quantity(D("1.5"))


def test_order_ids_are_32_lower_hex():
    oid = new_order_id()
    assert parse_order_id(oid) == oid
    assert len(oid) == 32
    for bad in ("ABC", "g" * 32, "a" * 31, "A" * 32):
        with pytest.raises(InvalidInput):
            parse_order_id(bad)


def test_quantity_checks_follow_lot_rules():
    fx = eurusd()
    fx.check_quantity(Quantity.of("0.01"))
    for bad in ("0", "0.001", "0.015", "101"):
        with pytest.raises(InvalidQuantity):
            fx.check_quantity(Quantity.of(bad))


def test_prices_must_sit_on_the_tick_grid():
    es().check_price(Price.of("5000.25"))
    with pytest.raises(InvalidPrice, match="tick size"):
        es().check_price(Price.of("5000.10"))


def test_overnight_session_spans_midnight():
    globex = TradingSession(frozenset({6, 0, 1, 2, 3}), time(23), time(22))
    sunday_late = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    monday_noon = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    monday_break = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)
    saturday = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert globex.is_open(sunday_late)
    assert globex.is_open(monday_noon)
    assert not globex.is_open(monday_break)
    assert not globex.is_open(saturday)


def test_instrument_validates_its_own_spec():
    with pytest.raises(InvalidInput):
        es().__class__(
            symbol="X",
            tick_size=D("0"),
            point_value=D("1"),
            digits=2,
            lot_min=D("1"),
            lot_max=D("2"),
            lot_step=D("1"),
        )


def test_day_orders_end_with_the_session_open_when_placed():
    globex = es().__class__(
        symbol="ES 12-26",
        tick_size=D("0.25"),
        point_value=D("50"),
        digits=2,
        lot_min=D("1"),
        lot_max=D("10"),
        lot_step=D("1"),
        sessions=(TradingSession(frozenset({6, 0, 1, 2, 3}), time(23), time(22)),),
    )
    monday_noon = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    sunday_late = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert globex.day_end(monday_noon) == datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    assert globex.day_end(sunday_late) == datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    assert globex.day_end(datetime(2026, 11, 21, 12, 0, tzinfo=UTC)) is None  # Saturday
    around_the_clock = eurusd()
    assert around_the_clock.day_end(monday_noon) == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
