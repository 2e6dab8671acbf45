"""The unit of work over SQLAlchemy: one connection, one transaction, rolled back unless
committed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ordergate.engine.orderview import OrderView, Writes
from ordergate.store.accounts import SqlAccountRepository
from ordergate.store.orders import SqlOrderRepository
from ordergate.store.positions import SqlPositionRepository
from ordergate.store.sqlite_driver import Direct, direct_of

__all__ = ["SqlStore", "SqlTransaction"]


class SqlTransaction:
    def __init__(self, conn: AsyncConnection, view: OrderView | None = None) -> None:
        self.connection = conn
        self._writes = None if view is None else Writes(view)
        direct = _direct(conn)
        self.accounts = SqlAccountRepository(conn, direct)
        self.orders = SqlOrderRepository(conn, self._writes, direct)
        self.positions = SqlPositionRepository(conn)
        self._committed = False

    async def commit(self) -> None:
        try:
            await self.connection.commit()
            self._committed = True
        finally:
            # At once, before the caller goes on: nobody is answered the replaced orders.
            self._end()

    def _end(self) -> None:
        if self._writes is not None:
            self._writes.end()


def _direct(conn: AsyncConnection) -> Direct | None:
    """Direct work on ``conn``'s SQLite connection, if it is one made here."""
    if conn.dialect.name != "sqlite":
        return None
    return direct_of(conn.sync_connection.connection.dbapi_connection)  # type: ignore[union-attr]


class SqlStore:
    """Hands out units of work on ``engine``. With ``order_cache`` (the default) it keeps an
    ``OrderView`` that every unit of work invalidates for the orders it writes."""

    def __init__(self, engine: AsyncEngine, *, order_cache: bool = True) -> None:
        self.engine = engine
        self.order_view = OrderView() if order_cache else None
        # SQLite has one writer at a time. Left to itself, a writer that finds the lock taken
        # sleeps in SQLite's busy handler (1, 2, 5, 10 ms...), so two writers of this process
        # (a placement and the venue's acknowledgement of the one before) cost each other
        # milliseconds of sleep. They queue here instead, and take turns at once. Other
        # processes (the CLI) still meet the busy timeout.
        self._writer = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        self.serial_writes = self._writer is not None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(
        self, *, readonly: bool = False, brief: bool = False
    ) -> AsyncIterator[SqlTransaction]:
        """A unit of work; ``brief``: its statements are few and small (on SQLite they run
        on the event loop's thread once it holds the write lock: store/sqlite_driver.py)."""
        if readonly or self._writer is None:
            async with self._unit(readonly, brief) as tx:
                yield tx
            return
        async with self._writer, self._unit(readonly, brief) as tx:
            yield tx

    @asynccontextmanager
    async def _unit(self, readonly: bool, brief: bool) -> AsyncIterator[SqlTransaction]:
        async with self.engine.connect() as conn:
            if readonly:
                conn = await conn.execution_options(readonly=True)
            elif brief:
                conn = await conn.execution_options(brief=True)
            await conn.begin()
            tx = SqlTransaction(conn, self.order_view)
            try:
                yield tx
            finally:
                try:
                    if not tx._committed:
                        await conn.rollback()
                finally:
                    tx._end()
