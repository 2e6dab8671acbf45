"""Bulk cancel benchmark: ``OrderEngine.cancel_orders`` beside the bare statement it is built on.

For each database and each size N, on a freshly seeded copy of the same state (N working limit
orders of account 1001, a few orders of account 2002 that must stay untouched), it times:

- bare: ``UPDATE orders SET status='pending_cancel' WHERE login=… AND status IN (…) RETURNING
  ticket, id``, all rows fetched, committed, through the same SQLAlchemy async engine;
- cancel_orders: ``await engine.cancel_orders(…)`` until the report is back (batch committed);
- until venue confirmed: from the same start until ``await engine.settle()`` returns (every
  order cancelled by the simulated venue's confirmation);
- bare UPDATE + events (for information): the bare UPDATE plus the INSERT … SELECT of one event
  per order in the same transaction, the database work the contract requires.

Each measurement runs on its own copy of the seeded database, after a warm-up on a third
account, and is checked afterwards (N orders moved, the other account untouched). Run with
``make bench`` or ``python bench/cancel_orders.py --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Table, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ordergate.domain.accounts import Account, PositionMode
from ordergate.domain.commands import CancelOrders
from ordergate.domain.ids import Login, UserId
from ordergate.domain.instruments import Instrument
from ordergate.domain.principal import Principal, Role
from ordergate.engine import OrderEngine
from ordergate.store import SqlStore, create_engine, sqlite_url, upgrade
from ordergate.store.tables import orders, users
from ordergate.venue.sim import SimVenue

LOGIN, OTHER, WARM = 1001, 2002, 3003
OTHER_ORDERS, WARM_ORDERS = 7, 20
SYMBOL = "ES 12-26"
SEEDED_AT = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
RUN_TIMEOUT_S = 300
PG_URL = os.environ.get(
    "ORDERGATE_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
PG_SEED_DB, PG_RUN_DB = "ordergate_bench_seed", "ordergate_bench"

BARE = text(
    "UPDATE orders SET status = 'pending_cancel' "
    "WHERE login = :login AND status IN ('accepted', 'working', 'partially_filled') "
    "RETURNING ticket, id"
)
# The same UPDATE plus the one event per order the contract also requires, in the same
# transaction: the database work cancel_orders cannot avoid (informative column).
_MOVE = (
    "UPDATE orders SET status = 'pending_cancel', prior_status = status, request_id = :req "
    "WHERE login = :login AND status IN ('accepted', 'working', 'partially_filled') "
)
_EVENT_COLUMNS = (
    "order_events (order_ticket, from_status, to_status, reason, actor, request_id, at)"
)
WITH_EVENTS = {
    "sqlite": (
        text(_MOVE + "RETURNING ticket, id"),
        text(
            f"INSERT INTO {_EVENT_COLUMNS} SELECT ticket, prior_status, status,"
            " 'bulk cancel requested', 'user:bench', request_id, CURRENT_TIMESTAMP FROM orders"
            " WHERE login = :login AND status = 'pending_cancel' AND request_id = :req"
        ),
    ),
    "postgresql": (
        text(
            f"WITH moved AS ({_MOVE} RETURNING ticket, id, prior_status, status, request_id),"
            f" events AS (INSERT INTO {_EVENT_COLUMNS} SELECT ticket, prior_status, status,"
            " 'bulk cancel requested', 'user:bench', request_id, CURRENT_TIMESTAMP FROM moved)"
            " SELECT ticket, id FROM moved"
        ),
    ),
}
PRINCIPAL = Principal(user_id=UserId(1), role=Role.TRADER, name="bench")


class BenchError(Exception):
    """The benchmark did not measure what it claims to (wrong rows moved, wrong report)."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- seeding ----------------------------------------------------------------------------------


def _order_rows(login: int, count: int) -> list[dict[str, Any]]:
    """``count`` working GTC limit orders, away from any price, as the engine would store them
    after the venue's acknowledgement (version 2)."""
    rows = []
    for i in range(count):
        buy = i % 2 == 0
        offset = Decimal(i % 400) * Decimal("0.25")
        rows.append(
            {
                "id": uuid.uuid4().hex,
                "login": login,
                "symbol": SYMBOL,
                "side": "buy" if buy else "sell",
                "type": "limit",
                "quantity": Decimal(1 + i % 5),
                "filled": Decimal(0),
                "limit_price": Decimal(4900) - offset if buy else Decimal(5100) + offset,
                "tif": "gtc",
                "comment": "",
                "status": "working",
                "version": 2,
                "request_id": uuid.uuid4().hex,
                "created_at": SEEDED_AT,
                "updated_at": SEEDED_AT + timedelta(milliseconds=1),
            }
        )
    return rows


async def insert_rows(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """``rows`` in multi-row INSERT statements (SQLAlchemy's "insertmanyvalues", which an
    INSERT … RETURNING of many rows gets), not as an executemany: asyncpg runs that as one
    INSERT per row, and on PostgreSQL each statement fires the order_exposure trigger, whose
    aggregate row then gathers one version per order until the seeding commits."""
    await conn.execute(insert(table).returning(*table.primary_key.columns), rows)


# Every seeded order gets the two events the engine writes for it: submitted, then working.
_SEED_EVENTS = (
    "INSERT INTO order_events (order_ticket, from_status, to_status, reason, actor, request_id, at)"
    " SELECT ticket, NULL, 'submitted', 'submitted', 'user:bench', NULL, created_at FROM orders",
    "INSERT INTO order_events (order_ticket, from_status, to_status, reason, actor, request_id, at)"
    " SELECT ticket, 'submitted', 'working', 'acknowledged', 'venue', request_id, updated_at"
    " FROM orders",
)


async def seed(engine: AsyncEngine, n: int) -> None:
    """Migrate, then one instrument, three accounts and their working orders, in bulk."""
    await upgrade(engine)
    async with engine.begin() as conn:
        for user_id, name in ((1, "bench"), (2, "other")):
            await conn.execute(
                insert(users).values(
                    id=user_id, name=name, role="trader", enabled=True, created_at=SEEDED_AT
                )
            )
    store = SqlStore(engine)
    async with store.transaction() as tx:
        await tx.accounts.add_instrument(
            Instrument(
                symbol=SYMBOL,
                tick_size=Decimal("0.25"),
                point_value=Decimal(50),
                digits=2,
                lot_min=Decimal(1),
                lot_max=Decimal(500),
                lot_step=Decimal(1),
            )
        )
        for login, name, owner in ((LOGIN, "Sim101", 1), (OTHER, "Other", 2), (WARM, "Warm", 1)):
            await tx.accounts.add(
                Account(
                    login=Login(login),
                    name=name,
                    owner_id=UserId(owner),
                    group="bench",
                    currency="USD",
                    balance=Decimal(10**9),
                    leverage=100,
                    mode=PositionMode.NETTING,
                )
            )
        await tx.commit()
    async with engine.begin() as conn:
        rows = [
            *_order_rows(OTHER, OTHER_ORDERS),
            *_order_rows(WARM, WARM_ORDERS),
            *_order_rows(LOGIN, n),
        ]
        await insert_rows(conn, orders, rows)
        for sql in _SEED_EVENTS:
            await conn.execute(text(sql))


# -- databases --------------------------------------------------------------------------------


class Target(Protocol):
    """One database kind: seeds a state once per size, hands out fresh copies of it."""

    name: str

    async def seed(self, n: int) -> None: ...

    async def fresh(self) -> AsyncEngine: ...

    async def close(self) -> None: ...

    def version(self) -> str: ...


class SqliteTarget:
    """A SQLite file in WAL mode in a temporary directory; each run gets a copy of the seed."""

    name = "sqlite"

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="ordergate-bench-"))
        self._seed = self._dir / "seed.db"
        self._run = self._dir / "run.db"

    def _remove(self, path: Path) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    async def seed(self, n: int) -> None:
        self._remove(self._seed)
        engine = create_engine(sqlite_url(str(self._seed)))
        try:
            await seed(engine, n)
        finally:
            await engine.dispose()  # the last connection to close checkpoints the WAL

    async def fresh(self) -> AsyncEngine:
        self._remove(self._run)
        for suffix in ("", "-wal"):
            if Path(f"{self._seed}{suffix}").exists():
                shutil.copyfile(f"{self._seed}{suffix}", f"{self._run}{suffix}")
        return create_engine(sqlite_url(str(self._run)))

    async def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def version(self) -> str:
        return f"SQLite {sqlite3.sqlite_version}"


class PostgresTarget:
    """A database of the bench's own on the server (never the tests'): the seeded state is a
    template database, each run a ``CREATE DATABASE … TEMPLATE`` copy of it."""

    name = "postgresql"

    def __init__(self, admin_url: str) -> None:
        self._admin_url = admin_url
        self.server_version = ""

    def _url(self, database: str) -> str:
        return (
            make_url(self._admin_url).set(database=database).render_as_string(hide_password=False)
        )

    async def _admin(self, *statements: str) -> list[Any]:
        engine = create_engine(self._admin_url)
        try:
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                results = [await conn.execute(text(sql)) for sql in statements]
                return [r.scalar() if r.returns_rows else None for r in results]
        finally:
            await engine.dispose()

    async def probe(self) -> str | None:
        """None if the server can be used, else why not."""
        try:
            (version,) = await asyncio.wait_for(self._admin("SHOW server_version"), 15)
        except Exception as exc:  # any failure to reach the server is a reason to skip
            return f"PostgreSQL not reachable at {self._admin_url}: {type(exc).__name__}: {exc}"
        self.server_version = f"PostgreSQL {version}"
        return None

    async def seed(self, n: int) -> None:
        await self._admin(
            f'DROP DATABASE IF EXISTS "{PG_RUN_DB}" WITH (FORCE)',
            f'DROP DATABASE IF EXISTS "{PG_SEED_DB}" WITH (FORCE)',
            f'CREATE DATABASE "{PG_SEED_DB}"',
        )
        engine = create_engine(self._url(PG_SEED_DB))
        try:
            await seed(engine, n)
            async with engine.connect() as conn:
                # What autovacuum does to a table this size soon after it is loaded.
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM ANALYZE"))
        finally:
            await engine.dispose()

    async def fresh(self) -> AsyncEngine:
        # FILE_COPY checkpoints now, so that no copy's writes are flushed during a measurement.
        await self._admin(
            f'DROP DATABASE IF EXISTS "{PG_RUN_DB}" WITH (FORCE)',
            f'CREATE DATABASE "{PG_RUN_DB}" TEMPLATE "{PG_SEED_DB}" STRATEGY FILE_COPY',
        )
        return create_engine(self._url(PG_RUN_DB))

    async def close(self) -> None:
        await self._admin(
            f'DROP DATABASE IF EXISTS "{PG_RUN_DB}" WITH (FORCE)',
            f'DROP DATABASE IF EXISTS "{PG_SEED_DB}" WITH (FORCE)',
        )

    def version(self) -> str:
        return self.server_version


# -- measurements -----------------------------------------------------------------------------


async def _statuses(engine: AsyncEngine) -> dict[tuple[int, str, int], int]:
    sql = "SELECT login, status, version, count(*) FROM orders GROUP BY login, status, version"
    async with engine.connect() as conn:
        return {(lg, st, v): c for lg, st, v, c in await conn.execute(text(sql))}


async def _events(engine: AsyncEngine, login: int) -> dict[str, int]:
    sql = (
        "SELECT e.to_status, count(*) FROM order_events e"
        " JOIN orders o ON o.ticket = e.order_ticket WHERE o.login = :login GROUP BY e.to_status"
    )
    async with engine.connect() as conn:
        return dict((await conn.execute(text(sql), {"login": login})).all())


async def _check(engine: AsyncEngine, n: int, mine: tuple[str, int], warm: tuple[str, int]) -> None:
    """Account 1001's N orders all in ``mine`` (status, version); 2002's untouched."""
    expected = {
        (LOGIN, *mine): n,
        (OTHER, "working", 2): OTHER_ORDERS,
        (WARM, *warm): WARM_ORDERS,
    }
    found = await _statuses(engine)
    if found != expected:
        raise BenchError(f"orders by (login, status, version): expected {expected}, got {found}")
    other = await _events(engine, OTHER)
    if other != {"submitted": OTHER_ORDERS, "working": OTHER_ORDERS}:
        raise BenchError(f"the other account's order events changed: {other}")


async def measure_bare(engine: AsyncEngine, n: int) -> float:
    """Seconds for the bare UPDATE … RETURNING of N orders, committed."""
    async with engine.begin() as conn:  # warm-up: connection, pragmas, prepared statement
        await conn.execute(BARE, {"login": WARM})
    gc.collect()
    start = time.perf_counter()
    async with engine.begin() as conn:
        rows = (await conn.execute(BARE, {"login": LOGIN})).all()
    elapsed = time.perf_counter() - start
    if len(rows) != n:
        raise BenchError(f"bare UPDATE returned {len(rows)} rows, expected {n}")
    await _check(engine, n, ("pending_cancel", 2), ("pending_cancel", 2))
    return elapsed


async def _move_with_events(engine: AsyncEngine, login: int) -> int:
    params = {"login": login, "req": uuid.uuid4().hex}
    first, *rest = WITH_EVENTS[engine.dialect.name]
    async with engine.begin() as conn:
        rows = (await conn.execute(first, params)).all()
        for statement in rest:
            await conn.execute(statement, params)
    return len(rows)


async def measure_with_events(engine: AsyncEngine, n: int) -> float:
    """Seconds for the bare UPDATE plus the INSERT of one event per order, committed."""
    await _move_with_events(engine, WARM)
    gc.collect()
    start = time.perf_counter()
    moved = await _move_with_events(engine, LOGIN)
    elapsed = time.perf_counter() - start
    if moved != n:
        raise BenchError(f"UPDATE with events moved {moved} rows, expected {n}")
    await _check(engine, n, ("pending_cancel", 2), ("pending_cancel", 2))
    steps = await _events(engine, LOGIN)
    if steps != {"submitted": n, "working": n, "pending_cancel": n}:
        raise BenchError(f"UPDATE with events wrote {steps}")
    return elapsed


async def measure_engine(engine: AsyncEngine, n: int) -> tuple[float, float]:
    """Seconds until cancel_orders returned and until the venue's confirmations were applied."""
    venue = SimVenue()
    order_engine = OrderEngine(SqlStore(engine), venue)
    try:
        restored = await order_engine.recover()  # puts the seeded orders on the sim's book
        if restored != n + OTHER_ORDERS + WARM_ORDERS:
            raise BenchError(f"recover() restored {restored} orders, expected more")
        warm = await order_engine.cancel_orders(PRINCIPAL, CancelOrders(account=WARM))
        await order_engine.settle()
        if warm.cancelled != WARM_ORDERS:
            raise BenchError(f"warm-up cancelled {warm.cancelled}, expected {WARM_ORDERS}")
        gc.collect()
        start = time.perf_counter()
        report = await order_engine.cancel_orders(PRINCIPAL, CancelOrders(account=LOGIN))
        returned = time.perf_counter() - start
        await order_engine.settle()
        confirmed = time.perf_counter() - start
    finally:
        await venue.close()
    if (report.cancelled, report.failed) != (n, 0):
        raise BenchError(f"report: {report.cancelled} cancelled, {report.failed} failed; want {n}")
    await _check(engine, n, ("cancelled", 4), ("cancelled", 4))
    steps = await _events(engine, LOGIN)
    want = {"submitted": n, "working": n, "pending_cancel": n, "cancelled": n}
    if steps != want:
        raise BenchError(f"order events of account {LOGIN}: expected {want}, got {steps}")
    return returned, confirmed


@dataclass
class Result:
    """One database and size: every run's milliseconds, per measurement."""

    db: str
    orders: int
    bare_ms: list[float] = field(default_factory=list)
    cancel_orders_ms: list[float] = field(default_factory=list)
    until_confirmed_ms: list[float] = field(default_factory=list)
    with_events_ms: list[float] = field(default_factory=list)

    def median(self, samples: Sequence[float]) -> float:
        return statistics.median(samples)

    @property
    def ratio(self) -> float:
        return self.median(self.cancel_orders_ms) / self.median(self.bare_ms)

    def summary(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "median_bare_ms": round(self.median(self.bare_ms), 2),
            "median_cancel_orders_ms": round(self.median(self.cancel_orders_ms), 2),
            "median_until_confirmed_ms": round(self.median(self.until_confirmed_ms), 2),
            "median_with_events_ms": round(self.median(self.with_events_ms), 2),
            "ratio": round(self.ratio, 2),
        }


async def _fresh_run(target: Target, run: Any, n: int) -> Any:
    engine = await target.fresh()
    try:
        async with asyncio.timeout(RUN_TIMEOUT_S):
            return await run(engine, n)
    finally:
        await engine.dispose()


async def bench_size(target: Target, n: int, repeat: int) -> Result:
    started = time.perf_counter()
    await target.seed(n)
    log(f"{target.name}: seeded {n} orders in {time.perf_counter() - started:.1f} s")
    result = Result(target.name, n)
    for _ in range(repeat):  # interleaved, so that noise falls on all alike
        bare = await _fresh_run(target, measure_bare, n)
        returned, confirmed = await _fresh_run(target, measure_engine, n)
        with_events = await _fresh_run(target, measure_with_events, n)
        result.bare_ms.append(round(bare * 1000, 3))
        result.cancel_orders_ms.append(round(returned * 1000, 3))
        result.until_confirmed_ms.append(round(confirmed * 1000, 3))
        result.with_events_ms.append(round(with_events * 1000, 3))
    return result


# -- output -----------------------------------------------------------------------------------

HEADER = (
    "db",
    "orders",
    "bare UPDATE ms",
    "cancel_orders ms",
    "ratio",
    "until venue confirmed ms",
    "bare UPDATE + events ms",
)


def table_row(r: Result) -> str:
    return (
        f"| {r.db} | {r.orders:,} | {r.median(r.bare_ms):.1f} | {r.median(r.cancel_orders_ms):.1f}"
        f" | {r.ratio:.2f}x | {r.median(r.until_confirmed_ms):.1f}"
        f" | {r.median(r.with_events_ms):.1f} |"
    )


VERSIONS = ("python", "sqlite", "postgresql", "SQLAlchemy", "asyncpg", "aiosqlite")


def machine(versions: dict[str, str]) -> dict[str, Any]:
    packages = {p: f"{p} {metadata.version(p)}" for p in ("SQLAlchemy", "asyncpg", "aiosqlite")}
    return {
        "cpus": os.cpu_count(),
        "python": f"Python {platform.python_version()}",
        "platform": platform.platform(),
        **versions,
        **packages,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated order counts")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the median is shown")
    parser.add_argument("--pg-url", default=PG_URL, help="admin URL of the PostgreSQL server")
    parser.add_argument("--json", action="store_true", help="JSON on stdout, table on stderr")
    args = parser.parse_args(argv)
    check_sizes(parser, args)
    return args


def check_sizes(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Turn ``--sizes`` into positive integers and check ``--repeat`` (shared by the benches)."""
    try:
        args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes takes comma-separated integers, e.g. 1000,10000")
    if not args.sizes or min(args.sizes) < 1 or args.repeat < 1:
        parser.error("sizes and --repeat must be positive")


async def targets(args: argparse.Namespace, skipped: dict[str, str]) -> list[Target]:
    chosen: list[Target] = []
    if args.db in ("sqlite", "both"):
        chosen.append(SqliteTarget())
    if args.db in ("postgresql", "both"):
        pg = PostgresTarget(args.pg_url)
        reason = await pg.probe()
        if reason is None:
            chosen.append(pg)
        else:
            skipped["postgresql"] = reason
            log(f"postgresql: skipped: {reason}")
    return chosen


async def run(args: argparse.Namespace) -> dict[str, Any]:
    skipped: dict[str, str] = {}
    chosen = await targets(args, skipped)
    stream = sys.stderr if args.json else sys.stdout

    def emit(line: str) -> None:
        print(line, file=stream, flush=True)

    about = machine({t.name: t.version() for t in chosen})
    emit(f"{about['cpus']} CPUs, " + ", ".join(v for k, v in about.items() if k in VERSIONS))
    emit(f"medians of {args.repeat} runs, each on a fresh copy of the seeded database")
    emit("| " + " | ".join(HEADER) + " |")
    emit("|" + "---|" * len(HEADER))
    results: list[Result] = []
    for target in chosen:
        try:
            for n in args.sizes:
                results.append(await bench_size(target, n, args.repeat))
                emit(table_row(results[-1]))
        finally:
            await target.close()
    for db, reason in skipped.items():
        emit(f"{db}: skipped: {reason}")
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "repeat": args.repeat,
        "machine": about,
        "results": [r.summary() for r in results],
        "skipped": skipped,
    }


def bench_main(
    args: argparse.Namespace, run_bench: Callable[[argparse.Namespace], Awaitable[Any]]
) -> int:
    """Run a benchmark: 1 if its self-checks failed, else 0 (JSON on stdout with --json)."""
    try:
        report = asyncio.run(run_bench(args))
    except BenchError as exc:
        log(f"benchmark invalid: {exc}")
        return 1
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return bench_main(parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
