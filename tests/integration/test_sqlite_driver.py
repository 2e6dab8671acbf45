"""store/sqlite_driver.py: one thread trip per statement (two per brief transaction), any
result size, streamed or not."""

import asyncio
import sqlite3
import threading
from pathlib import Path

import aiosqlite.core
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from ordergate.store import create_engine, sqlite_url
from ordergate.store import sqlite_driver as driver

ROWS = driver._PREFETCH * 2 + 500  # a result larger than one trip brings back


@pytest.fixture
async def engine(tmp_path: Path):
    engine = create_engine(sqlite_url(str(tmp_path / "driver.db")))
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
        await conn.execute(text("INSERT INTO t (n) VALUES (:n)"), [{"n": n} for n in range(ROWS)])
    yield engine
    await engine.dispose()


async def test_a_large_result_comes_back_whole(engine):
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT n FROM t ORDER BY n"))).scalars().all()
        assert rows == list(range(ROWS))
        assert (await conn.execute(text("SELECT n FROM t WHERE n = 7"))).scalar_one() == 7
        assert (await conn.execute(text("SELECT n FROM t WHERE n < 0"))).first() is None


async def test_a_streamed_result_is_read_a_chunk_at_a_time(engine, monkeypatch):
    fetched: list[int] = []
    fetch = driver._Cursor._fetch

    async def counted(self, n):
        fetched.append(n)
        await fetch(self, n)

    monkeypatch.setattr(driver._Cursor, "_fetch", counted)
    seen: list[int] = []
    async with engine.connect() as conn:
        result = await conn.stream(text("SELECT n FROM t ORDER BY n"))
        async for part in result.partitions(700):
            assert len(part) <= 700
            seen.extend(n for (n,) in part)
    assert seen == list(range(ROWS))
    assert None not in fetched  # never the whole rest at once
    assert fetched


class Trips:
    """Counts the calls queued to connections' threads once ``start`` is called."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[object] = []
        self._monkeypatch = monkeypatch

    def start(self) -> None:
        execute = aiosqlite.core.Connection._execute

        async def counted(conn, fn, *args, **kwargs):
            self.calls.append(fn)
            return await execute(conn, fn, *args, **kwargs)

        self._monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)


@pytest.fixture
def trips(monkeypatch):
    return Trips(monkeypatch)


async def test_a_statement_is_one_trip_to_the_connections_thread(engine, trips):
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))  # the connection and its BEGIN, before counting
        trips.start()
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == ROWS
        assert len(trips.calls) == 1


async def test_a_transaction_begins_with_its_first_statement(engine, tmp_path, trips):
    # The BEGIN is not a trip of its own, and a write transaction holds the write lock from
    # its first statement, a read: another writer is refused until it ends.
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        await conn.commit()
        trips.start()
        await conn.begin()  # SqlStore's write transactions: BEGIN IMMEDIATE
        assert trips.calls == []
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == ROWS
        assert len(trips.calls) == 1
        other = sqlite3.connect(tmp_path / "driver.db", timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            await conn.rollback()
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        finally:
            other.close()


async def test_a_transaction_without_statements_ends_cleanly(engine):
    async with engine.connect() as conn:
        await conn.begin()
        await conn.commit()  # began nothing: nothing to commit
        await conn.begin()
        await conn.rollback()
        await conn.begin()
        await conn.execute(text("INSERT INTO t (n) VALUES (-1)"))
        await conn.rollback()  # the owed BEGIN ran with the INSERT: this undoes it
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == ROWS
        await conn.rollback()


async def test_a_brief_transaction_is_two_trips_and_its_other_statements_run_here(engine, trips):
    ran_on: list[str] = []

    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))  # the connection, before counting
        await conn.commit()
        raw = (await conn.get_raw_connection()).driver_connection._conn
        raw.create_function("thread", 0, lambda: ran_on.append(threading.current_thread().name))
        trips.start()
        conn = await conn.execution_options(brief=True)
        await conn.begin()
        await conn.execute(text("SELECT thread()"))  # with its BEGIN, on the thread
        await conn.execute(text("INSERT INTO t (n) VALUES (-1), (-2)"))
        await conn.execute(text("SELECT thread()"))
        rows = (await conn.execute(text("SELECT n FROM t ORDER BY n"))).scalars().all()
        assert len(rows) == ROWS + 2  # larger than one fetch: the rest fetched here too
        assert len(trips.calls) == 1
        await conn.commit()
        assert len(trips.calls) == 2
        here = threading.current_thread().name
        assert ran_on[0] != here
        assert ran_on[1] == here

        # The next transaction is not brief: one trip per statement again.
        conn = await conn.execution_options(brief=False)
        await conn.begin()
        await conn.execute(text("SELECT thread()"))
        await conn.execute(text("SELECT thread()"))
        assert len(trips.calls) == 4
        assert ran_on[2:] == [ran_on[0]] * 2
        await conn.rollback()
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == ROWS + 2


async def test_a_brief_transaction_that_fails_rolls_back_and_the_next_goes_to_the_thread(
    engine, trips
):
    async with engine.connect() as conn:
        conn = await conn.execution_options(brief=True)
        await conn.begin()
        await conn.execute(text("INSERT INTO t (n) VALUES (-1)"))
        with pytest.raises(IntegrityError, match="UNIQUE"):
            await conn.execute(text("INSERT INTO t (n) VALUES (-1)"))  # raised here
        await conn.rollback()
        trips.start()
        conn = await conn.execution_options(brief=False)
        await conn.begin()
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == ROWS
        assert len(trips.calls) == 1
        await conn.rollback()


async def test_a_brief_transaction_waits_for_another_writer_on_the_thread(engine, tmp_path):
    # Its BEGIN IMMEDIATE goes with the first statement to the connection's thread, where
    # SQLite's busy handler waits for the lock: the event loop keeps running meanwhile.
    other = sqlite3.connect(tmp_path / "driver.db", timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(brief=True)
            await conn.begin()
            write = asyncio.create_task(conn.execute(text("INSERT INTO t (n) VALUES (-1)")))
            ticks = 0
            for _ in range(20):
                await asyncio.sleep(0.01)
                ticks += 1
            assert ticks == 20
            assert not write.done()
            other.execute("ROLLBACK")
            await write
            await conn.commit()
    finally:
        other.close()
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == ROWS + 1
