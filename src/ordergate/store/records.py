"""What the journal's database holds beyond the engine's memory, read through SQLAlchemy:
reference data the engine learns on first use, and history (ended orders, closed tickets,
fills, the audit trail). It only reads; the journal writes (store/journal_*.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from ordergate.domain.accounts import Account
from ordergate.domain.commands import AccountRef, OrderRef
from ordergate.domain.ids import Login, OrderId, Ticket
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import Order, OrderStatus, OrderType, Side
from ordergate.domain.positions import PositionTicket
from ordergate.engine.ports import Execution, FillRecord, StateChange, Timeline
from ordergate.store.mapping import (
    account_from_row,
    instrument_from_row,
    order_from_row,
    position_from_row,
)
from ordergate.store.tables import accounts, fills, instruments, order_events, orders, positions

__all__ = ["SqlRecords"]

_DELETED = [s.value for s in (OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED)]
_EXECUTION = (
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


class SqlRecords:
    """Reads of ``engine``'s database, each in a short read-only connection."""

    def __init__(self, engine: AsyncEngine) -> None:
        # Reads only: on SQLite a read transaction must not take the write lock the journal
        # needs (BEGIN DEFERRED, see store/db.py).
        self._engine = engine.execution_options(readonly=True)

    async def ping(self) -> None:
        """Raise unless the database answers."""
        async with self._engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def account(self, ref: AccountRef) -> Account | None:
        if isinstance(ref, bool):
            return None
        where = (
            accounts.c.login == ref
            if isinstance(ref, int)
            else accounts.c.name_key == ref.casefold()
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(accounts).where(where))).mappings().first()
        return None if row is None else account_from_row(row)

    async def accounts(self) -> list[Account]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(accounts).order_by(accounts.c.login))).mappings()
            return [account_from_row(r) for r in rows]

    async def instrument(self, symbol: str) -> Instrument | None:
        stmt = select(instruments).where(instruments.c.symbol == symbol)
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else instrument_from_row(row)

    async def instruments(self) -> list[Instrument]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(instruments).order_by(instruments.c.symbol))
            return [instrument_from_row(r) for r in rows.mappings()]

    async def order(self, ref: OrderRef) -> Order | None:
        where = orders.c.ticket == ref if isinstance(ref, int) else orders.c.id == ref
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(orders).where(where))).mappings().first()
        return None if row is None else order_from_row(row)

    async def client_order(self, login: Login, client_id: str) -> Order | None:
        """The account's order the caller placed with its own id ``client_id``."""
        stmt = select(orders).where(orders.c.login == login, orders.c.client_id == client_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else order_from_row(row)

    async def deleted_pending(self, login: Login) -> list[Order]:
        stmt = (
            select(orders)
            .where(
                orders.c.login == login,
                orders.c.status.in_(_DELETED),
                orders.c.type != OrderType.MARKET.value,
            )
            .order_by(orders.c.ticket)
        )
        async with self._engine.connect() as conn:
            return [order_from_row(r) for r in (await conn.execute(stmt)).mappings()]

    async def closed_tickets(self, login: Login) -> list[PositionTicket]:
        stmt = (
            select(positions)
            .where(positions.c.login == login, positions.c.quantity == 0)
            .order_by(positions.c.opened_at, positions.c.ticket)
        )
        async with self._engine.connect() as conn:
            return [position_from_row(r) for r in (await conn.execute(stmt)).mappings()]

    async def _executions(self, where: ColumnElement[bool], limit: int | None) -> list[Execution]:
        stmt = (
            select(*_EXECUTION)
            .join(orders, orders.c.ticket == fills.c.order_ticket)
            .where(where)
            .order_by(fills.c.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
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
            for r in rows
        ]

    async def executions(
        self, login: Login, since: datetime, limit: int | None = None
    ) -> list[Execution]:
        return await self._executions((fills.c.login == login) & (fills.c.at >= since), limit)

    async def execution(self, login: Login, execution_id: int) -> Execution | None:
        found = await self._executions((fills.c.login == login) & (fills.c.id == execution_id), 1)
        return found[0] if found else None

    async def timeline(self, ticket: Ticket, *, include_fills: bool, limit: int) -> Timeline:
        """Both lists read in insertion order; each fill goes just before the transition it
        caused. Reading ``limit + 1`` of each is enough to know the first ``limit`` entries
        and whether anything follows them."""
        e, f = order_events.c, fills.c
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(e.at, e.from_status, e.to_status, e.reason, e.actor)
                .where(e.order_ticket == ticket)
                .order_by(e.id)
                .limit(limit + 1)
            )
            changes = [
                StateChange(
                    r.at,
                    None if r.from_status is None else OrderStatus(r.from_status),
                    OrderStatus(r.to_status),
                    r.reason,
                    r.actor,
                )
                for r in rows
            ]
            executions: list[FillRecord] = []
            if include_fills:
                rows = await conn.execute(
                    select(f.id, f.at, f.side, f.quantity, f.price)
                    .where(f.order_ticket == ticket)
                    .order_by(f.id)
                    .limit(limit + 1)
                )
                executions = [
                    FillRecord(r.id, r.at, Side(r.side), r.quantity, r.price) for r in rows
                ]
        merged = _merge(changes, executions)
        return Timeline(tuple(merged[:limit]), len(merged) > limit)


def _merge(
    changes: list[StateChange], executions: list[FillRecord]
) -> list[StateChange | FillRecord]:
    """Each fill just before the transition it caused: the first unclaimed one stamped with
    the fill's own time that a fill makes (the engine writes both with the venue's execution
    time, which may be earlier than the order's other transitions: a fill against a quote of
    the past; and the submission or acknowledgement may carry the same time)."""
    merged: list[StateChange | FillRecord] = []
    j = 0
    for change in changes:
        if j < len(executions) and executions[j].at == change.at and _by_fill(change):
            merged.append(executions[j])
            j += 1
        merged.append(change)
    merged.extend(executions[j:])  # fills whose transition lies beyond the rows read
    return merged


def _by_fill(change: StateChange) -> bool:
    """Whether a fill can have made ``change``: to (partially) filled, or a part filled while
    a cancel or change was on its way (the status stays)."""
    return change.to_status in _FILLED or change.from_status is change.to_status


_FILLED = frozenset({OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED})
