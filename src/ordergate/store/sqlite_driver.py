"""aiosqlite with one thread hop per statement.

aiosqlite runs each call on a connection's own thread, and SQLAlchemy makes four calls of
every statement: make a cursor, execute, fetch, close. Each call is a trip to that thread
and back through the event loop, so under load a statement waits for the loop four times,
however little SQLite has to do. Here a statement is one trip: the cursor is made where it
executes, its rows are fetched in the same call, and closing it is queued without waiting.
Everything still runs on the connection's thread, in order, as aiosqlite runs it.

A transaction's ``BEGIN`` goes with its first statement (``begin_with_next``): one trip
fewer per transaction, and the lock it takes is taken before anything the transaction reads.

A brief transaction (``begin_with_next(…, inline=True)``: the engine's group commit of
placements and acknowledgements) makes two trips in all. Its first statement goes to the
thread with the ``BEGIN``, so that waiting for another process's write lock never holds the
event loop; once it holds the lock, its other statements run on the loop's own thread, each
a few microseconds of SQLite, and its commit (the log's fsync, and a checkpoint now and then)
goes back to the connection's thread. Under load a trip is not its few microseconds but a
turn of the busy event loop, and a placement batch of seven statements waited for seven.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import aiosqlite

__all__ = ["Direct", "async_creator", "begins_with_next", "direct_of"]

T = TypeVar("T")


#: Rows a statement's one trip brings back with it; a larger result is fetched on demand
#: (a server-side cursor streams a million rows a chunk at a time, not all at once).
_PREFETCH = 1000


class _Cursor(aiosqlite.Cursor):
    def __init__(self, conn: _Connection) -> None:
        super().__init__(conn, None)  # type: ignore[arg-type]  # made on the thread
        self._owner = conn
        self._rows: list[Any] = []
        self._more = False  # the statement has rows not fetched yet
        self._size = 1

    async def _on_thread(self, run: Callable[[], Any]) -> Any:
        """``run()`` on the connection's thread, or here in a brief transaction that began."""
        return await self._owner.where_statements_run(run)

    def _sqlite_cursor(self) -> sqlite3.Cursor:
        """On the connection's thread: the sqlite3 cursor, made on first use."""
        if self._cursor is None:
            self._cursor = self._conn._conn.cursor()
        return self._cursor

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> _Cursor:
        def run() -> list[Any]:
            self._owner.begin_now()
            cursor = self._sqlite_cursor()
            cursor.execute(sql, () if parameters is None else parameters)  # type: ignore[arg-type]
            return cursor.fetchmany(_PREFETCH) if cursor.description is not None else []

        self._rows = await self._on_thread(run)
        self._more = len(self._rows) == _PREFETCH
        return self

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> _Cursor:
        def run() -> None:
            self._owner.begin_now()
            self._sqlite_cursor().executemany(sql, parameters)  # type: ignore[arg-type]

        await self._on_thread(run)
        self._rows, self._more = [], False
        return self

    async def _fetch(self, n: int | None) -> None:
        """Bring ``n`` more rows (all with None) from the thread into the buffer."""
        cursor = self._sqlite_cursor()
        if n is None:
            self._rows += await self._on_thread(cursor.fetchall)
            self._more = False
        else:
            rows = await self._on_thread(lambda: cursor.fetchmany(n))
            self._rows += rows
            self._more = len(rows) == n

    async def fetchall(self) -> list[Any]:
        if self._more:
            await self._fetch(None)
        rows, self._rows = self._rows, []
        return rows

    async def fetchone(self) -> Any:
        if not self._rows and self._more:
            await self._fetch(_PREFETCH)
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        n = self._size if size is None else size
        if len(self._rows) < n and self._more:
            await self._fetch(max(n - len(self._rows), _PREFETCH))
        rows, self._rows = self._rows[:n], self._rows[n:]
        return rows

    async def close(self) -> None:
        if self._cursor is None:
            return
        if self._owner.runs_here():
            self._cursor.close()
        else:
            # Queued behind whatever the connection is doing, without waiting for it.
            self._conn._tx.put_nowait((None, self._cursor.close))

    @property
    def arraysize(self) -> int:
        return self._size

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._size = value


class _Connection(aiosqlite.Connection):
    _begin: str | None = None  # a BEGIN to run before the next statement
    _inline = False  # the transaction is brief: once begun, its statements run here

    def cursor(self) -> _Cursor:  # type: ignore[override]
        # SQLAlchemy enters it as an async context: ``__aenter__`` answers the cursor itself.
        return _Cursor(self)

    def begin_with_next(self, statement: str, *, inline: bool = False) -> None:
        """Run ``statement`` (a BEGIN) on the thread just before the next statement; with
        ``inline`` the transaction's later statements run on the caller's thread."""
        self._begin = statement
        self._inline = inline

    def runs_here(self) -> bool:
        """Whether a call may run on the caller's thread: in a brief transaction whose
        BEGIN is done. The connection's thread is idle then: the BEGIN's trip came back
        after everything queued before it, and nothing is queued until the commit."""
        return self._inline and self._begin is None

    async def where_statements_run(self, run: Callable[[], T]) -> T:
        """``run()`` on the connection's thread, or here in a brief transaction that began."""
        if self.runs_here():
            return run()
        result: T = await self._execute(run)  # type: ignore[no-untyped-call]
        return result

    def begin_now(self) -> None:
        """On the connection's thread: the BEGIN still owed, if any."""
        begin, self._begin = self._begin, None
        if begin is not None:
            self._conn.execute(begin)

    async def commit(self) -> None:
        self._inline = False
        # A transaction that ran no statement never began: nothing to end.
        if self._begin is not None:
            self._begin = None
            return
        await super().commit()

    async def rollback(self) -> None:
        self._inline = False
        if self._begin is not None:
            self._begin = None
            return
        await super().rollback()


def async_creator(path: str, **kwargs: Any) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    """For ``create_async_engine(async_creator=…)``: connections to the SQLite file ``path``."""

    async def connect() -> aiosqlite.Connection:
        def connector() -> sqlite3.Connection:
            opened: sqlite3.Connection = sqlite3.connect(path, **kwargs)
            return opened

        connection = _Connection(connector, 64)
        connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own
        return await connection

    return connect


def begins_with_next(dbapi_connection: Any, statement: str, *, inline: bool = False) -> bool:
    """Have ``statement`` (a BEGIN) run with the next statement on a connection made here
    (``inline``: a brief transaction, see above); False for any other connection (the
    caller runs it itself, and every statement goes to the thread)."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    if not isinstance(driver, _Connection):
        return False
    driver.begin_with_next(statement, inline=inline)
    return True


class Direct:
    """Work done on the sqlite3 connection itself, with no SQLAlchemy in between: where the
    transaction's statements run (here in a brief transaction that began, else a trip to
    the connection's thread), after the BEGIN it still owes. For the few statements every
    placement writes (store/direct.py), whose execution in SQLAlchemy cost more than SQLite
    spends running them."""

    def __init__(self, driver: _Connection) -> None:
        self._driver = driver

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        driver = self._driver

        def call() -> T:
            driver.begin_now()
            return work(driver._conn)

        return await driver.where_statements_run(call)


def direct_of(dbapi_connection: Any) -> Direct | None:
    """Direct work on a connection made here; None for any other (PostgreSQL, or SQLite
    through aiosqlite's own connections: the caller goes through SQLAlchemy)."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    return Direct(driver) if isinstance(driver, _Connection) else None
