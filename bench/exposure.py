"""Exposure benchmark: what the margin check of one placement costs with N open orders.

For each database and each size N it seeds N working limit orders of account 1001 (in bulk,
as ``cancel_orders.py`` does, without their events: nothing here reads them), then times:

- exposure(): ``SqlAccountRepository.exposure(1001)`` in a read-only unit of work, the query
  the margin check of every placement runs;
- place: ``await engine.place(…)`` of one resting limit order until it is committed (margin
  check included), on ``SqlStore`` and a zero-latency ``SimVenue``; the venue's
  acknowledgement is settled between placements, outside the clock.

Each is warmed up once, then timed ``--repeat`` times; the table shows medians. Every answer of
exposure() is checked against the quantity seeded. It uses only the public engine and store,
so the same script measures an older tree too (``PYTHONPATH=<old tree>/src``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from cancel_orders import (
    LOGIN,
    PG_URL,
    PRINCIPAL,
    SYMBOL,
    BenchError,
    _order_rows,
    check_sizes,
    insert_rows,
    log,
    seed,
)
from ordergate.domain.commands import PlaceOrder
from ordergate.domain.orders import OrderType, Side, TimeInForce
from ordergate.engine import OrderEngine
from ordergate.store import SqlStore, create_engine, sqlite_url
from ordergate.store.tables import accounts, orders
from ordergate.venue.sim import SimVenue

PG_DB = "ordergate_bench_ex"
CHUNK = 10_000  # orders built in memory at a time
# Enough for the margin of 1M seeded orders (3 lots each on average, 2,500 a lot).
BALANCE = Decimal(5 * 10**10)
PLACE = PlaceOrder(
    account=LOGIN,
    symbol=SYMBOL,
    side=Side.BUY,
    type=OrderType.LIMIT,
    quantity=Decimal(1),
    limit_price=Decimal(4000),
    tif=TimeInForce.GTC,
)


async def _admin(admin_url: str, *statements: str) -> None:
    engine = create_engine(admin_url)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for sql in statements:
                await conn.execute(text(sql))
    finally:
        await engine.dispose()


async def open_database(db: str, admin_url: str, workdir: Path) -> AsyncEngine:
    """An empty database: a new SQLite file, or PostgreSQL's ``ordergate_bench_ex``."""
    if db == "sqlite":
        path = workdir / "exposure.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return create_engine(sqlite_url(str(path)))
    await _admin(
        admin_url, f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)', f'CREATE DATABASE "{PG_DB}"'
    )
    return create_engine(make_url(admin_url).set(database=PG_DB).render_as_string(False))


async def seed_open_orders(engine: AsyncEngine, n: int) -> Decimal:
    """The bench's accounts and N working orders of account 1001, in chunks; their quantity."""
    await seed(engine, 0)
    total = Decimal(0)
    async with engine.begin() as conn:
        await conn.execute(
            update(accounts).where(accounts.c.login == LOGIN).values(balance=BALANCE)
        )
        for start in range(0, n, CHUNK):
            rows = _order_rows(LOGIN, min(CHUNK, n - start))
            total += sum(r["quantity"] for r in rows)
            await insert_rows(conn, orders, rows)
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
    return total


@dataclass
class Result:
    db: str
    orders: int
    seed_s: float
    exposure_ms: list[float] = field(default_factory=list)
    place_ms: list[float] = field(default_factory=list)


async def measure(engine: AsyncEngine, result: Result, resting: Decimal, repeat: int) -> None:
    store = SqlStore(engine)
    venue = SimVenue()
    venue.set_quote(SYMBOL, Decimal("4999.75"), Decimal(5000))
    order_engine = OrderEngine(store, venue)
    try:
        for i in range(repeat + 1):  # the first of each is the warm-up
            gc.collect()
            start = time.perf_counter()
            async with store.transaction(readonly=True) as tx:
                found = await tx.accounts.exposure(LOGIN)
            elapsed = time.perf_counter() - start
            if found != {SYMBOL: resting}:
                raise BenchError(f"exposure() answered {found}, expected {resting} {SYMBOL}")
            gc.collect()
            start = time.perf_counter()
            await order_engine.place(PRINCIPAL, PLACE)
            placed = time.perf_counter() - start
            await order_engine.settle()
            resting += PLACE.quantity
            if i:
                result.exposure_ms.append(round(elapsed * 1000, 3))
                result.place_ms.append(round(placed * 1000, 3))
    finally:
        await venue.close()


async def bench(db: str, n: int, args: argparse.Namespace, workdir: Path) -> Result:
    engine = await open_database(db, args.pg_url, workdir)
    try:
        started = time.perf_counter()
        resting = await seed_open_orders(engine, n)
        result = Result(db, n, round(time.perf_counter() - started, 1))
        log(f"{db}: seeded {n} open orders in {result.seed_s} s")
        await measure(engine, result, resting, args.repeat)
        return result
    finally:
        await engine.dispose()
        if db == "postgresql":
            await _admin(args.pg_url, f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')


def row(r: Result) -> str:
    med = statistics.median
    return (
        f"| {r.db} | {r.orders:,} | {med(r.exposure_ms):.2f} | {med(r.place_ms):.2f}"
        f" | {r.seed_s:.1f} |"
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    stream = sys.stderr if args.json else sys.stdout
    print(f"medians of {args.repeat} runs", file=stream)
    print("| db | open orders | exposure() ms | place ms | seeded in s |", file=stream)
    print("|---|---|---|---|---|", file=stream)
    results = []
    dbs = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    with tempfile.TemporaryDirectory(prefix="ordergate-bench-ex-") as workdir:
        for db in dbs:
            for n in args.sizes:
                results.append(await bench(db, n, args, Path(workdir)))
                print(row(results[-1]), file=stream, flush=True)
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "results": [asdict(r) for r in results],
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sizes", default="1000,100000,1000000", help="comma-separated counts")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; the median is shown")
    parser.add_argument("--pg-url", default=PG_URL, help="admin URL of the PostgreSQL server")
    parser.add_argument("--json", action="store_true", help="JSON on stdout, table on stderr")
    args = parser.parse_args(argv)
    check_sizes(parser, args)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = asyncio.run(run(args))
    except BenchError as exc:
        log(f"benchmark invalid: {exc}")
        return 1
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
