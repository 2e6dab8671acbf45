"""Units of work over SQLAlchemy for what is not the engine's: users and tokens, the
reference data (accounts, instruments) added by the command line and the admin API, settings
and bars. One connection, one transaction, rolled back unless committed. The engine's own
writes go through its journal (store/journal_*.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ordergate.store.accounts import SqlAccountRepository

__all__ = ["SqlStore", "SqlTransaction"]


class SqlTransaction:
    def __init__(self, conn: AsyncConnection) -> None:
        self.connection = conn
        self.accounts = SqlAccountRepository(conn)
        self._committed = False

    async def commit(self) -> None:
        await self.connection.commit()
        self._committed = True


class SqlStore:
    """Hands out units of work on ``engine``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self, *, readonly: bool = False) -> AsyncIterator[SqlTransaction]:
        """A unit of work; ``readonly`` ones on SQLite do not take the write lock."""
        async with self.engine.connect() as conn:
            if readonly:
                conn = await conn.execution_options(readonly=True)
            await conn.begin()
            tx = SqlTransaction(conn)
            try:
                yield tx
            finally:
                if not tx._committed:
                    await conn.rollback()
