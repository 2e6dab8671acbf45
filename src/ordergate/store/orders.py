"""Orders and their event trail; the bulk paths are one statement per batch."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Select,
    and_,
    any_,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate.domain.errors import StaleOrder
from ordergate.domain.ids import Login, OrderId, Ticket
from ordergate.domain.orders import NON_TERMINAL, Order, OrderStatus, OrderType, Side, Transition
from ordergate.domain.reports import CancelAccepted
from ordergate.engine.orderview import Writes
from ordergate.engine.ports import BatchCancel, MovedOrder
from ordergate.store.mapping import order_from_row, order_values
from ordergate.store.tables import order_events, orders
from ordergate.store.types import UtcDateTime, from_units_cached

__all__ = ["SqlOrderRepository"]

_SIDES = {s.value: s for s in Side}
_TYPES = {t.value: t for t in OrderType}
_STATUSES = {s.value: s for s in OrderStatus}
_DELETED = [s.value for s in (OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED)]
_EVENT_COLUMNS = ["order_ticket", "from_status", "to_status", "reason", "actor", "request_id", "at"]


def _event_rows(
    ticket: Ticket, steps: Sequence[Transition], actor: str, request_id: str, at: datetime
) -> list[dict[str, Any]]:
    return [
        {
            "order_ticket": ticket,
            "from_status": None if s.from_status is None else s.from_status.value,
            "to_status": s.to_status.value,
            "reason": s.reason[:255],
            "actor": actor[:64],
            "request_id": request_id,
            "at": at,
        }
        for s in steps
    ]


class SqlOrderRepository:
    """Orders on ``conn``. Every write names the orders it touches to ``writes`` (when given)
    before its transaction can commit, so the order view never answers them stale."""

    def __init__(self, conn: AsyncConnection, writes: Writes | None = None) -> None:
        self._conn = conn
        self._pg = conn.dialect.name == "postgresql"
        self._writes = writes

    def _touch(self, tickets: Collection[Ticket] = (), logins: Collection[Login] = ()) -> None:
        if self._writes is not None:
            self._writes.tickets(tickets)
            self._writes.logins(logins)

    async def add(self, order: Order, step: Transition, actor: str, request_id: str) -> Ticket:
        order.request_id = request_id
        values = order_values(order)
        result = await self._conn.execute(insert(orders).values(values).returning(orders.c.ticket))
        ticket = Ticket(result.scalar_one())
        order.ticket = ticket
        self._touch([ticket])  # new, but a ticket number can come back (SQLite rowids)
        rows = _event_rows(ticket, [step], actor, request_id, order.created_at)
        await self._conn.execute(insert(order_events), rows)
        return ticket

    async def add_many(self, placed: Sequence[tuple[Order, Transition, str, str]]) -> None:
        """Insert new orders (order, first step, actor, request id) and their events: two
        statements, however many (a group commit of placements)."""
        if not placed:
            return
        for order, _, _, request_id in placed:
            order.request_id = request_id
        result = await self._conn.execute(
            insert(orders).returning(orders.c.ticket, sort_by_parameter_order=True),
            [order_values(order) for order, *_ in placed],
        )
        tickets = [Ticket(t) for t in result.scalars()]
        if len(tickets) != len(placed):
            raise RuntimeError(f"inserted {len(placed)} orders, got {len(tickets)} tickets")
        for (order, *_), ticket in zip(placed, tickets, strict=True):
            order.ticket = ticket
        self._touch(tickets)
        rows = [
            row
            for (order, step, actor, request_id) in placed
            for row in _event_rows(order.key, [step], actor, request_id, order.created_at)
        ]
        await self._conn.execute(insert(order_events), rows)

    async def _one(self, where: ColumnElement[bool], lock: bool) -> Order | None:
        stmt = select(orders).where(where)
        if lock:
            stmt = stmt.with_for_update()
        row = (await self._conn.execute(stmt)).mappings().first()
        return None if row is None else order_from_row(row)

    async def get(self, login: Login, ref: OrderId | Ticket, *, lock: bool = False) -> Order | None:
        key = orders.c.ticket == ref if isinstance(ref, int) else orders.c.id == ref
        return await self._one(and_(key, orders.c.login == login), lock)

    async def by_ticket(self, ticket: Ticket, *, lock: bool = False) -> Order | None:
        return await self._one(orders.c.ticket == ticket, lock)

    async def save(
        self,
        order: Order,
        steps: Sequence[Transition],
        actor: str,
        request_id: str,
        *,
        expected_version: int,
        keep_request_id: bool = False,
    ) -> None:
        if order.ticket is None:
            raise ValueError("save() needs a stored order")
        if not keep_request_id:
            order.request_id = request_id
        values = order_values(order)
        for key in ("id", "login", "symbol", "side", "created_at"):
            del values[key]
        self._touch([order.ticket])
        result = await self._conn.execute(
            update(orders)
            .where(orders.c.ticket == order.ticket, orders.c.version == expected_version)
            .values(values)
        )
        if result.rowcount != 1:
            raise StaleOrder(f"order {order.id} was changed concurrently; try again")
        if steps:
            rows = _event_rows(order.ticket, steps, actor, request_id, order.updated_at)
            await self._conn.execute(insert(order_events), rows)

    async def open_orders(
        self, login: Login | None = None, symbol: str | None = None
    ) -> list[Order]:
        stmt = select(orders).where(orders.c.status.in_(NON_TERMINAL))
        if login is not None:
            stmt = stmt.where(orders.c.login == login)
        if symbol is not None:
            stmt = stmt.where(orders.c.symbol == symbol)
        stmt = stmt.order_by(orders.c.ticket)
        return [order_from_row(r) for r in (await self._conn.execute(stmt)).mappings()]

    async def open_chunks(self, size: int) -> AsyncIterator[list[Order]]:
        """Every non-terminal order in ticket order, ``size`` at a time: one statement whose
        rows are fetched as the chunks are taken (a server-side cursor), so that a million
        open orders are never in memory at once."""
        stmt = select(orders).where(orders.c.status.in_(NON_TERMINAL)).order_by(orders.c.ticket)
        result = await self._conn.stream(stmt.execution_options(yield_per=size))
        try:
            async for rows in result.mappings().partitions(size):
                yield [order_from_row(r) for r in rows]
        finally:
            await result.close()

    async def closing(self, login: Login, symbol: str, ticket: Ticket) -> Decimal:
        """How much the account's working orders that close ``ticket`` have left to fill."""
        stmt = select(orders.c.quantity, orders.c.filled).where(
            orders.c.login == login,
            orders.c.status.in_(NON_TERMINAL),
            orders.c.symbol == symbol,
            orders.c.closes_ticket == ticket,
        )
        rows = (await self._conn.execute(stmt)).all()
        return sum((quantity - filled for quantity, filled in rows), Decimal(0))

    async def deleted_pending(self, login: Login) -> list[Order]:
        """The account's pending (not market) orders that ended without a fill of all of
        them: cancelled, expired or rejected; oldest first."""
        stmt = (
            select(orders)
            .where(
                orders.c.login == login,
                orders.c.status.in_(_DELETED),
                orders.c.type != OrderType.MARKET.value,
            )
            .order_by(orders.c.ticket)
        )
        return [order_from_row(r) for r in (await self._conn.execute(stmt)).mappings()]

    async def by_oco(self, login: Login, oco: str) -> list[Order]:
        stmt = select(orders).where(
            orders.c.login == login, orders.c.oco == oco, orders.c.status.in_(NON_TERMINAL)
        )
        return [order_from_row(r) for r in (await self._conn.execute(stmt)).mappings()]

    def _events_from(self, source: Any, reason: str, actor: str, req: str, at: datetime) -> Any:
        """INSERT INTO order_events SELECT … FROM ``source`` (ticket, prior_status, status)."""
        return insert(order_events).from_select(
            _EVENT_COLUMNS,
            select(
                source.c.ticket,
                source.c.prior_status,
                source.c.status,
                literal(reason),
                literal(actor),
                literal(req),
                literal(at, UtcDateTime()),
            ),
        )

    async def cancel_batch(
        self, batch: BatchCancel
    ) -> tuple[list[CancelAccepted], list[tuple[Order, str | None]]]:
        o = orders.c
        scope: list[ColumnElement[bool]] = [o.login == batch.login]
        if batch.symbol is not None:
            scope.append(o.symbol == batch.symbol)
        where = [*scope, o.status.in_(batch.cancellable)]
        if batch.refused_symbols:
            where.append(o.symbol.not_in(list(batch.refused_symbols)))
        self._touch(logins=[batch.login])
        # Quantities come back as raw units, so that building 100k report rows stays cheap.
        quantity = type_coerce(o.quantity, BigInteger)
        remaining = type_coerce(o.quantity - o.filled, BigInteger)
        upd = (
            update(orders)
            .where(*where)
            .values(
                status=batch.target.value,
                prior_status=o.status,
                version=o.version + 1,
                updated_at=batch.at,
                request_id=batch.request_id,
            )
        )
        if self._pg:
            # One round trip: the UPDATE and the INSERT of its events in one statement.
            moved = upd.returning(
                o.ticket,
                o.id,
                o.symbol,
                o.side,
                o.type,
                quantity.label("qty"),
                remaining.label("rest"),
                o.prior_status,
                o.status,
            ).cte("moved")
            events = self._events_from(
                moved, batch.reason, batch.actor, batch.request_id, batch.at
            ).cte("events")
            result = await self._conn.execute(select(*list(moved.c)[:-1]).add_cte(events))
        else:
            result = await self._conn.execute(
                upd.returning(
                    o.ticket, o.id, o.symbol, o.side, o.type, quantity, remaining, o.prior_status
                )
            )
        side, kind, status, units = (
            _SIDES.__getitem__,
            _TYPES.__getitem__,
            _STATUSES.__getitem__,
            from_units_cached,
        )
        login, target = batch.login, batch.target
        accepted = [
            CancelAccepted(
                oid,
                ticket,
                login,
                symbol,
                side(sd),
                kind(tp),
                units(q),
                units(r),
                status(pr),
                target,
            )
            for ticket, oid, symbol, sd, tp, q, r, pr in result
        ]
        if not self._pg:
            just_moved = (
                select(o.ticket, o.prior_status, o.status)
                .where(*scope, o.status == batch.target.value, o.request_id == batch.request_id)
                .subquery()
            )
            await self._conn.execute(
                self._events_from(just_moved, batch.reason, batch.actor, batch.request_id, batch.at)
            )
        others: Select[Any] = select(orders).where(
            *scope,
            o.status.in_(NON_TERMINAL),
            or_(o.request_id.is_(None), o.request_id != batch.request_id),
        )
        rest = []
        for row in (await self._conn.execute(others.order_by(o.ticket))).mappings():
            order = order_from_row(row)
            rest.append((order, batch.refused_symbols.get(order.symbol)))
        return accepted, rest

    def _member(
        self, column: ColumnElement[Any], values: Collection[int], name: str = "members"
    ) -> ColumnElement[bool]:
        """``column IN values`` as one bound parameter, however many values (drivers cap the
        number of parameters of a statement: asyncpg at 32767)."""
        if self._pg:
            return column == any_(bindparam(name, list(values), type_=ARRAY(BigInteger)))
        members = func.json_each(json.dumps(list(values))).table_valued("value")
        return column.in_(select(members.c.value))

    async def _move_batch(
        self,
        where: list[ColumnElement[bool]],
        source: OrderStatus,
        target: Any,
        actor: str,
        reason: str,
        new_request_id: str,
        at: datetime,
    ) -> list[MovedOrder]:
        """Move the orders ``where`` selects from ``source`` to ``target`` (a status or a CASE
        on the row), with their events: one UPDATE and one INSERT … SELECT of the moved rows
        by their tickets (found by key, however many orders the account has)."""
        o = orders.c
        upd = (
            update(orders)
            .where(*where, o.status == source.value)
            .values(
                status=target,
                prior_status=None,
                version=o.version + 1,
                updated_at=at,
                request_id=new_request_id,
            )
            .returning(o.ticket, o.id, o.login, o.symbol, o.status)
        )
        moved_orders = [
            MovedOrder(ticket, oid, login, symbol, _STATUSES[status])
            for ticket, oid, login, symbol, status in await self._conn.execute(upd)
        ]
        if moved_orders:
            members = self._member(o.ticket, [m.ticket for m in moved_orders], "moved")
            moved = (
                select(o.ticket, literal(source.value).label("prior_status"), o.status)
                .where(members, o.request_id == new_request_id)
                .subquery()
            )
            await self._conn.execute(self._events_from(moved, reason, actor, new_request_id, at))
        return moved_orders

    async def confirm_batch(
        self,
        login: Login,
        request_ids: Collection[str],
        except_tickets: Collection[Ticket],
        source: OrderStatus,
        target: OrderStatus,
        actor: str,
        new_request_id: str,
        at: datetime,
    ) -> list[MovedOrder]:
        o = orders.c
        where = [o.login == login, o.request_id.in_(list(request_ids))]
        self._touch(logins=[login])
        if except_tickets:
            where.append(~self._member(o.ticket, except_tickets))
        return await self._move_batch(
            where, source, target.value, actor, str(target), new_request_id, at
        )

    async def acknowledge_batch(
        self,
        tickets: Collection[Ticket],
        live: Collection[Ticket],
        source: OrderStatus,
        targets: tuple[OrderStatus, OrderStatus],
        actor: str,
        reason: str,
        new_request_id: str,
        at: datetime,
    ) -> list[MovedOrder]:
        o = orders.c
        waiting, working = targets
        target: Any = waiting.value
        if live:
            target = case((self._member(o.ticket, live, "live"), working.value), else_=target)
        members = self._member(o.ticket, tickets)
        moved = await self._move_batch([members], source, target, actor, reason, new_request_id, at)
        self._touch([m.ticket for m in moved])
        return moved

    async def restore_batch(
        self,
        tickets: Collection[Ticket],
        source: OrderStatus,
        restore: Mapping[OrderStatus, tuple[OrderStatus, OrderStatus]],
        actor: str,
        reason: str,
        new_request_id: str,
        at: datetime,
    ) -> list[MovedOrder]:
        o = orders.c
        target = case(
            *[
                (and_(o.prior_status == prior.value, o.filled > 0), filled.value)
                for prior, (_, filled) in restore.items()
            ],
            *[
                (o.prior_status == prior.value, plain.value)
                for prior, (plain, _) in restore.items()
            ],
            else_=o.prior_status,
        )
        members = self._member(o.ticket, tickets)
        moved = await self._move_batch([members], source, target, actor, reason, new_request_id, at)
        # Marked once moved (before the commit): the logins, not up to 100k tickets.
        self._touch(logins={m.login for m in moved})
        return moved
