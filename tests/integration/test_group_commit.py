"""Group commit: placements, cancels and the venue's acknowledgements that arrive together
share one transaction; on SQLite and PostgreSQL."""

import asyncio
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest

from ordergate.domain.errors import InstrumentNotFound, InsufficientMargin, PermissionDenied
from ordergate.domain.orders import OrderStatus as S
from ordergate.store.orders import SqlOrderRepository
from tests.builders import events_of, eventually, limit, snapshot, statements_run, world

D = Decimal


def count_writes(store, monkeypatch):
    """How many write transactions ``store`` opens from now on, and how many of them the
    engine said were brief."""
    opened = {"writes": 0, "brief": 0}
    transaction = store.transaction

    @asynccontextmanager
    async def counted(*, readonly=False, brief=False):
        opened["writes"] += not readonly
        opened["brief"] += brief
        async with transaction(readonly=readonly, brief=brief) as tx:
            yield tx

    monkeypatch.setattr(store, "transaction", counted)
    return opened


async def test_placements_that_arrive_together_share_one_transaction(store, monkeypatch):
    w = await world(store)
    opened = count_writes(store, monkeypatch)
    orders = await asyncio.gather(
        *(w.engine.place(w.me, limit(price=str(4900 + i))) for i in range(60))
    )
    # The first placement goes alone (nobody was waiting); the other 59 queue behind it.
    assert opened["writes"] <= 3
    assert len({o.ticket for o in orders}) == 60
    assert all(o.status is S.SUBMITTED for o in orders)
    before_acks = opened["writes"]
    await w.engine.settle()
    assert opened["writes"] - before_acks <= 3  # the acknowledgements, together too
    assert opened["brief"] == opened["writes"]  # each writes a few rows (Store.transaction)
    for order in orders:
        assert (await w.engine.get_order(w.me, 1001, order.id)).status is S.WORKING
        trail = [e[:2] for e in await events_of(store, order.ticket)]
        assert trail == [(None, "submitted"), ("submitted", "working")]


async def test_a_batch_of_placements_is_two_statements_and_each_order_gets_its_ticket(
    store, monkeypatch
):
    w = await world(store)
    with statements_run(store, monkeypatch) as seen:
        orders = await asyncio.gather(
            *(w.engine.place(w.me, limit(price=str(4900 + i))) for i in range(40))
        )
    inserts = [s.split("(")[0].strip() for s in seen if s.startswith("INSERT")]
    # The first placement goes alone; the rest make one or two batches: an INSERT of the
    # orders and one of their events each, not one per order.
    assert 1 <= inserts.count("INSERT INTO orders") <= 3
    assert 1 <= inserts.count("INSERT INTO order_events") <= 3
    for order in orders:  # each ticket is the row of that order
        stored = await w.engine.get_order(w.me, 1001, order.id)
        assert (stored.ticket, stored.limit_price) == (order.ticket, order.limit_price)


async def test_a_refused_placement_refuses_nobody_else_and_changes_nothing(store):
    w = await world(store)
    before = await snapshot(store)
    answers = await asyncio.gather(
        w.engine.place(w.me, limit(price="4990")),
        w.engine.place(w.me, limit(account_ref=2002)),  # not this trader's account
        w.engine.place(w.me, limit(price="4991")),
        w.engine.place(w.me, limit(symbol="NOPE")),
        return_exceptions=True,
    )
    assert isinstance(answers[1], PermissionDenied)
    assert isinstance(answers[3], InstrumentNotFound)
    placed = [answers[0], answers[2]]
    assert [o.limit_price for o in placed] == [D("4990"), D("4991")]
    after = await snapshot(store)
    assert len(after["orders"]) == len(before["orders"]) + 2  # type: ignore[arg-type]


async def test_the_margin_check_counts_the_orders_earlier_in_the_same_batch(store):
    w = await world(store)
    # 300 ES at 4990 needs 300 * 4990 * 50 / 100 = 748,500 of the 1,000,000 balance:
    # each fits alone, two do not.
    answers = await asyncio.gather(
        *(w.engine.place(w.me, limit(price="4990", qty="300")) for _ in range(2)),
        return_exceptions=True,
    )
    assert sorted(type(a).__name__ for a in answers) == ["InsufficientMargin", "Order"]
    assert any(isinstance(a, InsufficientMargin) for a in answers)


async def test_a_batch_the_database_refuses_is_placed_one_by_one(store, monkeypatch):
    w = await world(store)
    await w.engine.place(w.me, limit(price="4900"))  # warm: the next ones queue together
    add_many = SqlOrderRepository.add_many
    failures = []

    async def once_broken(self, placed):
        if len(placed) > 1 and not failures:
            failures.append(len(placed))
            raise ConnectionError("the database went away for a moment")
        await add_many(self, placed)

    monkeypatch.setattr(SqlOrderRepository, "add_many", once_broken)
    orders = await asyncio.gather(
        *(w.engine.place(w.me, limit(price=str(4901 + i))) for i in range(10))
    )
    assert failures
    assert failures[0] > 1
    assert len({o.ticket for o in orders}) == 10
    await w.engine.settle()
    for order in orders:
        assert (await w.engine.get_order(w.me, 1001, order.id)).status is S.WORKING


@pytest.mark.parametrize("late", [1, 5])
async def test_an_acknowledgement_of_an_order_that_moved_on_is_dropped_alone(store, late):
    from ordergate.venue.base import Acknowledged

    w = await world(store)
    orders = [await w.engine.place(w.me, limit(price=str(4900 + i))) for i in range(late + 2)]
    await w.engine.settle()  # all working now
    w.venue.ack_delay_ms = 60_000  # the venue will not answer by itself
    fresh = await w.engine.place(w.me, limit(price="4800"))
    await w.engine.on_venue_reports(
        [Acknowledged(o.ticket, live=True) for o in orders[:late]]
        + [Acknowledged(fresh.ticket, live=True)]
    )
    assert (await w.engine.get_order(w.me, 1001, fresh.id)).status is S.WORKING
    trail = [e[:2] for e in await events_of(store, orders[0].ticket)]
    assert trail == [(None, "submitted"), ("submitted", "working")]


async def test_acknowledgements_placements_and_cancels_that_arrive_together_share_one_transaction(
    store, monkeypatch
):
    """Under load the venue's acknowledgements of one batch arrive while the next is being
    written: they go in one transaction with the placements and cancels queued then,
    applied first (they happened at the venue already). Where the store writes one
    transaction at a time (SQLite); PostgreSQL writes the three kinds side by side."""
    from ordergate.domain.commands import CancelOrder

    if not store.serial_writes:
        pytest.skip("PostgreSQL writes placements, cancels and acknowledgements side by side")

    w = await world(store)
    working = await w.engine.place(w.me, limit(price="4800"))
    await w.engine.settle()
    w.venue.cancel_delay_ms = 60_000  # the cancels stay pending: what the batch did shows
    in_flight = []  # the venue's acknowledgements, held back on their way to the engine

    class Held:
        async def on_venue_reports(self, reports):
            in_flight.extend(reports)

    w.venue.bind(Held())  # type: ignore[arg-type]
    submitted = [await w.engine.place(w.me, limit(price=str(4900 + i))) for i in range(3)]
    await w.venue.drain()
    w.venue.bind(w.engine)
    w.venue.ack_delay_ms = 60_000  # nor answers the next placement while this runs
    assert len(in_flight) == 3
    published: list[tuple[int | None, str]] = []

    class Sink:
        active = True

        def publish(self, events):
            published.extend((e.ticket, e.to_status) for e in events)

    w.engine.sink = Sink()  # type: ignore[assignment]
    opened = count_writes(store, monkeypatch)
    placed, acked, cancelled, cancelled_too = await asyncio.gather(
        w.engine.place(w.me, limit(price="4700")),
        w.engine.on_venue_reports(in_flight),
        w.engine.cancel(w.me, CancelOrder(account=1001, order=working.id)),
        # acknowledged in the same transaction, before its cancel is checked: not locked
        w.engine.cancel(w.me, CancelOrder(account=1001, order=submitted[0].id)),
    )
    assert opened["writes"] == 1
    assert acked is None
    assert placed.status is S.SUBMITTED
    assert (cancelled.status, cancelled_too.status) == (S.PENDING_CANCEL, S.PENDING_CANCEL)
    assert [e[:2] for e in await events_of(store, submitted[0].ticket)] == [
        (None, "submitted"),
        ("submitted", "working"),
        ("working", "pending_cancel"),
    ]
    for order in submitted[1:]:
        assert (await w.engine.get_order(w.me, 1001, order.id)).status is S.WORKING
    # Published once committed, in the order applied: the run, the cancels, the placement.
    assert sorted(published[:3]) == sorted((o.ticket, S.WORKING) for o in submitted)
    assert published[3:] == [
        (working.ticket, S.PENDING_CANCEL),
        (submitted[0].ticket, S.PENDING_CANCEL),
        (placed.ticket, S.SUBMITTED),
    ]


async def test_cancels_that_arrive_together_share_one_transaction(store, monkeypatch):
    from ordergate.domain.commands import CancelOrder
    from ordergate.domain.errors import AlreadyPendingCancel, OrderNotFound

    w = await world(store)
    orders = await asyncio.gather(
        *(w.engine.place(w.me, limit(price=str(4900 + i))) for i in range(30))
    )
    theirs = await w.engine.place(w.admin, limit(account_ref=2002))
    await w.engine.settle()
    w.venue.cancel_delay_ms = 60_000  # the cancels stay pending: what the batch did shows
    opened = count_writes(store, monkeypatch)
    answers = await asyncio.gather(
        *(w.engine.cancel(w.me, CancelOrder(account=1001, order=o.id)) for o in orders),
        w.engine.cancel(w.me, CancelOrder(account=1001, order=orders[0].id)),  # twice
        w.engine.cancel(w.me, CancelOrder(account=1001, order=theirs.id)),  # not in 1001
        return_exceptions=True,
    )
    assert opened["writes"] <= 3
    assert opened["brief"] == opened["writes"]
    assert [a.status for a in answers[:30]] == [S.PENDING_CANCEL] * 30  # type: ignore[union-attr]
    assert isinstance(answers[30], AlreadyPendingCancel)
    assert isinstance(answers[31], OrderNotFound)
    assert (await w.engine.get_order(w.admin, 2002, theirs.id)).status is S.WORKING
    for order in orders:
        trail = [e[:2] for e in await events_of(store, order.ticket)]
        assert trail[-1] == ("working", "pending_cancel")
        assert len(trail) == 3


async def test_the_venue_confirmations_of_many_cancels_are_applied_together(store, monkeypatch):
    from ordergate.domain.commands import CancelOrder

    w = await world(store)
    orders = await asyncio.gather(
        *(w.engine.place(w.me, limit(price=str(4900 + i))) for i in range(30))
    )
    await w.engine.settle()
    w.venue.cancel_delay_ms = 20  # the 30 confirmations fall due together
    await asyncio.gather(
        *(w.engine.cancel(w.me, CancelOrder(account=1001, order=o.id)) for o in orders)
    )
    opened = count_writes(store, monkeypatch)
    await w.engine.settle()
    assert opened["writes"] <= 2
    assert opened["brief"] == opened["writes"]  # 30 orders: a few rows
    for order in orders:
        assert (await w.engine.get_order(w.me, 1001, order.id)).status is S.CANCELLED
        trail = [e[:2] for e in await events_of(store, order.ticket)]
        assert trail[-2:] == [("working", "pending_cancel"), ("pending_cancel", "cancelled")]


@pytest.mark.parametrize(("brief_reports", "brief"), [(9, False), (10, True)])
async def test_a_confirmation_of_more_orders_than_brief_reports_is_not_brief(
    store, monkeypatch, brief_reports, brief
):
    # A bulk cancel's confirmation names its orders by count: over BRIEF_REPORTS, the
    # statements that move them go to the connection's thread (Store.transaction).
    from ordergate.domain.commands import CancelOrders
    from ordergate.engine import service
    from ordergate.venue.base import CancelConfirmed

    w = await world(store)
    await asyncio.gather(*(w.engine.place(w.me, limit(price=str(4900 + i))) for i in range(10)))
    await w.engine.settle()
    confirmed = []
    on_cancel = w.venue._on_cancel

    def seen(*args):
        reports = on_cancel(*args)
        confirmed.extend(r.orders for r in reports if isinstance(r, CancelConfirmed))
        return reports

    monkeypatch.setattr(w.venue, "_on_cancel", seen)
    monkeypatch.setattr(service, "BRIEF_REPORTS", brief_reports)
    opened = count_writes(store, monkeypatch)
    report = await w.engine.cancel_orders(w.me, CancelOrders(account=1001))
    await w.engine.settle()
    assert report.cancelled == 10
    assert confirmed == [10]
    assert opened["brief"] == int(brief)  # the confirmation's; the bulk cancel's own is not


async def test_a_batch_of_cancels_reads_and_writes_its_orders_in_a_few_statements(
    store, monkeypatch
):
    from ordergate.domain.commands import CancelOrder
    from ordergate.domain.errors import AlreadyPendingCancel

    w = await world(store)
    mine = await asyncio.gather(
        *(w.engine.place(w.me, limit(price=str(4900 + i))) for i in range(40))
    )
    theirs = await asyncio.gather(
        *(w.engine.place(w.admin, limit(price=str(4800 + i), account_ref=2002)) for i in range(5))
    )
    await w.engine.settle()
    w.venue.cancel_delay_ms = 60_000  # the cancels stay pending: what the batch did shows
    with statements_run(store, monkeypatch) as seen:
        answers = await asyncio.gather(
            # by id and by ticket, two accounts, and one order named both ways
            *(w.engine.cancel(w.me, CancelOrder(account=1001, order=o.id)) for o in mine[:20]),
            *(w.engine.cancel(w.me, CancelOrder(account=1001, order=o.key)) for o in mine[20:]),
            *(w.engine.cancel(w.admin, CancelOrder(account=2002, order=o.id)) for o in theirs),
            w.engine.cancel(w.me, CancelOrder(account=1001, order=mine[3].key)),
            return_exceptions=True,
        )
    statements: list[str] = []
    for statement in seen:
        if "FROM orders" in statement and statement.startswith("SELECT"):
            statements.append("SELECT orders")
        elif statement.startswith(("UPDATE orders", "INSERT INTO order_events")):
            statements.append(statement.split(" SET")[0].split(" (")[0])
    assert [a.status for a in answers[:45]] == [S.PENDING_CANCEL] * 45  # type: ignore[union-attr]
    assert isinstance(answers[45], AlreadyPendingCancel)
    # The first cancel goes alone; the rest make one or two batches, each a read per account
    # and two writes, not three statements per cancel.
    assert statements.count("SELECT orders") <= 2 + 2 * 2
    assert 1 <= statements.count("UPDATE orders") <= 3
    assert 1 <= statements.count("INSERT INTO order_events") <= 3
    for order in (*mine, *theirs):
        trail = [e[:2] for e in await events_of(store, order.ticket)]
        assert trail[-1] == ("working", "pending_cancel")
        assert len(trail) == 3


async def test_cancels_that_name_no_account_act_on_their_orders_own_found_once_a_batch(
    store, monkeypatch
):
    """``CancelOrder(account=None)``: each order's account is read for the whole batch in one
    statement; an order of an account the caller may not act on is answered as an unknown
    one (the admin's cancel of it, later in the batch, is accepted)."""
    from ordergate.domain.commands import CancelOrder
    from ordergate.domain.errors import OrderNotFound

    w = await world(store)
    mine = await asyncio.gather(
        *(w.engine.place(w.me, limit(price=str(4900 + i))) for i in range(20))
    )
    theirs = await w.engine.place(w.admin, limit(account_ref=2002))
    await w.engine.settle()
    w.venue.cancel_delay_ms = 60_000  # the cancels stay pending: what the batch did shows
    with statements_run(store, monkeypatch) as seen:
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
    assert str(answers[20]) == f"ticket {theirs.key} not found"  # not: someone else's
    assert isinstance(answers[20], OrderNotFound)
    assert isinstance(answers[21], OrderNotFound)
    assert str(answers[21]) == "ticket 99999999 not found"
    assert answers[22].status is S.PENDING_CANCEL  # type: ignore[union-attr]
    owners = [s for s in seen if s.startswith("SELECT orders.id, orders.ticket, orders.login")]
    assert 1 <= len(owners) <= 3  # once a batch: the first cancel goes alone
    for order in mine:
        trail = [e[:2] for e in await events_of(store, order.ticket)]
        assert trail[-1] == ("working", "pending_cancel")
        assert len(trail) == 3


async def test_a_cancel_of_resting_orders_only_refuses_a_market_order_however_it_stands(store):
    """``resting_only``: a market order still working (its fill is late) is refused, and
    stays as it was; a resting limit order in the same batch is cancelled."""
    from ordergate.domain.commands import CancelOrder
    from ordergate.domain.errors import OrderNotCancellable
    from ordergate.domain.orders import OrderType, Side
    from tests.builders import market as market_order

    w = await world(store)
    w.venue.config.set(fill_delay_ms=60_000)  # acknowledged now, filled a minute later
    working = await w.engine.place(w.me, market_order(side=Side.BUY))
    resting = await w.engine.place(w.me, limit(price="4900"))

    async def both_working() -> bool:  # both acknowledgements stored (the fill stays owed)
        got = [await w.engine.get_order(w.me, 1001, o.id) for o in (working, resting)]
        return all(o.status is S.WORKING for o in got)

    await eventually(both_working)
    assert working.type is OrderType.MARKET
    w.venue.cancel_delay_ms = 60_000

    answers = await asyncio.gather(
        w.engine.cancel(w.me, CancelOrder(account=None, order=working.key, resting_only=True)),
        w.engine.cancel(w.me, CancelOrder(account=1001, order=resting.key, resting_only=True)),
        return_exceptions=True,
    )

    assert isinstance(answers[0], OrderNotCancellable)
    assert "market order" in str(answers[0])
    assert answers[1].status is S.PENDING_CANCEL  # type: ignore[union-attr]
    assert (await w.engine.get_order(w.me, 1001, working.id)).status is S.WORKING
    trail = [e[:2] for e in await events_of(store, working.ticket)]
    assert trail == [(None, "submitted"), ("submitted", "working")]
    await w.venue.close()  # the fill owed in a minute is not waited for
