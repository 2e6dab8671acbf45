"""The journal on SQLite: one connection of its own (the standard library's sqlite3) on a
thread of its own, durable commits (``synchronous=FULL``), and a lock file that keeps a
second server off the same database.

A batch is one call to that thread: BEGIN, the rows, COMMIT. Rows go in with
``executemany``; a ``Moved`` entry (many orders taking one step) is one UPDATE and one
INSERT … SELECT over the JSON array of its tickets, so that the database, not Python, walks
a bulk cancel's hundred thousand rows.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

import orjson

from ordergate.domain.orders import NON_TERMINAL
from ordergate.engine.journal import Batch, Moved, Snapshot, Transitioned
from ordergate.store.locks import JournalLocked
from ordergate.store.rows import (
    EVENT_COLUMNS,
    FILL_COLUMNS,
    ORDER_COLUMNS,
    ORDER_UPDATE_COLUMNS,
    POSITION_COLUMNS,
    account_of,
    event_row,
    fill_row,
    instrument_of,
    order_of,
    order_row,
    order_update_row,
    position_of,
    position_row,
    sqlite_time,
    sqlite_time_in,
)
from ordergate.store.types import from_units, to_units

__all__ = ["SqliteJournal"]

T = TypeVar("T")


def _marks(n: int) -> str:
    return ", ".join("?" * n)


_INSERT_ORDER = (
    f"INSERT INTO orders ({', '.join(ORDER_COLUMNS)}) VALUES ({_marks(len(ORDER_COLUMNS))})"
)
_UPDATE_ORDER = (
    f"UPDATE orders SET {', '.join(f'{c} = ?' for c in ORDER_UPDATE_COLUMNS)} WHERE ticket = ?"
)
_INSERT_EVENT = (
    f"INSERT INTO order_events ({', '.join(EVENT_COLUMNS)}) VALUES ({_marks(len(EVENT_COLUMNS))})"
)
_INSERT_FILL = f"INSERT INTO fills ({', '.join(FILL_COLUMNS)}) VALUES ({_marks(len(FILL_COLUMNS))})"
_UPSERT_POSITION = (
    f"INSERT INTO positions ({', '.join(POSITION_COLUMNS)})"
    f" VALUES ({_marks(len(POSITION_COLUMNS))}) ON CONFLICT (ticket) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in POSITION_COLUMNS if c != "ticket")
)
_MOVE = (
    "UPDATE orders SET status = ?, prior_status = ?, version = version + 1, updated_at = ?,"
    " request_id = coalesce(?, request_id)"
    " WHERE ticket IN (SELECT value FROM json_each(?))"
)
_MOVE_EVENTS = (
    f"INSERT INTO order_events ({', '.join(EVENT_COLUMNS)})"
    " SELECT value, ?, ?, ?, ?, ?, ? FROM json_each(?)"
)
_BALANCE = "UPDATE accounts SET balance = ? WHERE login = ?"
_OPEN = ", ".join(f"'{s.value}'" for s in NON_TERMINAL)


class _Times:
    """``sqlite_time`` remembering its last answer: a batch's rows share a few moments."""

    def __init__(self) -> None:
        self._last: tuple[datetime | None, str] = (None, "")

    def __call__(self, value: datetime) -> str:
        moment, text = self._last
        if value is moment:
            return text
        text = sqlite_time(value)
        self._last = (value, text)
        return text


class SqliteJournal:
    """The journal of the SQLite database at ``path``. ``open()`` takes the writer's lock
    (a second server on the same file refuses to start) and the connection."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")
        self._db: sqlite3.Connection | None = None
        self._lock: int | None = None

    async def open(self) -> None:
        lock_path = f"{self.path}-writer.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise JournalLocked(
                f"another ordergate server is writing to {self.path} (it holds {lock_path})"
            ) from None
        self._lock = fd
        await self._run(self._connect)

    def _connect(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=True)
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",  # durable: a committed batch survives power loss
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=30000",
        ):
            db.execute(pragma)
        self._db = db

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, work)

    async def close(self) -> None:
        def disconnect() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        try:
            await self._run(disconnect)
        finally:
            self._thread.shutdown(wait=True)
            if self._lock is not None:
                os.close(self._lock)  # releases the lock
                self._lock = None

    # -- writing ---------------------------------------------------------------------------

    async def append(self, batch: Batch) -> None:
        await self._run(lambda: self._append(batch))

    def _append(self, batch: Batch) -> None:
        db = self._db
        if db is None:
            raise RuntimeError("the journal is not open")
        times = _Times()
        db.execute("BEGIN IMMEDIATE")
        try:
            if batch.new_orders:
                rows = [order_row(o, times) for o in batch.new_orders.values()]
                db.executemany(_INSERT_ORDER, rows)
            self._trail(db, batch.trail, times)
            if batch.fills:
                db.executemany(_INSERT_FILL, [fill_row(f, times) for f in batch.fills])
            if batch.orders:
                rows = [order_update_row(o, times) for o in batch.orders.values()]
                db.executemany(_UPDATE_ORDER, rows)
            if batch.positions:
                rows = [position_row(p, times) for p in batch.positions.values()]
                db.executemany(_UPSERT_POSITION, rows)
            if batch.balances:
                db.executemany(
                    _BALANCE,
                    [(to_units(b), login) for login, b in batch.balances.items()],
                )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    @staticmethod
    def _trail(db: sqlite3.Connection, trail: list[Transitioned | Moved], times: _Times) -> None:
        rows: list[tuple[Any, ...]] = []
        for entry in trail:
            if isinstance(entry, Transitioned):
                rows.append(event_row(entry, times))
                continue
            if rows:
                db.executemany(_INSERT_EVENT, rows)
                rows = []
            tickets = orjson.dumps(list(entry.tickets)).decode()
            at = times(entry.at)
            prior = None if entry.prior_status is None else entry.prior_status.value
            db.execute(_MOVE, (entry.to_status.value, prior, at, entry.request_id, tickets))
            db.execute(
                _MOVE_EVENTS,
                (
                    entry.from_status.value,
                    entry.to_status.value,
                    entry.reason,
                    entry.actor,
                    entry.request_id,
                    at,
                    tickets,
                ),
            )
        if rows:
            db.executemany(_INSERT_EVENT, rows)

    # -- reading back ----------------------------------------------------------------------

    async def load(self) -> Snapshot:
        return await self._run(self._load)

    def _load(self) -> Snapshot:
        db = self._db
        if db is None:
            raise RuntimeError("the journal is not open")
        db.row_factory = sqlite3.Row
        try:
            accounts = [account_of(r) for r in db.execute("SELECT * FROM accounts")]
            instruments = [instrument_of(r) for r in db.execute("SELECT * FROM instruments")]
            columns = ", ".join(ORDER_COLUMNS)
            db.row_factory = None
            open_orders = [
                order_of(r, sqlite_time_in)
                for r in db.execute(
                    f"SELECT {columns} FROM orders WHERE status IN ({_OPEN}) ORDER BY ticket"
                )
            ]
            db.row_factory = sqlite3.Row
            tickets = [
                position_of(r, sqlite_time_in)
                for r in db.execute("SELECT * FROM positions WHERE quantity > 0")
            ]
            realized = {
                login: from_units(total or 0)
                for login, total in db.execute(
                    "SELECT login, sum(realized_pnl) FROM positions GROUP BY login"
                )
            }
            filled = {
                login: from_units(total or 0)
                for login, total in db.execute(
                    "SELECT login, sum(quantity) FROM fills GROUP BY login"
                )
            }
            traded: dict[Any, set[str]] = {}
            for login, symbol in db.execute("SELECT DISTINCT login, symbol FROM positions"):
                traded.setdefault(login, set()).add(symbol)
            last = db.execute(
                "SELECT max(coalesce((SELECT max(ticket) FROM orders), 0),"
                " coalesce((SELECT max(ticket) FROM positions), 0))"
            ).fetchone()[0]
        finally:
            db.row_factory = None
        return Snapshot(
            accounts=accounts,
            instruments=instruments,
            open_orders=open_orders,
            open_tickets=tickets,
            realized=realized,
            filled=filled,
            traded=traded,
            last_ticket=int(last),
        )
