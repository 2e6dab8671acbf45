"""ORDERGATE_SIM_SESSIONS: the simulated venue keeps the instruments' trading hours
(``enforce``, the default) or trades every instrument around the clock (``ignore``)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from ordergate.domain.clock import ManualClock
from ordergate.domain.errors import InvalidInput
from ordergate.domain.instruments import Instrument, TradingSession
from ordergate.settings import Settings, venue_config
from ordergate.venue.base import Quote
from ordergate.venue.feeds import SyntheticFeed
from ordergate.venue.marketdata import MarketData
from ordergate.venue.replay import CsvReplay
from ordergate.venue.rules import VenueConfig
from ordergate.venue.sim import MARKET_CLOSED, SimVenue
from tests.builders import es

D = Decimal
#: Weekdays 14:30 to 21:00 UTC.
DAY_SESSION = TradingSession(frozenset(range(5)), time(14, 30), time(21))
WEDNESDAY_OPEN = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
SATURDAY = datetime(2026, 11, 21, 15, 30, tzinfo=UTC)


def hours(instrument: Instrument) -> Instrument:
    return dataclasses.replace(instrument, sessions=(DAY_SESSION,))


def venue(sessions: str) -> SimVenue:
    sim = SimVenue(config=VenueConfig(sessions=sessions), clock=ManualClock(SATURDAY))  # type: ignore[arg-type]
    sim.load_instruments([hours(es())])
    return sim


def test_the_setting_defaults_to_enforce_and_reaches_the_venue_config() -> None:
    assert Settings().sim_sessions == "enforce"
    assert venue_config(Settings()).sessions == "enforce"
    assert venue_config(Settings(sim_sessions="ignore")).sessions == "ignore"
    with pytest.raises(ValidationError, match="sim_sessions"):
        Settings(sim_sessions="sometimes")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        VenueConfig(sessions="sometimes")  # type: ignore[arg-type]


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERGATE_SIM_SESSIONS", "ignore")
    assert Settings().sim_sessions == "ignore"


def test_enforced_sessions_close_the_market_out_of_hours() -> None:
    sim = venue("enforce")
    assert sim.submission_refusal("ES 12-26", SATURDAY) == MARKET_CLOSED
    assert sim.cancel_refusal("ES 12-26", SATURDAY) == MARKET_CLOSED
    assert not sim.is_open(hours(es()), SATURDAY)
    assert sim.is_open(hours(es()), WEDNESDAY_OPEN)
    assert sim.day_end(hours(es()), SATURDAY) is None
    assert sim.day_end(hours(es()), WEDNESDAY_OPEN) == datetime(2026, 11, 18, 21, tzinfo=UTC)


def test_ignored_sessions_open_every_instrument_every_day() -> None:
    sim = venue("ignore")
    assert sim.submission_refusal("ES 12-26", SATURDAY) is None
    assert sim.cancel_refusal("ES 12-26", SATURDAY) is None
    assert sim.is_open(hours(es()), SATURDAY)
    # Around the clock: a day order lasts until the next UTC midnight, in session or not.
    midnight = datetime(2026, 11, 22, tzinfo=UTC)
    assert sim.day_end(hours(es()), SATURDAY) == midnight
    assert sim.day_end(hours(es()), WEDNESDAY_OPEN) == datetime(2026, 11, 19, tzinfo=UTC)


def test_an_operator_close_holds_whatever_the_sessions() -> None:
    sim = venue("ignore")
    sim.set_market_closed("ES 12-26")
    assert sim.submission_refusal("ES 12-26", SATURDAY) == MARKET_CLOSED
    assert sim.cancel_refusal("ES 12-26", SATURDAY) == MARKET_CLOSED
    assert not sim.is_open(hours(es()), SATURDAY)


@pytest.mark.parametrize(("sessions", "ticks"), [("enforce", []), ("ignore", ["ES 12-26"])])
def test_the_synthetic_feed_ticks_out_of_hours_only_when_sessions_are_ignored(
    sessions: str, ticks: list[str]
) -> None:
    source = SyntheticFeed(
        [hours(es())],
        seed=1,
        start_prices={"ES 12-26": D("6000.00")},
        sessions=sessions,  # type: ignore[arg-type]
    )
    assert [x.symbol for x in source.next_quotes(SATURDAY)] == ticks
    assert [x.symbol for x in source.next_quotes(WEDNESDAY_OPEN)] == ["ES 12-26"]


class FixedClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


@pytest.mark.parametrize(("sessions", "pushed"), [("enforce", 0), ("ignore", 1)])
async def test_the_replay_plays_out_of_hours_only_when_sessions_are_ignored(
    tmp_path: Path, sessions: str, pushed: int
) -> None:
    path = tmp_path / "tape.csv"
    path.write_text("time,symbol,bid,ask\n2026-11-20T15:30:00Z,ES 12-26,5000.00,5000.25\n")
    market = MarketData([hours(es())])
    seen: list[Quote] = []
    market.subscribe(seen.append)
    replay = CsvReplay(path, speed=0, clock=FixedClock(SATURDAY), sessions=sessions)  # type: ignore[arg-type]
    await replay.run(market)
    assert len(seen) == pushed
