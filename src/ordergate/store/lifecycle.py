"""An order's life for reading: its state transitions (the audit trail) and its fills, merged
into one timeline, oldest first (the CrossTrade ``lifecycle`` endpoint)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate.domain.ids import Ticket
from ordergate.domain.orders import OrderStatus, Side
from ordergate.store.tables import fills, order_events

__all__ = ["FillRecord", "StateChange", "Timeline", "order_timeline"]


@dataclass(frozen=True, slots=True)
class StateChange:
    """One transition of the order; ``from_status`` is None for its creation."""

    at: datetime
    from_status: OrderStatus | None
    to_status: OrderStatus
    reason: str
    actor: str


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One execution of (part of) the order; ``id`` is the fill's row id."""

    id: int
    at: datetime
    side: Side
    quantity: Decimal
    price: Decimal


@dataclass(frozen=True, slots=True)
class Timeline:
    """The first ``limit`` entries of an order's life; ``truncated`` when there are more."""

    entries: tuple[StateChange | FillRecord, ...]
    truncated: bool


async def order_timeline(
    conn: AsyncConnection, ticket: Ticket, *, include_fills: bool = True, limit: int = 200
) -> Timeline:
    """The transitions (and fills) of order ``ticket``, oldest first, at most ``limit``.

    Both lists are read in insertion order; each fill goes just before the transition it
    caused. Reading ``limit + 1`` of each is enough to know the first ``limit`` entries and
    whether anything follows them.
    """
    e = order_events.c
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
        f = fills.c
        rows = await conn.execute(
            select(f.id, f.at, f.side, f.quantity, f.price)
            .where(f.order_ticket == ticket)
            .order_by(f.id)
            .limit(limit + 1)
        )
        executions = [FillRecord(r.id, r.at, Side(r.side), r.quantity, r.price) for r in rows]
    merged = _merge(changes, executions)
    return Timeline(tuple(merged[:limit]), len(merged) > limit)


def _merge(
    changes: list[StateChange], executions: list[FillRecord]
) -> list[StateChange | FillRecord]:
    """Each fill just before the transition it caused: the first unclaimed one stamped with
    the fill's own time (the engine writes both with the venue's execution time, which may
    be earlier than the order's other transitions: a fill against a quote of the past)."""
    merged: list[StateChange | FillRecord] = []
    j = 0
    for change in changes:
        if j < len(executions) and executions[j].at == change.at:
            merged.append(executions[j])
            j += 1
        merged.append(change)
    merged.extend(executions[j:])  # fills whose transition lies beyond the rows read
    return merged
