"""Fills: one quote crossing 10,000 resting orders of 20 accounts, through the engine.

Seeds 10,000 working buy limits on ES (500 of each of 20 netting accounts, 1-3 lots, 100 to
200 points under the market) and, per account, a short ticket of half its buys' lots opened at
6100. The engine is built as the server builds it (journal, simulated venue with no latency,
records), loads the snapshot, recovers the orders onto the venue's book, and fills a warm-up
quote on another instrument. Timed: from the venue taking one ES quote at 5700/5700.25 (it
crosses every buy) until ``engine.settle()`` returns, i.e. every fill applied, the positions
netted and the balances credited, all of it committed to the journal.

Floors, in the same run: the venue's ``Book.match`` of the same quote against the same 10,000
orders alone (no event loop, no database), and the journal alone: the very batches the run
wrote appended again to a fresh copy of the seeded database.

Checked after each run: every order filled (one fill at the ask, one ``filled`` event), the
venue's book empty, per account the open quantity = its buys - its short and the realized P&L
(tickets and balance alike) = (6100 - 5700.25) x short x 50; nothing logged at warning or
above.

    .venv/bin/python bench/fills.py --db sqlite --quick
    .venv/bin/python bench/fills.py --json > fills.json
"""

from __future__ import annotations

import argparse
import gc
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from common import (
    ES,
    FUNDS,
    MARKET,
    NQ,
    SEEDED_AT,
    TICK,
    AccountSpec,
    BenchError,
    Block,
    Database,
    Databases,
    Sql,
    fmt,
    log,
    main,
    median,
    parser,
    seed_orders,
    seed_reference,
    table,
)
from ordergate.domain.clock import SystemClock
from ordergate.domain.ids import Login, Ticket
from ordergate.domain.orders import OrderStatus, OrderType, Side
from ordergate.engine import OrderEngine
from ordergate.engine.journal import Batch, Snapshot
from ordergate.store import SqlRecords, create_engine, open_journal
from ordergate.store.types import to_units
from ordergate.venue.base import Filled, Quote, VenueOrder
from ordergate.venue.book import Book, Resting
from ordergate.venue.sim import SimVenue

TARGET_PER_S = 20_000
ACCOUNTS = 20
FIRST_LOGIN, WARM_LOGIN = 5001, 9001
WARM_ORDERS = 60
SHORT_PRICE = Decimal(6100)
POINT_VALUE = Decimal(50)
#: One ES quote under every resting buy: each fills at the ask (better than its limit).
BID = Decimal(5700)
ASK = BID + TICK
BOOK_REPEAT = 5


@dataclass(frozen=True, slots=True)
class Layout:
    """What was seeded: the buys' tickets, and per account its lots bought and its short."""

    first: int
    last: int
    bought: dict[int, int]
    short: dict[int, int]


class Recording:
    """The journal, keeping each batch it appends and the seconds the appends took."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.batches: list[Batch] = []
        self.seconds = 0.0

    async def append(self, batch: Batch) -> None:
        start = time.perf_counter()
        await self.inner.append(batch)
        self.seconds += time.perf_counter() - start
        self.batches.append(batch)

    async def load(self) -> Snapshot:
        snapshot: Snapshot = await self.inner.load()
        return snapshot

    async def close(self) -> None:
        await self.inner.close()

    def reset(self) -> None:
        self.batches, self.seconds = [], 0.0


class Warnings(logging.Handler):
    """Every record at warning or above of the ``ordergate`` loggers."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()}")


def blocks(orders: int) -> list[Block]:
    each = orders // ACCOUNTS
    return [Block(FIRST_LOGIN + a, each, side="buy") for a in range(ACCOUNTS)]


async def seed(dbs: Databases, orders: int) -> tuple[Database, Layout]:
    db = await dbs.create("seed")
    specs = [AccountSpec(FIRST_LOGIN + a, f"Fills{a:02d}") for a in range(ACCOUNTS)]
    await seed_reference(db, [*specs, AccountSpec(WARM_LOGIN, "Warm")])
    buys = blocks(orders)
    warm = Block(WARM_LOGIN, WARM_ORDERS, symbol=NQ.symbol, side="buy")
    seeded = await seed_orders(db, [*buys, warm], keep_ids=False)
    bought = {b.login: sum(b.quantity(i) for i in range(b.count)) for b in buys}
    short = {login: lots // 2 for login, lots in bought.items()}
    first, last = seeded.first_ticket[0], seeded.first_ticket[-1] - 1
    async with Sql(db) as sql:
        ticket = seeded.last_ticket
        for login, lots in short.items():
            # The short came from a filled sell order: its order, fill, events and ticket.
            ticket += 1
            units, price, at = lots * 10**8, to_units(SHORT_PRICE), sql.time(SEEDED_AT)
            await sql.execute(
                "INSERT INTO orders (ticket, id, login, symbol, side, type, quantity, filled,"
                " avg_fill_price, tif, comment, status, version, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'sell', 'market', ?, ?, ?, 'gtc', '', 'filled', 3, ?, ?)",
                ticket, f"{ticket:032x}", login, ES.symbol, units, units, price, at, at,
            )  # fmt: skip
            await sql.execute(
                "INSERT INTO fills (order_ticket, login, symbol, side, quantity, price, at)"
                " VALUES (?, ?, ?, 'sell', ?, ?, ?)",
                ticket, login, ES.symbol, units, price, at,
            )  # fmt: skip
            await sql.execute(
                "INSERT INTO positions (ticket, login, symbol, side, quantity, closed_quantity,"
                " open_price, realized_pnl, opened_at) VALUES (?, ?, ?, 'sell', ?, 0, ?, 0, ?)",
                ticket, login, ES.symbol, units, price, at,
            )  # fmt: skip
    return db, Layout(first, last, bought, short)


async def run_engine(db: Database, layout: Layout) -> dict[str, Any]:
    """One timed quote through the engine on ``db``; the recorded batches for the floor."""
    watcher = Warnings()
    logging.getLogger("ordergate").addHandler(watcher)
    journal = Recording(await open_journal(db.url))
    records = create_engine(db.url)
    clock = SystemClock()
    venue = SimVenue(clock=clock)
    engine = OrderEngine(journal, venue, SqlRecords(records), clock=clock)
    try:
        await engine.load()
        venue.load_instruments(engine.state.instruments())
        for symbol, price in MARKET.items():
            venue.on_quote(Quote(symbol, price, price + TICK, clock.now()))
        restored = await engine.recover()
        if restored != layout.last - layout.first + 1 + WARM_ORDERS:
            raise BenchError(f"the engine recovered {restored} orders")
        await engine.settle()
        warm_bid = MARKET[NQ.symbol] - 200
        venue.on_quote(Quote(NQ.symbol, warm_bid, warm_bid + TICK, clock.now()))
        await engine.settle()
        journal.reset()
        gc.collect()
        start = time.perf_counter()
        venue.on_quote(Quote(ES.symbol, BID, ASK, clock.now()))
        await engine.settle()
        seconds = time.perf_counter() - start
        resting = venue.resting(ES.symbol)
    finally:
        await venue.close()
        await journal.close()
        await records.dispose()
        logging.getLogger("ordergate").removeHandler(watcher)
    if resting:
        raise BenchError(f"{len(resting)} ES orders still rest on the venue's book")
    if watcher.records:
        raise BenchError("the engine logged:\n" + "\n".join(watcher.records[:10]))
    return {
        "seconds": seconds,
        "journal_s": journal.seconds,
        "batches": journal.batches,
    }


async def check(db: Database, layout: Layout) -> None:
    n = layout.last - layout.first + 1
    first, last = layout.first, layout.last
    ask = to_units(ASK)
    async with Sql(db) as sql:
        statuses = dict(
            await sql.fetch(
                "SELECT status, count(*) FROM orders WHERE ticket BETWEEN ? AND ?"
                " AND filled = quantity GROUP BY status",
                first, last,
            )
        )  # fmt: skip
        if statuses != {"filled": n}:
            raise BenchError(f"orders filled in full, by status: {statuses}; expected {n} filled")
        fills = await sql.fetch(
            "SELECT count(*), sum(quantity), min(price), max(price) FROM fills"
            " WHERE order_ticket BETWEEN ? AND ?",
            first, last,
        )  # fmt: skip
        lots = sum(layout.bought.values()) * 10**8
        if tuple(fills[0]) != (n, lots, ask, ask):
            raise BenchError(f"fills (count, units, min, max price): {fills[0]}")
        events = await sql.value(
            "SELECT count(*) FROM order_events WHERE order_ticket BETWEEN ? AND ?"
            " AND from_status = 'working' AND to_status = 'filled'",
            first, last,
        )  # fmt: skip
        if events != n:
            raise BenchError(f"{events} filled events, expected {n}")
        await _check_accounts(sql, layout)


async def _check_accounts(sql: Sql, layout: Layout) -> None:
    rows = await sql.fetch(
        "SELECT login, sum(CASE side WHEN 'buy' THEN quantity ELSE -quantity END),"
        " sum(realized_pnl) FROM positions GROUP BY login"
    )
    positions = {login: (net, realized) for login, net, realized in rows}
    balances = dict(await sql.fetch("SELECT login, balance FROM accounts"))
    for login, lots in layout.bought.items():
        short = layout.short[login]
        realized = to_units((SHORT_PRICE - ASK) * short * POINT_VALUE)
        want = ((lots - short) * 10**8, realized)
        if tuple(positions.get(login, ())) != want:
            raise BenchError(
                f"account {login}: (net units, realized) {positions.get(login)}, expected {want}"
            )
        if balances[login] != to_units(FUNDS) + realized:
            raise BenchError(
                f"account {login}: balance {balances[login]} is not opening + {realized}"
            )


def book_floor(layout: Layout, orders: int) -> float:
    """Median seconds of ``Book.match`` of the timed quote against the seeded buys."""
    resting: list[VenueOrder] = []
    ticket = layout.first
    for block in blocks(orders):
        for i in range(block.count):
            resting.append(
                VenueOrder(
                    ticket=Ticket(ticket), login=Login(block.login), symbol=ES.symbol,
                    side=Side.BUY, type=OrderType.LIMIT, quantity=Decimal(block.quantity(i)),
                    limit_price=block.price(i), stop_price=None, oco=None,
                    status=OrderStatus.WORKING,
                )
            )  # fmt: skip
            ticket += 1
    quote = Quote(ES.symbol, BID, ASK, datetime.now(UTC))
    times = []
    for _ in range(BOOK_REPEAT):
        book = Book()
        for o in resting:
            book.add(Resting.of(o, new=False))
        gc.collect()
        start = time.perf_counter()
        reports = book.match(quote, partial=False, at=quote.at)
        times.append(time.perf_counter() - start)
        if len(reports) != orders or not all(isinstance(r, Filled) for r in reports):
            raise BenchError(f"the book matched {len(reports)} reports, not {orders} fills")
    return median(times)


async def journal_floor(db: Database, batches: Sequence[Batch]) -> float:
    """Seconds to append ``batches`` again to ``db`` (a fresh copy of the seeded state)."""
    journal = await open_journal(db.url)
    try:
        start = time.perf_counter()
        for batch in batches:
            await journal.append(batch)
        return time.perf_counter() - start
    finally:
        await journal.close()


async def run_kind(args: argparse.Namespace, dbs: Databases) -> list[dict[str, Any]]:
    orders = args.orders
    seed_start = time.perf_counter()
    seeded, layout = await seed(dbs, orders)
    log(f"  seeded {orders:,} orders in {time.perf_counter() - seed_start:.1f} s")
    runs = []
    for r in range(args.repeat):
        db = await dbs.copy(seeded, "run")
        found = await run_engine(db, layout)
        await check(db, layout)
        floor_db = await dbs.copy(seeded, "floor")
        found["journal_alone_s"] = await journal_floor(floor_db, found["batches"])
        await dbs.drop("floor")
        found["book_s"] = book_floor(layout, orders)
        batches = found.pop("batches")
        found["batches"] = len(batches)
        found["rows"] = sum(b.size for b in batches)
        runs.append(found)
        ms = {k: found[k] * 1000 for k in ("seconds", "journal_s", "book_s", "journal_alone_s")}
        log(
            f"  run {r + 1}: {orders / found['seconds']:,.0f} fills/s ({ms['seconds']:.0f} ms,"
            f" journal {ms['journal_s']:.0f} ms in {found['batches']} batches); floors: book"
            f" {ms['book_s']:.1f} ms, journal alone {ms['journal_alone_s']:.0f} ms"
        )
    seconds = median([r["seconds"] for r in runs])
    book_s = median([r["book_s"] for r in runs])
    alone_s = median([r["journal_alone_s"] for r in runs])
    return [
        {
            "orders": orders,
            "accounts": ACCOUNTS,
            "fills_per_s": round(orders / seconds),
            "ms": round(seconds * 1000, 1),
            "journal_in_run_ms": round(median([r["journal_s"] for r in runs]) * 1000, 1),
            "book_alone_ms": round(book_s * 1000, 2),
            "journal_alone_ms": round(alone_s * 1000, 1),
            "floor_fills_per_s": round(orders / (book_s + alone_s)),
            "target_fills_per_s": TARGET_PER_S,
            "met": orders / seconds >= TARGET_PER_S,
            "runs": runs,
        }
    ]


def report(_: argparse.Namespace, results: list[dict[str, Any]]) -> str:
    headers = ["db", "orders", "fills/s", "ms", "journal in run ms", "floor: book ms",
               "floor: journal alone ms", "floor fills/s", "target", "met"]  # fmt: skip
    keys = ("db", "orders", "fills_per_s", "ms", "journal_in_run_ms", "book_alone_ms")
    rows = [
        [
            *(r[k] for k in keys),
            r["journal_alone_ms"],
            r["floor_fills_per_s"],
            f"≥ {fmt(r['target_fills_per_s'])}/s",
            r["met"],
        ]
        for r in results
    ]
    return "Fills: one quote crossing every resting order (medians)\n\n" + table(headers, rows)


def build_parser() -> argparse.ArgumentParser:
    p = parser(__doc__, repeat=3)
    p.add_argument(
        "--orders",
        type=int,
        default=None,
        help="resting orders the quote crosses (default 10,000; --quick 10,000)",
    )
    return p


def entry(argv: Sequence[str] | None = None) -> int:
    p = build_parser()

    async def run(args: argparse.Namespace, dbs: Databases) -> list[dict[str, Any]]:
        args.orders = args.orders or 10_000
        if args.orders % ACCOUNTS:
            raise BenchError(f"--orders must be a multiple of {ACCOUNTS}")
        return await run_kind(args, dbs)

    return main(argv, p, "fills", run, report)


if __name__ == "__main__":
    raise SystemExit(entry())
