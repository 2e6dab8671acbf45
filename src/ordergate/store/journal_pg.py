"""The journal on PostgreSQL: one asyncpg connection of its own, holding an advisory lock
for as long as the server runs (a second server on the same database refuses to start).

A batch is one transaction. New rows go in with COPY, changed rows with ``executemany``; a
``Moved`` entry (many orders taking one step) is one UPDATE and one INSERT … SELECT over the
array of its tickets.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import asyncpg
from sqlalchemy.engine import make_url

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
)
from ordergate.store.types import from_units, to_units

__all__ = ["PgJournal", "pg_dsn"]

#: The advisory lock a writing server holds ("ordergat" in ASCII).
LOCK_KEY: Final = 0x6F72646572676174


def pg_dsn(url: str) -> str:
    """A libpq URL for asyncpg from a SQLAlchemy one (``postgresql+asyncpg://…``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _same(value: datetime) -> datetime:
    return value


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _params(columns: tuple[str, ...], start: int = 1) -> str:
    return ", ".join(f"${i}" for i in range(start, start + len(columns)))


_UPDATE_ORDER = (
    "UPDATE orders SET "
    + ", ".join(f"{c} = ${i}" for i, c in enumerate(ORDER_UPDATE_COLUMNS, 1))
    + f" WHERE ticket = ${len(ORDER_UPDATE_COLUMNS) + 1}"
)
_UPSERT_POSITION = (
    f"INSERT INTO positions ({', '.join(POSITION_COLUMNS)}) VALUES ({_params(POSITION_COLUMNS)})"
    " ON CONFLICT (ticket) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in POSITION_COLUMNS if c != "ticket")
)
_MOVE = (
    "UPDATE orders SET status = $1, prior_status = $2, version = version + 1, updated_at = $3,"
    " request_id = coalesce($4, request_id) WHERE ticket = ANY($5::bigint[])"
)
_MOVE_EVENTS = (
    f"INSERT INTO order_events ({', '.join(EVENT_COLUMNS)})"
    " SELECT t, $1, $2, $3, $4, $5, $6 FROM unnest($7::bigint[]) AS t"
)
_BALANCE = "UPDATE accounts SET balance = $1 WHERE login = $2"
_OPEN = [s.value for s in NON_TERMINAL]


class PgJournal:
    """The journal of the PostgreSQL database at ``url`` (a SQLAlchemy URL)."""

    def __init__(self, url: str) -> None:
        self._dsn = pg_dsn(url)
        self._conn: asyncpg.Connection | None = None

    async def open(self) -> None:
        # Not POSTGRES_SETTINGS' custom plans: the journal's statements are bulk writes by
        # key, and a custom plan per run would re-plan each foreign-key check of an event.
        conn = await asyncpg.connect(self._dsn)
        try:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
                raise JournalLocked(
                    "another ordergate server is writing to this database "
                    "(it holds the writer's advisory lock)"
                )
        except BaseException:
            await conn.close()
            raise
        self._conn = conn

    def _connection(self) -> asyncpg.Connection:
        if self._conn is None:
            raise RuntimeError("the journal is not open")
        return self._conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()  # ends the session: releases the lock
            self._conn = None

    async def append(self, batch: Batch) -> None:
        conn = self._connection()
        async with conn.transaction():
            if batch.new_orders:
                rows = [order_row(o, _same) for o in batch.new_orders.values()]
                await conn.copy_records_to_table("orders", records=rows, columns=ORDER_COLUMNS)
            await self._trail(conn, batch.trail)
            if batch.fills:
                await conn.copy_records_to_table(
                    "fills", records=[fill_row(f, _same) for f in batch.fills], columns=FILL_COLUMNS
                )
            if batch.orders:
                rows = [order_update_row(o, _same) for o in batch.orders.values()]
                await conn.executemany(_UPDATE_ORDER, rows)
            if batch.positions:
                rows = [position_row(p, _same) for p in batch.positions.values()]
                await conn.executemany(_UPSERT_POSITION, rows)
            if batch.balances:
                await conn.executemany(
                    _BALANCE, [(to_units(b), login) for login, b in batch.balances.items()]
                )

    @staticmethod
    async def _trail(conn: asyncpg.Connection, trail: list[Transitioned | Moved]) -> None:
        rows: list[tuple[Any, ...]] = []
        for entry in trail:
            if isinstance(entry, Transitioned):
                rows.append(event_row(entry, _same))
                continue
            if rows:
                await conn.copy_records_to_table(
                    "order_events", records=rows, columns=EVENT_COLUMNS
                )
                rows = []
            tickets = list(entry.tickets)
            prior = None if entry.prior_status is None else entry.prior_status.value
            await conn.execute(
                _MOVE, entry.to_status.value, prior, entry.at, entry.request_id, tickets
            )
            await conn.execute(
                _MOVE_EVENTS,
                entry.from_status.value,
                entry.to_status.value,
                entry.reason,
                entry.actor,
                entry.request_id,
                entry.at,
                tickets,
            )
        if rows:
            await conn.copy_records_to_table("order_events", records=rows, columns=EVENT_COLUMNS)

    async def load(self) -> Snapshot:
        conn = self._connection()
        async with conn.transaction(readonly=True, isolation="repeatable_read"):
            accounts = [account_of(r) for r in await conn.fetch("SELECT * FROM accounts")]
            instruments = [instrument_of(r) for r in await conn.fetch("SELECT * FROM instruments")]
            # Through a cursor: a million records are never held at once beside the orders.
            open_orders = [
                order_of(tuple(r), _utc)
                async for r in conn.cursor(
                    f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders"
                    " WHERE status = ANY($1::text[]) ORDER BY ticket",
                    _OPEN,
                    prefetch=10_000,
                )
            ]
            tickets = [
                position_of(r, _utc)
                for r in await conn.fetch("SELECT * FROM positions WHERE quantity > 0")
            ]
            realized = {
                r[0]: from_units(int(r[1] or 0))
                for r in await conn.fetch(
                    "SELECT login, sum(realized_pnl) FROM positions GROUP BY login"
                )
            }
            filled = {
                r[0]: from_units(int(r[1] or 0))
                for r in await conn.fetch("SELECT login, sum(quantity) FROM fills GROUP BY login")
            }
            traded: dict[Any, set[str]] = {}
            for r in await conn.fetch("SELECT DISTINCT login, symbol FROM positions"):
                traded.setdefault(r[0], set()).add(r[1])
            last = await conn.fetchval(
                "SELECT greatest(coalesce((SELECT max(ticket) FROM orders), 0),"
                " coalesce((SELECT max(ticket) FROM positions), 0))"
            )
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
