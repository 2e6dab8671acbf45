"""Webhooks: TradingView alerts (``POST /v1/send/{webhookId}``) sent at a fixed rate, each
timed until the venue's acknowledgement of its order reaches a CrossTrade WebSocket, beside
the same orders placed through CrossTrade REST at the same rate (the floor).

``ordergate serve`` runs in a process of its own on a fresh copy of a database seeded with
10 accounts of user "bench" (funds enough that no margin check refuses), the user's API token
and its webhook id (``Webhooks.webhook_id``, as ``ordergate webhook url bench`` makes it); no
rate limit, no market feed (the market stays at its opening quote). Each alert is the text
TradingView posts (``text/plain``)::

    key=<token>; command=PLACE; account=Hook03; instrument=ES 12-26; action=BUY; qty=1;
    order_type=LIMIT; limit_price=5900; tif=GTC;

a GTC limit 100 points or more away from the market (it rests), rotating over the accounts,
buys and sells alternating. The floor is the same order as ``POST /v1/api/accounts/{account}
/orders/place`` (JSON, Bearer token) on a fresh server and copy: what placing costs without
the webhook's work (resolving the webhook id and key, the kill switch, parsing the text, the
Alert History row and its push).

Load is an open loop: requests due at ``--rate`` a second (200) for a warm-up second (not
counted) and ``--seconds`` (10), whatever the answers do, each taken by a free one of
``--pool`` keep-alive connections (16; raw asyncio HTTP/1.1 on uvloop in this process). Every
latency counts from when its request was due (no coordinated omission; the schedule releases
what is due every millisecond or so, and a late release counts as late).

Timed, per order: from the request's due time until the venue's acknowledgement of its order
is read on a CrossTrade WebSocket (``/ws/stream``, the same user, opened before the run): the
first ``orderUpdate`` of the order in state Working (or Accepted). The server publishes it
once the acknowledgement is journaled, so it is what a client can first see and rely on.
(The lifecycle's acknowledged event carries the time the writer's batch began, before its
commit: it would leave the commit out.) The order id is matched from the HTTP answer, which
the webhook gives once the order is journaled as submitted and the Alert History row is
written: the acknowledgement may be read before the answer. Also shown: the HTTP answer's
latency, and the server's, client's and machine's CPU. Target: alert to acknowledged p99 under
10 ms at 200 alerts/s.

Where the time goes (a second table): each timed order split at the moments the server
recorded on its clock (this machine's, as the client's): the alert received (the Alert
History's ``received_at``; REST has no such record), the writer's batch that stored the order
submitted and the one that stored its acknowledgement (an order event's time is when its
batch began), then the WebSocket read. The first stage includes waiting for a free connection
when the server falls behind the rate.

Checks: every answer is 200 and ``success`` (an alert's status ``Success`` naming exactly one
order), every order acknowledged on the WebSocket (none refused, no ``lagged`` frame), each
account's working orders through ``GET .../orders`` exactly the ones placed, and after the
server stopped the database holds them as working and, for the alerts, one ``Success`` row of
the Alert History each; the server logs no error.

    .venv/bin/python bench/webhooks.py --db sqlite --quick
    .venv/bin/python bench/webhooks.py --db both --json > webhooks.json
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from common import (
    ES,
    MARKET,
    TICK,
    USER,
    AccountSpec,
    BenchError,
    Database,
    Databases,
    Server,
    Sql,
    fmt,
    latency_ms,
    log,
    main,
    parser,
    running,
    seed_reference,
    table,
)
from ordergate.auth.users import UserService
from ordergate.auth.webhooks import Webhooks
from ordergate.store import SqlStore, create_engine
from ordergate.store.rows import sqlite_time_in
from placements import Conn, Meter, schedule

TARGET_P99_MS = 10.0
RATE = 200
POOL = 16
ACCOUNTS = 10
FIRST_LOGIN = 9101
PRICES = 200
REQUEST_TIMEOUT_S = 30.0
ACK_TIMEOUT_S = 30.0
#: The states an order reaches when the venue acknowledges it.
ACKED = frozenset({"Working", "Accepted"})
PATHS = ("webhook", "rest")
STAGES = (
    "to the handler",
    "to the writer's batch",
    "to the acknowledgement's batch",
    "to the WebSocket",
)


def account_name(a: int) -> str:
    return f"Hook{a:02d}"


def order(i: int) -> tuple[str, int, Decimal]:
    """The i-th order: its account (index), side and price (100 points or more away)."""
    a = i % ACCOUNTS
    p = i // ACCOUNTS % PRICES
    buy = p % 2 == 0
    away = Decimal(100) + (p // 2) * TICK
    price = MARKET[ES.symbol] - away if buy else MARKET[ES.symbol] + away
    return ("BUY" if buy else "SELL"), a, price


# -- the requests -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Path:
    """One way of placing the orders: the i-th request, built in advance, and the order id
    its answer names (or why the answer is wrong)."""

    name: str
    build: Callable[[int], bytes]
    read: Callable[[int, bytes], str]


def _raw(host: str, path: str, headers: str, body: bytes) -> bytes:
    return b"POST %s HTTP/1.1\r\nHost: %s\r\n%sContent-Length: %d\r\n\r\n%s" % (
        path.encode(),
        host.encode(),
        headers.encode(),
        len(body),
        body,
    )


def webhook_path(url: str, token: str, webhook_id: str) -> Path:
    host = url.removeprefix("http://")
    headers = "Content-Type: text/plain; charset=utf-8\r\n"

    def build(i: int) -> bytes:
        side, a, price = order(i)
        text = (
            f"key={token}; command=PLACE; account={account_name(a)}; instrument={ES.symbol};"
            f" action={side}; qty=1; order_type=LIMIT; limit_price={price}; tif=GTC;"
        )
        return _raw(host, f"/v1/send/{webhook_id}", headers, text.encode())

    def read(status: int, body: bytes) -> str:
        answer = orjson.loads(body) if status == 200 else None
        ids = answer.get("orderIds") if isinstance(answer, dict) else None
        if (
            not isinstance(answer, dict)
            or answer.get("success") is not True
            or answer.get("status") != "Success"
            or not isinstance(ids, list)
            or len(ids) != 1
        ):
            raise BenchError(f"alert answered {status} {body[:300]!r}")
        return str(ids[0])

    return Path("webhook", build, read)


def rest_path(url: str, token: str) -> Path:
    host = url.removeprefix("http://")
    headers = f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"

    def build(i: int) -> bytes:
        side, a, price = order(i)
        body = orjson.dumps(
            {
                "instrument": ES.symbol,
                "action": side.title(),
                "quantity": 1,
                "orderType": "Limit",
                "limitPrice": float(price),
                "timeInForce": "Gtc",
            }
        )
        return _raw(host, f"/v1/api/accounts/{account_name(a)}/orders/place", headers, body)

    def read(status: int, body: bytes) -> str:
        answer = orjson.loads(body) if status == 200 else None
        oid = answer.get("orderId") if isinstance(answer, dict) else None
        if not isinstance(answer, dict) or answer.get("success") is not True or not oid:
            raise BenchError(f"place answered {status} {body[:300]!r}")
        return str(oid)

    return Path("rest", build, read)


# -- the WebSocket ----------------------------------------------------------------------------


class Stream:
    """A CrossTrade WebSocket of the user: when each order's acknowledgement was read."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.acked: dict[str, float] = {}
        self.other: dict[str, str] = {}  # order id -> a state that is not an acknowledgement
        self.frames: Counter[str] = Counter()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, server: Server, token: str) -> Stream:
        url = server.url.replace("http://", "ws://") + "/ws/stream"
        headers = {"Authorization": f"Bearer {token}"}
        return cls(await connect(url, additional_headers=headers, compression=None, proxy=None))

    async def _read(self) -> None:
        async for message in self.ws:
            at = time.perf_counter()
            frame = orjson.loads(message)
            kind = frame.get("type") if isinstance(frame, dict) else None
            self.frames[str(kind)] += 1
            if kind != "orderUpdate":
                continue
            oid, state = frame["orderId"], frame["orderState"]
            if state in ACKED:
                self.acked.setdefault(oid, at)
            elif state != "Submitted":
                self.other[oid] = state

    async def wait_for(self, ids: list[str]) -> None:
        """Until every order of ``ids`` is acknowledged; BenchError if one is refused, a
        frame was lost or ``ACK_TIMEOUT_S`` passes."""
        deadline = time.perf_counter() + ACK_TIMEOUT_S
        while True:
            if self._reader.done():
                raise BenchError(f"the WebSocket's reader ended: {self._reader!r}")
            if self.frames["lagged"]:
                raise BenchError("the WebSocket lagged: order updates were lost")
            refused = {o: s for o, s in self.other.items() if o not in self.acked}
            if refused:
                raise BenchError(f"{len(refused)} orders not acknowledged but {refused}")
            missing = [o for o in ids if o not in self.acked]
            if not missing:
                return
            if time.perf_counter() > deadline:
                raise BenchError(f"{len(missing)} orders not acknowledged in {ACK_TIMEOUT_S} s")
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


# -- the load ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Sent:
    """What one run sent: every order's account, (due, answered, order id) of each order in
    the timed window, and the answers that were not a placed order."""

    timed: list[tuple[float, float, str]] = field(default_factory=list)
    accounts: dict[str, str] = field(default_factory=dict)  # every order id -> its account
    refused: int = 0
    examples: list[str] = field(default_factory=list)  # the first few refusals
    #: wall-clock seconds (the server's clock) minus perf_counter seconds, taken once
    wall_offset: float = field(default_factory=lambda: time.time() - time.perf_counter())

    @property
    def ids(self) -> list[str]:
        return list(self.accounts)

    def refuse(self, what: str) -> None:
        self.refused += 1
        if len(self.examples) < 10:
            self.examples.append(what)

    def check(self, path: str) -> None:
        if self.refused:
            raise BenchError(
                f"{self.refused} of {len(self.accounts) + self.refused} {path} requests placed"
                " no order, e.g.:\n" + "\n".join(self.examples)
            )


async def open_loop(
    server: Server, path: Path, pool: int, rate: float, seconds: float
) -> tuple[Sent, dict[str, float]]:
    """Requests of ``path`` due at ``rate`` a second for a warm-up second and ``seconds``,
    each taken by a free one of ``pool`` connections (each connected by a first order)."""
    total = pool + int(rate * (seconds + 1.0))
    requests = [path.build(i) for i in range(total)]
    numbers = itertools.count()
    conns = [Conn(server.url, {}) for _ in range(pool)]
    sent = Sent()

    async def one(conn: Conn) -> str | None:
        i = next(numbers)
        status, body = await conn.send(requests[i])
        try:
            oid = path.read(status, body)
        except BenchError as exc:
            sent.refuse(str(exc))
            return None
        sent.accounts[oid] = account_name(order(i)[1])
        return oid

    await asyncio.gather(*(one(c) for c in conns))
    due: asyncio.Queue[float | None] = asyncio.Queue()
    start = time.perf_counter() + 0.01
    window_start = start + 1.0
    meter = Meter(server.pid)

    async def worker(conn: Conn) -> None:
        while (at := await due.get()) is not None:
            oid = await one(conn)
            if oid is not None and at >= window_start:
                sent.timed.append((at, time.perf_counter(), oid))

    asyncio.get_running_loop().call_later(window_start - time.perf_counter(), meter.start)
    workers = [asyncio.create_task(worker(c)) for c in conns]
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
        for c in conns:
            c.close()
    wall = time.perf_counter() - window_start
    used = await meter.stop(len(sent.timed))
    sent.check(path.name)
    return sent, {"achieved_per_s": round(len(sent.timed) / wall), **used}


def figures(sent: Sent, stream: Stream, rate: float) -> dict[str, Any]:
    acks = [stream.acked[oid] - at for at, _, oid in sent.timed]
    answers = [answered - at for at, answered, _ in sent.timed]
    before = sum(stream.acked[oid] < answered for _, answered, oid in sent.timed)
    return {
        "rate": rate,
        "requests": len(sent.timed),
        "ack": latency_ms(acks),
        "answer": latency_ms(answers),
        "acked_before_answer": before,
    }


# -- checks -----------------------------------------------------------------------------------


async def check_api(server: Server, token: str, accounts: dict[str, str]) -> None:
    """Each account's orders through GET .../orders are exactly the ones placed, working."""
    want: dict[str, set[str]] = {account_name(a): set() for a in range(ACCOUNTS)}
    for oid, name in accounts.items():
        want[name].add(oid)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, trust_env=False) as http:
        for name, placed in want.items():
            answer = await http.get(f"/v1/api/accounts/{name}/orders", timeout=60)
            if answer.status_code != 200:
                raise BenchError(f"GET orders answered {answer.status_code}: {answer.text}")
            orders = answer.json()["orders"]
            states = Counter(o["orderState"] for o in orders)
            got = {o["orderId"] for o in orders}
            if got != placed or states != Counter({"Working": len(placed)}):
                raise BenchError(
                    f"{name}: {dict(states)} through the API, {len(placed)} placed"
                    f" ({len(got ^ placed)} differ)"
                )


async def check_db(db: Database, path: str, ids: list[str]) -> dict[str, int]:
    """After the server stopped: the orders placed are working, and there are no others;
    an alert's run has one Success row of the Alert History per order."""
    async with Sql(db) as sql:
        rows = await sql.fetch("SELECT id, status FROM orders")
        alerts = await sql.fetch("SELECT status, count(*) FROM alerts GROUP BY status")
    statuses = Counter(status for _, status in rows)
    if {oid for oid, _ in rows} != set(ids) or statuses != Counter({"working": len(ids)}):
        raise BenchError(f"the database holds {dict(statuses)} orders, {len(ids)} placed")
    history = {status: int(n) for status, n in alerts}
    want = {"Success": len(ids)} if path == "webhook" else {}
    if history != want:
        raise BenchError(f"the Alert History holds {history}, expected {want}")
    return {"working": len(ids), "alerts": sum(history.values())}


# -- where the time goes ----------------------------------------------------------------------


async def stages(db: Database, path: str, sent: Sent, stream: Stream) -> dict[str, Any]:
    """Each timed order's time split at the moments the server recorded (its clock, this
    machine's): the alert received (Alert History), the writer's batch that stored it
    submitted and the one that stored its acknowledgement (order events: when each batch
    began, before its commit), then the acknowledgement read on the WebSocket."""
    async with Sql(db) as sql:
        events = await sql.fetch(
            "SELECT o.id, e.to_status, e.at FROM order_events e JOIN orders o"
            " ON o.ticket = e.order_ticket WHERE e.to_status IN ('submitted', 'accepted',"
            " 'working')"
        )
        alerts = await sql.fetch("SELECT order_ids, received_at FROM alerts")
    submitted: dict[str, float] = {}
    acked: dict[str, float] = {}
    for oid, status, at in events:
        moment = sqlite_time_in(at).timestamp()
        if status == "submitted":
            submitted[oid] = moment
        else:
            acked[oid] = min(moment, acked.get(oid, moment))
    received = {
        oid: sqlite_time_in(at).timestamp() for ids, at in alerts for oid in orjson.loads(ids)
    }
    split: dict[str, list[float]] = {}
    for due, _, oid in sent.timed:
        times = [due + sent.wall_offset]
        names = []
        if path == "webhook":
            times.append(received[oid])
            names.append("to the handler")
        times += [submitted[oid], acked[oid], stream.acked[oid] + sent.wall_offset]
        names += ["to the writer's batch", "to the acknowledgement's batch", "to the WebSocket"]
        for name, (start, end) in zip(names, itertools.pairwise(times), strict=True):
            split.setdefault(name, []).append(end - start)
    return {name: latency_ms(values) for name, values in split.items()}


# -- one server, one path ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seed:
    db: Database
    token: str
    webhook_id: str


async def seed(dbs: Databases) -> Seed:
    db = await dbs.create("seed")
    specs = [AccountSpec(FIRST_LOGIN + a, account_name(a)) for a in range(ACCOUNTS)]
    token = await seed_reference(db, specs)
    engine = create_engine(db.url)
    try:
        webhook_id = await Webhooks(UserService(SqlStore(engine))).webhook_id(USER)
    finally:
        await engine.dispose()
    return Seed(db, token, webhook_id)


async def measure(
    dbs: Databases, seeded: Seed, name: str, args: argparse.Namespace
) -> dict[str, Any]:
    db = await dbs.copy(seeded.db, name)
    server = Server.ordergate(db)
    async with running(server):
        if name == "webhook":
            path = webhook_path(server.url, seeded.token, seeded.webhook_id)
        else:
            path = rest_path(server.url, seeded.token)
        stream = await Stream.open(server, seeded.token)
        try:
            sent, used = await open_loop(server, path, args.pool, args.rate, args.seconds)
            await stream.wait_for(sent.ids)
        finally:
            await stream.close()
        found = figures(sent, stream, args.rate) | used
        await check_api(server, seeded.token, sent.accounts)
    found["db"] = await check_db(db, name, sent.ids)
    found["stages"] = await stages(db, name, sent, stream)
    found["frames"] = dict(stream.frames)
    await dbs.drop(name)
    ack, answer = found["ack"], found["answer"]
    log(
        f"    {name}: acknowledged p50 {ack['p50_ms']} ms, p99 {ack['p99_ms']} ms;"
        f" answered p50 {answer['p50_ms']} ms, p99 {answer['p99_ms']} ms"
    )
    return found


async def run_kind(args: argparse.Namespace, dbs: Databases) -> list[dict[str, Any]]:
    seeded = await seed(dbs)
    found = {name: await measure(dbs, seeded, name, args) for name in PATHS}
    hook = found["webhook"]
    return [
        {
            "webhook": hook,
            "rest": found["rest"],
            "rate": args.rate,
            "seconds": args.seconds,
            "pool": args.pool,
            "target_p99_ms": TARGET_P99_MS,
            "met": hook["ack"]["p99_ms"] < TARGET_P99_MS
            and hook["achieved_per_s"] >= 0.95 * args.rate,
        }
    ]


# -- the report -------------------------------------------------------------------------------


def report(args: argparse.Namespace, results: list[dict[str, Any]]) -> str:
    headers = ["db", "path", "rate/s", "answered/s", "acknowledged p50 ms", "p99 ms", "max ms",
               "answer p50 ms", "answer p99 ms", "target", "met", "server cores",
               "server CPU ms/order", "client cores", "machine cores"]  # fmt: skip
    rows, notes = [], []
    for r in results:
        for name in PATHS:
            f = r[name]
            hook = name == "webhook"
            rows.append([
                r["db"], "alert (webhook)" if hook else "REST place (floor)", round(f["rate"]),
                f["achieved_per_s"], f["ack"]["p50_ms"], f["ack"]["p99_ms"], f["ack"]["max_ms"],
                f["answer"]["p50_ms"], f["answer"]["p99_ms"],
                f"< {TARGET_P99_MS:g} ms" if hook else "", r["met"] if hook else "",
                f["server_cores"], f["server_cpu_ms_per_request"], f["client_cores"],
                f["machine_cores"],
            ])  # fmt: skip
            notes.append(
                f"{r['db']} {name}: {fmt(f['requests'])} timed orders, all answered 200 and"
                f" acknowledged ({fmt(f['acked_before_answer'])} acknowledgements read before"
                f" the answer); database after: {f['db']}"
            )
            if f["achieved_per_s"] < 0.95 * f["rate"]:
                notes.append(f"{r['db']} {name}: answered {f['achieved_per_s']}/s, not the rate")
    secs = results[0]["seconds"] if results else args.seconds
    return (
        f"Webhook alerts: alert to order acknowledged (CrossTrade WebSocket), open loop at"
        f" {args.rate:,.0f}/s for {secs:g} s on {args.pool} connections, {ACCOUNTS} accounts,"
        " from each request's due time; the floor: the same orders through REST\n\n"
        + table(headers, rows)
        + "\n\nWhere the time goes: p50 / p99 ms of each stage, by the server's own records\n\n"
        + table(["db", "path", *STAGES], stage_rows(results))
        + "\n\n"
        + "\n".join(notes)
    )


def stage_rows(results: list[dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for r in results:
        for name in PATHS:
            split = r[name]["stages"]
            cells = [
                f"{split[s]['p50_ms']:.1f} / {split[s]['p99_ms']:.1f}" if s in split else "-"
                for s in STAGES
            ]
            rows.append([r["db"], name, *cells])
    return rows


def build_parser() -> argparse.ArgumentParser:
    p = parser(__doc__, repeat=1)
    p.add_argument(
        "--seconds", type=float, default=None, help="timed seconds (default 10, --quick 3)"
    )
    p.add_argument("--rate", type=float, default=RATE, help="alerts (and REST places) a second")
    p.add_argument("--pool", type=int, default=POOL, help="connections of the open loop")
    return p


def entry(argv: list[str] | None = None) -> int:
    p = build_parser()

    async def run(args: argparse.Namespace, dbs: Databases) -> list[dict[str, Any]]:
        if args.repeat != 1:
            raise BenchError("this bench runs once per database: run it again to repeat")
        args.seconds = args.seconds or (3.0 if args.quick else 10.0)
        return await run_kind(args, dbs)

    return main(argv, p, "webhooks", run, report)


if __name__ == "__main__":
    raise SystemExit(entry())
