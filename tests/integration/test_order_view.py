"""The order view over a real store (SQLite and PostgreSQL): a reader that raced a writer never
leaves the old order behind, a write in flight is never answered from memory, a rolled-back
write leaves nothing, and the engine without a view reads in one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from ordergate.domain.commands import CancelOrder
from ordergate.domain.errors import OrderNotFound
from ordergate.domain.ids import Login
from ordergate.domain.orders import Order, OrderStatus, Trigger
from ordergate.engine.orderview import OrderView
from ordergate.engine.service import OrderEngine
from ordergate.store import SqlStore, SqlTransaction
from ordergate.venue.sim import SimVenue
from tests.builders import World, limit, world

S = OrderStatus
SIM101 = Login(1001)


class PausedReads:
    """The store of ``world``, but each read of one order (not locked: ``get_order``'s)
    stops after the row is read, until ``go`` is set."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.read = asyncio.Event()
        self.go = asyncio.Event()

    @property
    def order_view(self) -> OrderView | None:
        return self.store.order_view

    @property
    def serial_writes(self) -> bool:
        return self.store.serial_writes

    @asynccontextmanager
    async def transaction(
        self, *, readonly: bool = False, brief: bool = False
    ) -> AsyncIterator[SqlTransaction]:
        async with self.store.transaction(readonly=readonly, brief=brief) as tx:
            real = tx.orders.get

            async def get(login: int, ref: Any, *, lock: bool = False) -> Order | None:
                found = await real(login, ref, lock=lock)
                if not lock:
                    self.read.set()
                    await self.go.wait()
                return found

            tx.orders.get = get  # type: ignore[method-assign]
            yield tx


async def working(w: World) -> Order:
    order = await w.engine.place(w.me, limit(price="4990"))
    await w.engine.settle()
    return order


def view_of(w: World) -> OrderView:
    assert w.engine.view is not None
    return w.engine.view


async def test_a_reader_that_read_before_a_commit_does_not_keep_the_old_order(store):
    w = await world(store)
    order = await working(w)
    w.venue.cancel_delay_ms = 60_000  # only the cancel request moves the order here
    paused = PausedReads(store)
    venue = SimVenue()
    reader = OrderEngine(paused, venue)  # type: ignore[arg-type]
    try:
        assert reader.view is view_of(w)
        reading = asyncio.create_task(reader.get_order(w.me, 1001, order.id))
        await paused.read.wait()  # it has read the working order; now a writer commits
        await w.engine.cancel(w.me, CancelOrder(account=1001, order=order.id))
        paused.go.set()
        assert (await reading).status is S.WORKING  # it overlapped the write: either is right
    finally:
        await venue.close()
    assert view_of(w).order(SIM101, order.id) is None
    assert (await w.engine.get_order(w.me, 1001, order.id)).status is S.PENDING_CANCEL


async def test_a_reader_that_read_while_a_write_was_in_flight_does_not_keep_it(store):
    w = await world(store)
    order = await working(w)
    paused = PausedReads(store)
    venue = SimVenue()
    reader = OrderEngine(paused, venue)  # type: ignore[arg-type]
    try:
        async with store.transaction() as tx:
            mine = await tx.orders.get(SIM101, order.id, lock=True)
            assert mine is not None
            version = mine.version
            step = mine.apply(Trigger.REQUEST_CANCEL, mine.updated_at, "test")
            await tx.orders.save(mine, [step], "test", "r1", expected_version=version)
            reading = asyncio.create_task(reader.get_order(w.me, 1001, order.id))
            await paused.read.wait()
            await tx.commit()
        paused.go.set()
        assert (await reading).status is S.WORKING
    finally:
        await venue.close()
    assert view_of(w).order(SIM101, order.id) is None
    assert (await w.engine.get_order(w.me, 1001, order.id)).status is S.PENDING_CANCEL


async def test_an_order_being_written_is_read_from_the_database_until_the_commit(store):
    w = await world(store)
    order = await working(w)
    assert (await w.engine.get_order(w.me, 1001, order.id)).status is S.WORKING
    assert view_of(w).order(SIM101, order.id) is not None
    async with store.transaction() as tx:
        mine = await tx.orders.get(SIM101, order.key, lock=True)
        assert mine is not None
        version = mine.version
        step = mine.apply(Trigger.REQUEST_CANCEL, mine.updated_at, "test")
        await tx.orders.save(mine, [step], "test", "r1", expected_version=version)
        assert view_of(w).order(SIM101, order.id) is None
        # Not committed yet: the database answers the committed state, and it is not kept.
        assert (await w.engine.get_order(w.me, 1001, order.id)).status is S.WORKING
        assert view_of(w).order(SIM101, order.id) is None
        await tx.commit()
    assert (await w.engine.get_order(w.me, 1001, order.id)).status is S.PENDING_CANCEL
    assert view_of(w).order(SIM101, order.id) is not None


async def test_a_rolled_back_write_leaves_the_committed_order(store):
    w = await world(store)
    order = await working(w)
    await w.engine.get_order(w.me, 1001, order.id)

    async def cancel_then_fail() -> None:
        async with store.transaction() as tx:
            mine = await tx.orders.get(SIM101, order.id, lock=True)
            assert mine is not None
            version = mine.version
            step = mine.apply(Trigger.REQUEST_CANCEL, mine.updated_at, "test")
            await tx.orders.save(mine, [step], "test", "r1", expected_version=version)
            raise RuntimeError("the use case fails before its commit")

    with pytest.raises(RuntimeError, match="before its commit"):
        await cancel_then_fail()
    got = await w.engine.get_order(w.me, 1001, order.id)
    assert (got.status, got.version) == (S.WORKING, order.version + 1)
    assert view_of(w).order(SIM101, order.id) == got


async def test_the_view_is_shared_by_every_engine_on_the_store(store):
    w = await world(store)
    order = await working(w)
    venue = SimVenue()
    other = OrderEngine(store, venue)
    try:
        assert (await other.get_order(w.me, 1001, order.id)).status is S.WORKING
        await w.engine.cancel(w.me, CancelOrder(account=1001, order=order.id))
        assert (await other.get_order(w.me, 1001, order.id)).status is S.PENDING_CANCEL
    finally:
        await venue.close()


async def test_without_the_cache_get_order_reads_the_database_every_time(store):
    uncached = SqlStore(store.engine, order_cache=False)
    w = await world(uncached)
    assert w.engine.view is None
    order = await working(w)
    assert (await w.engine.get_order(w.me, 1001, order.key)).status is S.WORKING
    account, got = await w.engine.find_order(w.me, "sim101", order.id)
    assert (account.name, got.id) == ("Sim101", order.id)
    with pytest.raises(OrderNotFound):
        await w.engine.get_order(w.admin, 2002, order.id)  # another account's order
