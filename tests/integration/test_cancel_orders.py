"""Bulk cancel: the contract of DESIGN.md, on SQLite and PostgreSQL."""

import asyncio
from dataclasses import dataclass
from decimal import Decimal

import pytest

from ordergate.domain.commands import CancelOrder, CancelOrders, ChangeOrder
from ordergate.domain.errors import AccountNotFound, InstrumentNotFound, PermissionDenied
from ordergate.domain.orders import OrderStatus as S
from ordergate.domain.orders import Side
from ordergate.domain.positions import Fill
from ordergate.domain.reports import FailureCode
from ordergate.engine import Batch, Journal, queries
from ordergate.engine.writer import EngineStopped
from ordergate.venue.base import Filled
from tests.builders import NOW, events_of, limit, market, memory, snapshot, world
from tests.invariants import violations

D = Decimal
SLOW = 60_000  # ms: long enough that the venue never answers within a test


async def mixed_book(w):
    """One order in each state bulk cancel must tell apart; returns them by state."""
    working = await w.engine.place(w.me, limit(price="4990"))
    partial = await w.engine.place(w.me, limit(price="4989", qty="3"))
    filled = await w.engine.place(w.me, market())
    cancelled = await w.engine.place(w.me, limit(price="4980"))
    other_symbol = await w.engine.place(w.me, limit(price="17000", symbol="NQ 12-26"))
    changing = await w.engine.place(w.me, limit(price="4970"))
    cancelling = await w.engine.place(w.me, limit(price="4960"))
    theirs = await w.engine.place(
        w.me.__class__(user_id=2, role=w.me.role), limit(account_ref=2002)
    )
    await w.engine.settle()
    await w.engine.on_venue_reports([Filled(partial.ticket, D("1"), D("4989"), NOW)])
    await w.engine.cancel(w.me, CancelOrder(account=1001, order=cancelled.id))
    await w.engine.settle()
    w.venue.ack_delay_ms = w.venue.cancel_delay_ms = SLOW
    submitted = await w.engine.place(w.me, limit(price="4950"))
    await w.engine.change(w.me, ChangeOrder(account=1001, order=changing.id, limit_price=D("4971")))
    await w.engine.cancel(w.me, CancelOrder(account=1001, order=cancelling.id))
    return {
        "working": working,
        "partial": partial,
        "filled": filled,
        "cancelled": cancelled,
        "other_symbol": other_symbol,
        "changing": changing,
        "cancelling": cancelling,
        "submitted": submitted,
        "theirs": theirs,
    }


async def status_of(w, order, login=1001):
    principal = w.me if login == 1001 else w.admin
    return (await queries.get_order(w.engine, principal, login, order.id)).status


async def test_cancel_orders_reports_every_matched_order_accepted_or_failed(store):
    w = await world(store)
    book = await mixed_book(w)
    assert await status_of(w, book["partial"]) is S.PARTIALLY_FILLED

    report = await w.engine.cancel_orders(w.me, CancelOrders(account="SIM101", symbol="ES 12-26"))

    accepted = {a.order_id: a for a in report.accepted}
    failures = {f.order_id: f for f in report.failures}
    assert set(accepted) == {book["working"].id, book["partial"].id}
    assert accepted[book["working"].id].prior_status is S.WORKING
    assert accepted[book["partial"].id].prior_status is S.PARTIALLY_FILLED
    assert accepted[book["partial"].id].remaining == D("2")
    assert {k: (f.code, f.status) for k, f in failures.items()} == {
        book["submitted"].id: (FailureCode.ORDER_LOCKED, S.SUBMITTED),
        book["changing"].id: (FailureCode.ORDER_LOCKED, S.PENDING_CHANGE),
        book["cancelling"].id: (FailureCode.ALREADY_PENDING_CANCEL, S.PENDING_CANCEL),
    }
    assert (report.matched, report.cancelled, report.failed) == (5, 2, 3)
    for key in ("working", "partial"):
        assert await status_of(w, book[key]) is S.PENDING_CANCEL
        assert (await events_of(store, book[key].ticket))[-1][1:] == ("pending_cancel", "user:demo")
    for key, status in [
        ("submitted", S.SUBMITTED),
        ("changing", S.PENDING_CHANGE),
        ("filled", S.FILLED),
        ("cancelled", S.CANCELLED),
        ("other_symbol", S.WORKING),
    ]:
        assert await status_of(w, book[key]) is status
    await w.venue.close()


async def test_confirmed_bulk_cancel_ends_cancelled_with_the_whole_trail(store):
    w = await world(store)
    orders = [await w.engine.place(w.me, limit(price=str(4990 - i))) for i in range(5)]
    await w.engine.settle()
    report = await w.engine.cancel_orders(w.me, CancelOrders(account=1001))
    assert report.cancelled == 5
    await w.engine.settle()
    for o in orders:
        assert await status_of(w, o) is S.CANCELLED
        assert [e[:2] for e in await events_of(store, o.ticket)] == [
            (None, "submitted"),
            ("submitted", "working"),
            ("working", "pending_cancel"),
            ("pending_cancel", "cancelled"),
        ]
    assert w.venue.resting() == []


async def test_nothing_to_cancel_is_an_empty_report_not_an_error(store):
    w = await world(store)
    report = await w.engine.cancel_orders(w.me, CancelOrders(account=1001))
    assert (report.matched, report.accepted, report.failures) == (0, (), ())


async def test_market_closed_instrument_is_reported_as_venue_rejected(store):
    w = await world(store)
    es_order = await w.engine.place(w.me, limit(price="4990"))
    nq_order = await w.engine.place(w.me, limit(price="17000", symbol="NQ 12-26"))
    await w.engine.settle()
    w.venue.set_market_closed("NQ 12-26")
    report = await w.engine.cancel_orders(w.me, CancelOrders(account=1001))
    assert [a.order_id for a in report.accepted] == [es_order.id]
    (failure,) = report.failures
    assert (failure.order_id, failure.code, failure.reason) == (
        nq_order.id,
        FailureCode.VENUE_REJECTED,
        "market_closed",
    )
    assert await status_of(w, nq_order) is S.WORKING


async def test_venue_refusing_the_cancel_puts_the_order_back_with_an_event(store):
    w = await world(store)
    order = await w.engine.place(w.me, limit(price="4990"))
    await w.engine.settle()
    w.venue.refuse_cancels = "dealer busy"
    report = await w.engine.cancel_orders(w.me, CancelOrders(account=1001))
    assert report.cancelled == 1
    await w.engine.settle()
    assert await status_of(w, order) is S.WORKING
    assert [e[:2] for e in await events_of(store, order.ticket)][-2:] == [
        ("working", "pending_cancel"),
        ("pending_cancel", "working"),
    ]


async def test_cancel_losing_the_race_to_a_fill_ends_filled_only(store):
    w = await world(store)
    order = await w.engine.place(w.me, limit(price="4990"))
    await w.engine.settle()
    w.venue.cancel_delay_ms = 50
    await w.engine.cancel_orders(w.me, CancelOrders(account=1001))
    w.venue.set_quote("ES 12-26", D("4989.00"), D("4989.75"))  # fills before the cancel lands
    await w.advance(0.05)
    assert await status_of(w, order) is S.FILLED
    trail = [e[1] for e in await events_of(store, order.ticket)]
    assert trail[-2:] == ["pending_cancel", "filled"]
    assert "cancelled" not in trail


async def test_a_part_filled_while_the_bulk_cancel_is_on_its_way_is_still_cancelled(store):
    """The venue confirms a bulk cancel by its request id; a fill that lands first must not
    take that id from the order (it stayed pending_cancel for ever: the crash suite)."""
    w = await world(store)
    order = await w.engine.place(w.me, limit(price="4990", qty="3"))
    await w.engine.settle()
    w.venue.cancel_delay_ms = 50
    report = await w.engine.cancel_orders(w.me, CancelOrders(account=1001))
    assert [a.order_id for a in report.accepted] == [order.id]
    await w.engine.on_venue_reports([Filled(order.ticket, D("1"), D("4990"), NOW)])
    assert await status_of(w, order) is S.PENDING_CANCEL
    await w.advance(0.049)
    assert await status_of(w, order) is S.PENDING_CANCEL  # the venue has not answered yet
    await w.advance(0.001)
    final = await w.order(order.id)
    assert (final.status, final.filled) == (S.CANCELLED, D("1"))
    fill_event, cancel_event = (await events_of(store, order.ticket))[-2:]
    assert fill_event[:2] == ("pending_cancel", "pending_cancel")
    assert cancel_event[:2] == ("pending_cancel", "cancelled")


async def test_two_concurrent_bulk_cancels_never_cancel_an_order_twice_or_lose_one(store):
    w = await world(store)
    orders = [await w.engine.place(w.me, limit(price=str(4900 + (i % 80)))) for i in range(120)]
    await w.engine.settle()
    first, second = await asyncio.gather(
        w.engine.cancel_orders(w.me, CancelOrders(account=1001)),
        w.engine.cancel_orders(w.me, CancelOrders(account="sim101", symbol="ES 12-26")),
    )
    a = {x.order_id for x in first.accepted}
    b = {x.order_id for x in second.accepted}
    assert not a & b
    assert a | b == {o.id for o in orders}
    for report, others in ((first, b), (second, a)):
        assert {f.order_id for f in report.failures} <= others
        assert all(f.code is FailureCode.ALREADY_PENDING_CANCEL for f in report.failures)
    await w.engine.settle()
    for o in orders:
        trail = [e[1] for e in await events_of(store, o.ticket)]
        assert trail.count("pending_cancel") == 1
        assert trail[-1] == "cancelled"


@dataclass
class FailingMidBatch:
    """The real journal, but each batch carries one more row the database refuses (a fill of
    an order that does not exist), written after the batch's own: the transaction fails
    once the batch's statements have run, before its commit."""

    real: Journal

    async def append(self, batch: Batch) -> None:
        bad = Fill(99_999_999, 1001, "ES 12-26", Side.BUY, D(1), D(5000), NOW)  # type: ignore[arg-type]
        batch.fills.append(bad)
        await self.real.append(batch)

    async def load(self):  # type: ignore[no-untyped-def]
        return await self.real.load()

    async def close(self) -> None:
        await self.real.close()


async def test_a_failure_inside_the_batch_rolls_the_whole_batch_back(store):
    w = await world(store)
    for i in range(10):
        await w.engine.place(w.me, limit(price=str(4990 - i)))
    await w.engine.settle()
    before = await snapshot(store)
    w.engine.writer.journal = FailingMidBatch(w.engine.writer.journal)
    with pytest.raises(EngineStopped):
        await w.engine.cancel_orders(w.me, CancelOrders(account=1001))
    assert await snapshot(store) == before
    assert len(w.venue.resting()) == 10  # the venue was never told


@pytest.mark.parametrize(
    ("cmd", "error"),
    [
        (CancelOrders(account="nope"), AccountNotFound),
        (CancelOrders(account=999999), AccountNotFound),
        (CancelOrders(account=1001, symbol="XYZ"), InstrumentNotFound),
        (CancelOrders(account=2002), PermissionDenied),
        (CancelOrders(account="other", symbol="ES 12-26"), PermissionDenied),
    ],
)
async def test_bulk_cancel_refuses_bad_requests_and_changes_nothing(store, cmd, error):
    w = await world(store)
    await w.engine.place(w.me, limit(price="4990"))
    await w.engine.settle()
    before = (await snapshot(store), memory(w.engine))
    with pytest.raises(error):
        await w.engine.cancel_orders(w.me, cmd)
    assert (await snapshot(store), memory(w.engine)) == before


async def test_bulk_cancel_leaves_the_other_side_of_the_book_alone(store):
    w = await world(store)
    buy = await w.engine.place(w.me, limit(price="4990"))
    sell = await w.engine.place(w.me, limit(Side.SELL, price="5010", symbol="ES 12-26"))
    filled = await w.engine.place(w.me, market())
    await w.engine.settle()
    report = await w.engine.cancel_orders(w.me, CancelOrders(account=1001))
    assert {a.order_id for a in report.accepted} == {buy.id, sell.id}
    assert filled.id not in {f.order_id for f in report.failures}


class RecordingSink:
    """A hand-written event sink that keeps what the engine publishes."""

    active = True

    def __init__(self):
        self.events = []

    def publish(self, events):
        self.events.extend(events)


async def test_bulk_cancel_publishes_both_steps_of_every_order(store):
    w = await world(store)
    orders = [await w.engine.place(w.me, limit(price=str(4990 - i))) for i in range(3)]
    await w.engine.settle()
    w.engine.sink = sink = RecordingSink()
    await w.engine.cancel_orders(w.me, CancelOrders(account=1001))
    await w.engine.settle()
    steps = sorted((e.ticket, e.from_status, e.to_status) for e in sink.events)
    assert steps == sorted(
        step
        for o in orders
        for step in ((o.key, S.WORKING, S.PENDING_CANCEL), (o.key, S.PENDING_CANCEL, S.CANCELLED))
    )
    assert {e.order_id for e in sink.events} == {o.id for o in orders}


@dataclass(frozen=True)
class Garbled:
    """A report of a kind the engine does not know (a venue bug)."""

    ticket: int


async def test_a_report_the_order_cannot_take_does_not_cost_the_others_theirs(store):
    w = await world(store)
    first = await w.engine.place(w.me, limit(price="4990", qty="3"))
    second = await w.engine.place(w.me, limit(price="4989", qty="3"))
    await w.engine.settle()

    await w.engine.on_venue_reports(
        [
            Filled(first.ticket, D("5"), D("4990"), NOW),  # more than the order has left
            Filled(second.ticket, D("1"), D("4989"), NOW),
        ]
    )

    assert (await w.order(first.id)).filled == 0
    assert (await w.order(second.id)).filled == D("1")
    assert await violations(store, engine=w.engine) == []


async def test_a_report_of_an_unknown_kind_does_not_cost_the_others_theirs(store, caplog):
    w = await world(store)
    first = await w.engine.place(w.me, limit(price="4990", qty="3"))
    second = await w.engine.place(w.me, limit(price="4989", qty="3"))
    await w.engine.settle()

    await w.engine.on_venue_reports(
        [
            Filled(first.ticket, D("1"), D("4990"), NOW),
            Garbled(first.ticket),  # type: ignore[list-item]
            Filled(second.ticket, D("1"), D("4989"), NOW),
        ]
    )

    assert (await w.order(first.id)).filled == D("1")
    assert (await w.order(second.id)).filled == D("1")
    assert "Garbled" in caplog.text
    assert await violations(store, engine=w.engine) == []
