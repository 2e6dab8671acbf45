"""Dated futures contracts: third-Friday expiries, the live front and next months of the
quarterly cycle, and the CrossTrade aliases that name them among the instruments that exist."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ordergate.api.crosstrade.instruments import resolve_instrument
from ordergate.demo import demo_instruments, demo_orders
from ordergate.domain.contracts import ContractMonth, front_months, parse_contract, third_friday
from ordergate.domain.errors import InstrumentNotFound, InvalidInput
from tests.builders import es, eurusd

CM = ContractMonth


@pytest.mark.parametrize(
    ("year", "month", "expiry"),
    [
        (2026, 12, date(2026, 12, 18)),  # the 1st is a Tuesday
        (2027, 1, date(2027, 1, 15)),  # the 1st is a Friday: it counts
        (2027, 3, date(2027, 3, 19)),
        (2027, 9, date(2027, 9, 17)),
        (2028, 3, date(2028, 3, 17)),
    ],
)
def test_a_contract_expires_on_the_third_friday_of_its_month(year, month, expiry):
    assert third_friday(year, month) == expiry
    assert CM(year, month).expiry == expiry


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 12, 6), (CM(2026, 12), CM(2027, 3))),
        (date(2026, 12, 18), (CM(2026, 12), CM(2027, 3))),  # expiry day: still live
        (date(2026, 12, 19), (CM(2027, 3), CM(2027, 6))),  # rolled, over the year's end
        (date(2026, 12, 31), (CM(2027, 3), CM(2027, 6))),
        (date(2027, 1, 1), (CM(2027, 3), CM(2027, 6))),
        (date(2027, 3, 1), (CM(2027, 3), CM(2027, 6))),
        (date(2027, 3, 19), (CM(2027, 3), CM(2027, 6))),
        (date(2027, 3, 20), (CM(2027, 6), CM(2027, 9))),
        (date(2027, 4, 1), (CM(2027, 6), CM(2027, 9))),
        (date(2027, 6, 30), (CM(2027, 9), CM(2027, 12))),
        (date(2027, 9, 17), (CM(2027, 9), CM(2027, 12))),
        (date(2027, 9, 18), (CM(2027, 12), CM(2028, 3))),
    ],
)
def test_front_and_next_quarterly_months_around_the_quarter_boundaries(today, expected):
    assert front_months(today) == expected


def test_every_day_the_front_month_is_live_and_the_one_before_it_has_expired():
    day = date(2026, 1, 1)
    while day < date(2029, 1, 1):
        front, after = front_months(day)
        assert front.is_live(day)
        assert front.expiry < after.expiry
        earlier = CM(front.year, front.month - 3) if front.month > 3 else CM(front.year - 1, 12)
        assert not earlier.is_live(day), day
        day += timedelta(days=1)


def test_more_months_and_another_cycle():
    assert front_months(date(2027, 9, 18), count=4) == (
        CM(2027, 12),
        CM(2028, 3),
        CM(2028, 6),
        CM(2028, 9),
    )
    monthly = tuple(range(1, 13))
    assert front_months(date(2027, 1, 16), count=2, months=monthly) == (CM(2027, 2), CM(2027, 3))


@pytest.mark.parametrize(
    "kwargs", [{"count": 0}, {"months": ()}, {"months": (6, 3)}, {"months": (3, 13)}]
)
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(InvalidInput):
        front_months(date(2027, 1, 1), **kwargs)


def test_names_and_codes():
    march = CM(2027, 3)
    assert (march.symbol("ES"), march.code) == ("ES 03-27", "H")
    assert parse_contract("ES 03-27") == ("ES", march)
    assert parse_contract("mes 12-26") == ("MES", CM(2026, 12))
    assert parse_contract("EURUSD") is None
    assert parse_contract("ES 13-27") is None
    with pytest.raises(InvalidInput):
        CM(2027, 0)


# -- aliases ---------------------------------------------------------------------------------


def _at(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=15)


DEC_6 = date(2026, 12, 6)
#: An expired contract beside the live ones: it resolves by its name only.
LISTED = (es("ES 09-26"), es("ES 12-26"), es("ES 03-27"), es("ES 06-27"), eurusd())


@pytest.mark.parametrize(
    ("alias", "symbol"),
    [
        ("ES 12-26", "ES 12-26"),
        ("es  12-26", "ES 12-26"),
        ("ES 09-26", "ES 09-26"),
        ("ES", "ES 12-26"),
        ("ES1!", "ES 12-26"),
        ("es2!", "ES 03-27"),
        ("ES3!", "ES 06-27"),
        ("ESZ26", "ES 12-26"),
        ("ESH27", "ES 03-27"),
        ("ESH2027", "ES 03-27"),
        ("esm2027", "ES 06-27"),
        ("ESU26", "ES 09-26"),
        ("eurusd", "EURUSD"),
    ],
)
def test_aliases_name_the_listed_contracts(alias, symbol):
    assert resolve_instrument(alias, LISTED, _at(DEC_6)) == symbol


def test_the_front_month_rolls_the_day_after_its_third_friday():
    assert resolve_instrument("ES1!", LISTED, _at(date(2026, 12, 18))) == "ES 12-26"
    assert resolve_instrument("ES1!", LISTED, _at(date(2026, 12, 19))) == "ES 03-27"
    assert resolve_instrument("ES2!", LISTED, _at(date(2026, 12, 19))) == "ES 06-27"
    assert resolve_instrument("ES", LISTED, _at(date(2027, 1, 4))) == "ES 03-27"


@pytest.mark.parametrize("alias", ["ES4!", "ESZ27", "NQ1!", "NQ", "ESH2127", "GBPUSD"])
def test_aliases_of_contracts_that_are_not_listed_are_not_found(alias):
    with pytest.raises(InstrumentNotFound):
        resolve_instrument(alias, LISTED, _at(DEC_6))


@pytest.mark.parametrize(
    "today", [date(2026, 12, 6), date(2026, 12, 19), date(2027, 3, 19), date(2027, 3, 20)]
)
def test_the_demo_contracts_answer_the_front_and_next_aliases(today):
    front, after = front_months(today)
    instruments = demo_instruments(today)
    for root in ("ES", "MES", "NQ"):
        for alias in (root, f"{root}1!", f"{root}{front.code}{front.year}"):
            assert resolve_instrument(alias, instruments, _at(today)) == front.symbol(root)
        for alias in (f"{root}2!", f"{root}{after.code}{after.year % 100}"):
            assert resolve_instrument(alias, instruments, _at(today)) == after.symbol(root)


def test_the_demo_lists_live_contracts_and_places_its_orders_in_them():
    today = date(2026, 12, 19)
    symbols = [i.symbol for i in demo_instruments(today)]
    assert symbols == [
        "ES 03-27",
        "ES 06-27",
        "MES 03-27",
        "MES 06-27",
        "NQ 03-27",
        "NQ 06-27",
        "EURUSD",
        "GBPUSD",
        "XAUUSD",
        "BTCUSD",
    ]
    assert {cmd.symbol for cmd in demo_orders(today)} <= set(symbols)
    assert "ES 06-27" in {cmd.symbol for cmd in demo_orders(today)}
    described = {i.symbol: i.description for i in demo_instruments(today)}
    assert described["NQ 06-27"] == "E-mini Nasdaq-100 Jun 2027"
