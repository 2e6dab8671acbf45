"""WS GetOrder: the CrossTrade WebSocket ``GetOrder`` rpc of any order, 100 requests in
flight, on a database of 200,000 orders most of which ended long ago, beside a ping round
trip over the same connections (the floor).

The database holds ``--orders`` orders (default 200,000; --quick 50,000) on 10 accounts of
user "bench", seeded in bulk: per account 45% filled, 45% cancelled, 10% working GTC limit
orders resting 100 points or more from the market. ``ordergate serve`` runs on it in a
process of its own (no rate limit, no market feed). At start the engine loads only the orders
that have not ended: every seeded filled or cancelled order is one memory does not hold (as
one older than the newest 100,000 ended orders memory keeps), so its ``GetOrder`` reads the
database. Before the timed run the client cancels ``--cancel`` working orders through the
``Cancel`` rpc and waits until each is cancelled: ended orders memory does hold.

The timed run asks ``GetOrder`` (``{"action":"rpc","id":n,"api":"GetOrder","args":
{"account":…,"orderId":…}}``) of ``--requests`` orders drawn at random from all of them
(about 90% from the database), keeping ``--in-flight`` requests (100, the server's limit per
connection is 100) in flight over ``--connections`` WebSocket connections (2, so that no
connection runs at its limit), each a closed loop: a request is sent as soon as one is
answered. Each latency counts from the frame's send until its answer is read; p50, p99 and
max, overall and by where the order came from. Target: p99 under 5 ms.

The floor, in the same run on the same connections, with the same requests in flight: the
``ping`` action (``{"action":"ping","id":n}`` → ``{"type":"pong","id":n,…}``), which the
server answers on its reader without running an rpc or reading anything: the WebSocket round
trip, frame parsing and this client, which is the least any rpc can take. There is no rpc that
reads nothing (each runs the operation's handler in a task of its own).

Checks: every answer is the order asked for: its id, account, state (Filled, Cancelled,
Working), instruction (side, quantity, limit price) and filled quantity as seeded or
cancelled; every pong echoes its id; the server logs no error. The client is the
``websockets`` library without compression, on uvloop, in this process; its CPU is shown.

    .venv/bin/python bench/ws_get_order.py --db sqlite --quick
    .venv/bin/python bench/ws_get_order.py --db both --json > ws_get_order.json
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from common import (
    ES,
    AccountSpec,
    BenchError,
    Block,
    Database,
    Databases,
    Server,
    cpu_s,
    fmt,
    latency_ms,
    log,
    machine_cores,
    machine_ticks,
    main,
    parser,
    rss_mb,
    running,
    seed_orders,
    seed_reference,
    table,
)

TARGET_P99_MS = 5.0
ACCOUNTS = 10
FIRST_LOGIN = 8001
#: Per account, of every 20 orders: 9 filled, 9 cancelled, 2 working.
SHARES = {"filled": 9, "cancelled": 9, "working": 2}
STATES = {"filled": "Filled", "cancelled": "Cancelled", "working": "Working"}
WARM_REQUESTS = 1_000
TIMEOUT_S = 60.0


def account_name(a: int) -> str:
    return f"Ws{a:02d}"


@dataclass(frozen=True, slots=True)
class Asked:
    """An order to ask for and what its answer must say; ``source`` is where the server
    finds it: ``database``, ``memory: working`` or ``memory: ended in the run``."""

    account: str
    order_id: str
    state: str
    action: str
    quantity: int
    limit_price: float
    source: str

    def wrong(self, data: Any) -> str | None:
        """What is wrong with ``data`` as the answer about this order, or None."""
        if not isinstance(data, dict):
            return "not an object"
        filled = self.quantity if self.state == "Filled" else 0
        want = {
            "orderId": self.order_id,
            "account": self.account,
            "orderState": self.state,
            "instrument": ES.symbol,
            "action": self.action,
            "orderType": "Limit",
            "quantity": self.quantity,
            "filled": filled,
            "remaining": self.quantity - filled,
            "limitPrice": self.limit_price,
            "success": True,
        }
        got = {k: data.get(k) for k in want}
        return None if got == want else f"expected {want}, answered {got}"


def layout(orders: int) -> list[Block]:
    """The seeded blocks: per account one block of each status."""
    per_account = orders // ACCOUNTS
    blocks = []
    for a in range(ACCOUNTS):
        for status, share in SHARES.items():
            blocks.append(Block(FIRST_LOGIN + a, per_account * share // 20, status=status))
    return blocks


def asked_of(blocks: Sequence[Block], ids: Sequence[Sequence[str]]) -> list[Asked]:
    found = []
    for block, block_ids in zip(blocks, ids, strict=True):
        source = "memory: working" if block.status == "working" else "database"
        for i, oid in enumerate(block_ids):
            found.append(
                Asked(
                    account=account_name(block.login - FIRST_LOGIN),
                    order_id=oid,
                    state=STATES[block.status],
                    action="Buy" if block.side_of(i) == "buy" else "Sell",
                    quantity=block.quantity(i),
                    limit_price=float(block.price(i)),
                    source=source,
                )
            )
    return found


# -- the client -------------------------------------------------------------------------------


class Ws:
    """One CrossTrade WebSocket connection: frames with an ``id`` out, answers matched to
    them by id; pushed frames (no ``id``: order updates) are counted and skipped."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.pending: dict[Any, asyncio.Future[tuple[float, Any]]] = {}
        self.pushed = 0
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            await self._frames()
        except BaseException as exc:
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(BenchError(f"the connection's reader ended: {exc!r}"))
            raise
        for future in self.pending.values():
            if not future.done():
                future.set_exception(BenchError("the server closed the connection"))

    async def _frames(self) -> None:
        async for message in self.ws:
            at = time.perf_counter()
            frame = orjson.loads(message)
            future = self.pending.pop(frame.get("id"), None) if isinstance(frame, dict) else None
            if future is None:
                if isinstance(frame, dict) and "id" not in frame:
                    self.pushed += 1
                    continue
                raise BenchError(f"a frame nothing waits for: {str(frame)[:300]}")
            future.set_result((at, frame))

    async def call(self, rid: int, frame: bytes) -> tuple[float, Any]:
        """Send ``frame`` (its id ``rid``): seconds until its answer was read, the answer."""
        future = asyncio.get_running_loop().create_future()
        self.pending[rid] = future
        start = time.perf_counter()
        await self.ws.send(frame.decode())
        try:
            at, answer = await asyncio.wait_for(future, TIMEOUT_S)
        except TimeoutError as exc:
            raise BenchError(f"no answer to {frame[:200]!r} in {TIMEOUT_S} s") from exc
        return at - start, answer

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


async def connected(server: Server, token: str, n: int) -> list[Ws]:
    url = server.url.replace("http://", "ws://") + "/ws/stream"
    headers = {"Authorization": f"Bearer {token}"}
    return [
        Ws(await connect(url, additional_headers=headers, compression=None, proxy=None))
        for _ in range(n)
    ]


_ids = itertools.count(1)


def rpc(api: str, **args: Any) -> tuple[int, bytes]:
    rid = next(_ids)
    return rid, orjson.dumps({"action": "rpc", "id": rid, "api": api, "args": args})


def get_order(asked: Asked) -> tuple[int, bytes]:
    return rpc("GetOrder", account=asked.account, orderId=asked.order_id)


def ping() -> tuple[int, bytes]:
    rid = next(_ids)
    return rid, orjson.dumps({"action": "ping", "id": rid})


Check = Callable[[int, Any], str | None]  # (request number, answer frame) -> what is wrong


async def load(
    conns: Sequence[Ws],
    in_flight: int,
    requests: int,
    frame: Callable[[int], tuple[int, bytes]],
    check: Check,
) -> tuple[list[float], float]:
    """``requests`` requests (the i-th is ``frame(i)``), ``in_flight`` at a time spread over
    ``conns``, each checked: the latency of each (by request number) and the wall time."""
    latencies = [0.0] * requests
    numbers = itertools.count()

    async def worker(conn: Ws) -> None:
        while (i := next(numbers)) < requests:
            rid, raw = frame(i)
            took, answer = await conn.call(rid, raw)
            wrong = check(i, answer)
            if wrong is not None:
                raise BenchError(f"request {raw[:300]!r}: {wrong}; the frame: {answer!r:.400}")
            latencies[i] = took

    start = time.perf_counter()
    await asyncio.gather(*(worker(conns[w % len(conns)]) for w in range(in_flight)))
    return latencies, time.perf_counter() - start


def data_of(answer: Any) -> Any:
    return answer.get("data") if isinstance(answer, dict) else None


# -- the run ----------------------------------------------------------------------------------


async def cancel_some(conns: Sequence[Ws], asked: list[Asked], n: int, rng: random.Random) -> None:
    """Cancel ``n`` working orders through the Cancel rpc and wait until each is cancelled;
    they become ended orders memory holds."""
    working = [i for i, a in enumerate(asked) if a.state == "Working"]
    chosen = rng.sample(working, min(n, len(working)))

    def cancelled(i: int, answer: Any) -> str | None:
        a = asked[chosen[i]]
        want = {"orderId": a.order_id, "success": True}
        return None if data_of(answer) == want else f"answered {str(answer)[:300]}"

    await load(conns, 50, len(chosen), lambda i: rpc("Cancel", **_ref(asked[chosen[i]])), cancelled)
    for i in chosen:
        a = asked[i]
        asked[i] = Asked(
            a.account, a.order_id, "Cancelled", a.action, a.quantity, a.limit_price,
            "memory: ended in the run",
        )  # fmt: skip
    deadline = time.perf_counter() + TIMEOUT_S
    while chosen := await not_cancelled(conns, [asked[i] for i in chosen], chosen):
        if time.perf_counter() > deadline:
            raise BenchError(f"{len(chosen)} cancelled orders not Cancelled after {TIMEOUT_S} s")
        await asyncio.sleep(0.05)


async def not_cancelled(conns: Sequence[Ws], asks: Sequence[Asked], keys: list[int]) -> list[int]:
    """The keys of the orders of ``asks`` whose GetOrder does not say Cancelled."""
    states: dict[int, Any] = {}

    def state(i: int, answer: Any) -> str | None:
        data = data_of(answer)
        states[i] = data.get("orderState") if isinstance(data, dict) else answer
        return None

    await load(conns, 50, len(asks), lambda i: get_order(asks[i]), state)
    return [key for i, key in enumerate(keys) if states[i] != "Cancelled"]


def _ref(a: Asked) -> dict[str, str]:
    return {"account": a.account, "orderId": a.order_id}


def by_source(asks: Sequence[Asked], latencies: Sequence[float]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[float]] = {}
    for a, took in zip(asks, latencies, strict=True):
        groups.setdefault(a.source, []).append(took)
    return {k: {"requests": len(v), **latency_ms(v)} for k, v in sorted(groups.items())}


async def measure(
    server: Server, token: str, asked: list[Asked], args: argparse.Namespace
) -> dict[str, Any]:
    rng = random.Random(1)
    conns = await connected(server, token, args.connections)
    try:
        await cancel_some(conns, asked, args.cancel, rng)
        asks = [asked[rng.randrange(len(asked))] for _ in range(args.requests)]
        warm = [asked[rng.randrange(len(asked))] for _ in range(WARM_REQUESTS)]

        def right(asks: Sequence[Asked]) -> Check:
            return lambda i, answer: asks[i].wrong(data_of(answer))

        def pong(i: int, answer: Any) -> str | None:
            return None if answer.get("type") == "pong" else f"answered {str(answer)[:300]}"

        await load(conns, args.in_flight, len(warm), lambda i: get_order(warm[i]), right(warm))
        await load(conns, args.in_flight, WARM_REQUESTS, lambda i: ping(), pong)
        found: dict[str, Any] = {}
        for name, frame, check in (
            ("ping", lambda i: ping(), pong),
            ("get_order", lambda i: get_order(asks[i]), right(asks)),
        ):
            rss = rss_mb(server.pid)
            cpu, client, machine = cpu_s(server.pid), time.process_time(), machine_ticks()
            latencies, wall = await load(conns, args.in_flight, args.requests, frame, check)
            server_s, client_s = cpu_s(server.pid) - cpu, time.process_time() - client
            found[name] = {
                "requests": args.requests,
                "per_s": round(args.requests / wall),
                **latency_ms(latencies),
                "server_cores": round(server_s / wall, 2),
                "server_cpu_ms_per_request": round(1000 * server_s / args.requests, 3),
                "client_cores": round(client_s / wall, 2),
                "machine_cores": machine_cores(machine),
                "rss_mb": round(max(rss, rss_mb(server.pid)), 1),
            }
            if name == "get_order":
                found[name]["by_source"] = by_source(asks, latencies)
            log(f"    {name}: p50 {found[name]['p50_ms']} ms, p99 {found[name]['p99_ms']} ms")
        found["pushed_frames"] = sum(c.pushed for c in conns)
        return found
    finally:
        for c in conns:
            await c.close()


async def run_kind(args: argparse.Namespace, dbs: Databases) -> list[dict[str, Any]]:
    started = time.perf_counter()
    db: Database = await dbs.create("run")
    specs = [AccountSpec(FIRST_LOGIN + a, account_name(a)) for a in range(ACCOUNTS)]
    token = await seed_reference(db, specs)
    blocks = layout(args.orders)
    seeded = await seed_orders(db, blocks)
    asked = asked_of(blocks, seeded.ids)
    log(f"  seeded {len(asked):,} orders in {time.perf_counter() - started:.1f} s")
    server = Server.ordergate(db)
    async with running(server):
        log(f"  the server answered after {server.started_s:.1f} s")
        found = await measure(server, token, asked, args)
    get, floor = found["get_order"], found["ping"]
    return [
        {
            "orders": len(asked),
            "ended_in_db": sum(a.source == "database" for a in asked),
            "cancelled_in_run": sum(a.source == "memory: ended in the run" for a in asked),
            "connections": args.connections,
            "in_flight": args.in_flight,
            "get_order": get,
            "floor_ping": floor,
            "pushed_frames": found["pushed_frames"],
            "server_start_s": round(server.started_s, 1),
            "target_p99_ms": TARGET_P99_MS,
            "met": get["p99_ms"] < TARGET_P99_MS,
        }
    ]


def report(args: argparse.Namespace, results: list[dict[str, Any]]) -> str:
    headers = ["db", "orders (ended, in the DB)", "requests", "in flight", "GetOrder/s",
               "p50 ms", "p99 ms", "max ms", "floor: ping p50 ms", "floor p99 ms",
               "floor max ms", "target", "met", "server cores", "client cores",
               "machine cores", "server RSS MB"]  # fmt: skip
    rows, sources = [], []
    for r in results:
        g, f = r["get_order"], r["floor_ping"]
        rows.append([
            r["db"], f"{fmt(r['orders'])} ({fmt(r['ended_in_db'])})", g["requests"],
            f"{r['in_flight']} on {r['connections']}", g["per_s"], g["p50_ms"], g["p99_ms"],
            g["max_ms"], f["p50_ms"], f["p99_ms"], f["max_ms"], f"< {TARGET_P99_MS:g} ms",
            r["met"], g["server_cores"], g["client_cores"], g["machine_cores"], g["rss_mb"],
        ])  # fmt: skip
        for source, s in g["by_source"].items():
            sources.append([r["db"], source, s["requests"], s["p50_ms"], s["p99_ms"],
                            s["max_ms"]])  # fmt: skip
    by = table(["db", "order from", "requests", "p50 ms", "p99 ms", "max ms"], sources)
    notes = [
        f"{r['db']}: ping {fmt(r['floor_ping']['per_s'])}/s; {fmt(r['cancelled_in_run'])}"
        f" orders cancelled before the run (ended, in memory); {fmt(r['pushed_frames'])}"
        " pushed frames skipped; every answer checked"
        for r in results
    ]
    return (
        "WS GetOrder of any order, closed loop, latency from send to answer\n\n"
        + table(headers, rows)
        + "\n\nBy where the order came from\n\n"
        + by
        + ("\n\n" + "\n".join(notes) if notes else "")
    )


def build_parser() -> argparse.ArgumentParser:
    p = parser(__doc__, repeat=1)
    p.add_argument(
        "--orders", type=int, default=None, help="orders seeded (default 200,000; --quick 50,000)"
    )
    p.add_argument(
        "--requests",
        type=int,
        default=None,
        help="GetOrder requests timed, and pings (default 50,000; --quick 10,000)",
    )
    p.add_argument("--in-flight", type=int, default=100)
    p.add_argument("--connections", type=int, default=2)
    p.add_argument(
        "--cancel",
        type=int,
        default=None,
        help="working orders cancelled before the run (default 2,000; --quick 500)",
    )
    return p  # fmt: skip


def entry(argv: Sequence[str] | None = None) -> int:
    p = build_parser()

    async def run(args: argparse.Namespace, dbs: Databases) -> list[dict[str, Any]]:
        if args.repeat != 1:
            raise BenchError("this bench runs once per database: run it again to repeat")
        args.orders = args.orders or (50_000 if args.quick else 200_000)
        args.requests = args.requests or (10_000 if args.quick else 50_000)
        args.cancel = args.cancel if args.cancel is not None else (500 if args.quick else 2_000)
        if args.in_flight > 100 * args.connections:
            raise BenchError("the server takes at most 100 requests in flight a connection")
        return await run_kind(args, dbs)

    return main(argv, p, "ws_get_order", run, report)


if __name__ == "__main__":
    raise SystemExit(entry())
