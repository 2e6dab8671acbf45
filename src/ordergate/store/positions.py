"""Position tickets and the fill ledger."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate.domain.ids import Login, Ticket
from ordergate.domain.positions import Fill, PositionTicket
from ordergate.store.mapping import position_from_row, position_values
from ordergate.store.tables import fills, positions

__all__ = ["SqlPositionRepository"]


class SqlPositionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def open_tickets(self, login: Login, symbol: str) -> list[PositionTicket]:
        stmt = (
            select(positions)
            .where(
                positions.c.login == login, positions.c.symbol == symbol, positions.c.quantity > 0
            )
            .order_by(positions.c.opened_at, positions.c.ticket)
            .with_for_update()
        )
        return [position_from_row(r) for r in (await self._conn.execute(stmt)).mappings()]

    async def get(self, ticket: Ticket, *, lock: bool = False) -> PositionTicket | None:
        stmt = select(positions).where(positions.c.ticket == ticket)
        if lock:
            stmt = stmt.with_for_update()
        row = (await self._conn.execute(stmt)).mappings().first()
        return None if row is None else position_from_row(row)

    async def save(self, tickets: Sequence[PositionTicket], new: bool = False) -> None:
        if not tickets:
            return
        if new:
            await self._conn.execute(insert(positions), [position_values(t) for t in tickets])
            return
        for t in tickets:
            values = position_values(t)
            del values["ticket"]
            await self._conn.execute(
                update(positions).where(positions.c.ticket == t.ticket).values(values)
            )

    async def set_levels(
        self, ticket: Ticket, stop_loss: Decimal | None, take_profit: Decimal | None
    ) -> bool:
        """Set an open ticket's stop-loss and take-profit, and nothing else (a fill may be
        writing its quantity); False if it is no longer open."""
        result = await self._conn.execute(
            update(positions)
            .where(positions.c.ticket == ticket, positions.c.quantity > 0)
            .values(stop_loss=stop_loss, take_profit=take_profit)
        )
        return bool(result.rowcount)

    async def add_fill(self, fill: Fill) -> None:
        await self._conn.execute(
            insert(fills).values(
                order_ticket=fill.order_ticket,
                login=fill.login,
                symbol=fill.symbol,
                side=fill.side.value,
                quantity=fill.quantity,
                price=fill.price,
                at=fill.at,
            )
        )

    async def protected(self) -> list[PositionTicket]:
        stmt = select(positions).where(
            positions.c.quantity > 0,
            or_(positions.c.stop_loss.is_not(None), positions.c.take_profit.is_not(None)),
        )
        return [position_from_row(r) for r in (await self._conn.execute(stmt)).mappings()]

    async def for_account(
        self, login: Login, *, include_closed: bool = False
    ) -> list[PositionTicket]:
        stmt = select(positions).where(positions.c.login == login)
        if not include_closed:
            stmt = stmt.where(positions.c.quantity > 0)
        stmt = stmt.order_by(positions.c.opened_at, positions.c.ticket)
        return [position_from_row(r) for r in (await self._conn.execute(stmt)).mappings()]
