"""The 1-minute bars of the market data (``venue.bars.BarRepository`` over SQLAlchemy)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from ordergate.store.tables import bars as bars_table
from ordergate.store.uow import SqlStore
from ordergate.venue.bars import Bar

__all__ = ["SqlBarRepository"]

_VALUES = ("open", "high", "low", "close", "volume")
#: Rows per INSERT: well under SQLite's and asyncpg's limits on bound parameters.
_BATCH = 500


class SqlBarRepository:
    """Bars in the ``bars`` table; each call is its own short transaction."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def _upsert(self, rows: list[dict[str, Any]]) -> Any:
        # INSERT ... ON CONFLICT (symbol, start) DO UPDATE, in each dialect's spelling.
        insert = postgresql.insert if self._store.dialect == "postgresql" else sqlite.insert
        stmt = insert(bars_table).values(rows)
        return stmt.on_conflict_do_update(
            index_elements=[bars_table.c.symbol, bars_table.c.start],
            set_={name: stmt.excluded[name] for name in _VALUES},
        )

    async def save_bar(self, bar: Bar) -> None:
        """Insert ``bar``, or replace the one of the same symbol and start."""
        await self.save_bars([bar])

    async def save_bars(self, bars: Sequence[Bar]) -> None:
        """Insert or replace each of ``bars``, in one transaction."""
        if not bars:
            return
        rows = [
            {
                "symbol": b.symbol,
                "start": b.start,
                "open": b.open,
                "high": b.high,
                "low": b.low,
                "close": b.close,
                "volume": b.volume,
            }
            for b in bars
        ]
        async with self._store.transaction() as tx:
            for first in range(0, len(rows), _BATCH):
                await tx.connection.execute(self._upsert(rows[first : first + _BATCH]))
            await tx.commit()

    async def any_bars(self) -> bool:
        """Whether any bar is stored: one row read, however many there are."""
        stmt = select(bars_table.c.symbol).limit(1)
        async with self._store.transaction(readonly=True) as tx:
            return (await tx.connection.execute(stmt)).first() is not None

    async def bars(
        self,
        symbol: str,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> list[Bar]:
        """Bars of ``symbol`` starting in [start, end), oldest first; with ``limit``, the
        newest ``limit`` of them."""
        t = bars_table.c
        stmt = select(bars_table).where(t.symbol == symbol)
        if start is not None:
            stmt = stmt.where(t.start >= start)
        if end is not None:
            stmt = stmt.where(t.start < end)
        stmt = stmt.order_by(t.start.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        async with self._store.transaction(readonly=True) as tx:
            rows = (await tx.connection.execute(stmt)).all()
        return [
            Bar(r.symbol, r.start, r.open, r.high, r.low, r.close, r.volume) for r in reversed(rows)
        ]
