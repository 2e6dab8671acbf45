"""Market sources: the seeded synthetic feed and the CSV replay of quotes and of bars."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from ordergate.domain.errors import InvalidInput
from ordergate.domain.instruments import Instrument, TradingSession
from ordergate.settings import Settings
from ordergate.venue.base import Quote
from ordergate.venue.feeds import SyntheticFeed
from ordergate.venue.marketdata import MarketData
from ordergate.venue.replay import CsvReplay
from tests.builders import es, eurusd

D = Decimal
WEDNESDAY = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
SATURDAY = datetime(2026, 11, 21, 15, 30, tzinfo=UTC)
START = {"ES 12-26": D("6000.00"), "EURUSD": D("1.08500")}


class FixedClock:
    def __init__(self, moment: datetime = WEDNESDAY) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def weekdays(instrument: Instrument) -> Instrument:
    """``instrument`` trading Monday to Friday, around the clock."""
    session = TradingSession(frozenset(range(5)), clock_time(0), clock_time(0))
    return dataclasses.replace(instrument, sessions=(session,))


def feed(seed: int = 7, **kw: object) -> SyntheticFeed:
    kw.setdefault("start_prices", START)
    return SyntheticFeed([es(), eurusd()], seed=seed, **kw)  # type: ignore[arg-type]


def run_steps(source: SyntheticFeed, steps: int, start: datetime = WEDNESDAY) -> list[Quote]:
    quotes: list[Quote] = []
    for n in range(steps):
        quotes.extend(source.next_quotes(start + timedelta(milliseconds=250 * n)))
    return quotes


def as_tuples(quotes: list[Quote]) -> list[tuple[object, ...]]:
    return [
        (x.symbol, x.bid, x.ask, x.bid_size, x.ask_size, x.last, x.last_size, x.at) for x in quotes
    ]


# -- synthetic feed -------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_quotes() -> None:
    assert as_tuples(run_steps(feed(), 500)) == as_tuples(run_steps(feed(), 500))
    assert as_tuples(run_steps(feed(seed=8), 500)) != as_tuples(run_steps(feed(), 500))


def test_synthetic_quotes_lie_on_the_tick_grid_with_a_realistic_spread() -> None:
    quotes = run_steps(feed(), 2000)
    assert {x.symbol for x in quotes} == {"ES 12-26", "EURUSD"}
    for x in quotes:
        tick = D("0.25") if x.symbol == "ES 12-26" else D("0.00001")
        for price in (x.bid, x.ask, *([x.last] if x.last is not None else [])):
            assert price % tick == 0, x
        spread = (x.ask - x.bid) / tick
        if x.symbol == "ES 12-26":
            assert spread == 1  # futures quote one tick wide
        else:
            assert 10 <= spread <= 22  # about 1 to 2 pips
        assert x.bid_size is not None
        assert x.ask_size is not None
        assert D(1) <= x.bid_size <= D(50)
        assert D(1) <= x.ask_size <= D(50)
        if x.last is not None:
            assert x.last in (x.bid, x.ask)
            assert x.last_size is not None
            assert D(1) <= x.last_size <= D(10)


def test_the_synthetic_market_moves_and_trades_now_and_then() -> None:
    quotes = [x for x in run_steps(feed(), 240) if x.symbol == "ES 12-26"]  # one minute
    bids = {x.bid for x in quotes}
    assert len(bids) > 5
    assert max(bids) - min(bids) < D("50")  # moves, but like an index, not like a lottery
    trades = [x for x in quotes if x.last is not None]
    assert 20 < len(trades) < 120  # about one step in four


def test_a_closed_market_does_not_tick() -> None:
    source = SyntheticFeed([weekdays(es()), eurusd()], seed=1, start_prices=START)
    assert [x.symbol for x in source.next_quotes(SATURDAY)] == ["EURUSD"]
    assert [x.symbol for x in source.next_quotes(WEDNESDAY)] == ["ES 12-26", "EURUSD"]


def test_an_instrument_without_a_price_does_not_tick() -> None:
    source = SyntheticFeed([es(), eurusd()], start_prices={"EURUSD": D("1.08500")})
    assert [x.symbol for x in source.next_quotes(WEDNESDAY)] == ["EURUSD"]


def test_the_interval_has_a_floor() -> None:
    with pytest.raises(InvalidInput, match="interval_ms"):
        SyntheticFeed([es()], interval_ms=5)


def test_step_pushes_into_the_market_and_follows_quotes_pushed_by_others() -> None:
    market = MarketData([es(), eurusd()])
    source = SyntheticFeed([es(), eurusd()], seed=3, clock=FixedClock())
    assert source.step(market) == []  # no quotes yet: nothing to walk from
    market.push(Quote("ES 12-26", D("5000.00"), D("5000.25"), WEDNESDAY))
    pushed = source.step(market)
    assert [s.symbol for s in pushed] == ["ES 12-26"]
    assert abs(pushed[0].bid - D("5000.00")) <= D("0.25")

    market.push(Quote("ES 12-26", D("4000.00"), D("4000.25"), WEDNESDAY))  # an admin's quote
    (after,) = source.step(market)
    assert abs(after.bid - D("4000.00")) <= D("0.75")


async def test_run_steps_on_a_timer_until_told_to_stop() -> None:
    market = MarketData([es()])
    market.push(Quote("ES 12-26", D("5000.00"), D("5000.25"), WEDNESDAY))
    seen: list[Quote] = []
    market.subscribe(seen.append)
    source = SyntheticFeed([es()], seed=3, interval_ms=10, clock=FixedClock())
    began = time.monotonic()
    await source.run(market, steps=5)
    assert len(seen) == 5
    assert time.monotonic() - began >= 0.035  # four pauses of 10 ms between five steps


# -- CSV replay -----------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tape.csv"
    path.write_text(text, encoding="utf-8")
    return path


async def replay(path: Path, market: MarketData, speed: int = 0) -> list[Quote]:
    seen: list[Quote] = []
    market.subscribe(seen.append)
    await CsvReplay(path, speed=speed, clock=FixedClock()).run(market)
    return seen


async def test_a_quote_file_is_replayed_in_time_order_with_exact_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "time,symbol,bid,ask,bid_size,ask_size,last,last_size\n"
        "2026-11-20T15:30:01Z,EURUSD,1.10001,1.10003,2,3,1.10003,1\n"
        "2026-11-20T15:30:00,ES 12-26,5000.25,5000.50,,,,\n"
        "\n",
    )
    market = MarketData([es(), eurusd()])
    seen = await replay(path, market)
    assert seen == [
        Quote("ES 12-26", D("5000.25"), D("5000.50"), WEDNESDAY),
        Quote("EURUSD", D("1.10001"), D("1.10003"), WEDNESDAY, D(2), D(3), D("1.10003"), D(1)),
    ]  # stamped with the time they are pushed


async def test_a_bar_file_is_replayed_along_each_bars_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "symbol,time,open,high,low,close,volume\n"
        "ES 12-26,2026-11-20T15:30:00Z,5000.00,5003.00,4999.00,5002.00,12\n"
        "ES 12-26,2026-11-20T15:31:00Z,5002.00,5002.50,4998.00,4998.25,7\n",
    )
    market = MarketData([es()])
    seen = await replay(path, market)
    assert [x.last for x in seen] == [
        *(D("5000.00"), D("4999.00"), D("5003.00"), D("5002.00")),  # up bar: O, L, H, C
        *(D("5002.00"), D("5002.50"), D("4998.00"), D("4998.25")),  # down bar: O, H, L, C
    ]
    assert all(x.bid == x.ask == x.last for x in seen)
    assert [x.last_size for x in seen] == [None, None, None, D(12), None, None, None, D(7)]
    snapshot = market.snapshot("ES 12-26")
    assert snapshot is not None
    assert (snapshot.open, snapshot.high, snapshot.low, snapshot.volume) == (
        D("5000.00"),
        D("5003.00"),
        D("4998.00"),
        D("19"),
    )


async def test_a_replay_keeps_the_files_pace_at_its_speed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "time,symbol,bid,ask\n"
        "2026-11-20T15:30:00Z,ES 12-26,5000.00,5000.25\n"
        "2026-11-20T15:30:01Z,ES 12-26,5000.25,5000.50\n",
    )
    began = time.monotonic()
    seen = await replay(path, MarketData([es()]), speed=2000)  # 20 times as fast: 50 ms
    assert len(seen) == 2
    assert time.monotonic() - began >= 0.045


async def test_a_replay_skips_closed_markets_and_unknown_symbols(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "time,symbol,bid,ask\n"
        "2026-11-20T15:30:00Z,ES 12-26,5000.00,5000.25\n"
        "2026-11-20T15:30:00Z,EURUSD,1.10000,1.10002\n"
        "2026-11-20T15:30:00Z,NOPE,1,2\n",
    )
    market = MarketData([weekdays(es()), eurusd()])
    seen: list[Quote] = []
    market.subscribe(seen.append)
    await CsvReplay(path, speed=0, clock=FixedClock(SATURDAY)).run(market)
    assert [x.symbol for x in seen] == ["EURUSD"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("time,symbol,price\n", "header must name"),
        ("time,symbol,bid,ask,bidsize\n", "unknown columns bidsize"),
        ("time,symbol,bid,ask,bid\n", "twice"),
        ("time,symbol,bid,ask\n2026-11-20T15:30:00Z,ES 12-26,5000,abc\n", "tape.csv:2: ask"),
        ("time,symbol,bid,ask\nyesterday,ES 12-26,5000,5000.25\n", ":2: time 'yesterday'"),
        ("time,symbol,bid,ask\n2026-11-20T15:30:00Z,,5000,5000.25\n", ":2: symbol is missing"),
        ("time,symbol,bid,ask\n2026-11-20T15:30:00Z,ES 12-26,5000\n", ":2: no 'ask' cell"),
        ("time,symbol,bid,ask\n2026-11-20T15:30:00Z,ES 12-26,1,2,3\n", "more cells"),
        (
            "time,symbol,open,high,low,close,volume\n2026-11-20T15:30:00Z,ES 12-26,5,4,3,5,1\n",
            ":2: a bar's low",
        ),
        (
            "time,symbol,open,high,low,close,volume\n2026-11-20T15:30:00Z,ES 12-26,5,6,4,5,-1\n",
            "volume must not be negative",
        ),
    ],
)
def test_a_bad_file_is_refused_with_the_line_at_fault(
    tmp_path: Path, text: str, words: str
) -> None:
    with pytest.raises(InvalidInput, match=words):
        CsvReplay(write(tmp_path, text))


def test_a_missing_file_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read"):
        CsvReplay(tmp_path / "nope.csv")


def test_market_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="market_csv"):
        Settings(market_source="csv")
    with pytest.raises(ValidationError, match="market_interval_ms"):
        Settings(market_interval_ms=5)
    with pytest.raises(ValidationError, match="market_replay_speed"):
        Settings(market_replay_speed=-1)
    assert Settings(market_source="csv", market_csv=Path("tape.csv")).market_replay_speed == 100
