"""A million working orders: how long ``ordergate serve`` takes to start (recover) on them,
and how much memory it holds once started, beside the floors measured in the same run.

Seeding (in bulk, by SQL): ``--orders`` (default 1,000,000; --quick 100,000) working GTC
limit orders, each with its two events (submitted, working), spread evenly over 100 netting
accounts of user "bench" (``M000`` … ``M099``) and two instruments (ES and NQ), resting 100
points or more from the market (nothing fills when the server opens the market). A second
database holds the same accounts and instruments without any order.

Each run, on fresh copies of both (a SQLite file just copied is in the page cache, as after
a restart of the process on the same machine; PostgreSQL's copy is ``CREATE DATABASE …
TEMPLATE``):

- (a) start: from the process's start (``ordergate serve`` in a process of its own) until
  ``/healthz`` answers 200, polled every 10 ms. The server answers only once its lifespan
  ran: the journal's snapshot loaded (every open order into memory) and the orders handed back
  to the venue's book. Target: < 30 s.
- (b) memory: the server's RSS (/proc) as soon as it answers, and the most seen while the
  checks below read through it. Target: < 1 GB.

Floors, in the same run: the same server started on the database without orders (its start
time and its RSS: the Python process's baseline, with every module the server loads); and
the rows themselves: the journal's own query of the open orders (``SELECT`` of the orders'
25 columns ``WHERE status IN (…) ORDER BY ticket``) read into a list of tuples by a bare
driver (sqlite3 ``fetchall``; asyncpg ``fetch``, each record made a tuple) in a fresh Python
process of its own: the seconds that read takes and how much the process's RSS grew holding
the tuples (what a million rows cost as bare Python objects; on PostgreSQL asyncpg's records
are built first, as the journal's load builds them, so their freed memory counts too).

Checks: the database holds exactly N working orders; through the API, the snapshot's
``workingOrders`` is N / 100 for every account (N in all); 20 orders picked at random read
one by one (``GET /v1/api/accounts/{account}/orders/{id}``) answer as seeded (id, account,
Working, action, instrument, quantity, limit price); one account's ``GET …/orders`` lists
exactly its seeded orders, all working; the bare SELECT read N rows; neither server logged
an error.

    .venv/bin/python bench/million.py --db sqlite --quick
    .venv/bin/python bench/million.py --db both --json > million.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from common import (
    BENCH_DIR,
    ES,
    NQ,
    AccountSpec,
    BenchError,
    Block,
    Database,
    Databases,
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
from ordergate.domain.orders import NON_TERMINAL
from ordergate.store.rows import ORDER_COLUMNS

TARGET_START_S = 30.0
TARGET_RSS_MB = 1024.0
ACCOUNTS = 100
FIRST_LOGIN = 20001
SYMBOLS = (ES.symbol, NQ.symbol)
QUICK_ORDERS = 100_000
SAMPLE = 20
#: The journal's query of the orders a restart loads (store/journal_sqlite.py, journal_pg.py).
OPEN = ", ".join(f"'{s.value}'" for s in NON_TERMINAL)
SELECT_OPEN = (
    f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders WHERE status IN ({OPEN}) ORDER BY ticket"
)
SELECT_TIMEOUT_S = 600


def account_name(a: int) -> str:
    return f"M{a:03d}"


@dataclass(frozen=True, slots=True)
class Layout:
    seeded: Database
    empty: Database
    token: str
    blocks: tuple[Block, ...]
    first_tickets: tuple[int, ...]

    @property
    def orders(self) -> int:
        return sum(b.count for b in self.blocks)


async def seed(dbs: Databases, orders: int) -> Layout:
    each = orders // (ACCOUNTS * len(SYMBOLS))
    specs = [AccountSpec(FIRST_LOGIN + a, account_name(a)) for a in range(ACCOUNTS)]
    seeded = await dbs.create("seed")
    token = await seed_reference(seeded, specs)
    blocks = tuple(
        Block(FIRST_LOGIN + a, each, symbol=symbol) for a in range(ACCOUNTS) for symbol in SYMBOLS
    )
    written = await seed_orders(seeded, blocks, keep_ids=False)
    empty = await dbs.create("empty")
    await seed_reference(empty, specs)
    layout = Layout(seeded, empty, token, blocks, tuple(written.first_ticket))
    async with Sql(seeded) as sql:
        working = await sql.value("SELECT count(*) FROM orders WHERE status = 'working'")
        total = await sql.value("SELECT count(*) FROM orders")
    if (working, total) != (layout.orders, layout.orders):
        raise BenchError(f"the seeded database holds {total} orders, {working} working")
    return layout


# -- checks through the API -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seeded:
    """One seeded order as the API must answer it."""

    ticket: int
    account: str
    symbol: str
    action: str
    quantity: int
    limit_price: Decimal

    def wrong(self, order_id: str, data: Any) -> str | None:
        if not isinstance(data, dict):
            return "not an object"
        want = {
            "orderId": order_id,
            "account": self.account,
            "orderState": "Working",
            "instrument": self.symbol,
            "action": self.action,
            "orderType": "Limit",
            "quantity": self.quantity,
            "filled": 0,
            "limitPrice": float(self.limit_price),
        }
        got = {k: data.get(k) for k in want}
        return None if got == want else f"expected {want}, answered {got}"


def seeded_order(layout: Layout, ticket: int) -> Seeded:
    """What ``seed_orders`` wrote as ``ticket``, from its block (not from the database)."""
    for block, first in zip(layout.blocks, layout.first_tickets, strict=True):
        if first <= ticket < first + block.count:
            i = ticket - first
            return Seeded(
                ticket=ticket,
                account=account_name(block.login - FIRST_LOGIN),
                symbol=block.symbol,
                action="Buy" if block.side_of(i) == "buy" else "Sell",
                quantity=block.quantity(i),
                limit_price=block.price(i),
            )
    raise BenchError(f"ticket {ticket} was not seeded")


async def check_api(server: Server, layout: Layout, rng: random.Random) -> None:
    each = layout.orders // ACCOUNTS
    headers = {"Authorization": f"Bearer {layout.token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, trust_env=False) as http:
        answer = await http.get("/v1/api/accounts/snapshot", timeout=120)
        if answer.status_code != 200:
            raise BenchError(f"the snapshot answered {answer.status_code}: {answer.text[:500]}")
        working = {
            a["account"]["name"]: a["account"]["workingOrders"] for a in answer.json()["accounts"]
        }
        want = {account_name(a): each for a in range(ACCOUNTS)}
        if working != want:
            wrong = {k: v for k, v in working.items() if want.get(k) != v}
            raise BenchError(
                f"working orders per account through the API: {sum(working.values()):,} in all"
                f" ({len(working)} accounts), {layout.orders:,} expected; differing: {wrong}"
            )
        tickets = rng.sample(
            range(layout.first_tickets[0], layout.first_tickets[0] + layout.orders), SAMPLE
        )
        async with Sql(layout.seeded) as sql:
            listed_tickets = ", ".join(map(str, tickets))
            ids = dict(
                await sql.fetch(f"SELECT ticket, id FROM orders WHERE ticket IN ({listed_tickets})")
            )
        for ticket in tickets:
            order = seeded_order(layout, ticket)
            answer = await http.get(
                f"/v1/api/accounts/{order.account}/orders/{ids[ticket]}", timeout=60
            )
            if answer.status_code != 200:
                raise BenchError(
                    f"GET order {ticket} answered {answer.status_code}: {answer.text[:500]}"
                )
            differs = order.wrong(ids[ticket], answer.json())
            if differs:
                raise BenchError(f"order {ticket}: {differs}")
        a = rng.randrange(ACCOUNTS)
        answer = await http.get(f"/v1/api/accounts/{account_name(a)}/orders", timeout=120)
        if answer.status_code != 200:
            raise BenchError(f"GET orders answered {answer.status_code}: {answer.text[:500]}")
        listed = answer.json()["orders"]
    async with Sql(layout.seeded) as sql:
        rows = await sql.fetch("SELECT id FROM orders WHERE login = ?", FIRST_LOGIN + a)
    got = [o["orderId"] for o in listed]
    if (
        len(got) != len(rows)
        or set(got) != {r[0] for r in rows}
        or any(o["orderState"] != "Working" for o in listed)
    ):
        raise BenchError(
            f"{account_name(a)}: GET orders listed {len(got)} orders, {len(rows)} seeded"
            " (or not all of them Working)"
        )


# -- the floors -----------------------------------------------------------------------------------

_SELECT_WORKER = """
import json, os, sys, time

def rss():
    for line in open(f"/proc/{os.getpid()}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

kind, target, sql = sys.argv[1:4]
if kind == "sqlite":
    import sqlite3
    conn = sqlite3.connect(target)
    conn.execute("SELECT 1").fetchall()
    before = rss()
    start = time.perf_counter()
    rows = conn.execute(sql).fetchall()
    seconds = time.perf_counter() - start
else:
    import asyncio, asyncpg
    async def read():
        conn = await asyncpg.connect(target)
        await conn.fetchval("SELECT 1")
        base = rss()
        start = time.perf_counter()
        rows = [tuple(r) for r in await conn.fetch(sql)]
        seconds = time.perf_counter() - start
        await conn.close()
        return base, rows, seconds
    before, rows, seconds = asyncio.run(read())
after = rss()
ok = all(type(r) is tuple and len(r) == 25 for r in rows)
print(json.dumps({"seconds": seconds, "rows": len(rows), "tuples": ok, "rss_before": before,
                  "rss_after": after}))
"""


async def select_floor(db: Database) -> dict[str, Any]:
    """The bare SELECT of the open orders into tuples, in a fresh process: seconds, rows,
    and its RSS before and after."""
    target = str(db.path) if db.kind == "sqlite" else db.pg_dsn
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _SELECT_WORKER, db.kind, target, SELECT_OPEN,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=BENCH_DIR,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), SELECT_TIMEOUT_S)
    if proc.returncode != 0:
        raise BenchError(f"the bare SELECT failed ({proc.returncode}): {err.decode()[-2000:]}")
    found: dict[str, Any] = json.loads(out)
    return found


# -- one run --------------------------------------------------------------------------------------


async def one_run(dbs: Databases, layout: Layout, rng: random.Random) -> dict[str, Any]:
    base = await dbs.copy(layout.empty, "base")
    server = Server.ordergate(base)
    async with running(server):
        base_rss, base_cpu = rss_mb(server.pid), cpu_s(server.pid)
    base_start = server.started_s
    await dbs.drop("base")

    db = await dbs.copy(layout.seeded, "run")
    server = Server.ordergate(db)
    async with running(server):
        rss_ready, cpu_ready = rss_mb(server.pid), cpu_s(server.pid)
        await check_api(server, layout, rng)
        rss_checked = rss_mb(server.pid)
    start = server.started_s
    await dbs.drop("run")

    select = await select_floor(layout.seeded)
    if select["rows"] != layout.orders or not select["tuples"]:
        raise BenchError(f"the bare SELECT read {select['rows']} rows, {layout.orders} expected")
    return {
        "start_s": round(start, 2),
        "server_cpu_s": round(cpu_ready, 2),
        "rss_mb": round(rss_ready, 1),
        "rss_mb_max": round(max(rss_ready, rss_checked), 1),
        "empty_start_s": round(base_start, 2),
        "empty_cpu_s": round(base_cpu, 2),
        "empty_rss_mb": round(base_rss, 1),
        "select_s": round(select["seconds"], 2),
        "select_tuples_mb": round(select["rss_after"] - select["rss_before"], 1),
    }


async def run_kind(args: argparse.Namespace, dbs: Databases) -> list[dict[str, Any]]:
    started = time.perf_counter()
    layout = await seed(dbs, args.orders)
    log(f"  seeded {layout.orders:,} orders in {time.perf_counter() - started:.1f} s")
    rng = random.Random(7)
    runs = []
    for r in range(args.repeat):
        found = await one_run(dbs, layout, rng)
        runs.append(found)
        log(
            f"    run {r + 1}: started in {found['start_s']} s ({found['server_cpu_s']} CPU s),"
            f" RSS {found['rss_mb']} MB (max {found['rss_mb_max']}); empty DB: started in"
            f" {found['empty_start_s']} s, RSS {found['empty_rss_mb']} MB; bare SELECT"
            f" {found['select_s']} s, tuples {found['select_tuples_mb']} MB"
        )

    def mid(key: str) -> float:
        return round(median([r[key] for r in runs]), 2)

    start, rss = mid("start_s"), mid("rss_mb")
    return [
        {
            "orders": layout.orders,
            "accounts": ACCOUNTS,
            "instruments": len(SYMBOLS),
            "quick": args.quick,
            "start_s": start,
            "server_cpu_s": mid("server_cpu_s"),
            "empty_start_s": mid("empty_start_s"),
            "select_s": mid("select_s"),
            "target_start_s": TARGET_START_S,
            "start_met": start < TARGET_START_S,
            "rss_mb": rss,
            "rss_mb_max": max(r["rss_mb_max"] for r in runs),
            "empty_rss_mb": mid("empty_rss_mb"),
            "select_tuples_mb": mid("select_tuples_mb"),
            "target_rss_mb": TARGET_RSS_MB,
            "rss_met": max(r["rss_mb_max"] for r in runs) < TARGET_RSS_MB,
            "runs": runs,
        }
    ]


def report(args: argparse.Namespace, results: list[dict[str, Any]]) -> str:
    start_headers = ["db", "open orders", "start until /healthz s", "server CPU s",
                     "floor: start on empty DB s", "floor: bare SELECT s", "target",
                     "met"]  # fmt: skip
    rss_headers = ["db", "open orders", "server RSS MB once started (max during checks)",
                   "floor: RSS on empty DB MB", "floor: the rows as tuples MB", "target",
                   "met"]  # fmt: skip
    starts, rsses = [], []
    for r in results:
        orders = f"{fmt(r['orders'])} ({r['accounts']} accounts, {r['instruments']} instruments)"
        starts.append([
            r["db"], orders, r["start_s"], r["server_cpu_s"], r["empty_start_s"], r["select_s"],
            f"< {fmt(r['target_start_s'], 0)}", r["start_met"],
        ])  # fmt: skip
        rsses.append([
            r["db"], orders, f"{fmt(r['rss_mb'])} ({fmt(r['rss_mb_max'])})", r["empty_rss_mb"],
            r["select_tuples_mb"], f"< {fmt(r['target_rss_mb'], 0)}", r["rss_met"],
        ])  # fmt: skip
    runs = args.repeat
    size = ""
    sizes = {r["orders"] for r in results}
    if sizes and sizes != {1_000_000}:
        shown = ", ".join(f"{o:,}" for o in sorted(sizes))
        quick = " (--quick)" if args.quick else ""
        size = f" at {shown} orders{quick}, NOT the 1,000,000 the targets are for"
    plural = "s" if runs > 1 else ""
    return (
        f"A million working orders: (a) restart until /healthz answers (medians of {runs}"
        f" run{plural}{size})\n\n" + table(start_headers, starts)
        + "\n\n(b) the server's memory once started\n\n" + table(rss_headers, rsses)
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    p = parser(__doc__, repeat=3)
    p.add_argument(
        "--orders",
        type=int,
        default=None,
        help=f"open orders seeded (default 1,000,000; --quick {QUICK_ORDERS:,}); a multiple of 200",
    )
    return p


def entry(argv: Sequence[str] | None = None) -> int:
    p = build_parser()
    seen = p.parse_args(argv)
    orders = seen.orders or (QUICK_ORDERS if seen.quick else 1_000_000)
    if orders <= 0 or orders % (ACCOUNTS * len(SYMBOLS)):
        p.error(f"--orders must be a positive multiple of {ACCOUNTS * len(SYMBOLS)}")

    async def run(args: argparse.Namespace, dbs: Databases) -> list[dict[str, Any]]:
        args.orders = orders
        return await run_kind(args, dbs)

    return main(argv, p, "million", run, report)


if __name__ == "__main__":
    raise SystemExit(entry())
