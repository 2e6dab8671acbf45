"""The one writer: commands that arrive together share one journal transaction, a lone
command is a commit of its own, each caller gets its own answer once the batch is
committed, a refused command changes nothing, and a journal that fails stops the engine;
on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from ordergate.domain.commands import CancelOrder, ChangeOrder, ClosePosition, Flatten
from ordergate.domain.errors import (
    AlreadyPendingCancel,
    InstrumentNotFound,
    InsufficientMargin,
    OrderLocked,
    OrderNotCancellable,
    OrderNotFound,
    PermissionDenied,
)
from ordergate.domain.orders import Order, OrderType, Side
from ordergate.domain.orders import OrderStatus as S
from ordergate.engine import Batch, Journal, Snapshot
from ordergate.engine.writer import EngineStopped
from ordergate.store import SqlStore
from ordergate.venue.base import Acknowledged, VenueReport
from tests.builders import events_of, limit, market, memory, snapshot, world
from tests.invariants import violations

D = Decimal
SLOW = 60_000  # ms: the venue never answers within the test


@dataclass
class Counting:
    """The real journal, keeping each batch it committed."""

    real: Journal
    committed: list[Batch] = field(default_factory=list)

    async def append(self, batch: Batch) -> None:
        await self.real.append(batch)
        self.committed.append(batch)

    async def load(self) -> Snapshot:
        return await self.real.load()

    async def close(self) -> None:
        await self.real.close()


@dataclass
class Gated(Counting):
    """A slow journal: each append waits until the test opens the gate."""

    entered: asyncio.Event = field(default_factory=asyncio.Event)
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    async def append(self, batch: Batch) -> None:
        self.entered.set()
        await self.gate.wait()
        await super().append(batch)


@dataclass
class Breakable(Counting):
    """A journal whose disk fills up when the test says so."""

    broken: bool = False

    async def append(self, batch: Batch) -> None:
        if self.broken:
            raise OSError("disk full")
        await super().append(batch)


class RecordingSink:
    """Keeps what the engine publishes, in order."""

    active = True

    def __init__(self) -> None:
        self.events: list[object] = []

    def publish(self, events: list[object]) -> None:
        self.events.extend(events)


async def counted(store: SqlStore, **kw: object):  # type: ignore[no-untyped-def]
    journal: Counting | None = None

    def wrap(real: Journal) -> Counting:
        nonlocal journal
        journal = Counting(real)
        return journal

    w = await world(store, journal=wrap, **kw)  # type: ignore[arg-type]
    assert journal is not None
    return w, journal


async def test_a_lone_command_is_one_commit(store):
    w, journal = await counted(store)

    await w.engine.place(w.me, limit(price="4990"))
    assert len(journal.committed) == 1
    await w.engine.place(w.me, limit(price="4991"))
    assert len(journal.committed) == 2


async def test_placements_that_arrive_together_share_one_commit(store):
    w, journal = await counted(store)
    batches = w.engine.writer.batches

    orders = await asyncio.gather(
        *(w.engine.place(w.me, limit(price=str(4900 + i))) for i in range(60))
    )

    assert len(journal.committed) == 1
    assert w.engine.writer.batches == batches + 1
    assert len(journal.committed[0].new_orders) == 60
    assert len({o.ticket for o in orders}) == 60
    assert [o.limit_price for o in orders] == [D(4900 + i) for i in range(60)]
    assert all(o.status is S.SUBMITTED for o in orders)
    await w.engine.settle()
    assert len(journal.committed) == 2  # the venue's acknowledgements, together too
    for order in orders:
        assert await w.status(order) is S.WORKING
        trail = [e[:2] for e in await events_of(store, order.ticket)]
        assert trail == [(None, "submitted"), ("submitted", "working")]


async def test_each_caller_is_answered_its_own_result_or_refusal(store):
    w, journal = await counted(store)
    resting = await w.engine.place(w.me, limit(price="4980", qty="2"))
    await w.engine.settle()
    w.venue.ack_delay_ms = w.venue.cancel_delay_ms = SLOW
    committed = len(journal.committed)

    answers = await asyncio.gather(
        w.engine.place(w.me, limit(price="4990")),
        w.engine.place(w.me, limit(account_ref=2002)),  # not this trader's account
        w.engine.change(w.me, ChangeOrder(account=1001, order=resting.id, quantity=D(3))),
        w.engine.place(w.me, limit(symbol="NOPE")),
        w.engine.cancel(w.me, CancelOrder(account=1001, order="f" * 32)),
        w.engine.place(w.me, limit(price="4991")),
        return_exceptions=True,
    )

    assert len(journal.committed) == committed + 1
    first, theirs, changed, unknown, missing, second = answers
    assert isinstance(first, Order)
    assert isinstance(second, Order)
    assert (first.limit_price, second.limit_price) == (D("4990"), D("4991"))
    assert isinstance(theirs, PermissionDenied)
    assert isinstance(changed, Order)
    assert (changed.key, changed.status, changed.quantity) == (resting.key, S.PENDING_CHANGE, 3)
    assert isinstance(unknown, InstrumentNotFound)
    assert isinstance(missing, OrderNotFound)
    assert set(journal.committed[-1].new_orders) == {first.key, second.key}


async def test_a_refused_command_changes_nothing(store):
    w, journal = await counted(store)
    await w.engine.place(w.me, limit(price="4990"))
    await w.engine.settle()
    committed = len(journal.committed)
    before = (await snapshot(store), memory(w.engine))

    with pytest.raises(InsufficientMargin):
        await w.engine.place(w.me, limit(price="4990", qty="400"))

    assert (await snapshot(store), memory(w.engine)) == before
    assert len(journal.committed) == committed  # nothing to write, no transaction


async def test_refused_commands_in_a_batch_leave_no_trace_of_their_own(store):
    w = await world(store, ack_delay_ms=SLOW)
    before = await snapshot(store)

    answers = await asyncio.gather(
        w.engine.place(w.me, limit(price="4990")),
        w.engine.place(w.me, limit(price="4990", qty="400")),  # no margin for it
        w.engine.place(w.me, limit(account_ref=2002)),
        return_exceptions=True,
    )

    assert isinstance(answers[1], InsufficientMargin)
    assert isinstance(answers[2], PermissionDenied)
    after = await snapshot(store)
    assert after["counts"]["orders"] == before["counts"]["orders"] + 1  # type: ignore[index]
    assert after["counts"]["order_events"] == before["counts"]["order_events"] + 1  # type: ignore[index]
    assert [o.key for o in w.engine.state.open_orders(1001)] == [answers[0].key]  # type: ignore[arg-type, union-attr]


async def test_a_refused_flatten_changes_nothing(store):
    """Flatten cancels the working orders, then closes the positions; refused at the close
    (a close of the ticket is already on its way), it must not have cancelled anything."""
    w = await world(store)
    bought = await w.engine.place(w.me, market(qty="2"))
    await w.engine.place(w.me, limit(price="4990"))
    await w.engine.settle()
    w.venue.ack_delay_ms = SLOW
    await w.engine.close_position(w.me, ClosePosition(account=1001, ticket=bought.key))
    before = (await snapshot(store), memory(w.engine))

    with pytest.raises(OrderLocked):
        await w.engine.flatten(w.me, Flatten(account=1001))

    assert (await snapshot(store), memory(w.engine)) == before


async def test_callers_are_answered_only_after_the_commit(store):
    journal: Gated | None = None

    def wrap(real: Journal) -> Gated:
        nonlocal journal
        journal = Gated(real)
        journal.gate.set()
        return journal

    w = await world(store, journal=wrap)
    assert journal is not None
    w.engine.sink = sink = RecordingSink()  # type: ignore[assignment]
    journal.gate.clear()
    journal.entered.clear()
    before = await snapshot(store)

    placing = asyncio.create_task(w.engine.place(w.me, limit(price="4990")))
    await journal.entered.wait()  # the batch is being written...

    assert not placing.done()  # ...and nobody has been answered,
    assert sink.events == []  # nothing published,
    assert await snapshot(store) == before  # nothing committed
    journal.gate.set()
    order = await placing
    assert order.status is S.SUBMITTED
    assert [(e.ticket, e.to_status) for e in sink.events] == [(order.key, S.SUBMITTED)]  # type: ignore[attr-defined]
    await w.engine.settle()  # and the venue got it once committed
    assert w.venue.resting() == [order.key]


async def test_a_journal_failure_stops_the_engine(store):
    journal: Breakable | None = None

    def wrap(real: Journal) -> Breakable:
        nonlocal journal
        journal = Breakable(real)
        return journal

    w = await world(store, journal=wrap)
    assert journal is not None
    resting = await w.engine.place(w.me, limit(price="4980"))
    await w.engine.settle()
    w.engine.sink = sink = RecordingSink()  # type: ignore[assignment]
    before = await snapshot(store)
    journal.broken = True

    answers = await asyncio.gather(
        *(w.engine.place(w.me, limit(price=str(4990 + i))) for i in range(3)),
        w.engine.cancel(w.me, CancelOrder(account=1001, order=resting.id)),
        return_exceptions=True,
    )

    assert [type(a) for a in answers] == [EngineStopped] * 4
    assert isinstance(answers[0].__cause__, OSError)  # type: ignore[union-attr]
    assert isinstance(w.engine.writer.stopped, OSError)
    journal.broken = False  # the disk is back: the engine still takes nothing
    with pytest.raises(EngineStopped):
        await w.engine.place(w.me, limit(price="4970"))
    with pytest.raises(EngineStopped):
        await w.engine.cancel(w.me, CancelOrder(account=1001, order=resting.id))
    await w.engine.settle()
    assert await snapshot(store) == before
    assert sink.events == []
    assert w.venue.resting() == [resting.key]  # the venue was told nothing


async def test_the_margin_check_counts_the_orders_earlier_in_the_same_batch(store):
    w = await world(store)
    # 300 ES at 4990 needs 300 * 4990 * 50 / 100 = 748,500 of the 1,000,000 balance:
    # each fits alone, two do not.
    answers = await asyncio.gather(
        *(w.engine.place(w.me, limit(price="4990", qty="300")) for _ in range(2)),
        return_exceptions=True,
    )
    assert isinstance(answers[0], Order)
    assert isinstance(answers[1], InsufficientMargin)


@pytest.mark.parametrize("late", [1, 5])
async def test_an_acknowledgement_of_an_order_that_moved_on_is_dropped_alone(store, late):
    w = await world(store)
    orders = [await w.engine.place(w.me, limit(price=str(4900 + i))) for i in range(late + 2)]
    await w.engine.settle()  # all working now
    w.venue.ack_delay_ms = SLOW
    fresh = await w.engine.place(w.me, limit(price="4800"))

    await w.engine.on_venue_reports(
        [Acknowledged(o.ticket, live=True) for o in orders[:late]]
        + [Acknowledged(fresh.ticket, live=True)]
    )

    assert await w.status(fresh) is S.WORKING
    trail = [e[:2] for e in await events_of(store, orders[0].ticket)]
    assert trail == [(None, "submitted"), ("submitted", "working")]
    assert await violations(store, engine=w.engine) == []


async def test_reports_placements_and_cancels_that_arrive_together_share_one_commit(store):
    """Applied, journaled and published in the order they arrived: the venue's
    acknowledgements first, so the cancel of an order they acknowledge is not locked."""
    w, journal = await counted(store)
    working = await w.engine.place(w.me, limit(price="4800"))
    await w.engine.settle()
    w.venue.cancel_delay_ms = SLOW  # the cancels stay pending: what the batch did shows
    in_flight: list[VenueReport] = []  # the venue's acknowledgements, held on their way

    class Held:
        async def on_venue_reports(self, reports: list[VenueReport]) -> None:
            in_flight.extend(reports)

    w.venue.bind(Held())  # type: ignore[arg-type]
    submitted = [await w.engine.place(w.me, limit(price=str(4900 + i))) for i in range(3)]
    await w.venue.drain()
    w.venue.bind(w.engine)
    w.venue.ack_delay_ms = SLOW  # nor answers the next placement
    assert len(in_flight) == 3
    w.engine.sink = sink = RecordingSink()  # type: ignore[assignment]
    committed = len(journal.committed)

    acked, cancelled, cancelled_too, placed = await asyncio.gather(
        w.engine.on_venue_reports(in_flight),
        w.engine.cancel(w.me, CancelOrder(account=1001, order=working.id)),
        w.engine.cancel(w.me, CancelOrder(account=1001, order=submitted[0].id)),
        w.engine.place(w.me, limit(price="4700")),
    )

    assert len(journal.committed) == committed + 1
    assert acked is None
    assert (cancelled.status, cancelled_too.status) == (S.PENDING_CANCEL, S.PENDING_CANCEL)
    assert placed.status is S.SUBMITTED
    assert [e[:2] for e in await events_of(store, submitted[0].ticket)] == [
        (None, "submitted"),
        ("submitted", "working"),
        ("working", "pending_cancel"),
    ]
    for order in submitted[1:]:
        assert await w.status(order) is S.WORKING
    assert [(e.ticket, e.to_status) for e in sink.events] == [  # type: ignore[attr-defined]
        *((o.ticket, S.WORKING) for o in submitted),
        (working.ticket, S.PENDING_CANCEL),
        (submitted[0].ticket, S.PENDING_CANCEL),
        (placed.ticket, S.SUBMITTED),
    ]


async def test_cancels_that_arrive_together_share_one_commit(store):
    w, journal = await counted(store)
    orders = await asyncio.gather(
        *(w.engine.place(w.me, limit(price=str(4900 + i))) for i in range(30))
    )
    theirs = await w.engine.place(w.admin, limit(account_ref=2002))
    await w.engine.settle()
    w.venue.cancel_delay_ms = SLOW
    committed = len(journal.committed)

    answers = await asyncio.gather(
        *(w.engine.cancel(w.me, CancelOrder(account=1001, order=o.id)) for o in orders),
        w.engine.cancel(w.me, CancelOrder(account=1001, order=orders[0].id)),  # twice
        w.engine.cancel(w.me, CancelOrder(account=1001, order=theirs.id)),  # not in 1001
        return_exceptions=True,
    )

    assert len(journal.committed) == committed + 1
    assert [a.status for a in answers[:30]] == [S.PENDING_CANCEL] * 30  # type: ignore[union-attr]
    assert isinstance(answers[30], AlreadyPendingCancel)
    assert isinstance(answers[31], OrderNotFound)
    assert await w.status(theirs) is S.WORKING
    for order in orders:
        trail = [e[:2] for e in await events_of(store, order.ticket)]
        assert trail == [
            (None, "submitted"),
            ("submitted", "working"),
            ("working", "pending_cancel"),
        ]


async def test_the_venue_confirmations_of_many_cancels_are_one_commit(store):
    w, journal = await counted(store)
    orders = await asyncio.gather(
        *(w.engine.place(w.me, limit(price=str(4900 + i))) for i in range(30))
    )
    await w.engine.settle()
    w.venue.cancel_delay_ms = 20  # the 30 confirmations fall due together
    await asyncio.gather(
        *(w.engine.cancel(w.me, CancelOrder(account=1001, order=o.id)) for o in orders)
    )
    committed = len(journal.committed)

    await w.advance(0.02)

    assert len(journal.committed) == committed + 1
    for order in orders:
        assert await w.status(order) is S.CANCELLED
        trail = [e[:2] for e in await events_of(store, order.ticket)]
        assert trail[-2:] == [("working", "pending_cancel"), ("pending_cancel", "cancelled")]


async def test_cancels_that_name_no_account_act_on_their_orders_own(store):
    """``CancelOrder(account=None)``: an order of an account the caller may not act on is
    answered as an unknown one; the admin's cancel of it, later in the batch, is accepted."""
    w = await world(store)
    mine = await asyncio.gather(
        *(w.engine.place(w.me, limit(price=str(4900 + i))) for i in range(20))
    )
    theirs = await w.engine.place(w.admin, limit(account_ref=2002))
    await w.engine.settle()
    w.venue.cancel_delay_ms = SLOW

    answers = await asyncio.gather(
        *(w.engine.cancel(w.me, CancelOrder(account=None, order=o.key)) for o in mine[:10]),
        *(w.engine.cancel(w.me, CancelOrder(account=None, order=o.id)) for o in mine[10:]),
        w.engine.cancel(w.me, CancelOrder(account=None, order=theirs.key)),
        w.engine.cancel(w.me, CancelOrder(account=None, order=99_999_999)),
        w.engine.cancel(w.admin, CancelOrder(account=None, order=theirs.id)),
        return_exceptions=True,
    )

    assert [a.status for a in answers[:20]] == [S.PENDING_CANCEL] * 20  # type: ignore[union-attr]
    assert [a.login for a in answers[:20]] == [1001] * 20  # type: ignore[union-attr]
    assert isinstance(answers[20], OrderNotFound)
    assert str(answers[20]) == f"ticket {theirs.key} not found"  # not: someone else's
    assert isinstance(answers[21], OrderNotFound)
    assert str(answers[21]) == "ticket 99999999 not found"
    assert answers[22].status is S.PENDING_CANCEL  # type: ignore[union-attr]


async def test_a_cancel_of_resting_orders_only_refuses_a_market_order_however_it_stands(store):
    """``resting_only``: a market order still working (its fill is late) is refused and
    stays as it was; a resting limit order in the same batch is cancelled."""
    w = await world(store)
    w.venue.config.set(fill_delay_ms=SLOW)  # acknowledged now, filled a minute later
    working = await w.engine.place(w.me, market(side=Side.BUY))
    resting = await w.engine.place(w.me, limit(price="4900"))
    await w.engine.settle()
    assert [await w.status(o) for o in (working, resting)] == [S.WORKING, S.WORKING]
    assert working.type is OrderType.MARKET
    w.venue.cancel_delay_ms = SLOW

    answers = await asyncio.gather(
        w.engine.cancel(w.me, CancelOrder(account=None, order=working.key, resting_only=True)),
        w.engine.cancel(w.me, CancelOrder(account=1001, order=resting.key, resting_only=True)),
        return_exceptions=True,
    )

    assert isinstance(answers[0], OrderNotCancellable)
    assert "market order" in str(answers[0])
    assert answers[1].status is S.PENDING_CANCEL  # type: ignore[union-attr]
    assert await w.status(working) is S.WORKING
    trail = [e[:2] for e in await events_of(store, working.ticket)]
    assert trail == [(None, "submitted"), ("submitted", "working")]
