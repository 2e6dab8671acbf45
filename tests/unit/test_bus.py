"""The event bus and its wire schema: filters, numbering, slow subscribers, closing, and the
field names the WebSocket streams rely on."""

from __future__ import annotations

import asyncio
import json
import typing
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import orjson
import pytest

from ordergate.domain.events import (
    Event,
    MarketQuote,
    MonitorLogged,
    OrderFilled,
    OrderTransitioned,
    PositionChanged,
)
from ordergate.domain.ids import Login, OrderId, Ticket
from ordergate.domain.orders import OrderStatus, Side
from ordergate.engine.bus import EventBus, Subscription, SubscriptionClosed
from ordergate.engine.ports import EventSink
from ordergate.engine.schema import KINDS, Envelope, Lagged, kind_of, to_wire, wire_decimal
from tests.builders import NOW

D = Decimal


class FixedClock:
    def now(self) -> datetime:
        return NOW


def quote(symbol: str = "ES 12-26", bid: str = "5000.00", ask: str = "5000.25") -> MarketQuote:
    return MarketQuote(symbol, D(bid), D(ask), NOW, bid_size=D("12"), ask_size=None)


def transition(
    ticket: int = 1,
    login: int = 1001,
    symbol: str = "ES 12-26",
    to: OrderStatus = OrderStatus.WORKING,
    frm: OrderStatus | None = OrderStatus.SUBMITTED,
) -> OrderTransitioned:
    return OrderTransitioned(
        OrderId(f"{ticket:032x}"), Ticket(ticket), Login(login), symbol, frm, to, "because", NOW
    )


def fill(ticket: int = 1, login: int = 1001, symbol: str = "ES 12-26") -> OrderFilled:
    return OrderFilled(
        OrderId(f"{ticket:032x}"),
        Ticket(ticket),
        Login(login),
        symbol,
        Side.BUY,
        D("2.00000000"),
        D("5000.25000000"),
        NOW,
    )


def position(ticket: int = 1, login: int = 1001, symbol: str = "ES 12-26") -> PositionChanged:
    return PositionChanged(
        Ticket(ticket), Login(login), symbol, Side.SELL, D("0"), D("5000.25"), D("-12.50"), NOW
    )


def drain(sub: Subscription) -> list[Envelope]:
    out = []
    while (envelope := sub.get_nowait()) is not None:
        out.append(envelope)
    return out


def seqs(envelopes: list[Envelope]) -> list[int]:
    return [e.seq for e in envelopes]


# -- the bus as the engine's sink --------------------------------------------------------------


def test_the_bus_is_an_event_sink_active_only_while_someone_listens() -> None:
    bus: EventSink = EventBus()
    assert not bus.active
    assert isinstance(bus, EventBus)
    first, second = bus.subscribe(), bus.subscribe()
    assert bus.active
    first.close()
    assert bus.active
    second.close()
    assert not bus.active
    assert bus.subscribers == 0


def test_publish_with_no_subscribers_is_a_no_op() -> None:
    bus = EventBus()
    bus.publish([transition(), fill()])
    assert bus.last_seq == 0
    sub = bus.subscribe()
    assert sub.get_nowait() is None, "nothing published before subscribing is replayed"


def test_every_event_gets_the_next_global_seq_in_publish_order() -> None:
    bus = EventBus(clock=FixedClock())
    sub = bus.subscribe()
    bus.publish([quote(), transition()])
    bus.publish([fill(), position()])
    got = drain(sub)
    assert seqs(got) == [1, 2, 3, 4]
    assert [e.type for e in got] == ["quote", "order", "fill", "position"]
    assert all(e.at == NOW for e in got)
    assert bus.last_seq == 4


def test_a_filtered_subscriber_sees_gaps_in_seq_but_never_a_step_back() -> None:
    bus = EventBus()
    mine = bus.subscribe(accounts=[1001])
    bus.publish([transition(1, 1001), transition(2, 2002), transition(3, 1001)])
    assert seqs(drain(mine)) == [1, 3]


# -- filters -----------------------------------------------------------------------------------


def test_account_filter_passes_only_that_accounts_orders_fills_and_positions() -> None:
    bus = EventBus()
    sub = bus.subscribe(accounts=[1001])
    theirs: list[Event] = [transition(1, 2002), fill(2, 2002), position(3, 2002)]
    mine: list[Event] = [transition(4, 1001), fill(5, 1001), position(6, 1001)]
    bus.publish([*theirs, *mine])
    got = drain(sub)
    assert [(e.type, e.data.ticket) for e in got] == [  # type: ignore[union-attr]
        ("order", 4),
        ("fill", 5),
        ("position", 6),
    ]


def test_quotes_belong_to_no_account_and_pass_the_account_filter_by_symbol() -> None:
    bus = EventBus()
    any_symbol = bus.subscribe(accounts=[1001])
    es_only = bus.subscribe(accounts=[1001], symbols=["ES 12-26"])
    bus.publish([quote("ES 12-26"), quote("NQ 12-26")])
    assert [e.data.symbol for e in drain(any_symbol)] == ["ES 12-26", "NQ 12-26"]  # type: ignore[union-attr]
    assert [e.data.symbol for e in drain(es_only)] == ["ES 12-26"]  # type: ignore[union-attr]


def test_symbol_and_kind_filters_combine() -> None:
    bus = EventBus()
    sub = bus.subscribe(symbols={"NQ 12-26"}, kinds={"fill", "quote"})
    bus.publish(
        [
            quote("ES 12-26"),
            quote("NQ 12-26"),
            transition(1, symbol="NQ 12-26"),
            fill(2, symbol="NQ 12-26"),
            fill(3, symbol="ES 12-26"),
        ]
    )
    assert [(e.type, e.data.symbol) for e in drain(sub)] == [  # type: ignore[union-attr]
        ("quote", "NQ 12-26"),
        ("fill", "NQ 12-26"),
    ]


def test_an_empty_filter_lets_nothing_of_its_dimension_through() -> None:
    bus = EventBus()
    no_accounts = bus.subscribe(accounts=[])
    bus.publish([transition(), fill(), quote()])
    assert [e.type for e in drain(no_accounts)] == ["quote"]


def test_subscribing_to_an_unknown_kind_is_refused_rather_than_silent() -> None:
    bus = EventBus()
    with pytest.raises(ValueError, match="orders"):
        bus.subscribe(kinds=["orders"])
    with pytest.raises(ValueError, match="maxsize"):
        bus.subscribe(maxsize=0)
    assert not bus.active


# -- slow subscribers --------------------------------------------------------------------------


def test_a_full_subscriber_is_told_what_it_missed_and_the_others_get_everything() -> None:
    bus = EventBus()
    fast = bus.subscribe(maxsize=200_000)
    also_fast = bus.subscribe(kinds=["order"], maxsize=200_000)
    slow = bus.subscribe(maxsize=100)
    bus.publish([transition(t) for t in range(1, 101)])  # slow is now full
    assert slow.pending == 100
    bus.publish([transition(t) for t in range(101, 100_101)])

    assert seqs(drain(fast)) == list(range(1, 100_101))
    assert len(drain(also_fast)) == 100_100
    notice, *rest = drain(slow)
    assert notice.type == "lagged"
    assert notice.data == Lagged(missed=100_000, first_seq=1, last_seq=100_000)
    assert notice.seq == 100_000
    assert seqs(rest) == list(range(100_001, 100_101)), "it reads on from the newest it holds"
    bus.publish([transition(1)])
    assert seqs(drain(slow)) == [100_101], "after the notice, delivery goes on as normal"


def test_the_notice_comes_first_and_covers_exactly_the_unread_events_dropped() -> None:
    bus = EventBus()
    sub = bus.subscribe(maxsize=3)
    bus.publish([transition(t) for t in range(1, 4)])  # seq 1..3
    assert seqs([sub.get_nowait()]) == [1]  # type: ignore[list-item]
    bus.publish([transition(t) for t in range(4, 7)])  # 4..6: drops 2, 3
    bus.publish([transition(7)])  # drops 4: the same notice grows
    notice, *rest = drain(sub)
    assert notice.data == Lagged(missed=3, first_seq=2, last_seq=4)
    assert seqs(rest) == [5, 6, 7]


def test_the_lagged_notice_has_the_documented_wire_form() -> None:
    bus = EventBus(clock=FixedClock())
    sub = bus.subscribe(maxsize=1)
    bus.publish([transition(1), transition(2)])
    assert sub.get_nowait().to_wire() == {  # type: ignore[union-attr]
        "seq": 1,
        "type": "lagged",
        "at": "2026-11-20T15:30:00.000000Z",
        "data": {"missed": 1, "first_seq": 1, "last_seq": 1},
    }


async def test_a_waiting_reader_wakes_for_a_lagged_notice_and_then_new_events() -> None:
    bus = EventBus()
    sub = bus.subscribe(maxsize=2)
    reader = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    bus.publish([transition(t) for t in range(1, 6)])
    first = await asyncio.wait_for(reader, 1)
    assert first.type == "lagged"
    assert first.data == Lagged(missed=3, first_seq=1, last_seq=3)
    assert [(await sub.get()).seq, (await sub.get()).seq] == [4, 5]


# -- reading and closing -----------------------------------------------------------------------


async def test_async_iteration_reads_in_order_and_ends_when_the_subscription_closes() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    bus.publish([quote(), transition(), fill()])
    got = []
    async for envelope in sub:
        got.append(envelope.type)
        if len(got) == 3:
            sub.close()
    assert got == ["quote", "order", "fill"]


async def test_closing_wakes_a_waiting_reader_and_stops_delivery() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    reader = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    sub.close()
    with pytest.raises(SubscriptionClosed):
        await asyncio.wait_for(reader, 1)
    bus.publish([transition()])
    assert sub.closed
    assert not bus.active
    with pytest.raises(SubscriptionClosed):
        sub.get_nowait()
    sub.close()  # idempotent


async def test_the_context_manager_leaves_the_bus_on_exit() -> None:
    bus = EventBus()
    async with bus.subscribe(kinds=["quote"]) as sub:
        assert bus.active
        bus.publish([quote()])
        assert (await sub.get()).type == "quote"
    assert sub.closed
    assert not bus.active


async def test_closing_the_bus_ends_every_stream() -> None:
    bus = EventBus()
    subs = [bus.subscribe() for _ in range(3)]
    readers = [asyncio.create_task(anext(aiter(s), None)) for s in subs]
    await asyncio.sleep(0)
    bus.close()
    assert await asyncio.gather(*readers) == [None, None, None]
    assert not bus.active


async def test_a_subscription_has_one_reader() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    first = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="one reader"):
        await sub.get()
    sub.close()
    with pytest.raises(SubscriptionClosed):
        await first


def test_a_broken_subscriber_is_dropped_without_failing_the_publisher() -> None:
    """A reader waiting on an event loop that is gone cannot be woken; the publisher (the
    engine, after its commit) must not see that."""
    bus = EventBus()
    healthy = bus.subscribe()
    broken = bus.subscribe()
    gone = asyncio.new_event_loop()
    reader = gone.create_task(broken.get())
    gone.run_until_complete(asyncio.sleep(0))  # the reader now waits on ``gone``
    reader.add_done_callback(lambda _: None)
    gone.close()
    try:
        bus.publish([transition()])
    finally:
        reader._log_destroy_pending = False  # type: ignore[attr-defined]  # it can never finish
        reader.get_coro().close()
    assert broken.closed
    assert seqs(drain(healthy)) == [1]
    assert bus.subscribers == 1


# -- the wire schema ---------------------------------------------------------------------------

#: The contract in engine/schema.py's docstring. Changing it breaks clients: change both.
WIRE_FIELDS = {
    "quote": ["symbol", "bid", "ask", "bid_size", "ask_size", "last", "last_size", "at"],
    "order": [
        "order_id",
        "ticket",
        "login",
        "symbol",
        "from_status",
        "to_status",
        "reason",
        "at",
    ],
    "fill": ["order_id", "ticket", "login", "symbol", "side", "quantity", "price", "at"],
    "position": [
        "ticket",
        "login",
        "symbol",
        "side",
        "quantity",
        "open_price",
        "realized_pnl",
        "at",
    ],
    "monitor": ["login", "type", "message", "actor", "state", "locked", "at"],
}


def monitor_logged() -> MonitorLogged:
    return MonitorLogged(1001, NOW, "Stop Monitor", "loss threshold", "risk", "STOPPED", "x")


SAMPLES: list[Event] = [quote(), transition(), fill(), position(), monitor_logged()]


def test_every_event_type_has_a_stable_kind_and_wire_form() -> None:
    members = set(typing.get_args(Event))
    assert {type(e) for e in SAMPLES} == members, "a new event type needs a wire form"
    assert {kind_of(e) for e in SAMPLES} == KINDS == set(WIRE_FIELDS)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_wire_field_names_are_exactly_the_documented_ones(event: Event) -> None:
    assert list(to_wire(event)) == WIRE_FIELDS[kind_of(event)]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_wire_form_serialises_with_orjson_and_plain_json_alike(event: Event) -> None:
    envelope = Envelope(7, kind_of(event), NOW, event).to_wire()
    assert list(envelope) == ["seq", "type", "at", "data"]
    assert orjson.loads(orjson.dumps(envelope)) == envelope
    assert json.loads(json.dumps(envelope)) == envelope


def test_wire_values_are_decimal_strings_utc_z_times_and_enum_values() -> None:
    assert to_wire(fill()) == {
        "order_id": "00000000000000000000000000000001",
        "ticket": 1,
        "login": 1001,
        "symbol": "ES 12-26",
        "side": "buy",
        "quantity": "2",
        "price": "5000.25",
        "at": "2026-11-20T15:30:00.000000Z",
    }
    assert to_wire(transition(frm=None, to=OrderStatus.SUBMITTED))["from_status"] is None
    assert to_wire(transition())["to_status"] == "working"
    wire_quote = to_wire(quote())
    assert (wire_quote["bid"], wire_quote["bid_size"], wire_quote["ask_size"]) == (
        "5000",
        "12",
        None,
    )
    assert to_wire(position())["realized_pnl"] == "-12.5"


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("5000.25000000", "5000.25"),
        ("5000.00000000", "5000"),
        ("1E+3", "1000"),
        ("0.00000001", "0.00000001"),
        ("1E-7", "0.0000001"),
        ("-0", "0"),
        ("0E-8", "0"),
        ("-12.50", "-12.5"),
    ],
)
def test_decimals_go_on_the_wire_in_plain_notation_without_trailing_zeros(
    value: str, wire: str
) -> None:
    assert wire_decimal(D(value)) == wire


def test_times_go_on_the_wire_in_utc_and_naive_times_are_refused() -> None:
    paris = timezone(timedelta(hours=1))
    event = MarketQuote("ES 12-26", D(1), D(2), datetime(2026, 11, 20, 16, 30, 0, 5, tzinfo=paris))
    assert to_wire(event)["at"] == "2026-11-20T15:30:00.000005Z"
    naive = MarketQuote("ES 12-26", D(1), D(2), datetime(2026, 11, 20, 15, 30))  # noqa: DTZ001
    with pytest.raises(ValueError, match="naive"):
        to_wire(naive)
    assert datetime.fromisoformat(to_wire(quote())["at"]) == NOW.astimezone(UTC)
