"""Placements: 80% place / 20% cancel through CrossTrade HTTP, on 20 accounts, against
``ordergate serve``, beside the same client against bench/floor_app.py (HTTP alone).

Each connection is one client: it places GTC limit orders 100 points or more away from the
market (they rest), rotating over the 20 accounts, and every fifth request cancels the oldest
of its own working orders (``POST .../orders/place``, ``POST .../orders/{orderId}/cancel``,
Bearer token). The client is raw asyncio HTTP/1.1 on keep-alive connections with the place
requests built in advance, on uvloop, in this process; the server is ``ordergate serve`` in a
process of its own on a fresh copy of a database seeded with the accounts (no rate limit, no
market feed: the market stays at its opening quote). Per database:

- capacity: a closed loop, ``--connections`` each sending its next request as soon as the
  last is answered, for ``--seconds`` after a warm-up; the most requests answered a second
  over the levels tried. Target: at least 5,000 requests/s.
- latency: an open loop, requests due at ``--rate`` a second (2,000) for ``--seconds``
  whatever the answers do, handed to a pool of ``--pool`` connections; each latency counts
  from when the request was due, so a server that falls behind shows as latency (no
  coordinated omission). p50, p99 and max. Target: p99 under 20 ms. The schedule releases
  the requests due every millisecond or so (the loop's timers count milliseconds; a shorter
  sleep would spin on a core the server needs), so a request may leave up to about a
  millisecond after it was due: that counts too, in the floor's figures as in the server's.

The floor is the same two measurements in the same run against bench/floor_app.py, a trivial
FastAPI app on uvicorn (as ``ordergate serve`` runs it: uvloop, httptools, no access log)
answering the same routes without doing anything: what HTTP alone allows on this machine.

Checks: every request is answered 200 with ``success: true`` (a cancel echoing its order);
then, while the server runs, each account's working orders through ``GET .../orders`` are
exactly the ones the client placed and did not cancel, and after it stopped the database
holds them as working and the cancelled ones as cancelled (working = places - cancels).
Also shown: the server's CPU (cores busy, CPU ms a request) and resident memory, the
client's CPU, and the whole machine's (PostgreSQL's backends are not the server's process):
on two cores the client shares the machine with the server; a client near a whole core may
be what limits the figure, and the notes say so.

    .venv/bin/python bench/placements.py --db sqlite --quick
    .venv/bin/python bench/placements.py --db both --json > placements.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import orjson

from common import (
    BENCH_DIR,
    ES,
    MARKET,
    TICK,
    AccountSpec,
    BenchError,
    Database,
    Databases,
    Http,
    Server,
    Sql,
    cpu_s,
    fmt,
    free_port,
    latency_ms,
    log,
    machine_cores,
    machine_ticks,
    main,
    parser,
    rss_mb,
    running,
    seed_reference,
    table,
)

TARGET_PER_S = 5_000
TARGET_P99_MS = 20.0
RATE = 2_000
ACCOUNTS = 20
FIRST_LOGIN = 7001
#: Every fifth request of a connection cancels (20%), the rest place.
CANCEL_EVERY = 5
#: A cancel takes the connection's oldest order only if it was placed this long ago (the
#: venue acknowledges at once, but a cancel must not race the order's own acknowledgement).
MIN_AGE_S = 0.05
PRICES = 200
REQUEST_TIMEOUT_S = 30.0
#: The shortest sleep of the open loop's schedule (uvloop's timers count milliseconds).
TIMER_S = 0.001
#: A client is "near a whole core" from this share on: it, not the server, may be the limit.
CLIENT_BOUND = 0.85


def account_name(a: int) -> str:
    return f"Place{a:02d}"


# -- the client -------------------------------------------------------------------------------


class Requests:
    """The place requests, built in advance (account a, price variant p), and the cancels."""

    def __init__(self, url: str, token: str) -> None:
        host = url.removeprefix("http://")
        self.head = (
            f"Host: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        ).encode()
        self.place: list[list[bytes]] = []
        for a in range(ACCOUNTS):
            path = f"/v1/api/accounts/{account_name(a)}/orders/place"
            self.place.append([self._raw(path, self._body(p)) for p in range(PRICES)])

    @staticmethod
    def _body(p: int) -> bytes:
        buy = p % 2 == 0
        away = Decimal(100) + (p // 2) * TICK
        price = MARKET[ES.symbol] - away if buy else MARKET[ES.symbol] + away
        return orjson.dumps(
            {
                "instrument": ES.symbol,
                "action": "Buy" if buy else "Sell",
                "quantity": 1,
                "orderType": "Limit",
                "limitPrice": float(price),
                "timeInForce": "Gtc",
            }
        )

    def _raw(self, path: str, body: bytes) -> bytes:
        return b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s" % (
            path.encode(),
            self.head,
            len(body),
            body,
        )

    def cancel(self, a: int, order_id: str) -> bytes:
        return self._raw(f"/v1/api/accounts/{account_name(a)}/orders/{order_id}/cancel", b"{}")


class Conn(Http):
    """common.Http sending a request already built."""

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, limit=1 << 20
            )
        reader, writer = self.reader, self.writer
        try:
            writer.write(raw)
            head = (await reader.readuntil(b"\r\n\r\n")).lower()
            status = int(head[9:12])
            at = head.find(b"content-length:")
            if at < 0:
                raise BenchError(f"an answer without Content-Length: {head[:300]!r}")
            answer = await reader.readexactly(int(head[at + 15 : head.index(b"\r\n", at)]))
        except BaseException:
            self.close()
            raise
        if b"connection: close" in head:
            self.close()
        return status, answer


@dataclass(slots=True)
class Ledger:
    """What the clients of one server did: orders placed and cancelled, refusals."""

    places: int = 0
    cancels: int = 0
    deferred: int = 0  # cancels turned into places: the oldest order was too young
    working: dict[str, int] = field(default_factory=dict)  # order id -> account
    cancelled: set[str] = field(default_factory=set)
    statuses: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)  # the first few refusals

    def refuse(self, what: str) -> None:
        self.statuses["refused"] += 1
        if len(self.refused) < 10:
            self.refused.append(what)


class Client:
    """One connection and the orders it placed: ``one()`` sends its next request."""

    def __init__(self, index: int, url: str, requests: Requests, ledger: Ledger) -> None:
        self.index = index
        self.conn = Conn(url, {})
        self.requests = requests
        self.ledger = ledger
        self.sent = 0
        self.book: deque[tuple[int, str, float]] = deque()  # (account, order id, placed at)

    async def one(self) -> None:
        self.sent += 1
        book = self.book
        if self.sent % CANCEL_EVERY == 0:
            if book and time.perf_counter() - book[0][2] >= MIN_AGE_S:
                await self._cancel(*book.popleft()[:2])
                return
            self.ledger.deferred += 1
        await self._place()

    async def _place(self) -> None:
        n = self.index + self.sent
        a = n % ACCOUNTS
        status, body = await self.conn.send(self.requests.place[a][n // ACCOUNTS % PRICES])
        answer = orjson.loads(body) if status == 200 else None
        oid = answer.get("orderId") if isinstance(answer, dict) else None
        if answer is None or answer.get("success") is not True or not isinstance(oid, str):
            self.ledger.refuse(f"place {status} {body[:300]!r}")
            return
        self.ledger.places += 1
        self.ledger.working[oid] = a
        self.book.append((a, oid, time.perf_counter()))

    async def _cancel(self, a: int, oid: str) -> None:
        status, body = await self.conn.send(self.requests.cancel(a, oid))
        answer = orjson.loads(body) if status == 200 else None
        if answer != {"orderId": oid, "success": True}:
            self.ledger.refuse(f"cancel of {oid}: {status} {body[:300]!r}")
            return
        self.ledger.cancels += 1
        del self.ledger.working[oid]
        self.ledger.cancelled.add(oid)

    def close(self) -> None:
        self.conn.close()


async def connected(url: str, requests: Requests, ledger: Ledger, n: int) -> list[Client]:
    """``n`` clients, each connected and with two orders placed (the first to cancel)."""
    clients = [Client(i, url, requests, ledger) for i in range(n)]
    for _ in range(2):
        await asyncio.gather(*(c._place() for c in clients))
    return clients


# -- what the server used -----------------------------------------------------------------------


class Meter:
    """CPU of the server, of this process and of the whole machine (PostgreSQL's too) over a
    window, and the server's RSS meanwhile."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.rss: list[float] = [rss_mb(pid)]
        self._task: asyncio.Task[None] | None = None
        self._start = (0.0, 0.0, 0.0)
        self._machine = (0, 0)
        self.found: dict[str, float] = {}

    def start(self) -> None:
        self._start = (time.perf_counter(), cpu_s(self.pid), time.process_time())
        self._machine = machine_ticks()
        self._task = asyncio.create_task(self._sample())

    async def _sample(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            with contextlib.suppress(OSError):
                self.rss.append(rss_mb(self.pid))

    async def stop(self, answered: int) -> dict[str, float]:
        wall = time.perf_counter() - self._start[0]
        server = cpu_s(self.pid) - self._start[1]
        client = time.process_time() - self._start[2]
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.rss.append(rss_mb(self.pid))
        self.found = {
            "server_cores": round(server / wall, 2),
            "server_cpu_ms_per_request": round(1000 * server / max(1, answered), 3),
            "client_cores": round(client / wall, 2),
            "machine_cores": machine_cores(self._machine),
            "rss_mb_start": round(self.rss[0], 1),
            "rss_mb_max": round(max(self.rss), 1),
        }
        return self.found


# -- the two measurements -----------------------------------------------------------------------


async def capacity(
    server: Server, requests: Requests, ledger: Ledger, connections: int, seconds: float
) -> dict[str, Any]:
    """Closed loop: ``connections`` clients, each sending as soon as answered; the requests
    answered a second over ``seconds`` after a warm-up of a second (not counted)."""
    clients = await connected(server.url, requests, ledger, connections)
    meter = Meter(server.pid)
    window_start = time.perf_counter() + 1.0
    until = window_start + seconds
    answered = 0

    async def closed(client: Client) -> None:
        nonlocal answered
        while time.perf_counter() < until:
            await client.one()
            if window_start <= time.perf_counter() < until:
                answered += 1

    asyncio.get_running_loop().call_later(window_start - time.perf_counter(), meter.start)
    try:
        await asyncio.wait_for(
            asyncio.gather(*(closed(c) for c in clients)), seconds + 1 + REQUEST_TIMEOUT_S
        )
    except TimeoutError as exc:
        raise BenchError(f"a request went unanswered for {REQUEST_TIMEOUT_S} s") from exc
    finally:
        for c in clients:
            c.close()
    used = await meter.stop(answered)
    return {"connections": connections, "per_s": round(answered / seconds), **used}


async def schedule(
    due: asyncio.Queue[float | None], start: float, rate: float, seconds: float, workers: int
) -> None:
    """Put each request's due time on ``due`` when it comes (``rate`` a second from
    ``start`` for ``seconds``), then a None for each worker."""
    interval = 1 / rate
    n = int(rate * seconds)
    i = 0
    while i < n:
        now = time.perf_counter()
        while i < n and start + i * interval <= now:
            due.put_nowait(start + i * interval)
            i += 1
        if i < n:
            # The loop's timers have a millisecond's resolution: a shorter sleep would spin
            # (a core the server needs). Requests released late count as late.
            await asyncio.sleep(max(TIMER_S, start + i * interval - time.perf_counter()))
    for _ in range(workers):
        due.put_nowait(None)


async def open_loop(
    server: Server, requests: Requests, ledger: Ledger, pool: int, rate: float, seconds: float
) -> dict[str, Any]:
    """Requests due at ``rate`` a second for a warm-up second (not counted) and ``seconds``,
    each taken by a free client of ``pool``: latency from when each was due."""
    clients = await connected(server.url, requests, ledger, pool)
    due: asyncio.Queue[float | None] = asyncio.Queue()
    latencies: list[float] = []
    start = time.perf_counter() + 0.01
    window_start = start + 1.0
    meter = Meter(server.pid)

    async def worker(client: Client) -> None:
        while (at := await due.get()) is not None:
            await client.one()
            if at >= window_start:
                latencies.append(time.perf_counter() - at)

    loop = asyncio.get_running_loop()
    loop.call_later(window_start - time.perf_counter(), meter.start)
    workers = [asyncio.create_task(worker(c)) for c in clients]
    try:
        await asyncio.wait_for(
            asyncio.gather(schedule(due, start, rate, seconds + 1.0, pool), *workers),
            seconds + 1 + REQUEST_TIMEOUT_S,
        )
    except TimeoutError as exc:
        raise BenchError(f"requests went unanswered for {REQUEST_TIMEOUT_S} s") from exc
    finally:
        for w in workers:
            w.cancel()
        for c in clients:
            c.close()
    wall = time.perf_counter() - window_start
    used = await meter.stop(len(latencies))
    return {
        "rate": rate,
        "requests": len(latencies),
        "achieved_per_s": round(len(latencies) / wall),
        **latency_ms(latencies),
        **used,
    }


# -- checks -----------------------------------------------------------------------------------


def check_answers(ledger: Ledger, where: str) -> None:
    if ledger.refused:
        raise BenchError(
            f"{where}: {ledger.statuses['refused']} requests not answered 200/success, e.g.:\n"
            + "\n".join(ledger.refused)
        )


async def check_api(server: Server, token: str, ledger: Ledger) -> None:
    """Each account's working orders, through GET .../orders, are the ones placed and not
    cancelled (the cancels' confirmations may take a moment: a few tries)."""
    want: dict[int, set[str]] = {a: set() for a in range(ACCOUNTS)}
    for oid, a in ledger.working.items():
        want[a].add(oid)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, trust_env=False) as http:
        for a in range(ACCOUNTS):
            for attempt in range(50):
                answer = await http.get(f"/v1/api/accounts/{account_name(a)}/orders", timeout=60)
                if answer.status_code != 200:
                    raise BenchError(f"GET orders answered {answer.status_code}: {answer.text}")
                orders = answer.json()["orders"]
                got = {o["orderId"] for o in orders if o["orderState"] == "Working"}
                if got == want[a] and len(orders) == len(got):
                    break
                if attempt == 49:
                    states = Counter(o["orderState"] for o in orders)
                    raise BenchError(
                        f"{account_name(a)}: {len(got)} working orders through the API"
                        f" ({dict(states)}), {len(want[a])} expected; placed and not cancelled"
                        f" but missing {len(want[a] - got)}, not expected {len(got - want[a])}"
                    )
                await asyncio.sleep(0.1)


async def check_db(db: Database, ledger: Ledger) -> dict[str, int]:
    """After the server stopped: the orders the client left working are working, the ones it
    cancelled are cancelled, and there are no others."""
    async with Sql(db) as sql:
        rows = await sql.fetch("SELECT id, status, login FROM orders")
    by_status: dict[str, set[str]] = {}
    logins: dict[str, int] = {}
    for oid, status, login in rows:
        by_status.setdefault(status, set()).add(oid)
        logins[oid] = login
    working, cancelled = by_status.pop("working", set()), by_status.pop("cancelled", set())
    counts = {"working": len(working), "cancelled": len(cancelled)}
    if by_status:
        counts |= {k: len(v) for k, v in by_status.items()}
        raise BenchError(f"orders in the database by status: {counts}")
    if working != set(ledger.working) or cancelled != ledger.cancelled:
        raise BenchError(
            f"the database holds {len(working)} working and {len(cancelled)} cancelled orders;"
            f" the client placed {ledger.places} and cancelled {ledger.cancels}"
            f" ({len(ledger.working)} working, {len(working ^ set(ledger.working))} differ)"
        )
    wrong = [o for o, a in ledger.working.items() if logins[o] != FIRST_LOGIN + a]
    if wrong:
        raise BenchError(f"{len(wrong)} orders in the wrong account, e.g. {wrong[0]}")
    if len(working) != ledger.places - ledger.cancels:
        raise BenchError(f"{len(working)} working != {ledger.places} - {ledger.cancels}")
    return counts


# -- one server, one kind ---------------------------------------------------------------------


Measure = Callable[[Server, Requests, Ledger], Awaitable[list[dict[str, Any]]]]


async def measure_ordergate(
    dbs: Databases, seeded: Database, name: str, token: str, measure: Measure
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    db = await dbs.copy(seeded, name)
    server = Server.ordergate(db)
    ledger = Ledger()
    async with running(server):
        found = await measure(server, Requests(server.url, token), ledger)
        check_answers(ledger, f"ordergate on {db.kind}")
        await check_api(server, token, ledger)
    counts = await check_db(db, ledger)
    await dbs.drop(name)
    return found, _mix(ledger) | {"db_orders": counts}


async def measure_floor(measure: Measure) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGATE_")}
    command = [sys.executable, str(BENCH_DIR / "floor_app.py"), "--port", str(port)]
    server = Server(command, env, port)
    ledger = Ledger()
    async with running(server):
        found = await measure(server, Requests(server.url, "floor"), ledger)
    check_answers(ledger, "the floor app")
    return found, _mix(ledger)


def _mix(ledger: Ledger) -> dict[str, Any]:
    return {"places": ledger.places, "cancels": ledger.cancels, "deferred": ledger.deferred}


async def run_kind(args: argparse.Namespace, dbs: Databases) -> list[dict[str, Any]]:
    seeded = await dbs.create("seed")
    specs = [AccountSpec(FIRST_LOGIN + a, account_name(a)) for a in range(ACCOUNTS)]
    token = await seed_reference(seeded, specs)
    levels, seconds, pool, rate = args.connections, args.seconds, args.pool, args.rate

    async def ladder(server: Server, requests: Requests, ledger: Ledger) -> list[dict[str, Any]]:
        found = []
        for n in levels:
            found.append(await capacity(server, requests, ledger, n, seconds))
            log(f"    {n} connections: {found[-1]['per_s']:,}/s")
        return found

    async def latency(server: Server, requests: Requests, ledger: Ledger) -> list[dict[str, Any]]:
        found = await open_loop(server, requests, ledger, pool, rate, seconds)
        log(f"    {rate:,.0f}/s: p50 {found['p50_ms']} ms, p99 {found['p99_ms']} ms")
        return [found]

    log("  capacity, ordergate:")
    cap, cap_mix = await measure_ordergate(dbs, seeded, "capacity", token, ladder)
    log("  capacity, floor app:")
    floor_cap, _ = await measure_floor(ladder)
    log("  latency, ordergate:")
    (lat,), lat_mix = await measure_ordergate(dbs, seeded, "latency", token, latency)
    log("  latency, floor app:")
    (floor_lat,), _ = await measure_floor(latency)
    best = max(cap, key=lambda r: r["per_s"])
    floor_best = max(floor_cap, key=lambda r: r["per_s"])
    return [
        {
            "capacity": best,
            "capacity_levels": cap,
            "capacity_mix": cap_mix,
            "floor_capacity": floor_best,
            "floor_capacity_levels": floor_cap,
            "latency": lat,
            "latency_mix": lat_mix,
            "floor_latency": floor_lat,
            "seconds": seconds,
            "target_per_s": TARGET_PER_S,
            "target_p99_ms": TARGET_P99_MS,
            "capacity_met": best["per_s"] >= TARGET_PER_S,
            "latency_met": lat["p99_ms"] < TARGET_P99_MS and lat["achieved_per_s"] >= 0.95 * rate,
        }
    ]


# -- the report -------------------------------------------------------------------------------


def report(args: argparse.Namespace, results: list[dict[str, Any]]) -> str:
    cap_headers = ["db", "connections", "requests/s", "floor requests/s (connections)",
                   "target", "met", "server cores", "server CPU ms/req", "client cores",
                   "machine cores", "floor client cores", "server RSS MB (start, max)"]  # fmt: skip
    lat_headers = ["db", "rate/s", "answered/s", "p50 ms", "p99 ms", "max ms", "floor p50 ms",
                   "floor p99 ms", "floor max ms", "target", "met", "server cores",
                   "client cores", "machine cores", "server RSS MB (start, max)"]  # fmt: skip
    cap_rows, lat_rows, notes = [], [], []
    for r in results:
        c, fc, lt, fl = r["capacity"], r["floor_capacity"], r["latency"], r["floor_latency"]
        cap_rows.append([
            r["db"], c["connections"], c["per_s"], f"{fmt(fc['per_s'])} ({fc['connections']})",
            f"≥ {fmt(TARGET_PER_S)}/s", r["capacity_met"], c["server_cores"],
            c["server_cpu_ms_per_request"], c["client_cores"], c["machine_cores"],
            fc["client_cores"],
            f"{fmt(c['rss_mb_start'])}, {fmt(c['rss_mb_max'])}",
        ])  # fmt: skip
        lat_rows.append([
            r["db"], round(lt["rate"]), lt["achieved_per_s"], lt["p50_ms"], lt["p99_ms"],
            lt["max_ms"], fl["p50_ms"], fl["p99_ms"], fl["max_ms"], f"< {TARGET_P99_MS:g} ms",
            r["latency_met"], lt["server_cores"], lt["client_cores"], lt["machine_cores"],
            f"{fmt(lt['rss_mb_start'])}, {fmt(lt['rss_mb_max'])}",
        ])  # fmt: skip
        notes += _notes(r)
    levels = "; ".join(
        f"{r['db']}: " + ", ".join(f"{x['connections']} → {fmt(x['per_s'])}" for x in
                                   r["capacity_levels"])
        + " (floor: " + ", ".join(f"{x['connections']} → {fmt(x['per_s'])}" for x in
                                  r["floor_capacity_levels"]) + ")"
        for r in results
    )  # fmt: skip
    secs = results[0]["seconds"] if results else args.seconds
    return (
        f"Placements, 80% place / 20% cancel on {ACCOUNTS} accounts (CrossTrade HTTP)\n\n"
        f"Sustained capacity: closed loop, {secs:g} s after a 1 s warm-up\n\n"
        + table(cap_headers, cap_rows)
        + f"\n\nrequests/s by connections: {levels}\n\n"
        + f"Latency: open loop at {args.rate:,.0f} requests/s for {secs:g} s, {args.pool}"
        " connections, from each request's due time\n\n"
        + table(lat_headers, lat_rows)
        + ("\n\n" + "\n".join(notes) if notes else "")
    )


def _notes(r: dict[str, Any]) -> list[str]:
    db, notes = r["db"], []
    for what, mix in (("capacity", r["capacity_mix"]), ("latency", r["latency_mix"])):
        notes.append(
            f"{db} {what}: {fmt(mix['places'])} places, {fmt(mix['cancels'])} cancels"
            f" ({fmt(mix['deferred'])} cancels became places: no order old enough), all 200;"
            f" database after: {mix['db_orders']}"
        )
    for what, row in (("capacity", r["capacity"]), ("floor capacity", r["floor_capacity"])):
        if row["client_cores"] >= CLIENT_BOUND:
            notes.append(
                f"{db} {what}: the client used {row['client_cores']} of a core: it may be"
                " what limits the figure (2 cores in all)"
            )
    if r["floor_capacity"]["per_s"] < TARGET_PER_S:
        notes.append(
            f"{db}: HTTP alone (the floor app) carried {fmt(r['floor_capacity']['per_s'])}/s"
            f" with this client on this machine, under the {fmt(TARGET_PER_S)}/s target"
        )
    lt = r["latency"]
    if lt["achieved_per_s"] < 0.95 * lt["rate"]:
        notes.append(f"{db}: the open loop answered {fmt(lt['achieved_per_s'])}/s, not the rate")
    return notes


def build_parser() -> argparse.ArgumentParser:
    p = parser(__doc__, repeat=1)
    p.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="timed seconds of each measurement (default 10, --quick 3)",
    )
    p.add_argument(
        "--connections",
        default=None,
        help="capacity: comma-separated connection counts to try (default 16,64,256; --quick 64)",
    )
    p.add_argument("--pool", type=int, default=64, help="latency: connections of the open loop")
    p.add_argument("--rate", type=float, default=RATE, help="latency: requests a second")
    return p


def entry(argv: Sequence[str] | None = None) -> int:
    p = build_parser()

    async def run(args: argparse.Namespace, dbs: Databases) -> list[dict[str, Any]]:
        if args.repeat != 1:
            raise BenchError("this bench runs once per database: run it again to repeat")
        args.seconds = args.seconds or (3.0 if args.quick else 10.0)
        if not isinstance(args.connections, list):
            raw = args.connections or ("64" if args.quick else "16,64,256")
            args.connections = [int(x) for x in raw.split(",")]
        return await run_kind(args, dbs)

    return main(argv, p, "placements", run, report)


if __name__ == "__main__":
    raise SystemExit(entry())
