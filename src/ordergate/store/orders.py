"""Orders and their event trail; the bulk paths are one statement per batch."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Dialect,
    Select,
    String,
    and_,
    any_,
    bindparam,
    case,
    func,
    insert,
    literal,
    literal_column,
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
from ordergate.engine.ports import BatchCancel, MovedOrder, SaveOrder
from ordergate.store.direct import CompiledStatement, PerDialect, RowInsert
from ordergate.store.mapping import order_from_row, order_values
from ordergate.store.sqlite_driver import Direct
from ordergate.store.tables import order_events, orders
from ordergate.store.types import UtcDateTime, from_units_cached

__all__ = ["SqlOrderRepository"]

_SIDES = {s.value: s for s in Side}
_TYPES = {t.value: t for t in OrderType}
_STATUSES = {s.value: s for s in OrderStatus}
_DELETED = [s.value for s in (OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED)]
_EVENT_COLUMNS = ["order_ticket", "from_status", "to_status", "reason", "actor", "request_id", "at"]


#: Statements built once (``SqlOrderRepository._built``), by dialect and shape.
_BUILT: dict[tuple[Any, ...], Any] = {}


#: The columns an order never changes once stored (``save`` leaves them as they are).
_IMMUTABLE = ("id", "login", "symbol", "side", "created_at")


def _save_statement() -> Any:
    """UPDATE of every changeable column of one order, if its version is still the one read
    (``save_many`` runs it for many rows at once)."""
    o = orders.c
    changeable = [c for c in orders.c if c.name not in (*_IMMUTABLE, "ticket")]
    return (
        update(orders)
        .where(o.ticket == bindparam("key_ticket"), o.version == bindparam("key_version"))
        .values({c.name: bindparam(f"sv_{c.name}", type_=c.type) for c in changeable})
    )


def _events_unnest() -> Any:
    """PostgreSQL: INSERT INTO order_events SELECT the rows given as one array per column."""
    arrays = [
        func.unnest(bindparam(f"ev_{name}", type_=ARRAY(order_events.c[name].type)))
        for name in _EVENT_COLUMNS
    ]
    return insert(order_events).from_select(_EVENT_COLUMNS, select(*arrays))


class _DirectStatements:
    """The statements every placement writes, for ``SqlOrderRepository``'s direct work on
    SQLite (store/direct.py)."""

    def __init__(self, dialect: Dialect) -> None:
        o = orders.c
        self.orders = RowInsert(
            orders, [c for c in orders.c if c.name != "ticket"], dialect, returning=[o.id, o.ticket]
        )
        self.events = RowInsert(order_events, [order_events.c[n] for n in _EVENT_COLUMNS], dialect)


_direct_statements = PerDialect(_DirectStatements)
#: SQLAlchemy statements compiled for direct work, by the statement (None: it cannot be).
_COMPILED: dict[int, tuple[Any, CompiledStatement | None]] = {}


def _compiled(dialect: Dialect, statement: Any) -> CompiledStatement | None:
    """``statement`` (one of ``_BUILT``'s, which live as long as the process) compiled for
    direct work on SQLite, once; None if its SQL depends on its parameters."""
    found = _COMPILED.get(id(statement))
    if found is None or found[0] is not statement:
        try:
            compiled: CompiledStatement | None = CompiledStatement(statement, dialect)
        except ValueError:
            compiled = None
        found = _COMPILED[id(statement)] = (statement, compiled)
    return found[1]


def _member_of(pg: bool, column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """``column IN`` the values of parameter ``name`` (``SqlOrderRepository._members``): an
    array on PostgreSQL, a JSON array on SQLite, one parameter however many values."""
    if pg:
        return column == any_(bindparam(name, type_=ARRAY(BigInteger)))
    members = func.json_each(bindparam(name, type_=String())).table_valued("value")
    return column.in_(select(members.c.value))


def _named(pg: bool, prefix: str, kinds: tuple[bool, bool]) -> ColumnElement[bool]:
    """The orders named by id or by ticket, in the parameters ``SqlOrderRepository._refs``
    gives (``kinds``: whether there are ids, and tickets)."""
    o = orders.c
    named: list[ColumnElement[bool]] = []
    if kinds[0]:
        named.append(o.id.in_(bindparam(f"{prefix}_ids", expanding=True, type_=String())))
    if kinds[1]:
        named.append(_member_of(pg, o.ticket, f"{prefix}_tickets"))
    return or_(*named)


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

    def __init__(
        self, conn: AsyncConnection, writes: Writes | None = None, direct: Direct | None = None
    ) -> None:
        self._conn = conn
        self._pg = conn.dialect.name == "postgresql"
        self._writes = writes
        # On SQLite, the statements of every placement run on the sqlite3 connection itself
        # (store/direct.py); on PostgreSQL they go through SQLAlchemy.
        self._direct = direct

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
        # Each ticket is matched to its order by the order's id: asking for the rows in the
        # order given (sort_by_parameter_order) makes SQLAlchemy insert them one statement at
        # a time on SQLite, where multi-row VALUES is one statement per batch.
        values = [order_values(order) for order, *_ in placed]
        result: Any
        if self._direct is not None:
            statements = _direct_statements(self._conn.dialect)
            bound = [statements.orders.bind(v) for v in values]
            result = await self._direct.run(lambda db: statements.orders.run(db, bound))
        else:
            result = await self._conn.execute(
                insert(orders).returning(orders.c.id, orders.c.ticket), values
            )
        ticket_of = {oid: Ticket(ticket) for oid, ticket in result}
        if len(ticket_of) != len(placed):
            raise RuntimeError(f"inserted {len(placed)} orders, got {len(ticket_of)} tickets")
        for order, *_ in placed:
            order.ticket = ticket_of[order.id]
        tickets = list(ticket_of.values())
        self._touch(tickets)
        rows = [
            row
            for (order, step, actor, request_id) in placed
            for row in _event_rows(order.key, [step], actor, request_id, order.created_at)
        ]
        await self._insert_events(rows)

    async def _insert_events(self, rows: list[dict[str, Any]]) -> None:
        """Insert event rows in one statement. On PostgreSQL the rows go as one array per
        column (``unnest``): asyncpg's executemany, which SQLAlchemy uses for a plain
        many-row INSERT, took about 0.4 ms a row under load."""
        if not rows:
            return
        if self._direct is not None:
            events = _direct_statements(self._conn.dialect).events
            bound = [events.bind(row) for row in rows]
            await self._direct.run(lambda db: events.run(db, bound))
            return
        if not self._pg:
            await self._conn.execute(insert(order_events), rows)
            return
        columns = {f"ev_{name}": [row[name] for row in rows] for name in _EVENT_COLUMNS}
        await self._conn.execute(self._built(("events-unnest",), _events_unnest), columns)

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

    async def get_many(
        self, login: Login, refs: Collection[OrderId | Ticket], *, lock: bool = False
    ) -> list[Order]:
        pg = self._pg
        o = orders.c
        if not refs:
            return []
        params, kinds = self._refs(refs, "gm")
        params["gm_login"] = login

        def build() -> Any:
            # SQLite, with no statistics, would search by the account's index and read every
            # order of the account; "+ 0" leaves it the id and ticket indexes (the refs).
            owner = o.login if pg else o.login + literal_column("0")
            stmt = select(orders).where(owner == bindparam("gm_login"), _named(pg, "gm", kinds))
            return stmt.with_for_update() if lock else stmt

        stmt = self._built(("get-many", *kinds, lock), build)
        return [order_from_row(r) for r in (await self._conn.execute(stmt, params)).mappings()]

    async def logins_of(self, refs: Collection[OrderId | Ticket]) -> dict[OrderId | Ticket, Login]:
        o = orders.c
        if not refs:
            return {}
        params, kinds = self._refs(refs, "lo")

        def build() -> Any:
            return select(o.id, o.ticket, o.login).where(_named(self._pg, "lo", kinds))

        stmt = self._built(("logins-of", *kinds), build)
        found: dict[OrderId | Ticket, Login] = {}
        for oid, ticket, login in await self._conn.execute(stmt, params):
            found[OrderId(oid)] = found[Ticket(ticket)] = Login(login)
        return found

    def _refs(
        self, refs: Collection[OrderId | Ticket], prefix: str
    ) -> tuple[dict[str, Any], tuple[bool, bool]]:
        """The parameters that name ``refs`` in ``_named(…, prefix, kinds)``, and ``kinds``:
        whether there are ids, and tickets, among them."""
        ids = [r for r in refs if isinstance(r, str)]
        tickets = [r for r in refs if isinstance(r, int)]
        params: dict[str, Any] = {}
        if ids:
            params[f"{prefix}_ids"] = ids
        if tickets:
            params[f"{prefix}_tickets"] = self._members(tickets)
        return params, (bool(ids), bool(tickets))

    async def save_many(self, saves: Sequence[SaveOrder]) -> None:
        if not saves:
            return
        rows = []
        events = []
        for order, steps, actor, request_id, version in saves:
            if order.ticket is None:
                raise ValueError("save_many() needs stored orders")
            order.request_id = request_id
            values = order_values(order)
            for key in _IMMUTABLE:
                del values[key]
            row = {f"sv_{key}": value for key, value in values.items()}
            rows.append(row | {"key_ticket": order.ticket, "key_version": version})
            events += _event_rows(order.ticket, steps, actor, request_id, order.updated_at)
        self._touch([s.order.key for s in saves])
        result = await self._conn.execute(self._built(("save-many",), _save_statement), rows)
        if self._conn.dialect.supports_sane_multi_rowcount and result.rowcount != len(rows):
            raise StaleOrder("an order was changed concurrently; try again")
        await self._insert_events(events)

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
        for key in _IMMUTABLE:
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

    def _members(self, values: Collection[int]) -> Any:
        """The value of a ``_member_of`` parameter."""
        return list(values) if self._pg else json.dumps(list(values))

    def _built(self, shape: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        """The statement of ``shape``, built once per dialect: a hot batch (a run of
        acknowledgements or of cancel confirmations) would otherwise spend longer building
        and keying its statements than the database spends running them."""
        key = (self._pg, *shape)
        stmt = _BUILT.get(key)
        if stmt is None:
            stmt = _BUILT[key] = build()
        return stmt

    async def _execute(self, statement: Any, params: dict[str, Any]) -> Any:
        """``statement`` (one of ``_built``'s) run with ``params``: its rows. On SQLite
        directly where its SQL is one text (store/direct.py), else through SQLAlchemy."""
        direct = self._direct
        if direct is not None:
            compiled = _compiled(self._conn.dialect, statement)
            if compiled is not None:
                return await direct.run(lambda db: compiled.run(db, params))
        return await self._conn.execute(statement, params)

    async def _move_batch(
        self,
        shape: tuple[Any, ...],
        build: Callable[[], tuple[list[ColumnElement[bool]], Any]],
        params: dict[str, Any],
        source: OrderStatus,
        actor: str,
        reason: str,
        new_request_id: str,
        at: datetime,
    ) -> list[MovedOrder]:
        """Move the orders ``build``'s conditions select from ``source`` to its target (a
        status or a CASE on the row), with their events: one UPDATE and one INSERT … SELECT of
        the moved rows by their tickets (found by key, however many orders the account has).
        ``build`` runs once per ``shape``; ``params`` are the values of its parameters."""
        pg = self._pg
        o = orders.c

        def update_stmt() -> Any:
            where, target = build()
            return (
                update(orders)
                .where(*where, o.status == bindparam("mv_source", type_=String()))
                .values(
                    status=target,
                    prior_status=None,
                    version=o.version + 1,
                    updated_at=bindparam("mv_at", type_=UtcDateTime()),
                    request_id=bindparam("mv_request_id", type_=String()),
                )
                .returning(o.ticket, o.id, o.login, o.symbol, o.status)
            )

        def events_stmt() -> Any:
            moved = (
                select(
                    o.ticket,
                    bindparam("mv_source", type_=String()).label("prior_status"),
                    o.status,
                )
                .where(
                    _member_of(pg, o.ticket, "mv_moved"),
                    o.request_id == bindparam("mv_request_id", type_=String()),
                )
                .subquery()
            )
            return insert(order_events).from_select(
                _EVENT_COLUMNS,
                select(
                    moved.c.ticket,
                    moved.c.prior_status,
                    moved.c.status,
                    bindparam("mv_reason", type_=String()),
                    bindparam("mv_actor", type_=String()),
                    bindparam("mv_request_id", type_=String()),
                    bindparam("mv_at", type_=UtcDateTime()),
                ),
            )

        common = {"mv_source": source.value, "mv_at": at, "mv_request_id": new_request_id}
        result = await self._execute(
            self._built(("move", *shape), update_stmt), {**params, **common}
        )
        moved_orders = [
            MovedOrder(ticket, oid, login, symbol, _STATUSES[status])
            for ticket, oid, login, symbol, status in result
        ]
        if moved_orders:
            await self._execute(
                self._built(("moved-events",), events_stmt),
                {
                    **common,
                    "mv_reason": reason[:255],
                    "mv_actor": actor[:64],
                    "mv_moved": self._members([m.ticket for m in moved_orders]),
                },
            )
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
        pg = self._pg
        o = orders.c
        excepted = bool(except_tickets)

        def build() -> tuple[list[ColumnElement[bool]], Any]:
            where = [
                o.login == bindparam("cf_login", type_=BigInteger()),
                o.request_id.in_(bindparam("cf_request_ids", expanding=True, type_=String())),
            ]
            if excepted:
                where.append(~_member_of(pg, o.ticket, "cf_except"))
            return where, bindparam("cf_target", type_=String())

        params: dict[str, Any] = {
            "cf_login": login,
            "cf_request_ids": list(request_ids),
            "cf_target": target.value,
        }
        if excepted:
            params["cf_except"] = self._members(except_tickets)
        self._touch(logins=[login])
        return await self._move_batch(
            ("confirm", excepted), build, params, source, actor, str(target), new_request_id, at
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
        pg = self._pg
        o = orders.c
        waiting, working = targets
        any_live = bool(live)

        def build() -> tuple[list[ColumnElement[bool]], Any]:
            target: Any = bindparam("ak_waiting", type_=String())
            if any_live:
                working_now = bindparam("ak_working", type_=String())
                target = case((_member_of(pg, o.ticket, "ak_live"), working_now), else_=target)
            return [_member_of(pg, o.ticket, "ak_tickets")], target

        params: dict[str, Any] = {"ak_tickets": self._members(tickets), "ak_waiting": waiting.value}
        if any_live:
            params |= {"ak_live": self._members(live), "ak_working": working.value}
        moved = await self._move_batch(
            ("ack", any_live), build, params, source, actor, reason, new_request_id, at
        )
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
        pg = self._pg
        o = orders.c
        rules = tuple(
            (prior.value, plain.value, filled.value) for prior, (plain, filled) in restore.items()
        )

        def build() -> tuple[list[ColumnElement[bool]], Any]:
            target = case(
                *[
                    (and_(o.prior_status == prior, o.filled > 0), filled)
                    for prior, _, filled in rules
                ],
                *[(o.prior_status == prior, plain) for prior, plain, _ in rules],
                else_=o.prior_status,
            )
            return [_member_of(pg, o.ticket, "rs_tickets")], target

        params = {"rs_tickets": self._members(tickets)}
        moved = await self._move_batch(
            ("restore", rules), build, params, source, actor, reason, new_request_id, at
        )
        # Marked once moved (before the commit): the logins, not up to 100k tickets.
        self._touch(logins={m.login for m in moved})
        return moved
