"""Bulk cancel: 100,000 working orders of one account through CrossTrade HTTP, against a real
``ordergate serve``, beside the database work it cannot avoid (the floor).

Seeding (in bulk, by SQL): account ``Bulk`` holds ``--orders`` (default 100,000; --quick
20,000) working GTC limit orders on ES, each with its two events (submitted, working), and
account ``Warm`` 200 more for the warm-up. Two scenarios, each on a fresh copy of its seeded
database with a server of its own (started on it: the server loads the orders into memory
and recovers them onto the venue's book; the start is checked by the snapshot's
``workingOrders`` of every account):

- ``alone``: ``POST /v1/api/accounts/Bulk/orders/cancel`` with ``{}``: every working order of
  the account, the only orders of the database besides the warm-up's;
- ``among others``: the same N on ES among 2N orders: ``Bulk`` also holds N/10 on NQ and
  account ``Other`` 9N/10 on ES; the body is ``{"instrument": "ES 12-26"}``, so neither the
  NQ orders nor the other account's may move.

Before the timed call the client cancels the warm-up account's orders the same way and waits
until they are journaled cancelled (the connection, the code paths, the poller warm). Timed
from the moment the request is written on a keep-alive connection:

- (a) answer: until the whole answer (N order ids, about 3.5 MB) is read. Target: < 400 ms on
  SQLite, < 1 s on PostgreSQL.
- (b) confirmed: until the venue's confirmation of all N is journaled, i.e. every order
  ``cancelled`` in the database. Target: < 1 s on SQLite.

How (b) is seen from outside: the bench polls ``SELECT max(id) FROM order_events`` on a
connection of its own, about every millisecond (``order_events.id`` is the primary key: one
index probe, some tens of microseconds on SQLite, a loopback round trip on PostgreSQL; a
reader sees only committed transactions). The run writes exactly 2N events after the mark
read before the request: N ``working → pending_cancel`` and N ``pending_cancel → cancelled``,
and nothing else runs, so the first poll that reads mark + 2N is the moment the last
confirmation was committed; mark + N marks the pending-cancel entry's commit (shown too).
Resolution: the gap between that poll and the one before it (shown; about 1 ms). Not chosen:
the WebSocket stream (100,000 order updates the server would not otherwise publish, which
would be timed too), counting orders by status (no index on status, by design: a scan of
the account's orders per poll), or the API (memory runs ahead of the journal: it would not
show the commit). The checks afterwards make sure that nothing else wrote events.

The floor, in the same run, on fresh copies of the same seeded database: the same 2N events
and order rows' changes written straight to the database, each transition in one durable
transaction (SQLite: WAL, ``synchronous=FULL``, foreign keys on, as the journal connects;
PostgreSQL: a plain asyncpg connection with PostgreSQL's default settings; the journal's own
connection sets ``plan_cache_mode=force_custom_plan`` (store/db.py), which re-plans every
foreign-key check of the events: on this machine 100,000 of them take about 0.9 s instead of
0.4 s, a cost the floor leaves out). Per transition: the N ``order_events`` rows as the
journal writes them (ticket, from, to, reason, actor, request id, time) plus the orders'
update (status, prior status, version + 1, time, request id) as one statement over the array
of the N tickets (``json_each`` on SQLite, ``= ANY($1::bigint[])`` on PostgreSQL). The
events go in two ways, each on its own copy: row by row (one ``executemany`` on SQLite, one
COPY by ``copy_records_to_table`` on PostgreSQL) and set-wise (one INSERT … SELECT over the
tickets' array, as the journal itself does; on SQLite it writes the events in about half the
executemany's time). Floor of (a): the pending-cancel transaction; floor of (b): both. Only
the statements and the commit are timed (the rows are built before).

Checks: the answer is 200 and lists exactly the N seeded order ids, once each; after the
server stopped, in the database: the N orders ``cancelled`` at version 4 (no prior status),
each with exactly its four events (the seeded two, ``working → pending_cancel`` "bulk cancel
requested" by ``user:bench`` with one request id for all, ``pending_cancel → cancelled`` by
``venue``), the orders out of scope still working at version 2 with their two events, no
other events; the floor's copy holds the same statuses and event counts; the server logged
no error. The server's RSS is read (/proc) once loaded, and its maximum while cancelling;
its CPU seconds over the timed call too.

    .venv/bin/python bench/bulk_cancel.py --db sqlite --quick
    .venv/bin/python bench/bulk_cancel.py --db both --json > bulk_cancel.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import orjson

from common import (
    ES,
    NQ,
    SEEDED_AT,
    AccountSpec,
    BenchError,
    Block,
    Database,
    Databases,
    Http,
    Server,
    Sql,
    cpu_s,
    fmt,
    log,
    main,
    median,
    parser,
    rss_mb,
    running,
    seed_orders,
    seed_reference,
    table,
)
from ordergate.store.rows import sqlite_time

TARGET_ANSWER_MS = {"sqlite": 400.0, "postgresql": 1000.0}
TARGET_CONFIRMED_MS: dict[str, float | None] = {"sqlite": 1000.0, "postgresql": None}
BULK, OTHER, WARM = 1001, 2002, 3003
NAMES = {BULK: "Bulk", OTHER: "Other", WARM: "Warm"}
WARM_ORDERS = 200
ACTOR = "user:bench"
VENUE = "venue"
REASON_REQUEST = "bulk cancel requested"
REASON_CONFIRM = "cancelled"
POLL_S = 0.001
RSS_EVERY = 10
TIMEOUT_S = 120.0
QUICK_ORDERS = 20_000
SCENARIOS = ("alone", "among others")


@dataclass(frozen=True, slots=True)
class Layout:
    """One scenario's seeded database: the orders the cancel must take (tickets and ids),
    the ones it must leave (tickets), the body of the request."""

    scenario: str
    db: Database
    token: str
    target_tickets: range
    target_ids: frozenset[str]
    kept_tickets: tuple[range, ...]
    warm_tickets: range
    body: bytes
    total: int

    @property
    def n(self) -> int:
        return len(self.target_tickets)

    @property
    def kept(self) -> int:
        return sum(len(r) for r in self.kept_tickets)


async def seed(dbs: Databases, scenario: str, n: int) -> Layout:
    name = "seed_alone" if scenario == "alone" else "seed_others"
    db = await dbs.create(name)
    token = await seed_reference(db, [AccountSpec(login, NAMES[login]) for login in NAMES])
    blocks = [Block(WARM, WARM_ORDERS), Block(BULK, n)]
    body = b"{}"
    if scenario != "alone":
        blocks += [Block(BULK, n // 10, symbol=NQ.symbol), Block(OTHER, n - n // 10)]
        body = orjson.dumps({"instrument": ES.symbol})
    seeded = await seed_orders(db, blocks)
    firsts = [*seeded.first_ticket, seeded.last_ticket + 1]
    ranges = [range(a, b) for a, b in itertools.pairwise(firsts)]
    return Layout(
        scenario=scenario,
        db=db,
        token=token,
        target_tickets=ranges[1],
        target_ids=frozenset(seeded.ids[1]),
        kept_tickets=tuple(ranges[2:]),
        warm_tickets=ranges[0],
        body=body,
        total=sum(b.count for b in blocks),
    )


# -- watching the journal ---------------------------------------------------------------------


class Journaled:
    """``SELECT max(id) FROM order_events`` on a connection of the bench's own."""

    SQL = "SELECT max(id) FROM order_events"

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lite: sqlite3.Connection | None = None
        self._pg: asyncpg.Connection | None = None

    async def __aenter__(self) -> Journaled:
        if self.db.kind == "sqlite":
            assert self.db.path is not None
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

    async def last(self) -> int:
        if self._lite is not None:
            return int(self._lite.execute(self.SQL).fetchall()[0][0])
        assert self._pg is not None
        return int(await self._pg.fetchval(self.SQL))

    async def until(self, marks: Sequence[int], pid: int | None = None) -> Watched:
        """Poll until ``max(id)`` reaches each of ``marks`` (ascending): when each was first
        seen, and the poll before it; the server's RSS meanwhile."""
        watched = Watched()
        start = time.perf_counter()
        before = start
        pending = list(marks)
        polls = 0
        while pending:
            found = await self.last()
            at = time.perf_counter()
            polls += 1
            while pending and found >= pending[0]:
                watched.seen.append((at - start, before - start))
                pending.pop(0)
            if pid is not None and polls % RSS_EVERY == 0:
                with contextlib.suppress(OSError):
                    watched.rss.append(rss_mb(pid))
            if at - start > TIMEOUT_S:
                raise BenchError(
                    f"order_events reached id {found}, not {pending[0]}, within {TIMEOUT_S} s"
                )
            before = at
            if pending:
                await asyncio.sleep(POLL_S)
        watched.polls = polls
        watched.last = found
        return watched


@dataclass(slots=True)
class Watched:
    """When each mark was first seen and the poll before it (seconds from the start); the
    server's RSS meanwhile; how many polls; the last id read."""

    seen: list[tuple[float, float]] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    polls: int = 0
    last: int = 0


# -- one run against the server -----------------------------------------------------------------


async def cancel(http: Http, account: str, body: bytes) -> tuple[int, bytes, float]:
    """POST the bulk cancel: status, answer, and the seconds until it was read in full."""
    start = time.perf_counter()
    status, answer = await http.request("POST", f"/v1/api/accounts/{account}/orders/cancel", body)
    return status, answer, time.perf_counter() - start


def answered_ids(status: int, answer: bytes, want: frozenset[str], what: str) -> None:
    if status != 200:
        raise BenchError(f"{what}: the bulk cancel answered {status}: {answer[:500]!r}")
    data = orjson.loads(answer)
    ids = data.get("orderIds")
    if data.get("success") is not True or not isinstance(ids, list):
        raise BenchError(f"{what}: the answer is not a success with orderIds: {answer[:500]!r}")
    if len(ids) != len(want) or set(ids) != want:
        got = set(ids)
        raise BenchError(
            f"{what}: the answer lists {len(ids)} ids ({len(got)} distinct), {len(want)}"
            f" expected: {len(want - got)} missing, {len(got - want)} not expected"
        )


async def working_orders(server: Server, token: str) -> dict[str, int]:
    """Per account, the working orders the server holds (the snapshot's count)."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, trust_env=False) as http:
        answer = await http.get("/v1/api/accounts/snapshot", timeout=60)
    if answer.status_code != 200:
        raise BenchError(f"the snapshot answered {answer.status_code}: {answer.text[:500]}")
    return {a["account"]["name"]: a["account"]["workingOrders"] for a in answer.json()["accounts"]}


async def run_server(dbs: Databases, layout: Layout) -> dict[str, Any]:
    """One server on a fresh copy of ``layout``'s database: the warm-up, then the timed
    bulk cancel; the database checked after the server stopped."""
    db = await dbs.copy(layout.db, "run")
    server = Server.ordergate(db)
    http = Http(server.url, {"Authorization": f"Bearer {layout.token}"})
    n = layout.n
    async with running(server), Journaled(db) as journal:
        loaded = await working_orders(server, layout.token)
        want = {NAMES[WARM]: WARM_ORDERS, NAMES[BULK]: n, NAMES[OTHER]: 0}
        if layout.scenario != "alone":
            want = want | {NAMES[BULK]: n + n // 10, NAMES[OTHER]: n - n // 10}
        if loaded != want:
            raise BenchError(
                f"working orders the server loaded, per account: {loaded}, want {want}"
            )
        # The warm-up: the same call on the warm account, until journaled cancelled.
        mark = await journal.last()
        status, answer, _ = await cancel(http, NAMES[WARM], b"{}")
        await journal.until([mark + 2 * WARM_ORDERS])
        warm_ids = await _ids(db, layout.warm_tickets)
        answered_ids(status, answer, warm_ids, "warm-up")
        await asyncio.sleep(0.2)
        mark = await journal.last()
        rss_loaded, cpu_before = rss_mb(server.pid), cpu_s(server.pid)
        call = asyncio.create_task(cancel(http, NAMES[BULK], layout.body))
        watched = await journal.until([mark + n, mark + 2 * n], server.pid)
        status, answer, answer_s = await call
        cpu = cpu_s(server.pid) - cpu_before
        rss_after = rss_mb(server.pid)
        http.close()
        answered_ids(status, answer, layout.target_ids, layout.scenario)
        if watched.last != mark + 2 * n:
            raise BenchError(f"order_events reached id {watched.last}, {mark + 2 * n} expected")
        (pending_s, _), (confirmed_s, confirmed_before_s) = watched.seen
    await check_db(db, layout, mark)
    await dbs.drop("run")
    return {
        "start_s": round(server.started_s, 2),
        "answer_ms": round(answer_s * 1000, 1),
        "pending_journaled_ms": round(pending_s * 1000, 1),
        "confirmed_ms": round(confirmed_s * 1000, 1),
        "resolution_ms": round((confirmed_s - confirmed_before_s) * 1000, 2),
        "polls": watched.polls,
        "answer_bytes": len(answer),
        "server_cpu_s": round(cpu, 2),
        "rss_mb_loaded": round(rss_loaded, 1),
        "rss_mb_max": round(max([rss_loaded, rss_after, *watched.rss]), 1),
    }


async def _ids(db: Database, tickets: range) -> frozenset[str]:
    async with Sql(db) as sql:
        rows = await sql.fetch(
            "SELECT id FROM orders WHERE ticket BETWEEN ? AND ?", tickets.start, tickets[-1]
        )
    return frozenset(r[0] for r in rows)


# -- checks -------------------------------------------------------------------------------------

_BY_STATUS = (
    "SELECT status, prior_status, version, count(*) FROM orders WHERE ticket BETWEEN ? AND ?"
    " GROUP BY status, prior_status, version"
)
_EVENTS = (
    "SELECT from_status, to_status, reason, actor, count(*), count(DISTINCT order_ticket),"
    " count(DISTINCT coalesce(request_id, '-')) FROM order_events"
    " WHERE order_ticket BETWEEN ? AND ? GROUP BY from_status, to_status, reason, actor"
)


def _seeded_events(n: int) -> dict[tuple[Any, ...], tuple[int, int]]:
    return {
        (None, "submitted", "submitted", ACTOR): (n, n),
        ("submitted", "working", "acknowledged", VENUE): (n, n),
    }


def _cancelled_events(n: int, actor: str) -> dict[tuple[Any, ...], tuple[int, int]]:
    return _seeded_events(n) | {
        ("working", "pending_cancel", REASON_REQUEST, actor): (n, n),
        ("pending_cancel", "cancelled", REASON_CONFIRM, VENUE): (n, n),
    }


async def _check_range(
    sql: Sql,
    tickets: range,
    statuses: dict[tuple[str, str | None, int], int],
    events: dict[tuple[Any, ...], tuple[int, int]],
    what: str,
) -> None:
    first, last = tickets.start, tickets[-1]
    found = {(s, p, v): c for s, p, v, c in await sql.fetch(_BY_STATUS, first, last)}
    if found != statuses:
        raise BenchError(
            f"{what}: orders by (status, prior status, version) {found}, expected {statuses}"
        )
    rows = await sql.fetch(_EVENTS, first, last)
    trail = {tuple(r[:4]): (r[4], r[5]) for r in rows}
    if trail != events:
        raise BenchError(
            f"{what}: events (from, to, reason, actor) → (rows, orders) {trail}, expected {events}"
        )
    requests = {tuple(r[:2]): r[6] for r in rows}
    if requests.get(("working", "pending_cancel"), 1) != 1:
        raise BenchError(f"{what}: the pending-cancel events carry {requests} request ids, not one")


async def check_db(db: Database, layout: Layout, mark: int) -> None:
    """The timed cancel's orders cancelled with their four events each, the others as
    seeded, and no event but those."""
    n = layout.n
    async with Sql(db) as sql:
        await _check_range(
            sql,
            layout.target_tickets,
            {("cancelled", None, 4): n},
            _cancelled_events(n, ACTOR),
            "cancelled",
        )
        for kept in layout.kept_tickets:
            await _check_range(
                sql,
                kept,
                {("working", None, 2): len(kept)},
                _seeded_events(len(kept)),
                "out of scope",
            )
        w = WARM_ORDERS
        await _check_range(
            sql,
            layout.warm_tickets,
            {("cancelled", None, 4): w},
            _cancelled_events(w, ACTOR),
            "warm-up",
        )
        total = await sql.value("SELECT count(*) FROM order_events")
        after = await sql.value("SELECT count(*) FROM order_events WHERE id > ?", mark)
    want = 2 * layout.total + 2 * n + 2 * WARM_ORDERS
    if (total, after) != (want, 2 * n):
        raise BenchError(
            f"order_events holds {total} rows ({after} after the mark), {want} ({2 * n}) expected"
        )


# -- the floor ----------------------------------------------------------------------------------

_EVENT_COLUMNS = ("order_ticket", "from_status", "to_status", "reason", "actor", "request_id", "at")
_INSERT_EVENTS = (
    f"INSERT INTO order_events ({', '.join(_EVENT_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_SELECT_EVENTS_SQLITE = (
    f"INSERT INTO order_events ({', '.join(_EVENT_COLUMNS)})"
    " SELECT value, ?, ?, ?, ?, ?, ? FROM json_each(?)"
)
_SELECT_EVENTS_PG = (
    f"INSERT INTO order_events ({', '.join(_EVENT_COLUMNS)})"
    " SELECT t, $1, $2, $3, $4, $5, $6 FROM unnest($7::bigint[]) AS t"
)
_MOVE_SQLITE = (
    "UPDATE orders SET status = ?, prior_status = ?, version = version + 1, updated_at = ?,"
    " request_id = coalesce(?, request_id) WHERE ticket IN (SELECT value FROM json_each(?))"
)
_MOVE_PG = (
    "UPDATE orders SET status = $1, prior_status = $2, version = version + 1, updated_at = $3,"
    " request_id = coalesce($4, request_id) WHERE ticket = ANY($5::bigint[])"
)
#: (from, to, reason, actor, request id, prior status) of the two transitions.
_STEPS = (
    ("working", "pending_cancel", REASON_REQUEST, ACTOR, "f" * 32, "working"),
    ("pending_cancel", "cancelled", REASON_CONFIRM, VENUE, None, None),
)
#: How the floor appends the events: row by row (``executemany`` on SQLite, COPY on
#: PostgreSQL), or as one INSERT … SELECT over the array of tickets (as the journal does).
FLOOR_WAYS = ("rows", "set")


async def floor(db: Database, tickets: range, way: str) -> list[float]:
    """Seconds of each transition's durable transaction, written straight to ``db``."""
    moment = SEEDED_AT.replace(year=SEEDED_AT.year + 1)
    if db.kind == "sqlite":
        return _floor_sqlite(db, tickets, sqlite_time(moment), way)
    conn = await asyncpg.connect(db.pg_dsn)
    try:
        await conn.fetchval("SELECT 1")
        found = []
        ids = list(tickets)
        for source, target, reason, actor, request, prior in _STEPS:
            step = (source, target, reason, actor, request, moment)
            rows = [(t, *step) for t in tickets] if way == "rows" else []
            start = time.perf_counter()
            async with conn.transaction():
                if way == "rows":
                    await conn.copy_records_to_table(
                        "order_events", records=rows, columns=_EVENT_COLUMNS
                    )
                else:
                    await conn.execute(_SELECT_EVENTS_PG, *step, ids)
                await conn.execute(_MOVE_PG, target, prior, moment, request, ids)
            found.append(time.perf_counter() - start)
        return found
    finally:
        await conn.close()


def _floor_sqlite(db: Database, tickets: range, at: str, way: str) -> list[float]:
    assert db.path is not None
    conn = sqlite3.connect(db.path, isolation_level=None)
    try:
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("SELECT count(*) FROM accounts").fetchall()
        found = []
        array = orjson.dumps(list(tickets)).decode()
        for source, target, reason, actor, request, prior in _STEPS:
            step = (source, target, reason, actor, request, at)
            rows = [(t, *step) for t in tickets] if way == "rows" else []
            start = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            if way == "rows":
                conn.executemany(_INSERT_EVENTS, rows)
            else:
                conn.execute(_SELECT_EVENTS_SQLITE, (*step, array))
            conn.execute(_MOVE_SQLITE, (target, prior, at, request, array))
            conn.execute("COMMIT")
            found.append(time.perf_counter() - start)
        return found
    finally:
        conn.close()


async def run_floor(dbs: Databases, layout: Layout, way: str) -> list[float]:
    db = await dbs.copy(layout.db, "floor")
    seconds = await floor(db, layout.target_tickets, way)
    n = layout.n
    async with Sql(db) as sql:
        await _check_range(
            sql,
            layout.target_tickets,
            {("cancelled", None, 4): n},
            _cancelled_events(n, ACTOR),
            f"the floor ({way})",
        )
    await dbs.drop("floor")
    return seconds


# -- the runs -----------------------------------------------------------------------------------


async def run_kind(args: argparse.Namespace, dbs: Databases) -> list[dict[str, Any]]:
    results = []
    for scenario in args.scenarios:
        started = time.perf_counter()
        layout = await seed(dbs, scenario, args.orders)
        seconds = time.perf_counter() - started
        log(f"  {scenario}: seeded {layout.total:,} orders in {seconds:.1f} s")
        runs = []
        for r in range(args.repeat):
            found = await run_server(dbs, layout)
            for way in FLOOR_WAYS:
                pending, confirm = await run_floor(dbs, layout, way)
                found[f"floor_{way}_pending_ms"] = round(pending * 1000, 1)
                found[f"floor_{way}_confirmed_ms"] = round((pending + confirm) * 1000, 1)
            runs.append(found)
            log(_line(r + 1, found))
        await dbs.drop(layout.db.name)
        results.append(_summary(dbs.kind, layout, runs, args.quick))
    return results


def _line(run: int, f: dict[str, Any]) -> str:
    return (
        f"    run {run}: answer {f['answer_ms']} ms (pending journaled at"
        f" {f['pending_journaled_ms']} ms), confirmed {f['confirmed_ms']} ms"
        f" (±{f['resolution_ms']} ms); floor set-wise {f['floor_set_pending_ms']} /"
        f" {f['floor_set_confirmed_ms']} ms, row by row {f['floor_rows_pending_ms']} /"
        f" {f['floor_rows_confirmed_ms']} ms; server {f['server_cpu_s']} CPU s, RSS"
        f" {f['rss_mb_loaded']} → {f['rss_mb_max']} MB, started in {f['start_s']} s"
    )


def _summary(kind: str, layout: Layout, runs: list[dict[str, Any]], quick: bool) -> dict[str, Any]:
    def mid(key: str) -> float:
        return round(median([r[key] for r in runs]), 2)

    answer, confirmed = mid("answer_ms"), mid("confirmed_ms")
    target_confirmed = TARGET_CONFIRMED_MS[kind]
    floors = {
        f"floor_{way}_{what}_ms": mid(f"floor_{way}_{what}_ms")
        for way in FLOOR_WAYS
        for what in ("pending", "confirmed")
    }
    return {
        "scenario": layout.scenario,
        "orders": layout.n,
        "orders_total": layout.total,
        "quick": quick,
        "answer_ms": answer,
        "pending_journaled_ms": mid("pending_journaled_ms"),
        "confirmed_ms": confirmed,
        "resolution_ms": max(r["resolution_ms"] for r in runs),
        **floors,
        "target_answer_ms": TARGET_ANSWER_MS[kind],
        "target_confirmed_ms": target_confirmed,
        "answer_met": answer < TARGET_ANSWER_MS[kind],
        "confirmed_met": None if target_confirmed is None else confirmed < target_confirmed,
        "server_cpu_s": mid("server_cpu_s"),
        "rss_mb_loaded": mid("rss_mb_loaded"),
        "rss_mb_max": max(r["rss_mb_max"] for r in runs),
        "start_s": mid("start_s"),
        "runs": runs,
    }


def report(args: argparse.Namespace, results: list[dict[str, Any]]) -> str:
    what = "executemany (SQLite) / COPY (PostgreSQL)"
    answer_headers = ["db", "scenario", "orders cancelled (of all)", "answer ms",
                      "pending cancel journaled ms", "floor: set-wise ms",
                      f"floor: events by {what} ms", "target", "met"]  # fmt: skip
    confirm_headers = ["db", "scenario", "confirmed journaled ms (± resolution)",
                       "floor: set-wise ms", f"floor: events by {what} ms", "target", "met",
                       "server CPU s", "server RSS MB (loaded, max)", "server start s"]  # fmt: skip
    answers, confirms = [], []
    for r in results:
        target = r["target_confirmed_ms"]
        answers.append([
            r["db"], r["scenario"], f"{fmt(r['orders'])} (of {fmt(r['orders_total'])})",
            r["answer_ms"], r["pending_journaled_ms"], r["floor_set_pending_ms"],
            r["floor_rows_pending_ms"], f"< {fmt(r['target_answer_ms'], 0)}", r["answer_met"],
        ])  # fmt: skip
        confirms.append([
            r["db"], r["scenario"], f"{fmt(r['confirmed_ms'])} (±{fmt(r['resolution_ms'])})",
            r["floor_set_confirmed_ms"], r["floor_rows_confirmed_ms"],
            "-" if target is None else f"< {fmt(target, 0)}", r["confirmed_met"],
            r["server_cpu_s"], f"{fmt(r['rss_mb_loaded'])}, {fmt(r['rss_mb_max'])}", r["start_s"],
        ])  # fmt: skip
    runs = args.repeat
    size = ""
    orders = {r["orders"] for r in results}
    if orders and orders != {100_000}:
        shown = ", ".join(f"{o:,}" for o in sorted(orders))
        quick = " (--quick)" if args.quick else ""
        size = f" at {shown} orders{quick}, NOT the 100,000 the targets are for"
    plural = "s" if runs > 1 else ""
    about = f"medians of {runs} run{plural}{size}"
    return (
        f"Bulk cancel through CrossTrade HTTP: (a) until the answer is read ({about})\n\n"
        + table(answer_headers, answers)
        + "\n\n(b) until the venue's confirmation of every order is journaled\n\n"
        + table(confirm_headers, confirms)
    )


def build_parser() -> argparse.ArgumentParser:
    p = parser(__doc__, repeat=3)
    p.add_argument(
        "--orders",
        type=int,
        default=None,
        help=f"orders the timed call cancels (default 100,000; --quick {QUICK_ORDERS:,})",
    )
    p.add_argument(
        "--scenario",
        choices=(*SCENARIOS, "both"),
        default="both",
        help="alone, among others, or both (default)",
    )
    return p


def entry(argv: Sequence[str] | None = None) -> int:
    p = build_parser()

    async def run(args: argparse.Namespace, dbs: Databases) -> list[dict[str, Any]]:
        return await run_kind(args, dbs)

    args_seen = p.parse_args(argv)
    orders = args_seen.orders or (QUICK_ORDERS if args_seen.quick else 100_000)
    if orders < 10:
        p.error("--orders must be at least 10")

    def with_sizes(args: argparse.Namespace, dbs: Databases) -> Any:
        args.orders = orders
        args.scenarios = SCENARIOS if args.scenario == "both" else (args.scenario,)
        return run(args, dbs)

    return main(argv, p, "bulk_cancel", with_sizes, report)


if __name__ == "__main__":
    raise SystemExit(entry())
