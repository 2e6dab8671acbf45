"""The unit of work over SQLAlchemy: one connection, one transaction, rolled back unless
committed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ordergate.store.accounts import SqlAccountRepository
from ordergate.store.orders import SqlOrderRepository
from ordergate.store.positions import SqlPositionRepository

__all__ = ["SqlStore", "SqlTransaction"]


class SqlTransaction:
    def __init__(self, conn: AsyncConnection) -> None:
        self.connection = conn
        self.accounts = SqlAccountRepository(conn)
        self.orders = SqlOrderRepository(conn)
        self.positions = SqlPositionRepository(conn)
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
