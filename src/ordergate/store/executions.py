"""Read-side queries over the fill ledger and the accounts: the executions a dialect lists,
an account's realized profit or loss, and the accounts a caller may act on.

These only read; the engine's repositories (``store/positions.py``) write the ledger.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate.domain.accounts import Account
from ordergate.domain.ids import Login, OrderId, Ticket
from ordergate.domain.orders import Side
from ordergate.domain.principal import Principal, Role, can_act
from ordergate.store.mapping import account_from_row
from ordergate.store.tables import accounts, fills, orders, positions
from ordergate.store.types import Fixed

__all__ = ["Execution", "SqlExecutionQueries"]


@dataclass(frozen=True, slots=True)
class Execution:
    """One fill of the ledger with the order it executed."""

    id: int
    login: Login
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    at: datetime
    order_id: OrderId
    order_ticket: Ticket
    #: the caller's tag on the order (CrossTrade ``strategy``), if any
    tag: str | None
    #: the position ticket the order was sent to close, if it was a close
    closes_ticket: Ticket | None


_COLUMNS = (
    fills.c.id,
    fills.c.login,
    fills.c.symbol,
    fills.c.side,
    fills.c.quantity,
    fills.c.price,
    fills.c.at,
    fills.c.order_ticket,
    orders.c.id.label("order_id"),
    orders.c.tag,
    orders.c.closes_ticket,
)


class SqlExecutionQueries:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def _executions(self, where: ColumnElement[bool], limit: int | None) -> list[Execution]:
        stmt = (
            select(*_COLUMNS)
            .join(orders, orders.c.ticket == fills.c.order_ticket)
            .where(where)
            .order_by(fills.c.id)
            .limit(limit)
        )
        return [
            Execution(
                id=r.id,
                login=Login(r.login),
                symbol=r.symbol,
                side=Side(r.side),
                quantity=r.quantity,
                price=r.price,
                at=r.at,
                order_id=OrderId(r.order_id),
                order_ticket=Ticket(r.order_ticket),
                tag=r.tag,
                closes_ticket=None if r.closes_ticket is None else Ticket(r.closes_ticket),
            )
            for r in await self._conn.execute(stmt)
        ]

    async def since(
        self, login: Login, since: datetime, limit: int | None = None
    ) -> list[Execution]:
        """The account's fills at or after ``since``, in the order the ledger recorded them."""
        return await self._executions((fills.c.login == login) & (fills.c.at >= since), limit)

    async def get(self, login: Login, execution_id: int) -> Execution | None:
        found = await self._executions((fills.c.login == login) & (fills.c.id == execution_id), 1)
        return found[0] if found else None

    async def realized_pnl(self, logins: Collection[Login]) -> dict[Login, Decimal]:
        """Per account: the profit or loss its position tickets have realized, ever."""
        if not logins:
            return {}
        stmt = (
            select(positions.c.login, func.sum(positions.c.realized_pnl, type_=Fixed))
            .where(positions.c.login.in_(list(logins)))
            .group_by(positions.c.login)
        )
        totals = {Login(login): Decimal(0) for login in logins}
        for login, total in await self._conn.execute(stmt):
            totals[Login(login)] = total or Decimal(0)
        return totals

    async def accounts(self, principal: Principal) -> list[Account]:
        """The accounts ``principal`` may act on, by login. The query narrows by role (a
        trader does not read every account); ``can_act`` stays the rule."""
        stmt = select(accounts).order_by(accounts.c.login)
        if principal.login is not None:
            stmt = stmt.where(accounts.c.login == principal.login)
        elif principal.role is Role.MANAGER:
            stmt = stmt.where(
                or_(
                    accounts.c.group_name.in_(sorted(principal.groups)),
                    accounts.c.owner_id == principal.user_id,
                )
            )
        elif principal.role is not Role.ADMIN:
            stmt = stmt.where(accounts.c.owner_id == principal.user_id)
        rows = await self._conn.execute(stmt)
        found = [account_from_row(r) for r in rows.mappings()]
        return [a for a in found if can_act(principal, a)]
