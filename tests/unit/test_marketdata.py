"""Market data without I/O: quote checks, snapshots (day OHLC, volume, previous close),
subscribers and events, and 1-minute bars rolled up to longer periods."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from ordergate.domain.errors import (
    InstrumentNotFound,
    InvalidInput,
    InvalidPrice,
    InvalidQuantity,
)
from ordergate.domain.events import MarketQuote
from ordergate.venue.bars import Bar, MemoryBarRepository, floor_to, roll_up
from ordergate.venue.base import Quote
from ordergate.venue.marketdata import MarketData
from tests.builders import es, eurusd

D = Decimal
T0 = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)  # a Friday afternoon


def at(seconds: float, base: datetime = T0) -> datetime:
    return base + timedelta(seconds=seconds)


def q(bid: str, ask: str, when: datetime = T0, symbol: str = "ES 12-26", **kw: str) -> Quote:
    extra = {k: D(v) for k, v in kw.items()}
    return Quote(symbol, D(bid), D(ask), when, **extra)


class Recorder:
    """A subscriber and an event sink in one: remembers what it was given."""

    def __init__(self, active: bool = True) -> None:
        self.active = active
        self.quotes: list[Quote] = []
        self.events: list[MarketQuote] = []

    def __call__(self, quote: Quote) -> None:
        self.quotes.append(quote)

    def publish(self, events: Sequence[MarketQuote]) -> None:
        self.events.extend(events)


@pytest.fixture
def repo() -> MemoryBarRepository:
    return MemoryBarRepository()


@pytest.fixture
def market(repo: MemoryBarRepository) -> MarketData:
    return MarketData([es(), eurusd()], bars=repo)


# -- checks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quote", "error", "words"),
    [
        (q("5000", "5000.25", symbol="NOPE"), InstrumentNotFound, "NOPE"),
        (q("0", "5000.25"), InvalidPrice, "bid"),
        (q("-5000", "5000.25"), InvalidPrice, "bid"),
        (q("5000.25", "5000"), InvalidPrice, "below bid"),
        (q("5000.10", "5000.25"), InvalidPrice, "tick size"),
        (q("5000", "5000.25", last="5000.30"), InvalidPrice, "last"),
        (q("5000", "5000.25", bid_size="0"), InvalidQuantity, "bid_size"),
        (q("5000", "5000.25", ask_size="-1"), InvalidQuantity, "ask_size"),
        (q("5000", "5000.25", last_size="1"), InvalidInput, "needs last"),
        (q("5000", "5000.25", when=T0.replace(tzinfo=None)), InvalidInput, "timezone"),
        (q("5000", "5000.25", bid_size="0.000000001"), InvalidQuantity, "decimal places"),
    ],
)
def test_a_bad_quote_is_refused_and_changes_nothing(
    market: MarketData, quote: Quote, error: type[Exception], words: str
) -> None:
    seen = Recorder()
    market.subscribe(seen)
    market.push(q("4999.75", "5000.00"))
    before = market.snapshots()
    with pytest.raises(error, match=words):
        market.push(quote)
    assert market.snapshots() == before
    assert len(seen.quotes) == 1


def test_push_all_takes_every_quote_or_none(market: MarketData) -> None:
    with pytest.raises(InvalidPrice):
        market.push_all([q("5000", "5000.25"), q("1.1", "1.0", symbol="EURUSD")])
    assert market.snapshots() == []
    snapshots = market.push_all([q("5000", "5000.25"), q("1.10000", "1.10002", symbol="EURUSD")])
    assert [s.symbol for s in snapshots] == ["ES 12-26", "EURUSD"]


def test_a_locked_quote_is_accepted(market: MarketData) -> None:
    snapshot = market.push(q("5000", "5000"))
    assert (snapshot.bid, snapshot.ask) == (D("5000"), D("5000"))


def test_prices_are_written_with_the_instruments_digits_and_sizes_without_zeros(
    market: MarketData,
) -> None:
    # Numbers read back from the database carry 8 places: 6000.00000000.
    snapshot = market.push(
        q("6000.00000000", "6000.25000000", bid_size="2.00000000", ask_size="100.000")
    )
    assert (str(snapshot.bid), str(snapshot.ask)) == ("6000.00", "6000.25")
    assert (str(snapshot.bid_size), str(snapshot.ask_size)) == ("2", "100")
    assert str(snapshot.open) == "6000.125"  # a mid may need one place more


def test_quote_times_are_kept_in_utc(market: MarketData) -> None:
    paris = T0.astimezone(timezone(timedelta(hours=1)))
    snapshot = market.push(q("5000", "5000.25", when=paris))
    assert snapshot.at == T0
    assert snapshot.at.tzinfo is UTC


# -- snapshots ------------------------------------------------------------------------------


def test_the_day_is_measured_on_trades_and_on_mids_when_there_is_no_trade(
    market: MarketData,
) -> None:
    market.push(q("5000.00", "5000.25", at(0)))  # mid 5000.125
    market.push(q("5001.00", "5001.25", at(1), last="5001.25", last_size="3"))
    market.push(q("4998.00", "4998.25", at(2), last="4998.00", last_size="2"))
    snapshot = market.push(q("4999.00", "4999.25", at(3)))  # mid 4999.125
    assert snapshot.open == D("5000.125")
    assert snapshot.high == D("5001.25")
    assert snapshot.low == D("4998.00")
    assert snapshot.volume == D("5")
    assert snapshot.last == D("4998.00")  # the last trade stands until the next one
    assert snapshot.close is None  # no previous day yet
    assert (snapshot.bid, snapshot.ask, snapshot.at) == (D("4999.00"), D("4999.25"), at(3))


def test_a_new_utc_day_closes_the_previous_one(market: MarketData) -> None:
    market.push(q("5000.00", "5000.25", at(0), last="5000.00", last_size="4"))
    market.push(q("5010.00", "5010.25", at(60), last="5010.25", last_size="1"))
    next_day = datetime(2026, 11, 21, 0, 0, 5, tzinfo=UTC)
    snapshot = market.push(q("5020.00", "5020.25", next_day, last="5020.00", last_size="2"))
    assert snapshot.close == D("5010.25")
    assert (snapshot.open, snapshot.high, snapshot.low) == (D("5020.00"),) * 3
    assert snapshot.volume == D("2")


def test_sizes_are_passed_through_to_the_snapshot(market: MarketData) -> None:
    snapshot = market.push(q("1.10000", "1.10002", symbol="EURUSD", bid_size="3", ask_size="5"))
    assert (snapshot.bid_size, snapshot.ask_size) == (D("3"), D("5"))
    assert snapshot.open == D("1.10001")


def test_snapshots_are_listed_by_symbol(market: MarketData) -> None:
    market.push(q("1.10000", "1.10002", symbol="EURUSD"))
    market.push(q("5000", "5000.25"))
    assert [s.symbol for s in market.snapshots()] == ["ES 12-26", "EURUSD"]
    assert market.snapshot("EURUSD") is not None
    assert market.snapshot("NQ 12-26") is None


# -- fan-out --------------------------------------------------------------------------------


def test_subscribers_get_every_accepted_quote_in_order_until_they_leave(
    market: MarketData,
) -> None:
    first, second = Recorder(), Recorder()
    market.subscribe(first)
    leave = market.subscribe(second)
    market.push(q("5000", "5000.25", at(0)))
    leave()
    market.push(q("5000.25", "5000.50", at(1)))
    assert [x.bid for x in first.quotes] == [D("5000"), D("5000.25")]
    assert [x.bid for x in second.quotes] == [D("5000")]


def test_a_failing_subscriber_does_not_starve_the_others(
    market: MarketData, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(quote: Quote) -> None:
        raise RuntimeError("boom")

    seen = Recorder()
    market.subscribe(broken)
    market.subscribe(seen)
    market.push(q("5000", "5000.25"))
    assert len(seen.quotes) == 1
    assert "subscriber" in caplog.text


def test_quotes_are_published_as_events_while_someone_listens() -> None:
    sink = Recorder(active=False)
    market = MarketData([es()], sink=sink)
    market.push(q("5000", "5000.25", at(0)))
    assert sink.events == []
    sink.active = True
    market.push(q("5000.25", "5000.50", at(1), last="5000.50", last_size="2"))
    assert sink.events == [
        MarketQuote("ES 12-26", D("5000.25"), D("5000.50"), at(1), None, None, D("5000.50"), D("2"))
    ]


# -- bars -----------------------------------------------------------------------------------


async def test_quotes_build_one_minute_bars_and_a_closed_bar_is_saved_on_flush(
    market: MarketData, repo: MemoryBarRepository
) -> None:
    market.push(q("5000.00", "5000.25", at(0), last="5000.00", last_size="1"))
    market.push(q("5002.00", "5002.25", at(20), last="5002.25", last_size="2"))
    market.push(q("4999.00", "4999.25", at(40)))  # mid 4999.125
    market.push(q("5001.00", "5001.25", at(59), last="5001.00", last_size="3"))
    market.push(q("5003.00", "5003.25", at(61), last="5003.25", last_size="1"))
    assert await repo.bars("ES 12-26") == []  # closed, not saved yet
    assert await market.flush() == 1
    saved = await repo.bars("ES 12-26")
    assert saved == [
        Bar("ES 12-26", T0, D("5000.00"), D("5002.25"), D("4999.125"), D("5001.00"), D("6"))
    ]
    assert await market.flush() == 0


async def test_bars_include_the_unsaved_and_the_open_minute(market: MarketData) -> None:
    market.push(q("5000.00", "5000.25", at(0), last="5000.00"))
    market.push(q("5001.00", "5001.25", at(60), last="5001.00", last_size="2"))
    bars = await market.bars("ES 12-26")
    assert [(b.start, b.open, b.volume) for b in bars] == [
        (T0, D("5000.00"), D("0")),
        (at(60), D("5001.00"), D("2")),
    ]


async def test_five_minute_bars_roll_up_the_minutes_aligned_to_utc(market: MarketData) -> None:
    # 15:28 .. 15:36, one trade a minute at 5000 + minute, volume = minute number.
    base = datetime(2026, 11, 20, 15, 28, tzinfo=UTC)
    for minute in range(9):
        price = D(5000 + minute)
        market.push(
            q(str(price), str(price + D("0.25")), at(60 * minute + 5, base),
              last=str(price), last_size=str(minute + 1))
        )  # fmt: skip
    await market.flush()
    bars = await market.bars("ES 12-26", period_minutes=5)
    assert bars == [
        Bar("ES 12-26", datetime(2026, 11, 20, 15, 25, tzinfo=UTC),
            D("5000"), D("5001"), D("5000"), D("5001"), D("3")),
        Bar("ES 12-26", datetime(2026, 11, 20, 15, 30, tzinfo=UTC),
            D("5002"), D("5006"), D("5002"), D("5006"), D("25")),
        Bar("ES 12-26", datetime(2026, 11, 20, 15, 35, tzinfo=UTC),
            D("5007"), D("5008"), D("5007"), D("5008"), D("17")),
    ]  # fmt: skip
    newest = await market.bars("ES 12-26", period_minutes=5, limit=1)
    assert [b.start.minute for b in newest] == [35]
    window = await market.bars(
        "ES 12-26", period_minutes=5, start=at(60), end=datetime(2026, 11, 20, 15, 35, tzinfo=UTC)
    )
    assert [(b.start.minute, b.open) for b in window] == [(30, D("5002"))]  # whole bars only


async def test_bar_periods_must_divide_a_day_and_symbols_must_exist(market: MarketData) -> None:
    for period in (0, 7, 1441):
        with pytest.raises(InvalidInput, match="divide 1440"):
            await market.bars("ES 12-26", period_minutes=period)
    with pytest.raises(InvalidInput, match="limit"):
        await market.bars("ES 12-26", limit=0)
    with pytest.raises(InstrumentNotFound):
        await market.bars("NOPE")


async def test_close_saves_the_open_bars(market: MarketData, repo: MemoryBarRepository) -> None:
    market.push(q("5000.00", "5000.25", at(0), last="5000.00", last_size="1"))
    await market.close()
    assert [b.close for b in await repo.bars("ES 12-26")] == [D("5000.00")]


class Later:
    def __init__(self, now: datetime) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment


async def test_a_restart_restores_the_day_the_previous_close_and_the_open_minute(
    repo: MemoryBarRepository,
) -> None:
    yesterday = T0 - timedelta(days=1)
    first = MarketData([es()], bars=repo)
    first.push(q("4990.00", "4990.25", yesterday, last="4990.00", last_size="1"))
    first.push(q("5000.00", "5000.25", at(0), last="5000.00", last_size="2"))
    first.push(q("5005.00", "5005.25", at(10), last="5005.00", last_size="3"))
    await first.close()

    second = MarketData([es()], bars=repo, clock=Later(at(30)))
    await second.restore()
    snapshot = second.push(q("4995.00", "4995.25", at(40), last="4995.00", last_size="1"))
    assert (snapshot.open, snapshot.high, snapshot.low) == (
        D("5000.00"),
        D("5005.00"),
        D("4995.00"),
    )
    assert snapshot.volume == D("6")
    assert snapshot.close == D("4990.00")
    await second.close()
    minute = await repo.bars("ES 12-26", start=T0)
    assert minute == [
        Bar("ES 12-26", T0, D("5000.00"), D("5005.00"), D("4995.00"), D("4995.00"), D("6"))
    ]


async def test_a_restart_on_a_new_day_takes_the_last_bar_as_the_previous_close(
    repo: MemoryBarRepository,
) -> None:
    await repo.save_bars(
        [Bar("ES 12-26", T0 - timedelta(days=3), D("1"), D("2"), D("1"), D("1.50"), D("9"))]
    )
    market = MarketData([es()], bars=repo, clock=Later(T0))
    await market.restore()
    snapshot = market.push(q("5000.00", "5000.25", at(1), last="5000.00"))
    assert snapshot.close == D("1.50")
    assert snapshot.volume == D("0")


def test_a_quote_stamped_before_the_open_bar_joins_it(market: MarketData) -> None:
    market.push(q("5000.00", "5000.25", at(65), last="5000.00"))
    market.push(q("4990.00", "4990.25", at(5), last="4990.00"))  # the clock stepped back
    snapshot = market.snapshot("ES 12-26")
    assert snapshot is not None
    assert snapshot.low == D("4990.00")


def test_roll_up_and_floor_to_align_to_the_utc_day() -> None:
    assert floor_to(datetime(2026, 11, 20, 15, 44, 59, 999, tzinfo=UTC), 15) == datetime(
        2026, 11, 20, 15, 30, tzinfo=UTC
    )
    assert floor_to(T0, 1440) == datetime(2026, 11, 20, tzinfo=UTC)
    one = Bar("X", T0, D("1"), D("3"), D("1"), D("2"), D("1"))
    two = Bar("X", at(60), D("2"), D("2"), D("0.5"), D("1"), D("2"))
    assert roll_up([one, two], 60) == [
        Bar("X", datetime(2026, 11, 20, 15, tzinfo=UTC), D("1"), D("3"), D("0.5"), D("1"), D("3"))
    ]
