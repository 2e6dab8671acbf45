"""Matching benchmark: quotes and fills per second, in the venue's book and through the engine.

On one deterministic layout of 10k resting limit orders over 6 instruments: ``Book.match``
alone over a seeded random walk of quotes (each quote's fills checked against an independent
model), and the engine end to end on SQLite and PostgreSQL (``recover()``, quotes through
``venue.on_quote``, ``settle()``; then exactly the expected orders must be filled and every
account's positions and balance must add up to its fills). bench/README.md has the details;
``python bench/matching.py --help`` the options.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import logging
import os
import platform
import pstats
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Container, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import metadata
from logging.handlers import BufferingHandler
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import event, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from cancel_orders import BenchError, bench_main, insert_rows, log
from ordergate.domain.accounts import Account, PositionMode
from ordergate.domain.ids import Login, Ticket, UserId
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import OrderType, Side
from ordergate.engine import OrderEngine
from ordergate.store import SqlStore, SqlTransaction, create_engine, sqlite_url, upgrade
from ordergate.store.tables import accounts, fills, orders, positions, users
from ordergate.venue.base import Filled, Quote
from ordergate.venue.book import Book, Resting
from ordergate.venue.sim import SimVenue

ORDERS = 10_000
SEED = 20261121
DEPTH_TICKS = 150  # resting orders sit 0..DEPTH_TICKS ticks behind the opening quote
ACCOUNTS = 20
BALANCE = Decimal(10**8)
WORST_CROSSED = 1_000
START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
RUN_TIMEOUT_S = 300
PG_URL = os.environ.get(
    "ORDERGATE_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
PG_DB = "ordergate_bench_matching"


class Spec(NamedTuple):
    """One instrument of the layout, its opening bid and the unit of order and quote sizes."""

    instrument: Instrument
    bid: Decimal
    lot: Decimal

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    @property
    def tick(self) -> Decimal:
        return self.instrument.tick_size


_INSTRUMENTS = (  # symbol, tick, point value, digits, lot step, opening bid, size unit
    ("ES 12-26", "0.25", 50, 2, "1", "5000.00", "1"),
    ("NQ 12-26", "0.25", 20, 2, "1", "18000.00", "1"),
    ("CL 01-27", "0.01", 1000, 2, "1", "75.00", "1"),
    ("GC 02-27", "0.10", 100, 1, "1", "2000.0", "1"),
    ("EURUSD", "0.00001", 100000, 5, "0.01", "1.08000", "0.1"),
    ("GBPUSD", "0.00001", 100000, 5, "0.01", "1.27000", "0.1"),
)
D = Decimal
SPECS = tuple(
    Spec(Instrument(sym, D(tick), D(pv), digits, D(step), D(500), D(step)), D(bid), D(lot))
    for sym, tick, pv, digits, step, bid, lot in _INSTRUMENTS
)


@dataclass(frozen=True, slots=True)
class Seeded:
    """One resting order of the layout; tickets count from 1 (in the book and the database)."""

    ticket: Ticket
    login: int
    symbol: str
    side: Side
    quantity: Decimal
    limit: Decimal

    def resting(self) -> Resting:
        order = (self.ticket, Login(self.login), self.symbol, self.side, OrderType.LIMIT)
        return Resting(*order, self.quantity, self.limit, None, None, live=True)


def layout(counts: Sequence[int]) -> list[Seeded]:
    """``counts[i]`` orders of instrument i, alternately buy and sell, 0..DEPTH_TICKS ticks
    behind the opening quote (buys below the bid, sells above the ask), 1 to 5 size units."""
    rng = random.Random(SEED)
    out: list[Seeded] = []
    for spec, count in zip(SPECS, counts, strict=True):
        for i in range(count):
            side = Side.BUY if i % 2 == 0 else Side.SELL
            away = rng.randint(0, DEPTH_TICKS) * spec.tick
            limit = spec.bid - away if side is Side.BUY else spec.bid + spec.tick + away
            qty, login = spec.lot * rng.randint(1, 5), 1001 + rng.randrange(ACCOUNTS)
            out.append(Seeded(Ticket(len(out) + 1), login, spec.symbol, side, qty, limit))
    return out


def even_counts(total: int = ORDERS) -> list[int]:
    return [total // len(SPECS) + (i < total % len(SPECS)) for i in range(len(SPECS))]


def quote_stream(count: int) -> list[Quote]:
    """A random walk per instrument on its tick grid, one tick wide; sizes of 1 to 10 units."""
    rng = random.Random(SEED + 1)
    offset = [0] * len(SPECS)
    out = []
    for n in range(count):
        i = rng.randrange(len(SPECS))
        offset[i] += rng.choice((-1, 0, 0, 1))
        spec = SPECS[i]
        bid = spec.bid + offset[i] * spec.tick
        size = spec.lot * rng.randint(1, 10), spec.lot * rng.randint(1, 10)
        at = START + timedelta(microseconds=n)
        out.append(Quote(spec.symbol, bid, bid + spec.tick, at, *size))
    return out


class Reference:
    """The check: an independent, price-sorted model of what ``Book.match`` must do with limit
    orders. Per symbol and side the orders are sorted worst first, so the best is popped."""

    def __init__(self, seeded: Sequence[Seeded]) -> None:
        self._sides: dict[tuple[str, Side], list[list[Any]]] = defaultdict(list)
        for o in seeded:
            key = o.limit if o.side is Side.BUY else -o.limit
            self._sides[o.symbol, o.side].append([key, -o.ticket, o.ticket, o.limit, o.quantity])
        for entries in self._sides.values():
            entries.sort()

    def match(self, quote: Quote, *, partial: bool) -> list[tuple[int, Decimal, Decimal]]:
        out: list[tuple[int, Decimal, Decimal]] = []
        sides = ((Side.BUY, quote.ask, quote.ask_size), (Side.SELL, quote.bid, quote.bid_size))
        for side, touch, size in sides:
            entries = self._sides[quote.symbol, side]
            left = size if partial else None
            while entries and (left is None or left > 0):
                _, _, ticket, limit, remaining = best = entries[-1]
                if (limit - touch) * side.sign < 0:
                    break
                qty = remaining if left is None else min(remaining, left)
                price = min(limit, touch) if side is Side.BUY else max(limit, touch)
                out.append((ticket, qty, price))
                if left is not None:
                    left -= qty
                best[4] = remaining - qty
                if best[4] == 0:
                    entries.pop()
        return sorted(out)


def _book(seeded: Sequence[Seeded]) -> Book:
    book = Book()
    for o in seeded:
        book.add(o.resting())
    return book


def _fills(reports: Sequence[Any]) -> list[tuple[int, Decimal, Decimal]]:
    if any(not isinstance(r, Filled) for r in reports):
        raise BenchError(f"limit orders produced other reports than fills: {reports}")
    return sorted((r.ticket, r.quantity, r.price) for r in reports)


def _check_stream(
    seeded: Sequence[Seeded], quotes: Sequence[Quote], partial: bool, produced: dict[int, Any]
) -> tuple[int, int, float]:
    """Every quote's fills against the model's: (crossing quotes, fills, model quotes/s)."""
    model = Reference(seeded)
    wanted = []
    start = time.perf_counter()
    for quote in quotes:
        wanted.append(model.match(quote, partial=partial))
    model_rate = len(quotes) / (time.perf_counter() - start)
    for i, want in enumerate(wanted):
        have = _fills(produced.get(i, []))
        if have != want:
            raise BenchError(f"quote {i} ({quotes[i]}): book {have[:3]}…, model {want[:3]}…")
    return sum(1 for w in wanted if w), sum(len(w) for w in wanted), model_rate


def bench_stream(quotes: Sequence[Quote], partial: bool, budget_s: float) -> dict[str, Any]:
    """Quotes and fills per second of ``Book.match`` over the stream, checked."""
    seeded = layout(even_counts())
    book = _book(seeded)
    produced: dict[int, Any] = {}
    match = book.match
    gc.collect()
    start = time.perf_counter()
    for i, quote in enumerate(quotes):
        reports = match(quote, partial=partial, at=quote.at)
        if reports:
            produced[i] = reports
        if i % 1000 == 999 and time.perf_counter() - start > budget_s:
            raise BenchError(f"book: {i + 1} quotes took over {budget_s:.0f} s; use fewer")
    elapsed = time.perf_counter() - start
    crossing, fill_count, model_rate = _check_stream(seeded, quotes, partial, produced)
    return {
        "partial_fills": partial,
        "resting_start": len(seeded),
        "resting_end": len(book.tickets()),
        "quotes": len(quotes),
        "crossing_quotes": crossing,
        "fills": fill_count,
        "seconds": round(elapsed, 3),
        "quotes_per_s": round(len(quotes) / elapsed),
        "fills_per_s": round(fill_count / elapsed),
        "us_per_quote": round(elapsed / len(quotes) * 1e6, 1),
        "model_quotes_per_s": round(model_rate),
    }


def bench_worst(partial: bool, repeat: int) -> dict[str, Any]:
    """One quote that crosses all WORST_CROSSED buys of the first instrument, with 10k resting
    (the first instrument holds 2 * WORST_CROSSED, the other five share the rest)."""
    rest = ORDERS - 2 * WORST_CROSSED
    seeded = layout([2 * WORST_CROSSED] + [rest // 5 + (i < rest % 5) for i in range(5)])
    spec = SPECS[0]
    buys = [o for o in seeded if o.symbol == spec.symbol and o.side is Side.BUY]
    ask, size = min(o.limit for o in buys), sum((o.quantity for o in buys), Decimal(0))
    quote = Quote(spec.symbol, ask - spec.tick, ask, START, spec.lot, size)
    want = sorted((o.ticket, o.quantity, ask) for o in buys)
    samples = []
    for _ in range(repeat):
        book = _book(seeded)
        gc.collect()
        start = time.perf_counter()
        reports = book.match(quote, partial=partial, at=quote.at)
        samples.append(time.perf_counter() - start)
        if _fills(reports) != want:
            raise BenchError(f"worst case: {len(reports)} fills, expected the {len(want)} buys")
    elapsed = statistics.median(samples)
    return {
        "partial_fills": partial,
        "crossed": len(want),
        "ms": round(elapsed * 1000, 2),
        "fills_per_s": round(len(want) / elapsed),
    }


# Every seeded order gets the two events the engine writes for it: submitted, then working.
_SEED_EVENTS = (
    "INSERT INTO order_events (order_ticket, from_status, to_status, reason, actor, request_id, at)"
    " SELECT ticket, NULL, 'submitted', 'submitted', 'user:bench', NULL, created_at FROM orders",
    "INSERT INTO order_events (order_ticket, from_status, to_status, reason, actor, request_id, at)"
    " SELECT ticket, 'submitted', 'working', 'acknowledged', 'venue', request_id, updated_at"
    " FROM orders",
)


async def seed_database(engine: AsyncEngine, seeded: Sequence[Seeded]) -> None:
    """Migrate, then the instruments, the netting accounts and the resting orders (working,
    version 2, with their submitted and working events), in bulk."""
    await upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(
            insert(users).values(id=1, name="bench", role="trader", enabled=True, created_at=START)
        )
    async with SqlStore(engine).transaction() as tx:
        for spec in SPECS:
            await tx.accounts.add_instrument(spec.instrument)
        for n in range(ACCOUNTS):
            owner, mode = UserId(1), PositionMode.NETTING
            account = Account(Login(1001 + n), f"B{n}", owner, "bench", "USD", BALANCE, 100, mode)
            await tx.accounts.add(account)
        await tx.commit()
    common = {"type": "limit", "filled": 0, "tif": "gtc", "comment": "", "status": "working"}
    common |= {"version": 2, "created_at": START, "updated_at": START + timedelta(seconds=1)}
    rows = [
        {**common, "id": f"{o.ticket:032x}", "request_id": f"{o.ticket:032x}", "login": o.login}
        | {"symbol": o.symbol, "side": o.side.value, "quantity": o.quantity, "limit_price": o.limit}
        for o in seeded
    ]
    async with engine.begin() as conn:
        await insert_rows(conn, orders, rows)
        for sql in _SEED_EVENTS:
            await conn.execute(text(sql))
        found = (await conn.execute(select(orders.c.ticket, orders.c.id))).all()
    # The database must have numbered the orders as the layout did (the id holds its ticket).
    if len(found) != len(seeded) or any(t != int(i, 16) for t, i in found):
        raise BenchError("the database numbered the seeded orders differently from the layout")


class Plan(NamedTuple):
    """The quotes of the engine run and the fills they must produce."""

    idle: list[Quote]
    warm: list[list[Quote]]
    opening: list[Quote]
    closing: list[Quote]
    expected: dict[int, tuple[Decimal, Decimal]]  # ticket -> (quantity, price)
    counts: dict[str, int]


def _crossing(
    seeded: Sequence[Seeded], spec: Spec, side: Side, target: int, done: Container[int]
) -> Decimal:
    """The touch at which at least ``target`` more orders of ``spec`` on ``side`` cross."""
    same = (o for o in seeded if o.symbol == spec.symbol and o.side is side)
    limits = sorted(o.limit for o in same if o.ticket not in done)
    k = min(target, len(limits))
    return limits[-k] if side is Side.BUY else limits[k - 1]


def _round(
    seeded: Sequence[Seeded], side: Side, touch: dict[str, Decimal], at: datetime, plan: Plan
) -> tuple[list[Quote], int]:
    """One quote per instrument, touching ``touch`` on ``side``; records the fills it must
    make (a buy fills at the ask, a sell at the bid: the crossing limit or better)."""
    quotes, before = [], len(plan.expected)
    for spec in SPECS:
        price = touch[spec.symbol]
        bid, ask = (price - spec.tick, price) if side is Side.BUY else (price, price + spec.tick)
        quotes.append(Quote(spec.symbol, bid, ask, at))
        for o in seeded:
            crosses = o.limit >= ask if side is Side.BUY else o.limit <= bid
            if o.symbol == spec.symbol and o.side is side and crosses:
                plan.expected.setdefault(o.ticket, (o.quantity, price))
    return quotes, len(plan.expected) - before


def make_plan(seeded: Sequence[Seeded], fills_wanted: int, idle_quotes: int) -> Plan:
    """Idle quotes inside the spread; a warm-up round per side at the opening touch; then
    ``fills_wanted`` fills: half buys (opening positions), then half sells (netting them)."""
    rng = random.Random(SEED + 2)
    idle = []
    for n in range(idle_quotes):
        spec = SPECS[n % len(SPECS)]
        bid = spec.bid - rng.randint(0, 2) * spec.tick
        ask = spec.bid + (1 + rng.randint(0, 2)) * spec.tick
        idle.append(Quote(spec.symbol, bid, ask, START + timedelta(microseconds=n)))
    plan = Plan(idle, [], [], [], {}, {})
    at = START + timedelta(seconds=1)
    for side in (Side.BUY, Side.SELL):
        # The first fills of each kind compile and prepare the statements (not timed).
        first = {s.symbol: s.bid + (side is Side.SELL) * s.tick for s in SPECS}
        quotes, plan.counts[f"warm_{side.value}"] = _round(seeded, side, first, at, plan)
        plan.warm.append(quotes)
    per_symbol = max(1, fills_wanted // 2 // len(SPECS))
    at += timedelta(seconds=1)
    for side, name in ((Side.BUY, "opening"), (Side.SELL, "closing")):
        touch = {s.symbol: _crossing(seeded, s, side, per_symbol, plan.expected) for s in SPECS}
        quotes, plan.counts[name] = _round(seeded, side, touch, at, plan)
        getattr(plan, name).extend(quotes)
    return plan


async def _push(engine: OrderEngine, venue: SimVenue, quotes: Sequence[Quote]) -> float:
    """Seconds from the first quote until every report they caused has been applied."""
    gc.collect()
    start = time.perf_counter()
    for quote in quotes:
        venue.on_quote(quote)
    await engine.settle()
    return time.perf_counter() - start


async def _check_orders(db: AsyncEngine, plan: Plan, total: int) -> None:
    o, f = orders.c, fills.c
    async with db.connect() as conn:
        found = (await conn.execute(select(o.ticket, o.status, o.quantity, o.filled))).all()
        ledger = (await conn.execute(select(f.order_ticket, f.quantity, f.price))).all()
        sql = "SELECT count(*) FROM order_events WHERE to_status = 'filled'"
        events = (await conn.execute(text(sql))).scalar_one()
    statuses = Counter(status for _, status, _, _ in found)
    done = {ticket for ticket, status, qty, filled in found if status == "filled" and qty == filled}
    if done != set(plan.expected) or statuses["working"] != total - len(plan.expected):
        raise BenchError(f"orders by status: {dict(statuses)}; {len(plan.expected)} to fill")
    if len(ledger) != len(plan.expected) or {t: (q, p) for t, q, p in ledger} != plan.expected:
        raise BenchError(f"{len(ledger)} fill rows, which differ from the expected fills")
    if events != len(plan.expected):
        raise BenchError(f"{events} 'filled' order events, expected {len(plan.expected)}")


async def _check_positions(db: AsyncEngine) -> None:
    """Per account and instrument, open quantity = the signed sum of its fills; per account,
    balance - opening balance = the P&L its tickets realized."""
    p, f = positions.c, fills.c
    async with db.connect() as conn:
        stmt = select(p.login, p.symbol, p.side, p.quantity, p.realized_pnl)
        held = (await conn.execute(stmt)).all()
        ledger = (await conn.execute(select(f.login, f.symbol, f.side, f.quantity))).all()
        balances = dict((await conn.execute(select(accounts.c.login, accounts.c.balance))).all())
    net: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    realized: dict[int, Decimal] = defaultdict(Decimal)
    for login, symbol, side, qty, pnl in held:
        net[login, symbol] += qty * Side(side).sign
        realized[login] += pnl
    for login, symbol, side, qty in ledger:
        net[login, symbol] -= qty * Side(side).sign
    wrong = {k: v for k, v in net.items() if v != 0}
    if wrong:
        raise BenchError(f"positions differ from the sum of fills for {len(wrong)}: {wrong}")
    moved = {login: b - BALANCE for login, b in balances.items() if b != BALANCE}
    if moved != {k: v for k, v in realized.items() if v != 0}:
        raise BenchError(f"balances moved by {moved}, tickets realized {dict(realized)}")
    if not moved:
        raise BenchError("no fill realized any P&L: the closing fills did not net")


async def verify(db: AsyncEngine, venue: SimVenue, plan: Plan, total: int) -> None:
    await _check_orders(db, plan, total)
    await _check_positions(db)
    resting = set(venue.resting())
    if len(resting) != total - len(plan.expected) or resting & set(plan.expected):
        raise BenchError(f"the venue rests {len(resting)} orders, not the unfilled ones")


async def commit_floor(db: AsyncEngine, count: int) -> float:
    """Milliseconds (median) for a one-row UPDATE and its durable COMMIT through the same
    engine: the least that one transaction per fill can cost."""
    sql = text("UPDATE accounts SET balance = balance WHERE login = 1001")
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        async with db.begin() as conn:
            await conn.execute(sql)
        samples.append(time.perf_counter() - start)
    return round(statistics.median(samples) * 1000, 3)


async def run_engine(
    db: AsyncEngine, name: str, plan: Plan, profile: Profile | None
) -> dict[str, Any]:
    """One run through the engine on ``db``: its rates, checked."""
    seeded = layout(even_counts())
    await seed_database(db, seeded)
    venue = SimVenue()
    engine = OrderEngine(SqlStore(db), venue)
    # Any warning or error of the engine or venue (a report not applied, a failed venue
    # action) makes the run invalid.
    problems = BufferingHandler(capacity=10**6)
    problems.setLevel(logging.WARNING)
    logging.getLogger("ordergate").addHandler(problems)
    try:
        start = time.perf_counter()
        if await engine.recover() != len(seeded):
            raise BenchError("recover() did not put every seeded order on the venue")
        recover = time.perf_counter() - start
        idle = await _push(engine, venue, plan.idle)
        for quotes in plan.warm:
            await _push(engine, venue, quotes)
        with profile.active(db) if profile else nullcontext():
            opening = await _push(engine, venue, plan.opening)
            closing = await _push(engine, venue, plan.closing)
        await verify(db, venue, plan, len(seeded))
        floor = await commit_floor(db, 200)
    finally:
        logging.getLogger("ordergate").removeHandler(problems)
        await venue.close()
    if problems.buffer:
        logged = [f"{r.name}: {r.getMessage()}" for r in problems.buffer[:3]]
        raise BenchError(f"the engine logged {len(problems.buffer)} problems: {logged}")
    n_open, n_close = plan.counts["opening"], plan.counts["closing"]
    return {
        "db": name,
        "resting": len(seeded),
        "recover_s": round(recover, 3),
        "idle_quotes_per_s": round(len(plan.idle) / idle),
        "opening_fills_per_s": round(n_open / opening),
        "closing_fills_per_s": round(n_close / closing),
        "fills_per_s": round((n_open + n_close) / (opening + closing)),
        "ms_per_fill": round((opening + closing) / (n_open + n_close) * 1000, 2),
        "commit_floor_ms": floor,
    }


class Profile:
    """``--profile``: where the timed fills on one database spend their time. ``statements``:
    each kind of statement, and the commits, as long as the engine awaits them (cheap);
    ``python``: cProfile by package and function (it makes Python about twice as slow, so
    read its shares, not its milliseconds)."""

    def __init__(self, kind: str) -> None:
        self.profiler = cProfile.Profile() if kind == "python" else None
        self.calls: Counter[str] = Counter()
        self.seconds: dict[str, float] = defaultdict(float)
        self.wall = 0.0

    def _add(self, what: str, start: float) -> None:
        self.calls[what] += 1
        self.seconds[what] += time.perf_counter() - start

    def _before(self, conn: Any, *_: Any) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, sql: str, *_: Any) -> None:
        self._add(" ".join(sql.split())[:60], conn.info.pop("bench_t0"))

    @contextmanager
    def active(self, db: AsyncEngine) -> Iterator[None]:
        start = time.perf_counter()
        with self.profiler or self._statements(db):
            yield
        self.wall = time.perf_counter() - start

    @contextmanager
    def _statements(self, db: AsyncEngine) -> Iterator[None]:
        sync, commit = db.sync_engine, SqlTransaction.commit

        async def timed_commit(tx: SqlTransaction) -> None:
            start = time.perf_counter()
            await commit(tx)
            self._add("COMMIT", start)

        event.listen(sync, "before_cursor_execute", self._before)
        event.listen(sync, "after_cursor_execute", self._after)
        SqlTransaction.commit = timed_commit  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            SqlTransaction.commit = commit  # type: ignore[method-assign]
            event.remove(sync, "before_cursor_execute", self._before)
            event.remove(sync, "after_cursor_execute", self._after)

    def report(self, n: int) -> str:
        out = io.StringIO()
        out.write(f"{n} fills, {self.wall / n * 1000:.3f} ms each while profiled; per fill:\n")
        if self.profiler is None:
            for what, secs in sorted(self.seconds.items(), key=lambda kv: -kv[1]):
                out.write(f"  {self.calls[what] / n:5.2f} x {secs / n * 1000:6.3f} ms  {what}\n")
            rest = (self.wall - sum(self.seconds.values())) / n * 1000
            out.write(f"  the rest: {rest:.3f} ms (Python, event loop)\n")
            return out.getvalue()
        stats = pstats.Stats(self.profiler, stream=out)
        by_package: Counter[str] = Counter()
        for (path, _, name), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
            by_package[_package(path, name)] += own
        for package, own in by_package.most_common(12):
            out.write(f"  {own / n * 1000:6.3f} ms  {package}\n")
        stats.sort_stats("tottime").print_stats(30)
        return out.getvalue()


def _package(path: str, name: str) -> str:
    """Where a profiled function belongs: ordergate's subpackage, a library, the stdlib."""
    if "epoll" in name:
        return "waiting for I/O (epoll)"
    python = f"/python{sys.version_info.major}.{sys.version_info.minor}/"
    for marker, label in (
        ("/src/ordergate/", "ordergate/"),
        ("/site-packages/", ""),
        (python, "stdlib "),
    ):
        if marker in path:
            return label + path.split(marker, 1)[1].split("/")[0].removesuffix(".py")
    return "builtins" if path == "~" else path


async def _pg_admin(admin_url: str, *statements: str) -> list[Any]:
    engine = create_engine(admin_url)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            results = [await conn.execute(text(sql)) for sql in statements]
            return [r.scalar() if r.returns_rows else None for r in results]
    finally:
        await engine.dispose()


async def pg_probe(admin_url: str) -> tuple[str | None, str]:
    """(None, version) if PostgreSQL can be used, else (why not, "")."""
    try:
        (version,) = await asyncio.wait_for(_pg_admin(admin_url, "SHOW server_version"), 15)
    except Exception as exc:  # any failure to reach the server is a reason to skip
        return f"PostgreSQL not reachable at {admin_url}: {type(exc).__name__}: {exc}", ""
    return None, f"PostgreSQL {version}"


@asynccontextmanager
async def database(name: str, admin_url: str) -> AsyncIterator[AsyncEngine]:
    """A fresh, empty database, removed afterwards: a SQLite file (WAL, durable commits, the
    project's settings) in a temporary directory, or a PostgreSQL database of the bench's
    own, never the tests'."""
    drop = f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'
    if name == "postgresql":
        await _pg_admin(admin_url, drop, f'CREATE DATABASE "{PG_DB}"')
        url = make_url(admin_url).set(database=PG_DB).render_as_string(hide_password=False)
    folder = Path(tempfile.mkdtemp(prefix="ordergate-bench-matching-"))
    db = create_engine(url if name == "postgresql" else sqlite_url(str(folder / "bench.db")))
    try:
        yield db
    finally:
        await db.dispose()
        shutil.rmtree(folder, ignore_errors=True)
        if name == "postgresql":
            await _pg_admin(admin_url, drop)


BOOK_HEADER = (
    "| partial fills | resting start → end | quotes | crossing quotes | fills | quotes/s"
    " | fills/s | µs/quote | model quotes/s |"
)
YES = {False: "no", True: "yes"}
WORST_HEADER = "| partial fills | orders crossed | ms for the quote | fills/s |"
ENGINE_HEADER = (
    "| db | resting | idle quotes/s | opening fills | fills/s | closing fills | fills/s"
    " | all fills/s | ms/fill | bare UPDATE+COMMIT ms |"
)


def _table(emit: Any, header: str, rows: Sequence[str]) -> None:
    for line in (header, "|" + "---|" * (header.count("|") - 1), *rows):
        emit(line)


def book_row(r: dict[str, Any]) -> str:
    return (
        f"| {YES[r['partial_fills']]} | {r['resting_start']:,} → {r['resting_end']:,}"
        f" | {r['quotes']:,} | {r['crossing_quotes']:,} | {r['fills']:,}"
        f" | {r['quotes_per_s']:,} | {r['fills_per_s']:,} | {r['us_per_quote']}"
        f" | {r['model_quotes_per_s']:,} |"
    )


def worst_row(r: dict[str, Any]) -> str:
    return f"| {YES[r['partial_fills']]} | {r['crossed']:,} | {r['ms']} | {r['fills_per_s']:,} |"


def engine_row(r: dict[str, Any], counts: dict[str, int]) -> str:
    return (
        f"| {r['db']} | {r['resting']:,} | {r['idle_quotes_per_s']:,.0f} | {counts['opening']}"
        f" | {r['opening_fills_per_s']:,.0f} | {counts['closing']}"
        f" | {r['closing_fills_per_s']:,.0f} | {r['fills_per_s']:,.0f} | {r['ms_per_fill']}"
        f" | {r['commit_floor_ms']} |"
    )


def machine(versions: dict[str, str]) -> dict[str, Any]:
    packages = {p: f"{p} {metadata.version(p)}" for p in ("SQLAlchemy", "asyncpg", "aiosqlite")}
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": f"Python {platform.python_version()}",
        "sqlite": f"SQLite {sqlite3.sqlite_version}",
        **versions,
        **packages,
        "load_average_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="a short run (about 15 s)")
    parser.add_argument("--quotes", type=int, help="book: quotes in the stream (default 30000)")
    parser.add_argument("--fills", type=int, help="engine: fills to time (default 1000)")
    parser.add_argument("--repeat", type=int, help="engine: runs per database (default 3)")
    parser.add_argument("--pg-url", default=PG_URL, help="admin URL of the PostgreSQL server")
    parser.add_argument("--json", action="store_true", help="JSON on stdout, tables on stderr")
    parser.add_argument("--profile", choices=("statements", "python"), help="(see Profile)")
    args = parser.parse_args(argv)
    args.quotes = args.quotes or (3_000 if args.quick else 30_000)
    args.fills = args.fills or (200 if args.quick else 1_000)
    args.idle = 300 if args.quick else 2_000
    args.worst_repeat = 2 if args.quick else 5
    args.repeat = args.repeat or (1 if args.quick else 3)
    if args.quotes < 1 or args.repeat < 1 or not 12 <= args.fills <= 2_000:
        parser.error("--quotes and --repeat must be positive, --fills 12..2000")
    return args


def run_book(args: argparse.Namespace, emit: Any) -> tuple[list[Any], list[Any]]:
    quotes = quote_stream(args.quotes)
    stream = []
    for partial in (False, True):
        stream.append(bench_stream(quotes, partial, budget_s=RUN_TIMEOUT_S))
        log(f"book, partial fills {YES[partial]}: {stream[-1]['seconds']} s")
    worst = [bench_worst(partial, args.worst_repeat) for partial in (False, True)]
    emit(f"book alone: {ORDERS:,} resting limit orders over {len(SPECS)} instruments")
    _table(emit, BOOK_HEADER, [book_row(r) for r in stream])
    emit(f"one quote crossing {WORST_CROSSED:,} orders, median of {args.worst_repeat}")
    _table(emit, WORST_HEADER, [worst_row(r) for r in worst])
    return stream, worst


async def run_engines(args: argparse.Namespace, skipped: dict[str, str], emit: Any) -> Any:
    plan = make_plan(layout(even_counts()), args.fills, args.idle)
    fill_count = plan.counts["opening"] + plan.counts["closing"]
    runs: list[dict[str, Any]] = []
    medians: list[dict[str, Any]] = []
    for name in ("sqlite", "postgresql"):
        if args.db not in (name, "both") or name in skipped:
            continue
        # Each run on a fresh database; a profiled run is an extra one, not in the medians.
        profile = Profile(args.profile) if args.profile else None
        for n in range(args.repeat + (profile is not None)):
            async with database(name, args.pg_url) as db, asyncio.timeout(RUN_TIMEOUT_S):
                run = await run_engine(db, name, plan, profile if n == args.repeat else None)
            log(f"{name}: {run['fills_per_s']:,} fills/s, {run['idle_quotes_per_s']:,} quotes/s")
            runs += [run] if n < args.repeat else []
        last = runs[-args.repeat :]
        rates = {k: statistics.median(r[k] for r in last) for k in last[0] if k != "db"}
        medians.append({"db": name} | rates)
        if profile is not None:
            log(f"-- profile, {name}: {profile.report(fill_count)}")
    emit(
        f"through the engine: {ORDERS:,} resting, {ACCOUNTS} netting accounts; "
        f"{plan.counts['opening']} fills opening positions, then {plan.counts['closing']} "
        f"netting them, each its own transaction; medians of {args.repeat} fresh databases"
    )
    _table(emit, ENGINE_HEADER, [engine_row(r, plan.counts) for r in medians])
    for kind, reason in skipped.items():
        emit(f"{kind}: skipped: {reason}")
    return runs, medians, plan.counts


async def run(args: argparse.Namespace) -> dict[str, Any]:
    out = sys.stderr if args.json else sys.stdout

    def emit(line: str) -> None:
        print(line, file=out, flush=True)

    started = time.perf_counter()
    skipped: dict[str, str] = {}
    versions: dict[str, str] = {}
    if args.db in ("postgresql", "both"):
        reason, version = await pg_probe(args.pg_url)
        if reason is None:
            versions["postgresql"] = version
        else:
            skipped["postgresql"] = reason
    about = machine(versions)
    emit(f"{about['cpus']} CPUs, " + ", ".join(str(v) for v in list(about.values())[2:]))
    stream, worst = run_book(args, emit)
    runs, medians, counts = await run_engines(args, skipped, emit)
    log(f"total {time.perf_counter() - started:.0f} s")
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": about | {"load_average_at_end": " ".join(f"{x:.2f}" for x in os.getloadavg())},
        "book": stream,
        "worst_case": worst,
        "engine": medians,
        "engine_runs": runs,
        "engine_fills": counts,
        "skipped": skipped,
    }


def main(argv: Sequence[str] | None = None) -> int:
    return bench_main(parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
