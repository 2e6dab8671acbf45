"""What must hold after a kill: of the state as the crash left it, and after a restart.

Each function returns one line per broken rule (empty: all hold), on top of
``tests/invariants.py`` (events replay to the status, filled ≤ quantity, fills add up,
tickets equal fills, and after a restart the venue's book equals the resting orders).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Collection
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ordergate.bootstrap import Container, bootstrap, shutdown
from ordergate.domain.orders import TERMINAL, OrderStatus
from ordergate.settings import Settings
from ordergate.store import SqlStore
from ordergate.store.tables import fills, order_events, orders
from tests.invariants import violations
from tests.resilience.clients import TIMEOUT_S, Acked
from tests.resilience.harness import LOGIN, OTHERS

__all__ = [
    "cancel_after_crash",
    "cancel_after_restart",
    "count_fills",
    "ended",
    "order_ids",
    "restarted",
    "statuses",
    "stream_after_crash",
    "stream_after_restart",
    "until_confirmed",
]

PENDING = frozenset({OrderStatus.SUBMITTED, OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_CHANGE})


@contextlib.asynccontextmanager
async def restarted(url: str) -> AsyncIterator[Container]:
    """ordergate bootstrapped on ``url`` as a server starts (migrations, opening quotes, the
    open orders handed back to a venue without delays or refusals), once the venue has
    delivered every report it owes. No market feed: the market stays where it opened."""
    settings = Settings(
        database_url=url,
        market_source="none",
        sim_ack_delay_ms=0,
        sim_fill_delay_ms=0,
        sim_cancel_delay_ms=0,
        sim_cancel_refusal_pct=0,
        sim_partial_fills=False,
    )
    container = await bootstrap(settings)
    try:
        await container.engine.settle()
        yield container
    finally:
        await shutdown(container)


async def statuses(engine: AsyncEngine, login: int) -> Counter[str]:
    stmt = select(orders.c.status, func.count()).where(orders.c.login == login)
    async with engine.connect() as conn:
        return Counter(dict((await conn.execute(stmt.group_by(orders.c.status))).all()))


async def order_ids(engine: AsyncEngine) -> list[str]:
    stmt = select(orders.c.id).where(orders.c.login == LOGIN)
    async with engine.connect() as conn:
        return list((await conn.execute(stmt)).scalars())


async def until_confirmed(engine: AsyncEngine) -> None:
    """Wait until no order of login 1001 is pending_cancel."""
    deadline = time.monotonic() + TIMEOUT_S
    while (await statuses(engine, LOGIN))["pending_cancel"]:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the venue did not confirm the bulk cancel in {TIMEOUT_S} s")
        await asyncio.sleep(0.02)


async def count_fills(engine: AsyncEngine, login: int) -> int:
    stmt = select(func.count()).select_from(fills).where(fills.c.login == login)
    async with engine.connect() as conn:
        return int((await conn.execute(stmt)).scalar_one())


async def _moved(engine: AsyncEngine, login: int) -> int:
    """How many of the account's orders have ever been moved to pending_cancel."""
    stmt = (
        select(func.count(func.distinct(order_events.c.order_ticket)))
        .join(orders, orders.c.ticket == order_events.c.order_ticket)
        .where(orders.c.login == login, order_events.c.to_status == "pending_cancel")
    )
    async with engine.connect() as conn:
        return int((await conn.execute(stmt)).scalar_one())


async def _others_untouched(engine: AsyncEngine) -> list[str]:
    problems = []
    for login, n in OTHERS.items():
        found = await statuses(engine, login)
        if found != Counter({"working": n}):
            problems.append(f"account {login}: {dict(found)}, expected {n} working, untouched")
    return problems


async def cancel_after_crash(
    engine: AsyncEngine, n: int, answered: Collection[str] | None, seeded: Collection[str]
) -> tuple[list[str], str]:
    """The bulk cancel's rules as the crash left the database, and what it interrupted: all
    ``n`` orders of login 1001 still there; none or all of them moved (one transaction); all
    moved if the cancel was answered, and the answer named each; nothing else touched."""
    problems = await violations(SqlStore(engine))
    found = await statuses(engine, LOGIN)
    if found.total() != n:
        problems.append(f"account {LOGIN}: {found.total()} orders, {n} were seeded")
    if unexpected := set(found) - {"working", "pending_cancel", "cancelled"}:
        problems.append(f"account {LOGIN}: orders in {sorted(unexpected)}")
    moved = await _moved(engine, LOGIN)
    if moved not in (0, n):
        problems.append(f"{moved} of {n} orders moved to pending_cancel: not all or none")
    if answered is not None:
        if moved != n:
            problems.append(f"the cancel was answered, but {moved} of {n} orders moved")
        if len(answered) != n or set(answered) != set(seeded):
            problems.append(f"the answer named {len(answered)} ids, not the {n} orders")
    problems += await _others_untouched(engine)
    stage = "none moved" if moved == 0 else "moved: " + ", ".join(sorted(found))
    return problems, stage


async def cancel_after_restart(url: str, engine: AsyncEngine, n: int, refusals: bool) -> list[str]:
    """After a restart has settled: the invariants with the venue's book; each order working
    (never moved, or its cancel refused) or cancelled, none left pending; all cancelled if
    they had moved and the venue refused nothing."""
    async with restarted(url) as container:
        problems = await violations(container.store, container.venue)
    found = await statuses(engine, LOGIN)
    if found.total() != n:
        problems.append(f"after restart: account {LOGIN}: {found.total()} orders, not {n}")
    if unexpected := set(found) - {"working", "cancelled"}:
        problems.append(f"after restart: orders left in {sorted(unexpected)}")
    moved = await _moved(engine, LOGIN)
    if moved == 0 and found["working"] != n:
        problems.append(f"after restart: nothing moved, yet {dict(found)}")
    if moved == n and not refusals and found["cancelled"] != n:
        problems.append(f"after restart: all moved, no refusals, yet {dict(found)}")
    return problems + await _others_untouched(engine)


async def _missing(engine: AsyncEngine, acked: Acked) -> list[str]:
    stmt = select(orders.c.id, orders.c.ticket).where(orders.c.login == LOGIN)
    async with engine.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    ids, tickets = {r.id for r in rows}, {r.ticket for r in rows}
    problems = [f"acknowledged order {i} (CrossTrade) missing" for i in sorted(acked.ids - ids)]
    problems += [
        f"acknowledged ticket {t} (ScaleTrade) missing" for t in sorted(acked.tickets - tickets)
    ]
    return problems


async def ended(engine: AsyncEngine) -> dict[int, tuple[str, Decimal]]:
    """The orders that have ended (filled, cancelled, expired, rejected): status and filled
    quantity by ticket. A restart must leave them as they are."""
    stmt = select(orders.c.ticket, orders.c.status, orders.c.filled).where(
        orders.c.status.in_([s.value for s in TERMINAL])
    )
    async with engine.connect() as conn:
        return {t: (s, f) for t, s, f in (await conn.execute(stmt)).all()}


async def stream_after_crash(engine: AsyncEngine, acked: Acked) -> list[str]:
    """The placements' rules as the crash left the database: the invariants, and every
    order the server acknowledged is there."""
    problems = await violations(SqlStore(engine))
    return problems + await _missing(engine, acked) + await _others_untouched(engine)


async def stream_after_restart(
    url: str, engine: AsyncEngine, acked: Acked, before: dict[int, tuple[str, Decimal]]
) -> list[str]:
    """After a restart has settled: the invariants with the venue's book, every acknowledged
    order there, the orders that had ended (``before``) unchanged, none left submitted or
    pending, no market order left resting."""
    async with restarted(url) as container:
        problems = await violations(container.store, container.venue)
    problems += await _missing(engine, acked)
    after = await ended(engine)
    problems += [
        f"after restart: order {t} was {was}, is {after.get(t)}"
        for t, was in sorted(before.items())
        if after.get(t) != was
    ]
    found = await statuses(engine, LOGIN)
    if pending := {s: c for s, c in found.items() if s in PENDING}:
        problems.append(f"after restart: orders left {pending}")
    stmt = select(orders.c.ticket, orders.c.status).where(
        orders.c.login == LOGIN,
        orders.c.type == "market",
        orders.c.status.not_in([s.value for s in TERMINAL]),
    )
    async with engine.connect() as conn:
        for ticket, status in (await conn.execute(stmt)).all():
            problems.append(f"after restart: market order {ticket} left {status}")
    return problems + await _others_untouched(engine)
