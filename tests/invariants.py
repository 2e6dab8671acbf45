"""What must hold of the stored state whatever happened before: crashes, races, bad input.

``violations`` reads the whole database (and, when given, the venue's book and the engine's
memory) and returns one line per broken rule, so that a failing test says every problem at
once. The crash, race and fuzz suites all end with ``assert await violations(...) == []``.

Rules:
- every order is in one known status, and its events replay to it: they start at submitted,
  each leaves the status the previous one reached, and the last reaches the stored status;
- filled quantity never exceeds the quantity, and equals the sum of the order's fills;
- no order is both filled and cancelled: a filled order has no cancelled event, a cancelled
  or expired one is not filled in full;
- per account and symbol, the open tickets add up to the signed sum of the fills;
- with a venue: its book holds exactly the orders resting in the database (call this when the
  venue has settled: a cancel it has done but whose confirmation is not stored yet differs);
- with an engine (call it when the engine is idle): what it holds in memory is what its
  journal holds — each open order as stored, no stored open order missing, the open tickets
  and the balances as stored — and its exposure per account and symbol is quantity - filled
  over its open orders plus the quantity of its open tickets, recomputed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from itertools import pairwise

from sqlalchemy import select

from ordergate.domain.orders import NON_TERMINAL, TERMINAL, OrderStatus
from ordergate.domain.values import shown
from ordergate.engine import OrderEngine
from ordergate.store import SqlStore
from ordergate.store.mapping import order_from_row, position_from_row
from ordergate.store.tables import accounts, fills, order_events, orders, positions
from ordergate.venue.sim import SimVenue
from tests.builders import recomputed_exposure

__all__ = ["RESTING", "memory_drift", "violations"]

RESTING = frozenset(
    {
        OrderStatus.ACCEPTED,
        OrderStatus.WORKING,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_CHANGE,
        OrderStatus.PENDING_CANCEL,
    }
)
_STATUSES = {s.value: s for s in OrderStatus}
_SIGN = {"buy": 1, "sell": -1}


async def violations(
    store: SqlStore, venue: SimVenue | None = None, engine: OrderEngine | None = None
) -> list[str]:
    """Every rule the stored state (and ``venue``'s book, and ``engine``'s memory) breaks,
    one line each."""
    async with store.engine.connect() as conn:
        order_rows = (await conn.execute(select(orders))).mappings().all()
        event_rows = (
            await conn.execute(
                select(
                    order_events.c.order_ticket,
                    order_events.c.from_status,
                    order_events.c.to_status,
                ).order_by(order_events.c.id)
            )
        ).all()
        fill_rows = (
            await conn.execute(
                select(
                    fills.c.order_ticket,
                    fills.c.login,
                    fills.c.symbol,
                    fills.c.side,
                    fills.c.quantity,
                )
            )
        ).all()
        ticket_rows = (
            await conn.execute(
                select(
                    positions.c.login, positions.c.symbol, positions.c.side, positions.c.quantity
                )
            )
        ).all()
    events: dict[int, list[tuple[str | None, str]]] = defaultdict(list)
    for ticket, source, target in event_rows:
        events[ticket].append((source, target))
    filled_by: dict[int, Decimal] = defaultdict(Decimal)
    fill_net: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for ticket, login, symbol, side, quantity in fill_rows:
        filled_by[ticket] += quantity
        fill_net[(login, symbol)] += _SIGN[side] * quantity
    problems: list[str] = []
    for row in order_rows:
        problems += _order_problems(row, events.get(row["ticket"], []), filled_by[row["ticket"]])
    held: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for login, symbol, side, quantity in ticket_rows:
        held[(login, symbol)] += _SIGN[side] * quantity
    for key in sorted(set(held) | set(fill_net)):
        if held[key] != fill_net[key]:
            problems.append(
                f"account {key[0]} {key[1]}: tickets hold {shown(held[key])}, "
                f"fills add to {shown(fill_net[key])}"
            )
    if venue is not None:
        problems += _book_problems(
            venue, (r for r in order_rows if _STATUSES.get(r["status"]) in RESTING)
        )
    if engine is not None:
        problems += await memory_drift(store, engine)
    return problems


async def memory_drift(store: SqlStore, engine: OrderEngine) -> list[str]:
    """Where ``engine``'s memory and its journal disagree, and where its exposure is not the
    recomputed one, one line each. Call it when the engine is idle (nothing being written)."""
    async with store.engine.connect() as conn:
        stored_open = {
            row["ticket"]: order_from_row(row)
            for row in (
                await conn.execute(select(orders).where(orders.c.status.in_(NON_TERMINAL)))
            ).mappings()
        }
        stored_tickets = [
            position_from_row(row)
            for row in (
                await conn.execute(select(positions).where(positions.c.quantity > 0))
            ).mappings()
        ]
        balances = dict((await conn.execute(select(accounts.c.login, accounts.c.balance))).all())
    state = engine.state
    problems: list[str] = []
    held = {o.key: o for a in state.accounts() for o in state.open_orders(a.login)}
    for ticket in sorted(set(held) | set(stored_open)):
        mine, stored = held.get(ticket), stored_open.get(ticket)
        if mine != stored:
            problems.append(f"order {ticket}: memory holds {mine}, the journal {stored}")
    open_tickets = {t.ticket: t for a in state.accounts() for t in state.open_tickets(a.login)}
    journaled = {t.ticket: t for t in stored_tickets}
    for ticket in sorted(set(open_tickets) | set(journaled)):
        mine_t, stored_t = open_tickets.get(ticket), journaled.get(ticket)
        if mine_t != stored_t:
            problems.append(f"ticket {ticket}: memory holds {mine_t}, the journal {stored_t}")
    for account in state.accounts():
        if balances.get(account.login) != account.balance:
            problems.append(
                f"account {account.login}: balance {shown(account.balance)} in memory, "
                f"{balances.get(account.login)} in the journal"
            )
        kept, recomputed = state.exposure(account.login), recomputed_exposure(engine, account.login)
        if kept != recomputed:
            problems.append(
                f"account {account.login}: exposure {kept} kept, {recomputed} recomputed"
            )
    return problems


def _order_problems(row: dict, trail: list[tuple[str | None, str]], filled: Decimal) -> list[str]:  # type: ignore[type-arg]
    ticket, raw = row["ticket"], row["status"]
    status = _STATUSES.get(raw)
    problems = []
    if status is None:
        return [f"order {ticket}: unknown status {raw!r}"]
    if not trail or trail[0] != (None, OrderStatus.SUBMITTED.value):
        problems.append(f"order {ticket}: its events do not start at submitted: {trail[:1]}")
    for (_, reached), (left, _) in pairwise(trail):
        if left != reached:
            problems.append(f"order {ticket}: an event leaves {left} after one reached {reached}")
    if trail and trail[-1][1] != raw:
        problems.append(f"order {ticket}: events end at {trail[-1][1]}, the order is {raw}")
    if row["filled"] > row["quantity"]:
        problems.append(f"order {ticket}: filled {row['filled']} of {row['quantity']}")
    if row["filled"] != filled:
        problems.append(
            f"order {ticket}: filled {shown(row['filled'])}, its fills add to {shown(filled)}"
        )
    cancelled = any(target == OrderStatus.CANCELLED.value for _, target in trail)
    if status is OrderStatus.FILLED and cancelled:
        problems.append(f"order {ticket}: both filled and cancelled")
    if status in TERMINAL - {OrderStatus.FILLED} and row["filled"] >= row["quantity"]:
        problems.append(f"order {ticket}: {raw} but filled in full")
    return problems


def _book_problems(venue: SimVenue, resting: Iterable[dict]) -> list[str]:  # type: ignore[type-arg]
    stored = {row["ticket"] for row in resting}
    booked = set(venue.resting())
    problems = [
        f"order {t}: resting in the database, not on the venue's book"
        for t in sorted(stored - booked)
    ]
    problems += [
        f"order {t}: on the venue's book, not resting in the database"
        for t in sorted(booked - stored)
    ]
    return problems
