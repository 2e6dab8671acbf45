"""CrossTrade benchmark: bulk cancel end to end, through the real server, beside the engine and
the bare statement; and the WebSocket RPC round trip under load.

For each database and each size N, on fresh copies of the state ``cancel_orders.py`` seeds
(N working limit orders of account 1001 "Sim101", 7 of account 2002 that must stay untouched,
20 of account 3003 "Warm" for warm-up), it times:

- bare UPDATE and engine ``cancel_orders``: ``cancel_orders.py``'s own measurements;
- HTTP: ``POST /v1/api/accounts/Sim101/orders/cancel`` to ``ordergate serve`` (uvicorn, a
  process of its own, on 127.0.0.1) from an httpx client, until the whole answer is received;
- WS: the ``CancelOrders`` rpc over ``/ws/stream`` from a ``websockets`` client, until the
  rpc result frame is received (the order updates pushed meanwhile are read and skipped).

Every run is checked: the answer lists exactly the N order ids, the venue then confirms all N
cancels, account 2002's orders and events are untouched. Then, once per database, the rpc
round trip with 1 and with 100 requests in flight on one connection, of ``GetOrder`` of one
order (after the first, answered from the order view), ``GetOrder`` of a different order
each time (each the first read of its order: the database) and ``GetQuote`` (memory).
``python bench/crosstrade.py --help``; results and findings in bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import metadata
from typing import Any

import httpx
import orjson
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection, connect

import cancel_orders as base
from cancel_orders import (
    LOGIN,
    RUN_TIMEOUT_S,
    SEEDED_AT,
    SYMBOL,
    WARM,
    WARM_ORDERS,
    BenchError,
    Target,
    check_sizes,
    log,
    machine,
    measure_bare,
    measure_engine,
    targets,
)
from ordergate.api.crosstrade.wire import dumps
from ordergate.auth.users import UserService
from ordergate.store import SqlStore
from ordergate.store.tables import bars, orders

# Databases of this bench's own, so that it can run beside cancel_orders.py.
base.PG_SEED_DB, base.PG_RUN_DB = "ordergate_bench_ct_seed", "ordergate_bench_ct"

CANCEL = "/v1/api/accounts/{account}/orders/cancel"
ACCOUNTS = {LOGIN: "Sim101", WARM: "Warm"}
# The seeded orders rest at 4900 and below (buys), 5100 and above (sells): a market at 5000
# crosses none of them when the server hands them back to the venue at start.
MARKET = Decimal(5000)
START_TIMEOUT_S = 180
TARGET_RATIO, TARGET_100K_S, TARGET_P99_MS = 3.0, 2.0, 10.0
SERVER_PACKAGES = ("fastapi", "uvicorn", "uvloop", "httptools", "websockets", "httpx", "orjson")


# -- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def served(url: str, order_cache: bool = True) -> AsyncIterator[str]:
    """``ordergate serve`` on ``url`` in a process of its own (rate limit off, no market
    feed), until it answers /healthz: its base URL. Stopped with SIGINT, as Ctrl-C would."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGATE_")}
    env |= {
        "ORDERGATE_MARKET_SOURCE": "none",
        "ORDERGATE_RATE_LIMIT_ENABLED": "false",
        "ORDERGATE_LOG_LEVEL": "warning",
        "ORDERGATE_ORDER_CACHE": str(order_cache).lower(),
    }
    command = ["-c", "from ordergate.cli import main; main()", "serve", "--db", url]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with tempfile.TemporaryFile() as output:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, *command, env=env, stdout=output, stderr=output
        )
        try:
            yield await _ready(proc, f"http://127.0.0.1:{port}")
        except BaseException:
            output.seek(0)
            log(output.read().decode(errors="replace")[-4000:])
            raise
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(proc.wait(), 60)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


async def _ready(proc: asyncio.subprocess.Process, url: str) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    async with httpx.AsyncClient(trust_env=False) as client:
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise BenchError(f"the server exited with {proc.returncode}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(f"{url}/healthz")).status_code == 200:
                    return url
            await asyncio.sleep(0.1)
    raise BenchError(f"the server did not answer within {START_TIMEOUT_S} s")


async def prepared(target: Target) -> tuple[AsyncEngine, str, str]:
    """A fresh copy of the seeded state with a quoted market and a token of user "bench":
    the engine (kept for checks), its URL and the token."""
    engine = await target.fresh()
    async with engine.begin() as conn:
        start = SEEDED_AT - timedelta(minutes=1)
        await conn.execute(
            insert(bars).values(
                symbol=SYMBOL, start=start, open=MARKET, high=MARKET, low=MARKET, close=MARKET,
                volume=Decimal(0),
            )
        )  # fmt: skip
    token = await UserService(SqlStore(engine)).create_token("bench")
    return engine, engine.url.render_as_string(hide_password=False), token


# -- checks -----------------------------------------------------------------------------------


async def order_ids(engine: AsyncEngine, login: int) -> set[str]:
    async with engine.connect() as conn:
        return set(
            (await conn.execute(select(orders.c.id).where(orders.c.login == login))).scalars()
        )


async def until_cancelled(engine: AsyncEngine, login: int, n: int) -> None:
    """Wait until the venue has confirmed the cancel of all ``n`` orders of ``login``."""
    stmt = select(func.count()).where(orders.c.login == login, orders.c.status == "cancelled")
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        async with engine.connect() as conn:
            done = (await conn.execute(stmt)).scalar_one()
        if done == n:
            return
        if time.monotonic() > deadline:
            raise BenchError(f"{done} of {n} orders of {login} cancelled after {RUN_TIMEOUT_S} s")
        await asyncio.sleep(0.02)


def check_answer(body: Any, want: set[str], what: str) -> None:
    ids = body.get("orderIds") if isinstance(body, dict) else None
    if body.get("success") is not True or not isinstance(ids, list):
        raise BenchError(f"{what}: not a success: {str(body)[:300]}")
    if len(ids) != len(want) or set(ids) != want:
        raise BenchError(f"{what}: {len(ids)} ids answered, not the {len(want)} orders expected")


async def check_done(engine: AsyncEngine, n: int) -> None:
    """What measure_engine checks: N cancelled with 4 events each, the others untouched."""
    await base._check(engine, n, ("cancelled", 4), ("cancelled", 4))
    steps = await base._events(engine, LOGIN)
    want = {"submitted": n, "working": n, "pending_cancel": n, "cancelled": n}
    if steps != want:
        raise BenchError(f"order events of account {LOGIN}: expected {want}, got {steps}")


# -- clients ----------------------------------------------------------------------------------


class Rpc:
    """A CrossTrade WebSocket client: rpc frames out, answers (``{"id": ...}``) matched to
    them; pushed frames (``{"type": ...}``: order updates) are counted and skipped undecoded."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.pending: dict[str, asyncio.Future[tuple[float, Any]]] = {}
        self.pushed = 0
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            at = time.perf_counter()
            if message[:6] not in ('{"id":', b'{"id":'):
                self.pushed += 1
                continue
            frame = orjson.loads(message)
            future = self.pending.pop(str(frame.get("id")), None)
            if future is None:
                raise BenchError(f"unexpected frame {str(frame)[:300]}")
            future.set_result((at, frame))

    async def call(self, rid: str, api: str, args: dict[str, Any]) -> tuple[float, Any]:
        """Seconds until the answer was received, and the answer's ``data``."""
        future = asyncio.get_running_loop().create_future()
        self.pending[rid] = future
        frame = {"action": "rpc", "id": rid, "api": api, "args": args}
        start = time.perf_counter()
        await self.ws.send(orjson.dumps(frame).decode())
        at, answer = await asyncio.wait_for(asyncio.shield(future), RUN_TIMEOUT_S)
        if "data" not in answer:
            raise BenchError(f"{api} {args}: {str(answer)[:300]}")
        return at - start, answer["data"]

    async def close(self) -> None:
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)
        await self.ws.close()


@contextlib.asynccontextmanager
async def rpc_client(url: str, token: str, compression: str | None) -> AsyncIterator[Rpc]:
    ws = await connect(
        url.replace("http://", "ws://") + "/ws/stream",
        additional_headers={"Authorization": f"Bearer {token}"},
        max_size=None,  # a 100k cancel answers 3.5 MB in one frame (the default limit: 1 MiB)
        compression=compression,
        proxy=None,
    )
    rpc = Rpc(ws)
    try:
        yield rpc
    finally:
        await rpc.close()


# -- measurements -----------------------------------------------------------------------------


@dataclass
class Options:
    compression: str | None = None
    rpc_requests: int = 10_000
    in_flight: int = 100
    order_cache: bool = True


async def measure_http(target: Target, n: int, options: Options) -> tuple[float, float]:
    """Seconds until the whole HTTP answer was received, and to decode it (json.loads)."""
    engine, url, token = await prepared(target)
    try:
        want = await order_ids(engine, LOGIN)
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            served(url) as server,
            httpx.AsyncClient(
                base_url=server, headers=headers, timeout=RUN_TIMEOUT_S, trust_env=False
            ) as client,
        ):
            warm = await client.post(CANCEL.format(account=ACCOUNTS[WARM]), json={})
            check_answer(warm.json(), await order_ids(engine, WARM), "HTTP warm-up")
            await until_cancelled(engine, WARM, WARM_ORDERS)
            gc.collect()
            start = time.perf_counter()
            response = await client.post(CANCEL.format(account=ACCOUNTS[LOGIN]), json={})
            elapsed = time.perf_counter() - start
            body = json.loads(response.content)
            decode = time.perf_counter() - start - elapsed
            if response.status_code != 200:
                raise BenchError(f"HTTP {response.status_code}: {response.text[:300]}")
            check_answer(body, want, "HTTP cancel")
            await until_cancelled(engine, LOGIN, n)
        await check_done(engine, n)
    finally:
        await engine.dispose()
    return elapsed, decode


async def measure_ws(target: Target, n: int, options: Options) -> tuple[float, int]:
    """Seconds until the CancelOrders rpc result was received, and how many pushed frames
    (order updates) arrived before it."""
    engine, url, token = await prepared(target)
    try:
        want = await order_ids(engine, LOGIN)
        async with served(url) as server, rpc_client(server, token, options.compression) as rpc:
            _, warm = await rpc.call("warm", "CancelOrders", {"account": ACCOUNTS[WARM]})
            check_answer(warm, await order_ids(engine, WARM), "WS warm-up")
            await until_cancelled(engine, WARM, WARM_ORDERS)
            gc.collect()
            pushed = rpc.pushed
            elapsed, data = await rpc.call("cancel", "CancelOrders", {"account": ACCOUNTS[LOGIN]})
            pushed = rpc.pushed - pushed
            check_answer(data, want, "WS cancel")
            await until_cancelled(engine, LOGIN, n)
        await check_done(engine, n)
    finally:
        await engine.dispose()
    return elapsed, pushed


# What each timed rpc must answer: the order asked for, working; the market's quote.
RPC_CHECKS = {
    "GetOrder": lambda data, args: (
        data.get("orderId") == args["orderId"] and data.get("orderState") == "Working"
    ),
    "GetQuote": lambda data, args: (
        data.get("instrument") == args["instrument"] and data.get("bid") == MARKET
    ),
}
Args = Callable[[int], dict[str, Any]]  # the args of the i-th request


async def rpc_load(
    rpc: Rpc, api: str, args: Args, requests: int, in_flight: int
) -> tuple[list[float], float]:
    """``requests`` rpcs ``api``, ``in_flight`` at a time: each one's seconds, and the wall
    time of them all."""
    latencies: list[float] = []
    numbers = itertools.count()
    label = f"{api}-{in_flight}-{time.monotonic_ns()}"

    async def worker() -> None:
        while (i := next(numbers)) < requests:
            sent = args(i)
            took, data = await rpc.call(f"{label}-{i}", api, sent)
            if not RPC_CHECKS[api](data, sent):
                raise BenchError(f"{api} answered {str(data)[:300]}")
            latencies.append(took)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return latencies, time.perf_counter() - start


def percentiles(latencies: list[float], wall: float) -> dict[str, float]:
    ms = sorted(x * 1000 for x in latencies)
    cut = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "requests": len(ms),
        "p50_ms": round(cut[49], 3),
        "p90_ms": round(cut[89], 3),
        "p99_ms": round(cut[98], 3),
        "max_ms": round(ms[-1], 3),
        "per_s": round(len(ms) / wall),
    }


async def measure_rpc(target: Target, n: int, options: Options) -> list[dict[str, Any]]:
    """Round trips on one connection, 1 in flight (up to 1000 requests), then
    ``options.in_flight`` (``options.rpc_requests``): ``GetOrder`` of one order and
    ``GetQuote`` after a warm-up; "GetOrder cold", without one, asks for a different order
    each time (as many as there are; past that they repeat, and the row says so)."""
    engine, url, token = await prepared(target)
    found = []
    try:
        ids = sorted(await order_ids(engine, LOGIN))
        hot, rest = ids[0], ids[1:]
        account = ACCOUNTS[LOGIN]
        total, flight = options.rpc_requests, options.in_flight
        single_n, loaded_n = min(total, 1000), total
        calls: dict[str, tuple[str, Args, bool, Args]] = {
            "GetOrder": ("GetOrder", lambda i: {"account": account, "orderId": hot}, True,
                         lambda i: {"account": account, "orderId": hot}),
            "GetOrder cold": ("GetOrder",
                              lambda i: {"account": account, "orderId": rest[i % len(rest)]},
                              False,
                              lambda i: {"account": account,
                                         "orderId": rest[(single_n + i) % len(rest)]}),
            "GetQuote": ("GetQuote", lambda i: {"instrument": SYMBOL}, True,
                         lambda i: {"instrument": SYMBOL}),
        }  # fmt: skip
        async with (
            served(url, options.order_cache) as server,
            rpc_client(server, token, options.compression) as rpc,
        ):
            for name, (api, first, warm, then) in calls.items():
                if warm:
                    await rpc_load(rpc, api, first, min(total, 2000), flight)
                single = await rpc_load(rpc, api, first, single_n, 1)
                loaded = await rpc_load(rpc, api, then, loaded_n, flight)
                found.append(
                    {
                        "db": target.name,
                        "api": name,
                        "order_cache": options.order_cache,
                        "distinct_orders": min(len(rest), single_n + loaded_n) if not warm else 1,
                        "in_flight_1": percentiles(*single),
                        f"in_flight_{flight}": percentiles(*loaded),
                    }
                )
        await base._check(engine, n, ("working", 2), ("working", 2))  # read-only: unchanged
    finally:
        await engine.dispose()
    return found


def encode_ids(n: int) -> float:
    """Seconds to render ``{"orderIds": [N ids], "success": true}`` as the server does."""
    body = {"orderIds": [f"{i:032x}" for i in range(n)], "success": True}
    start = time.perf_counter()
    dumps(body)
    return time.perf_counter() - start


@dataclass
class Result:
    """One database and size: every run's milliseconds, per measurement."""

    db: str
    orders: int
    bare_ms: list[float] = field(default_factory=list)
    engine_ms: list[float] = field(default_factory=list)
    http_ms: list[float] = field(default_factory=list)
    ws_ms: list[float] = field(default_factory=list)
    http_decode_ms: list[float] = field(default_factory=list)
    ws_pushed_before_answer: list[int] = field(default_factory=list)
    ids_encode_ms: list[float] = field(default_factory=list)

    def median(self, name: str) -> float:
        samples = getattr(self, name)
        return statistics.median(samples) if samples else float("nan")

    def ratio(self, name: str) -> float:
        return self.median(name) / self.median("bare_ms")

    def summary(self) -> dict[str, Any]:
        medians = {
            f"median_{k}": round(self.median(k), 2) for k in asdict(self) if k.endswith("_ms")
        }
        ratios = {f"{k}_over_bare": round(self.ratio(f"{k}_ms"), 2) for k in ("http", "ws")}
        return {**asdict(self), **medians, **ratios}


async def bench_size(target: Target, n: int, repeat: int, options: Options) -> Result:
    started = time.perf_counter()
    await target.seed(n)
    log(f"{target.name}: seeded {n} orders in {time.perf_counter() - started:.1f} s")
    result = Result(target.name, n)
    for _ in range(repeat):  # interleaved, so that noise falls on all alike
        bare = await base._fresh_run(target, measure_bare, n)
        returned, _ = await base._fresh_run(target, measure_engine, n)
        async with asyncio.timeout(RUN_TIMEOUT_S + START_TIMEOUT_S):
            http, decode = await measure_http(target, n, options)
            ws, pushed = await measure_ws(target, n, options)
        result.bare_ms.append(round(bare * 1000, 3))
        result.engine_ms.append(round(returned * 1000, 3))
        result.http_ms.append(round(http * 1000, 3))
        result.http_decode_ms.append(round(decode * 1000, 3))
        result.ws_ms.append(round(ws * 1000, 3))
        result.ws_pushed_before_answer.append(pushed)
        result.ids_encode_ms.append(round(encode_ids(n) * 1000, 3))
    return result


# -- output -----------------------------------------------------------------------------------

HEADER = (
    "db",
    "orders",
    "bare UPDATE ms",
    "engine ms",
    "HTTP ms",
    "HTTP / bare",
    "WS rpc ms",
    "WS / bare",
    "ids JSON encode ms",
    "client json.loads ms",
)


def table_row(r: Result) -> str:
    return (
        f"| {r.db} | {r.orders:,} | {r.median('bare_ms'):.1f} | {r.median('engine_ms'):.1f}"
        f" | {r.median('http_ms'):.1f} | {r.ratio('http_ms'):.2f}x | {r.median('ws_ms'):.1f}"
        f" | {r.ratio('ws_ms'):.2f}x | {r.median('ids_encode_ms'):.1f}"
        f" | {r.median('http_decode_ms'):.1f} |"
    )


def rpc_rows(rpc: dict[str, Any]) -> list[str]:
    return [
        f"| {rpc['db']} | {rpc['api']} | {key.removeprefix('in_flight_')} | {p['requests']:,}"
        f" | {p['p50_ms']:.2f} | {p['p90_ms']:.2f} | {p['p99_ms']:.2f} | {p['max_ms']:.2f}"
        f" | {p['per_s']:,} |"
        for key, p in rpc.items()
        if key.startswith("in_flight_")
    ]


def verdicts(
    results: list[Result], rpcs: list[dict[str, Any]], flight: int
) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured value and whether it is met."""
    found = []
    for r in results:
        for way in ("http", "ws"):
            if r.orders == 10_000:
                value = r.ratio(f"{way}_ms")
                found.append(
                    {"target": f"{r.db} {way} 10k <= {TARGET_RATIO}x bare", "value": value,
                     "met": value <= TARGET_RATIO}
                )  # fmt: skip
            if r.orders == 100_000 and r.db == "sqlite":
                value = r.median(f"{way}_ms") / 1000
                found.append(
                    {"target": f"{r.db} {way} 100k < {TARGET_100K_S} s", "value": value,
                     "met": value < TARGET_100K_S}
                )  # fmt: skip
    for rpc in rpcs:
        if rpc["api"] != "GetOrder":
            continue  # the target is set on GetOrder; the others show the database and the ceiling
        value = rpc[f"in_flight_{flight}"]["p99_ms"]
        found.append(
            {"target": f"{rpc['db']} ws GetOrder p99 < {TARGET_P99_MS} ms, {flight} in flight",
             "value": value, "met": value < TARGET_P99_MS}
        )  # fmt: skip
    return found


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated order counts")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the median is shown")
    parser.add_argument("--rpc-requests", type=int, default=10_000, help="GetOrder rpcs to time")
    parser.add_argument("--in-flight", type=int, default=100, help="rpcs in flight at once")
    parser.add_argument(
        "--ws-compression", action="store_true", help="offer permessage-deflate (default: off)"
    )
    parser.add_argument("--quick", action="store_true", help="1k and 10k, 1 run, 2k rpcs")
    parser.add_argument(
        "--rpc-only", action="store_true", help="only the rpc round trips, on the last size"
    )
    parser.add_argument(
        "--no-order-cache",
        action="store_true",
        help="serve with ORDERGATE_ORDER_CACHE=false (every GetOrder reads the database)",
    )
    parser.add_argument("--budget", type=float, default=1800, help="seconds before giving up")
    parser.add_argument("--pg-url", default=base.PG_URL, help="admin URL of the PostgreSQL server")
    parser.add_argument("--json", action="store_true", help="JSON on stdout, table on stderr")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.repeat, args.rpc_requests = "1000,10000", 1, 2000
    check_sizes(parser, args)
    if not 1 <= args.in_flight <= 100 or args.rpc_requests < args.in_flight:
        parser.error("--in-flight must be 1..100 (the server's limit per connection)")
    return args


async def bench_target(
    target: Target,
    args: argparse.Namespace,
    options: Options,
    results: list[Result],
    emit: Callable[[str], None],
) -> list[dict[str, Any]]:
    """Every size on ``target`` (each added to ``results`` and shown), then the rpc load on
    the last size's state (with ``--rpc-only``, only that): the rpc measurements."""
    last = args.sizes[-1]
    if args.rpc_only:
        await target.seed(last)
        return await measure_rpc(target, last, options)
    for n in args.sizes:
        results.append(await bench_size(target, n, args.repeat, options))
        emit(table_row(results[-1]))
    # The last size's seeded state is still there: the rpc load on it.
    return await measure_rpc(target, last, options)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    options = Options(
        "deflate" if args.ws_compression else None,
        args.rpc_requests,
        args.in_flight,
        not args.no_order_cache,
    )
    skipped: dict[str, str] = {}
    chosen = await targets(args, skipped)
    stream = sys.stderr if args.json else sys.stdout

    def emit(line: str) -> None:
        print(line, file=stream, flush=True)

    about = machine({t.name: t.version() for t in chosen})
    about |= {p: f"{p} {metadata.version(p)}" for p in SERVER_PACKAGES}
    shown = (*base.VERSIONS, *SERVER_PACKAGES)
    emit(f"{about['cpus']} CPUs, " + ", ".join(v for k, v in about.items() if k in shown))
    if not args.rpc_only:
        emit(f"bulk cancel, medians of {args.repeat} runs, each on a fresh copy of the state")
        emit("| " + " | ".join(HEADER) + " |")
        emit("|" + "---|" * len(HEADER))
    results: list[Result] = []
    rpcs: list[dict[str, Any]] = []
    for target in chosen:
        try:
            rpcs += await bench_target(target, args, options, results, emit)
        finally:
            await target.close()
    cache = "off" if args.no_order_cache else "on"
    emit(f"\nWebSocket rpc round trip, one connection, order cache {cache}")
    emit("| db | api | in flight | requests | p50 ms | p90 ms | p99 ms | max ms | rpc/s |")
    emit("|---|---|---|---|---|---|---|---|---|")
    for rpc in rpcs:
        for line in rpc_rows(rpc):
            emit(line)
    found = verdicts(results, rpcs, args.in_flight)
    emit("")
    for v in found:
        emit(f"target {v['target']}: {v['value']:.2f} -> {'met' if v['met'] else 'NOT met'}")
    for db, reason in skipped.items():
        emit(f"{db}: skipped: {reason}")
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "repeat": args.repeat,
        "ws_compression": options.compression,
        "machine": about,
        "results": [r.summary() for r in results],
        "rpc": rpcs,
        "targets": found,
        "skipped": skipped,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    async def bounded() -> dict[str, Any]:
        async with asyncio.timeout(args.budget):
            return await run(args)

    try:
        report = asyncio.run(bounded())
    except BenchError as exc:
        log(f"benchmark invalid: {exc}")
        return 1
    except TimeoutError:
        log(f"benchmark stopped: over its budget of {args.budget:.0f} s")
        return 1
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
