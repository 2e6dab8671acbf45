"""The simulated venue's latencies, refusals and expiries run on its clock: on a ManualClock
nothing happens until the test moves time, and ``drain()`` waits for what has fallen due.

No engine and no database: a listener that keeps what the venue reports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from ordergate.domain.clock import ManualClock
from ordergate.domain.ids import Login, Ticket
from ordergate.domain.instruments import Instrument, TradingSession
from ordergate.domain.orders import OrderStatus, OrderType, Side
from ordergate.venue.base import (
    Acknowledged,
    CancelConfirmed,
    CancelRefused,
    ChangeConfirmed,
    Expired,
    Filled,
    Quote,
    Refused,
    VenueOrder,
    VenueReport,
)
from ordergate.venue.rules import VenueConfig
from ordergate.venue.sim import BUSY, MARKET_CLOSED, TOO_LATE, SimVenue

D = Decimal
START = datetime(2026, 11, 20, 12, tzinfo=UTC)  # a Friday
LOGIN = Login(1001)
ES = "ES 12-26"
NQ = "NQ 12-26"


@dataclass
class Listener:
    """Keeps every batch of reports; ``next_batch`` waits for one that has not been seen."""

    batches: list[list[VenueReport]] = field(default_factory=list)
    seen: int = 0
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_venue_reports(self, reports: Sequence[VenueReport]) -> None:
        self.batches.append(list(reports))
        self._arrived.set()

    def take(self) -> list[VenueReport]:
        """The reports delivered since the last take, in order."""
        new = [r for batch in self.batches[self.seen :] for r in batch]
        self.seen = len(self.batches)
        return new

    async def next_batch(self) -> list[VenueReport]:
        """For what drain() does not wait for (expiries): the next delivery. The timeout
        only turns a missing report into a failure instead of a hang."""
        async with asyncio.timeout(10):
            while len(self.batches) == self.seen:
                self._arrived.clear()
                await self._arrived.wait()
        return self.take()


@dataclass
class Sim:
    clock: ManualClock
    venue: SimVenue
    listener: Listener

    async def reports_after(self, seconds: float) -> list[VenueReport]:
        """Move the clock, then what the venue owed by then."""
        self.clock.advance(timedelta(seconds=seconds))
        await self.venue.drain()
        return self.listener.take()

    async def submit(self, *orders: VenueOrder) -> None:
        await self.venue.submit(orders)


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    clock = ManualClock(START)
    venue = SimVenue(config=VenueConfig(seed=7), clock=clock)
    listener = Listener()
    venue.bind(listener)
    venue.set_quote(ES, D("5000.00"), D("5000.25"))
    venue.set_quote(NQ, D("18000.00"), D("18000.25"))
    yield Sim(clock, venue, listener)
    await venue.close()


def order(
    ticket: int,
    *,
    side: Side = Side.BUY,
    price: str | None = "4990.00",
    qty: str = "1",
    symbol: str = ES,
    expires_at: datetime | None = None,
    status: OrderStatus = OrderStatus.SUBMITTED,
) -> VenueOrder:
    """A limit order (a market order without ``price``)."""
    return VenueOrder(
        ticket=Ticket(ticket),
        login=LOGIN,
        symbol=symbol,
        side=side,
        type=OrderType.LIMIT if price is not None else OrderType.MARKET,
        quantity=D(qty),
        limit_price=D(price) if price is not None else None,
        stop_price=None,
        oco=None,
        status=status,
        expires_at=expires_at,
    )


def ack(*tickets: int) -> list[VenueReport]:
    return [Acknowledged(Ticket(t), live=True) for t in tickets]


async def resting_orders(sim: Sim, *tickets: int) -> None:
    """Put ``tickets`` on the book, acknowledged, at the current time."""
    await sim.submit(*(order(t) for t in tickets))
    assert await sim.reports_after(sim.venue.ack_delay_ms / 1000) == ack(*tickets)


async def test_an_order_is_acknowledged_only_once_its_latency_has_passed(sim: Sim) -> None:
    sim.venue.ack_delay_ms = 50
    await sim.submit(order(1))

    await sim.venue.drain()
    assert sim.listener.take() == []
    assert await sim.reports_after(0.049) == []
    assert sim.venue.resting() == []

    assert await sim.reports_after(0.001) == ack(1)
    assert sim.venue.resting() == [1]


async def test_actions_due_together_reach_the_listener_in_one_delivery_in_order(
    sim: Sim,
) -> None:
    sim.venue.ack_delay_ms = 10
    await sim.submit(order(3), order(1))
    await sim.submit(order(2))

    assert await sim.reports_after(0.01) == ack(3, 1, 2)
    assert len(sim.listener.batches) == 1


async def test_a_cancel_takes_its_latency_and_confirms_the_tickets_it_took(sim: Sim) -> None:
    await resting_orders(sim, 1, 2, 3)
    sim.venue.cancel_delay_ms = 30

    await sim.venue.cancel(LOGIN, "r1", [Ticket(1), Ticket(2), Ticket(99), Ticket(1)])

    # A ticket the venue does not hold is refused at once; the others wait for the latency.
    assert await sim.reports_after(0) == [CancelRefused((Ticket(99),), TOO_LATE)]
    assert await sim.reports_after(0.029) == []
    assert sim.venue.resting() == [1, 2, 3]
    assert await sim.reports_after(0.001) == [CancelConfirmed(LOGIN, "r1", (Ticket(1), Ticket(2)))]
    assert sim.venue.resting() == [3]


async def test_cancel_refusals_follow_the_chance_and_repeat_with_the_seed(sim: Sim) -> None:
    sim.venue.config.set(ES, cancel_refusal_pct=50)
    tickets = [Ticket(t) for t in range(1, 21)]
    await resting_orders(sim, *tickets)

    await sim.venue.cancel(LOGIN, "bulk", tickets)
    reports = await sim.reports_after(0)

    refused = [r for r in reports if isinstance(r, CancelRefused)]
    confirmed = [r for r in reports if isinstance(r, CancelConfirmed)]
    assert [r.reason for r in refused] == [BUSY]
    assert len(confirmed) == 1
    kept, taken = refused[0].tickets, confirmed[0].tickets
    assert kept
    assert taken
    assert sorted(kept + taken) == tickets
    assert sim.venue.resting() == sorted(kept)

    again = SimVenue(config=VenueConfig(seed=7), clock=sim.clock)
    listener = Listener()
    again.bind(listener)
    again.config.set(ES, cancel_refusal_pct=50)
    try:
        await again.submit([order(t) for t in tickets])
        await again.cancel(LOGIN, "bulk", tickets)
        await again.drain()
    finally:
        await again.close()
    assert listener.take()[len(tickets) :] == reports


async def test_a_cancel_during_the_fill_latency_is_refused_as_too_late(sim: Sim) -> None:
    sim.venue.config.set(ES, fill_delay_ms=100)
    await resting_orders(sim, 1)

    sim.venue.set_quote(ES, D("4988.00"), D("4989.00"))  # crosses the buy at 4990
    assert await sim.reports_after(0) == []
    assert sim.venue.resting() == []  # matched: the fill is on its way

    await sim.venue.cancel(LOGIN, "r1", [Ticket(1)])
    assert await sim.reports_after(0.05) == [CancelRefused((Ticket(1),), TOO_LATE)]

    # Filled at the better price, stamped when the venue matched.
    assert await sim.reports_after(0.05) == [Filled(Ticket(1), D(1), D("4989.00"), START)]


async def test_a_market_order_is_acknowledged_at_once_and_filled_after_the_latency(
    sim: Sim,
) -> None:
    sim.venue.config.set(ES, fill_delay_ms=20)
    await sim.submit(order(1, price=None, qty="2"))

    assert await sim.reports_after(0) == [Acknowledged(Ticket(1), live=True)]
    assert await sim.reports_after(0.02) == [Filled(Ticket(1), D(2), D("5000.25"), START)]


async def test_partial_fills_share_out_the_quote_size_in_priority(sim: Sim) -> None:
    sim.venue.config.set(ES, partial_fills=True)
    await sim.submit(order(1, qty="3"), order(2, qty="2"))
    assert await sim.reports_after(0) == ack(1, 2)

    sim.clock.advance(timedelta(seconds=1))
    sim.venue.on_quote(Quote(ES, D("4988"), D("4989"), sim.clock.now(), D(9), D(4)))
    later = START + timedelta(seconds=1)
    assert await sim.reports_after(0) == [
        Filled(Ticket(1), D(3), D("4989"), later),
        Filled(Ticket(2), D(1), D("4989"), later),
    ]
    assert sim.venue.resting() == [2]

    sim.venue.on_quote(Quote(ES, D("4988"), D("4989"), sim.clock.now(), D(9), D(5)))
    assert await sim.reports_after(0) == [Filled(Ticket(2), D(1), D("4989"), later)]
    assert sim.venue.resting() == []


async def test_a_good_till_date_order_expires_at_its_time(sim: Sim) -> None:
    expiry = START + timedelta(seconds=10)
    await sim.submit(order(1, expires_at=expiry), order(2))
    assert await sim.reports_after(0) == ack(1, 2)

    assert await sim.reports_after(9.999) == []
    assert sim.venue.resting() == [1, 2]

    sim.clock.advance(timedelta(seconds=0.001))
    assert await sim.listener.next_batch() == [Expired((Ticket(1),))]
    assert sim.venue.resting() == [2]


async def test_orders_expiring_together_expire_together_unless_moved_later(sim: Sim) -> None:
    expiry = START + timedelta(seconds=10)
    await sim.submit(*(order(t, expires_at=expiry) for t in (1, 2, 3)))
    assert await sim.reports_after(0) == ack(1, 2, 3)

    later = expiry + timedelta(seconds=5)
    await sim.venue.change(order(2, expires_at=later, status=OrderStatus.PENDING_CHANGE))
    assert await sim.reports_after(0) == [ChangeConfirmed(Ticket(2))]

    sim.clock.set(expiry)
    assert await sim.listener.next_batch() == [Expired((Ticket(1),)), Expired((Ticket(3),))]
    assert sim.venue.resting() == [2]

    sim.clock.set(later)
    assert await sim.listener.next_batch() == [Expired((Ticket(2),))]
    assert sim.venue.resting() == []


async def test_a_restored_order_whose_time_has_passed_expires_at_once(sim: Sim) -> None:
    sim.clock.advance(timedelta(seconds=60))
    gone = START + timedelta(seconds=30)
    await sim.venue.restore([order(1, expires_at=gone, status=OrderStatus.WORKING)])

    assert await sim.listener.next_batch() == [Expired((Ticket(1),))]
    assert sim.venue.resting() == []


async def test_a_closed_venue_expires_nothing(sim: Sim) -> None:
    await sim.submit(order(1, expires_at=START + timedelta(seconds=10)))
    assert await sim.reports_after(0) == ack(1)

    await sim.venue.close()
    sim.clock.advance(timedelta(seconds=10))
    await asyncio.sleep(0)

    assert sim.listener.take() == []


async def test_a_closed_market_refuses_new_orders_and_cancels(sim: Sim) -> None:
    await resting_orders(sim, 1)
    sim.venue.set_market_closed(ES)

    assert sim.venue.submission_refusal(ES, sim.clock.now()) == MARKET_CLOSED
    assert sim.venue.cancel_refusal(ES, sim.clock.now()) == MARKET_CLOSED
    assert sim.venue.submission_refusal(NQ, sim.clock.now()) is None

    await sim.submit(order(2))
    await sim.venue.cancel(LOGIN, "r1", [Ticket(1)])
    assert await sim.reports_after(0) == [
        Refused(Ticket(2), MARKET_CLOSED),
        CancelRefused((Ticket(1),), MARKET_CLOSED),
    ]
    assert sim.venue.resting() == [1]


async def test_the_session_is_judged_when_the_order_reaches_the_venue(sim: Sim) -> None:
    afternoon = TradingSession(frozenset(range(5)), time(13), time(21))
    sim.venue.load_instruments([_es(sessions=(afternoon,))])
    sim.venue.ack_delay_ms = 20
    sim.clock.set(START.replace(hour=12, minute=59, second=59, microsecond=970_000))
    assert sim.venue.submission_refusal(ES, sim.clock.now()) == MARKET_CLOSED

    await sim.submit(order(1), order(2))
    # They reach the venue at 12:59:59.990, before the open.
    assert await sim.reports_after(0.02) == [
        Refused(Ticket(1), MARKET_CLOSED),
        Refused(Ticket(2), MARKET_CLOSED),
    ]

    await sim.submit(order(3))
    assert await sim.reports_after(0.019) == []
    assert await sim.reports_after(0.001) == ack(3)  # at 13:00:00.010, open


async def test_drain_returns_while_a_later_action_is_still_pending(sim: Sim) -> None:
    sim.venue.config.set(NQ, ack_delay_ms=500)
    await sim.submit(order(1), order(2, symbol=NQ, price="17990.00"))

    assert await sim.reports_after(0) == ack(1)
    assert await sim.reports_after(0.499) == []
    assert await sim.reports_after(0.001) == ack(2)


async def test_drain_waits_until_the_listener_has_taken_the_reports(sim: Sim) -> None:
    returned: list[list[VenueReport]] = []

    class SlowListener:
        async def on_venue_reports(self, reports: Sequence[VenueReport]) -> None:
            for _ in range(5):
                await asyncio.sleep(0)
            returned.append(list(reports))

    sim.venue.bind(SlowListener())
    await sim.submit(order(1))
    await sim.venue.drain()

    assert returned == [ack(1)]


def _es(sessions: tuple[TradingSession, ...] = ()) -> Instrument:
    return Instrument(
        symbol=ES,
        tick_size=D("0.25"),
        point_value=D("50"),
        digits=2,
        lot_min=D("1"),
        lot_max=D("500"),
        lot_step=D("1"),
        sessions=sessions,
    )
