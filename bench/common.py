"""What the benches share: databases of their own (SQLite files, PostgreSQL databases),
bulk seeding by SQL, ``ordergate serve`` in a process of its own, raw HTTP and WebSocket
clients, percentiles, and the command line and report every bench has.

Seeding writes the tables directly (``src/ordergate/store/tables.py``): numbers are integers
of 1e-8 units, SQLite times the text SQLAlchemy writes, PostgreSQL times ``timestamptz``.
Users, accounts, instruments and tokens go through ordergate's own services.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
import orjson
from sqlalchemy.engine import make_url

from ordergate.auth.users import UserService
from ordergate.domain.accounts import Account, PositionMode
from ordergate.domain.ids import Login, UserId
from ordergate.domain.instruments import Instrument
from ordergate.domain.principal import Role
from ordergate.store import SqlStore, create_engine, upgrade
from ordergate.store.rows import sqlite_time
from ordergate.store.types import to_units

PG_ADMIN_URL = os.environ.get(
    "ORDERGATE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
USER = "bench"
SEEDED_AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
#: Enough for every margin check of a run (the balance column holds up to ~9.2e10).
FUNDS = Decimal(10) ** 10
START_TIMEOUT_S = 300
STOP_TIMEOUT_S = 120
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent


class BenchError(Exception):
    """The bench did not measure what it claims to (wrong rows, wrong answer, an error)."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- instruments and orders -------------------------------------------------------------------


def future(symbol: str, point_value: str) -> Instrument:
    return Instrument(
        symbol=symbol,
        tick_size=Decimal("0.25"),
        point_value=Decimal(point_value),
        digits=2,
        lot_min=Decimal(1),
        lot_max=Decimal(500),
        lot_step=Decimal(1),
    )


ES = future("ES 12-26", "50")
NQ = future("NQ 12-26", "20")
#: Where the server opens each market when the database has no fill or bar of it
#: (ordergate.venue.opening.REFERENCE_PRICES): the seeded orders rest 100 points away.
MARKET = {ES.symbol: Decimal(6000), NQ.symbol: Decimal(21000)}
TICK = Decimal("0.25")

_ORDER_COLUMNS = (
    "ticket",
    "id",
    "login",
    "symbol",
    "side",
    "type",
    "quantity",
    "filled",
    "limit_price",
    "tif",
    "comment",
    "status",
    "version",
    "request_id",
    "created_at",
    "updated_at",
)
_VERSION = {"working": 2, "filled": 3, "cancelled": 4}
#: The events each seeded status has had: (from, to, reason, actor).
_SUBMITTED = (None, "submitted", "submitted", "user:bench")
_ACKNOWLEDGED = ("submitted", "working", "acknowledged", "venue")
_STEPS = {
    "working": [_SUBMITTED, _ACKNOWLEDGED],
    "filled": [_SUBMITTED, _ACKNOWLEDGED, ("working", "filled", "filled", "venue")],
    "cancelled": [
        _SUBMITTED,
        _ACKNOWLEDGED,
        ("working", "pending_cancel", "cancel requested", "user:bench"),
        ("pending_cancel", "cancelled", "cancelled", "venue"),
    ],
}


@dataclass(frozen=True, slots=True)
class Block:
    """``count`` GTC limit orders of account ``login`` in ``status``, 100 points or more away
    from the market (buys below it, sells above; ``side`` None alternates), 1 to 3 lots each.
    ``offset`` moves every price towards the market by that many points."""

    login: int
    count: int
    symbol: str = ES.symbol
    status: str = "working"
    side: str | None = None
    offset: Decimal = Decimal(0)

    def side_of(self, i: int) -> str:
        return self.side or ("buy" if i % 2 == 0 else "sell")

    def price(self, i: int) -> Decimal:
        away = Decimal(100) - self.offset + (i // 2 % 400) * TICK
        return (
            MARKET[self.symbol] - away if self.side_of(i) == "buy" else MARKET[self.symbol] + away
        )

    @staticmethod
    def quantity(i: int) -> int:
        return 1 + i % 3


@dataclass(slots=True)
class Seeded:
    """The orders a ``seed_orders`` call wrote, block by block: first ticket, ids (if kept)."""

    first_ticket: list[int] = field(default_factory=list)
    ids: list[list[str]] = field(default_factory=list)
    last_ticket: int = 0


def _order_row(
    block: Block, i: int, ticket: int, oid: str, times: Callable[[datetime], Any]
) -> tuple:
    qty = block.quantity(i) * 10**8
    return (
        ticket,
        oid,
        block.login,
        block.symbol,
        block.side_of(i),
        "limit",
        qty,
        qty if block.status == "filled" else 0,
        to_units(block.price(i)),
        "gtc",
        "",
        block.status,
        _VERSION[block.status],
        None,
        times(SEEDED_AT),
        times(SEEDED_AT + timedelta(milliseconds=1)),
    )


def _rows(
    blocks: Sequence[Block],
    first: int,
    seed: int,
    seeded: Seeded,
    keep_ids: bool,
    times: Callable[[datetime], Any],
    chunk: int = 50_000,
) -> Iterator[list[tuple]]:
    """The rows of ``blocks`` in chunks, tickets from ``first`` on (ids from a seeded
    random source: the same seed, the same ids)."""
    rng = random.Random(seed)
    ticket = first
    rows: list[tuple] = []
    for block in blocks:
        seeded.first_ticket.append(ticket)
        ids: list[str] = []
        for i in range(block.count):
            oid = f"{rng.getrandbits(128):032x}"
            if keep_ids:
                ids.append(oid)
            rows.append(_order_row(block, i, ticket, oid, times))
            ticket += 1
            if len(rows) >= chunk:
                yield rows
                rows = []
        seeded.ids.append(ids)
    seeded.last_ticket = ticket - 1
    if rows:
        yield rows


def _event_statements(first: int, last: int, mark: Callable[[int], str]) -> list[tuple[str, tuple]]:
    """INSERT … SELECT statements giving each seeded order in tickets first..last the events
    of its status (``mark(n)``: the driver's n-th parameter marker)."""
    statements = []
    for status, steps in _STEPS.items():
        for n, (source, target, reason, actor) in enumerate(steps):
            at = "created_at" if n == 0 else "updated_at"
            sql = (
                "INSERT INTO order_events (order_ticket, from_status, to_status, reason, actor,"
                f" request_id, at) SELECT ticket, {mark(1)}, {mark(2)}, {mark(3)}, {mark(4)},"
                f" NULL, {at} FROM orders WHERE ticket BETWEEN {mark(5)} AND {mark(6)}"
                f" AND status = {mark(7)} ORDER BY ticket"
            )
            statements.append((sql, (source, target, reason, actor, first, last, status)))
    return statements


# -- databases --------------------------------------------------------------------------------


@dataclass(slots=True)
class Database:
    """One database of the bench's own: ``url`` as ordergate takes it."""

    kind: str
    name: str
    url: str
    path: Path | None = None

    @property
    def pg_dsn(self) -> str:
        return make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)


class Databases:
    """Creates, copies and drops the databases of one bench on one kind of database: SQLite
    files in a temporary directory (on disk, so a durable commit waits for the disk), or
    PostgreSQL databases named ``ordergate_bench_<bench>_<name>`` (never ``test``)."""

    def __init__(self, kind: str, bench: str, pg_url: str = PG_ADMIN_URL) -> None:
        self.kind = kind
        self.bench = bench
        self._pg_url = pg_url
        self._made: dict[str, Database] = {}
        self._dir: Path | None = None
        if kind == "sqlite":
            self._dir = Path(tempfile.mkdtemp(prefix=f"ordergate-bench-{bench}-"))

    def _pg_name(self, name: str) -> str:
        return f"ordergate_bench_{self.bench}_{name}"

    async def _pg_admin(self, *statements: str) -> list[Any]:
        dsn = (
            make_url(self._pg_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
        conn = await asyncpg.connect(dsn)
        try:
            return [await conn.fetch(sql) for sql in statements]
        finally:
            await conn.close()

    async def probe(self) -> str:
        """The server's version, or raise (PostgreSQL unreachable)."""
        if self.kind == "sqlite":
            return f"SQLite {sqlite3.sqlite_version}"
        rows = (await self._pg_admin("SHOW server_version"))[0]
        return f"PostgreSQL {rows[0][0]}"

    async def create(self, name: str) -> Database:
        """An empty database called ``name`` (dropped first if it is there)."""
        await self.drop(name)
        if self._dir is not None:
            path = self._dir / f"{name}.db"
            db = Database("sqlite", name, f"sqlite:///{path}", path)
        else:
            real = self._pg_name(name)
            await self._pg_admin(f'CREATE DATABASE "{real}"')
            db = Database("postgresql", name, self._url(real))
        self._made[name] = db
        return db

    def _url(self, database: str) -> str:
        return make_url(self._pg_url).set(database=database).render_as_string(hide_password=False)

    async def copy(self, source: Database, name: str) -> Database:
        """A fresh copy of ``source`` (no connection may be open to it)."""
        await self.drop(name)
        if self._dir is not None and source.path is not None:
            path = self._dir / f"{name}.db"
            _checkpoint(source.path)
            shutil.copyfile(source.path, path)
            db = Database("sqlite", name, f"sqlite:///{path}", path)
        else:
            real = self._pg_name(name)
            template = self._pg_name(source.name)
            await self._pg_admin(
                f'CREATE DATABASE "{real}" TEMPLATE "{template}" STRATEGY FILE_COPY'
            )
            db = Database("postgresql", name, self._url(real))
        self._made[name] = db
        return db

    async def drop(self, name: str) -> None:
        self._made.pop(name, None)
        if self._dir is not None:
            for suffix in ("", "-wal", "-shm", "-journal", "-writer.lock"):
                Path(f"{self._dir / name}.db{suffix}").unlink(missing_ok=True)
        else:
            await self._pg_admin(f'DROP DATABASE IF EXISTS "{self._pg_name(name)}" WITH (FORCE)')

    async def close(self) -> None:
        for name in list(self._made):
            with contextlib.suppress(Exception):
                await self.drop(name)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)


def _checkpoint(path: Path) -> None:
    """Fold the WAL into the file, so that the file alone is the database."""
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


# -- seeding ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountSpec:
    login: int
    name: str
    balance: Decimal = FUNDS
    mode: PositionMode = PositionMode.NETTING


async def seed_reference(
    db: Database, accounts: Sequence[AccountSpec], instruments: Sequence[Instrument] = (ES, NQ)
) -> str:
    """Migrate ``db``, add user "bench" owning ``accounts``, and ``instruments``: a new
    bearer token of the user (it stays valid in copies of the database)."""
    engine = create_engine(db.url)
    try:
        await upgrade(engine)
        store = SqlStore(engine)
        users = UserService(store)
        user = await users.add_user(USER, Role.TRADER)
        async with store.transaction() as tx:
            for instrument in instruments:
                await tx.accounts.add_instrument(instrument)
            for spec in accounts:
                await tx.accounts.add(
                    Account(
                        login=Login(spec.login),
                        name=spec.name,
                        owner_id=UserId(user.id),
                        group="bench",
                        currency="USD",
                        balance=spec.balance,
                        leverage=100,
                        mode=spec.mode,
                    )
                )
            await tx.commit()
        return await users.create_token(USER)
    finally:
        await engine.dispose()


async def seed_orders(
    db: Database,
    blocks: Sequence[Block],
    *,
    first_ticket: int = 1,
    seed: int = 1,
    keep_ids: bool = True,
) -> Seeded:
    """Write ``blocks`` of orders, each with the events of its status, in bulk."""
    seeded = Seeded()
    if db.kind == "sqlite":
        assert db.path is not None
        conn = sqlite3.connect(db.path, isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous=OFF")  # seeding need not survive a power cut
            conn.execute("BEGIN")
            marks = ", ".join("?" * len(_ORDER_COLUMNS))
            insert = f"INSERT INTO orders ({', '.join(_ORDER_COLUMNS)}) VALUES ({marks})"
            for rows in _rows(blocks, first_ticket, seed, seeded, keep_ids, sqlite_time):
                conn.executemany(insert, rows)
            for sql, params in _event_statements(first_ticket, seeded.last_ticket, lambda _: "?"):
                conn.execute(sql, params)
            conn.execute("COMMIT")
            conn.execute("ANALYZE")
        finally:
            conn.close()
        _checkpoint(db.path)
        return seeded
    conn = await asyncpg.connect(db.pg_dsn)
    try:
        async with conn.transaction():
            for rows in _rows(blocks, first_ticket, seed, seeded, keep_ids, lambda t: t):
                await conn.copy_records_to_table("orders", records=rows, columns=_ORDER_COLUMNS)
            for sql, params in _event_statements(
                first_ticket, seeded.last_ticket, lambda n: f"${n}"
            ):
                await conn.execute(sql, *params)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return seeded


class Sql:
    """A plain connection to a bench database for seeding extras and checking results:
    ``?`` markers on both kinds (turned into ``$n`` for PostgreSQL)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lite: sqlite3.Connection | None = None
        self._pg: Any = None

    async def __aenter__(self) -> Sql:
        if self.db.kind == "sqlite":
            self._lite = sqlite3.connect(self.db.path, isolation_level=None)
            self._lite.execute("PRAGMA busy_timeout=30000")
        else:
            self._pg = await asyncpg.connect(self.db.pg_dsn)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._lite is not None:
            self._lite.close()
        if self._pg is not None:
            await self._pg.close()

    @staticmethod
    def _pg_sql(sql: str) -> str:
        parts = sql.split("?")
        return "".join(p + (f"${i}" if i < len(parts) else "") for i, p in enumerate(parts, 1))

    async def fetch(self, sql: str, *params: Any) -> list[tuple]:
        if self._lite is not None:
            return self._lite.execute(sql, params).fetchall()
        return [tuple(r) for r in await self._pg.fetch(self._pg_sql(sql), *params)]

    async def value(self, sql: str, *params: Any) -> Any:
        rows = await self.fetch(sql, *params)
        return rows[0][0] if rows else None

    async def execute(self, sql: str, *params: Any) -> None:
        if self._lite is not None:
            self._lite.execute(sql, params)
        else:
            await self._pg.execute(self._pg_sql(sql), *params)

    async def executemany(self, sql: str, rows: Sequence[tuple]) -> None:
        if self._lite is not None:
            self._lite.executemany(sql, rows)
        else:
            await self._pg.executemany(self._pg_sql(sql), rows)

    def time(self, value: datetime) -> Any:
        """``value`` as the driver stores it."""
        return sqlite_time(value) if self.db.kind == "sqlite" else value

    async def durable(self, work: Callable[[Sql], Awaitable[None]]) -> float:
        """Seconds ``work`` takes inside one transaction committed durably (SQLite: WAL,
        ``synchronous=FULL``, as the journal commits)."""
        if self._lite is not None:
            self._lite.execute("PRAGMA journal_mode=WAL")
            self._lite.execute("PRAGMA synchronous=FULL")
            start = time.perf_counter()
            self._lite.execute("BEGIN IMMEDIATE")
            await work(self)
            self._lite.execute("COMMIT")
            return time.perf_counter() - start
        start = time.perf_counter()
        async with self._pg.transaction():
            await work(self)
        return time.perf_counter() - start


# -- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise BenchError(f"no VmRSS for process {pid}")


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_ticks() -> tuple[int, int]:
    """The machine's CPU time so far in clock ticks: all of it, and idle (idle + iowait)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(fields), fields[3] + fields[4]


def machine_cores(since: tuple[int, int]) -> float:
    """Cores busy on average (every process: the server, the client, PostgreSQL, other
    work) since ``since``, a ``machine_ticks()``."""
    total, idle = (now - then for now, then in zip(machine_ticks(), since, strict=True))
    return round((os.cpu_count() or 1) * (total - idle) / max(1, total), 2)


#: Lines of a server's log that mean the run did not go as measured.
_PROBLEMS = (" ERROR ", " CRITICAL ", "Traceback", " WARNING ordergate")


class Server:
    """A process of its own serving ``command`` on a free loopback port, ready once
    ``/healthz`` answers 200; stopped with SIGINT (as Ctrl-C would)."""

    def __init__(self, command: Sequence[str], env: dict[str, str], port: int) -> None:
        self.command = list(command)
        self.env = env
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        self.started_s = math.nan

    @classmethod
    def ordergate(cls, db: Database, **env: str) -> Server:
        """``ordergate serve`` on ``db``: no market feed, no rate limit, warnings only."""
        port = free_port()
        base = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGATE_")}
        base |= {
            "ORDERGATE_MARKET_SOURCE": "none",
            "ORDERGATE_RATE_LIMIT_ENABLED": "false",
            "ORDERGATE_LOG_LEVEL": "warning",
        }
        command = [sys.executable, "-c", "from ordergate.cli import main; main()", "serve"]
        command += ["--db", db.url, "--host", "127.0.0.1", "--port", str(port)]
        return cls(command, base | env, port)

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise BenchError("the server is not running")
        return self.proc.pid

    async def start(self) -> float:
        """Start it and wait until it answers /healthz: the seconds that took."""
        start = time.perf_counter()
        self.proc = await asyncio.create_subprocess_exec(
            *self.command, env=self.env, stdout=self._log, stderr=self._log
        )
        deadline = start + START_TIMEOUT_S
        async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
            while time.perf_counter() < deadline:
                if self.proc.returncode is not None:
                    raise BenchError(
                        f"the server exited with {self.proc.returncode}:\n{self.log_tail()}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{self.url}/healthz")).status_code == 200:
                        self.started_s = time.perf_counter() - start
                        return self.started_s
                await asyncio.sleep(0.01)
        raise BenchError(
            f"the server did not answer within {START_TIMEOUT_S} s:\n{self.log_tail()}"
        )

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.proc.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    def log_text(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_text()[-chars:]

    def problems(self) -> list[str]:
        """Lines of its log that report an error or an ordergate warning."""
        return [line for line in self.log_text().splitlines() if any(p in line for p in _PROBLEMS)]

    def check_log(self) -> None:
        found = self.problems()
        if found:
            raise BenchError("the server logged problems:\n" + "\n".join(found[:20]))

    def close(self) -> None:
        self._log.close()


@contextlib.asynccontextmanager
async def running(server: Server) -> AsyncIterator[Server]:
    """``server`` started, stopped and its log checked at the end."""
    try:
        await server.start()
        yield server
    except BaseException:
        log(server.log_tail())
        raise
    finally:
        await server.stop()
    server.check_log()
    server.close()


# -- clients ----------------------------------------------------------------------------------


class Http:
    """One keep-alive HTTP/1.1 connection, one request at a time, with as little client work
    as a request can take (on two cores the client shares the machine with the server)."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.host, port = url.removeprefix("http://").rsplit(":", 1)
        self.port = int(port)
        fixed = {"Host": f"{self.host}:{port}", "Content-Type": "application/json", **headers}
        self.head = "".join(f"{k}: {v}\r\n" for k, v in fixed.items()).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, limit=1 << 20
            )
        reader, writer = self.reader, self.writer
        try:
            writer.write(
                b"%s %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s"
                % (method.encode(), path.encode(), self.head, len(body), body)
            )
            head = (await reader.readuntil(b"\r\n\r\n")).lower()
            status = int(head[9:12])
            at = head.find(b"content-length:")
            if at < 0:
                raise BenchError(f"an answer without Content-Length: {head[:300]!r}")
            length = int(head[at + 15 : head.index(b"\r\n", at)])
            answer = await reader.readexactly(length)
        except BaseException:
            self.close()
            raise
        if b"connection: close" in head:
            self.close()
        return status, answer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


# -- figures ----------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` percentile (0-100) of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p90, p99 and max of latencies given in seconds, in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    return {
        "p50_ms": round(percentile(ms, 50), 3),
        "p90_ms": round(percentile(ms, 90), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "max_ms": round(ms[-1], 3) if ms else math.nan,
    }


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def fmt(value: Any, digits: int = 1) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "NO", None: "-"}[value]
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:,.{digits}f}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (the form bench/README.md takes it in)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


# -- the command line -------------------------------------------------------------------------


def parser(doc: str | None, repeat: int) -> argparse.ArgumentParser:
    """The options every bench takes; ``doc`` is its module docstring."""
    text = doc or ""
    p = argparse.ArgumentParser(
        description=text.split("\n\n", 1)[0],
        epilog=text.split("\n\n", 1)[1] if "\n\n" in text else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    p.add_argument(
        "--quick", action="store_true", help="small sizes, one run: a smoke test under 60 s"
    )
    p.add_argument("--json", action="store_true", help="JSON on stdout (the table goes to stderr)")
    p.add_argument(
        "--repeat",
        type=int,
        default=None,
        help=f"runs per database (default {repeat}, --quick 1); the table shows medians",
    )
    p.add_argument(
        "--pg-url",
        default=PG_ADMIN_URL,
        help="a PostgreSQL server's URL to create and drop the bench's databases on"
        " (default $ORDERGATE_BENCH_PG_URL or %(default)s)",
    )
    p.set_defaults(default_repeat=repeat)
    return p


def parse(p: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    args = p.parse_args(argv)
    if args.repeat is None:
        args.repeat = 1 if args.quick else args.default_repeat
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    args.kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    return args


def _git_head() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}{' + uncommitted changes' if dirty else ''}"


def machine() -> dict[str, Any]:
    versions = {}
    for package in ("uvicorn", "uvloop", "httptools", "fastapi", "asyncpg", "websockets"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return {
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "packages": versions,
        "commit": _git_head(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


async def _each_kind(
    args: argparse.Namespace,
    bench: str,
    run_kind: Callable[[Databases], Awaitable[list[dict[str, Any]]]],
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    results: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for kind in args.kinds:
        dbs = Databases(kind, bench, args.pg_url)
        try:
            version = await dbs.probe()
        except (OSError, asyncpg.PostgresError) as exc:
            skipped[kind] = f"skipped: {exc}"
            log(f"{kind}: {skipped[kind]}")
            continue
        log(f"{kind}: {version}")
        try:
            for row in await run_kind(dbs):
                results.append({"db": kind, **row})
        finally:
            await dbs.close()
    return results, skipped


def main(
    argv: Sequence[str] | None,
    p: argparse.ArgumentParser,
    bench: str,
    run_kind: Callable[[argparse.Namespace, Databases], Awaitable[list[dict[str, Any]]]],
    report: Callable[[argparse.Namespace, list[dict[str, Any]]], str],
) -> int:
    """Run ``run_kind`` on each database asked for; print ``report`` of the results (and the
    JSON with --json). Exit status 1 if the bench could not check what it measured."""
    args = parse(p, argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    about = machine()
    if about["load_average"][0] >= 1.0:
        log(f"note: load average {about['load_average']}: the machine is busy")

    async def everything() -> tuple[list[dict[str, Any]], dict[str, str]]:
        return await _each_kind(args, bench, lambda dbs: run_kind(args, dbs))

    started = time.perf_counter()
    try:
        results, skipped = _run(everything())
    except BenchError as exc:
        log(f"bench failed: {exc}")
        return 1
    about["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    about["seconds"] = round(time.perf_counter() - started, 1)
    text = report(args, results)
    notes = [f"{k}: {v}" for k, v in skipped.items()]
    busy = about["load_average"][0] >= 1.0
    notes.append(
        f"{about['cpus']} CPUs, load average {about['load_average'][0]} before,"
        f" {about['load_average_after'][0]} after{' (BUSY machine)' if busy else ''};"
        f" {about['seconds']} s; commit {about['commit']}"
    )
    text = text + "\n\n" + "\n".join(notes)
    if args.json:
        log(text)
        print(
            json.dumps(
                {
                    "bench": bench,
                    "quick": args.quick,
                    "machine": about,
                    "results": results,
                    "skipped": skipped,
                },
                indent=2,
                default=str,
            )
        )
    else:
        print(text)
    return 0


def _run(coro: Awaitable[Any]) -> Any:
    try:
        import uvloop  # the server's loop; the client's too, so it is no slower than needed
    except ImportError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    return uvloop.run(coro)  # type: ignore[arg-type]


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)
