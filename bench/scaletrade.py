"""ScaleTrade benchmark: group cancel (``DELETE /trade/cancel/group``) end to end, through the
real server, beside the engine and the bare statement.

For each database and each size N, on fresh copies of the state ``cancel_orders.py`` seeds
(N working limit orders of account 1001, 7 of account 2002 that must stay untouched, 20 of
account 3003 for warm-up), it times:

- bare UPDATE and engine ``cancel_orders``: ``cancel_orders.py``'s own measurements;
- HTTP: ``DELETE /trade/cancel/group`` with ``{"login": 1001}`` to ``ordergate serve``
  (``crosstrade.py``'s server: uvicorn, a process of its own, on 127.0.0.1), signed in through
  ``POST /sign/in``, from an httpx client, until the whole answer is received;
- for information, in the bench's process: building the N acknowledgment rows from an
  engine report and encoding the answer as the server does.

Every run is checked: 200 with matched = cancelled = N, failed 0 and one row per order (its
ticket, state 9, login, symbol, cmd and volume); the venue then confirms all N cancels, with
their events, and account 2002's orders and events are untouched.
``python bench/scaletrade.py --help``; results and findings in bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import json
import pkgutil
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from importlib import metadata
from typing import Any, cast

import httpx
import orjson
from fastapi.routing import APIRoute, APIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

import cancel_orders as base
from cancel_orders import (
    LOGIN,
    RUN_TIMEOUT_S,
    SYMBOL,
    WARM,
    WARM_ORDERS,
    BenchError,
    Target,
    bench_main,
    check_sizes,
    log,
    machine,
    measure_bare,
    measure_engine,
    targets,
)
from crosstrade import (
    SERVER_PACKAGES,
    START_TIMEOUT_S,
    TARGET_RATIO,
    check_done,
    prepared,
    served,
    until_cancelled,
)
from ordergate.api import scaletrade
from ordergate.api.scaletrade.wire import ScaleTradeJson, State
from ordergate.auth.users import UserService
from ordergate.domain.commands import CancelOrders
from ordergate.domain.ids import Login, OrderId, Ticket
from ordergate.domain.orders import OrderStatus, OrderType, Side
from ordergate.domain.reports import CancelAccepted, CancelReport
from ordergate.store import SqlStore
from ordergate.store.tables import orders

# Databases of this bench's own, so that it can run beside the other benches.
base.PG_SEED_DB, base.PG_RUN_DB = "ordergate_bench_st_seed", "ordergate_bench_st"

SIGN_IN, CANCEL_GROUP = "/sign/in", "/trade/cancel/group"
PASSWORDS = {LOGIN: "bench-1001", WARM: "bench-3003"}
BODY_KEYS = ["rows", "matched", "cancelled", "failed"]
ROW_KEYS = ["accepted", "order", "state", "login", "symbol", "cmd", "volume"]
CMD = {"buy": 2, "sell": 3}  # BUY_LIMIT, SELL_LIMIT: the seeded orders are limit orders


# -- checks -----------------------------------------------------------------------------------


async def expected_rows(engine: AsyncEngine, login: int) -> dict[int, dict[str, Any]]:
    """The acknowledgment row each order of ``login`` should get, by ticket."""
    stmt = select(orders.c.ticket, orders.c.symbol, orders.c.side, orders.c.quantity).where(
        orders.c.login == login
    )
    async with engine.connect() as conn:
        found = (await conn.execute(stmt)).all()
    return {
        ticket: {
            "accepted": True,
            "order": ticket,
            "state": State.CANCEL_REQUEST,
            "login": login,
            "symbol": symbol,
            "cmd": CMD[side],
            "volume": int(Decimal(quantity) * 100),
        }
        for ticket, symbol, side, quantity in found
    }


def check_answer(response: httpx.Response, body: Any, want: dict[int, dict[str, Any]]) -> None:
    """200, the counts, and exactly one row per expected order, each as expected."""
    what = f"DELETE {CANCEL_GROUP} (login {next(iter(want.values()))['login']})"
    n = len(want)
    if response.status_code != 200 or not isinstance(body, dict):
        raise BenchError(f"{what}: HTTP {response.status_code}: {response.text[:300]}")
    if list(body) != BODY_KEYS:
        raise BenchError(f"{what}: body fields {list(body)}, expected {BODY_KEYS}")
    counts = (body["matched"], body["cancelled"], body["failed"], len(body["rows"]))
    if counts != (n, n, 0, n):
        raise BenchError(f"{what}: matched, cancelled, failed, rows = {counts}; want {n}, {n}, 0")
    for row in body["rows"]:
        if list(row) != ROW_KEYS or want.get(row["order"]) != row:
            raise BenchError(f"{what}: unexpected row {row}")
    if len({row["order"] for row in body["rows"]}) != n:
        raise BenchError(f"{what}: an order is listed twice")


# -- measurements -----------------------------------------------------------------------------


async def sign_in(client: httpx.AsyncClient, login: int) -> dict[str, str]:
    """``POST /sign/in`` as ``login``: the headers of its session."""
    response = await client.post(SIGN_IN, json={"login": login, "password": PASSWORDS[login]})
    token = response.json().get("__token") if response.status_code == 200 else None
    if not isinstance(token, str):
        raise BenchError(f"sign-in of {login}: HTTP {response.status_code}: {response.text[:300]}")
    return {"Authorization": f"Bearer {token}"}


async def cancel_group(
    client: httpx.AsyncClient, login: int, headers: dict[str, str]
) -> httpx.Response:
    return await client.request("DELETE", CANCEL_GROUP, json={"login": login}, headers=headers)


async def measure_http(target: Target, n: int) -> tuple[float, float]:
    """Seconds until the whole answer of the group cancel was received, and to decode it."""
    engine, url, _ = await prepared(target)
    try:
        users = UserService(SqlStore(engine))
        for login, password in PASSWORDS.items():
            await users.set_account_password(login, password)
        want, warm_want = await expected_rows(engine, LOGIN), await expected_rows(engine, WARM)
        async with (
            served(url) as server,
            httpx.AsyncClient(base_url=server, timeout=RUN_TIMEOUT_S, trust_env=False) as client,
        ):
            mine, warm_headers = await sign_in(client, LOGIN), await sign_in(client, WARM)
            warm = await cancel_group(client, WARM, warm_headers)
            check_answer(warm, warm.json(), warm_want)
            await until_cancelled(engine, WARM, WARM_ORDERS)
            gc.collect()
            start = time.perf_counter()
            response = await cancel_group(client, LOGIN, mine)
            elapsed = time.perf_counter() - start
            body = json.loads(response.content)
            decode = time.perf_counter() - start - elapsed
            check_answer(response, body, want)
            await until_cancelled(engine, LOGIN, n)
        await check_done(engine, n)
    finally:
        await engine.dispose()
    return elapsed, decode


def cancel_group_endpoint() -> Callable[..., Awaitable[Response]]:
    """The server's own ``DELETE /trade/cancel/group`` handler, wherever the dialect keeps it."""
    for info in pkgutil.iter_modules(scaletrade.__path__, f"{scaletrade.__name__}."):
        router = getattr(importlib.import_module(info.name), "router", None)
        for route in router.routes if isinstance(router, APIRouter) else ():
            if (
                isinstance(route, APIRoute)
                and route.path == CANCEL_GROUP
                and "DELETE" in (route.methods or ())
            ):
                return cast(Callable[..., Awaitable[Response]], route.endpoint)
    raise BenchError(f"no DELETE {CANCEL_GROUP} route in the ScaleTrade dialect")


@dataclass
class _Engine:
    report: CancelReport

    async def cancel_orders(self, principal: Any, command: CancelOrders) -> CancelReport:
        return self.report


@dataclass
class _Session:
    engine: _Engine
    principal: Any = None


async def route_in_process(n: int) -> tuple[float, float]:
    """Seconds the route's own code takes for an engine report of N accepted orders (the
    engine stubbed: the body read, the N rows, the JSON), and to encode that answer alone."""
    # The shapes of the seeded orders: buy and sell limits of 1 to 5 lots.
    accepted = tuple(
        CancelAccepted(
            OrderId(f"{i:032x}"),
            Ticket(100_000 + i),
            Login(LOGIN),
            SYMBOL,
            Side.BUY if i % 2 == 0 else Side.SELL,
            OrderType.LIMIT,
            Decimal(1 + i % 5),
            Decimal(1 + i % 5),
            OrderStatus.WORKING,
        )
        for i in range(n)
    )

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b'{"login": %d}' % LOGIN, "more_body": False}

    scope = {"type": "http", "method": "DELETE", "path": CANCEL_GROUP, "headers": []}
    endpoint = cancel_group_endpoint()
    gc.collect()
    start = time.perf_counter()
    response = await endpoint(Request(scope, receive), _Session(_Engine(CancelReport(accepted))))
    elapsed = time.perf_counter() - start
    body = orjson.loads(bytes(response.body))
    if response.status_code != 200 or (body["cancelled"], len(body["rows"])) != (n, n):
        raise BenchError(f"the route in process answered {response.status_code}: {body}"[:300])
    start = time.perf_counter()
    ScaleTradeJson(body)
    return elapsed, time.perf_counter() - start


@dataclass
class Result:
    """One database and size: every run's milliseconds, per measurement."""

    db: str
    orders: int
    bare_ms: list[float] = field(default_factory=list)
    engine_ms: list[float] = field(default_factory=list)
    http_ms: list[float] = field(default_factory=list)
    http_decode_ms: list[float] = field(default_factory=list)
    route_ms: list[float] = field(default_factory=list)
    json_encode_ms: list[float] = field(default_factory=list)

    def median(self, name: str) -> float:
        samples = getattr(self, name)
        return statistics.median(samples) if samples else float("nan")

    def ratio(self, name: str) -> float:
        return self.median(name) / self.median("bare_ms")

    def summary(self) -> dict[str, Any]:
        medians = {
            f"median_{k}": round(self.median(k), 2) for k in asdict(self) if k.endswith("_ms")
        }
        ratios = {f"{k}_over_bare": round(self.ratio(f"{k}_ms"), 2) for k in ("engine", "http")}
        return {**asdict(self), **medians, **ratios}


async def bench_size(target: Target, n: int, repeat: int) -> Result:
    started = time.perf_counter()
    await target.seed(n)
    log(f"{target.name}: seeded {n} orders in {time.perf_counter() - started:.1f} s")
    result = Result(target.name, n)
    for _ in range(repeat):  # interleaved, so that noise falls on all alike
        bare = await base._fresh_run(target, measure_bare, n)
        returned, _ = await base._fresh_run(target, measure_engine, n)
        async with asyncio.timeout(RUN_TIMEOUT_S + START_TIMEOUT_S):
            http, decode = await measure_http(target, n)
        route, encoded = await route_in_process(n)
        result.bare_ms.append(round(bare * 1000, 3))
        result.engine_ms.append(round(returned * 1000, 3))
        result.http_ms.append(round(http * 1000, 3))
        result.http_decode_ms.append(round(decode * 1000, 3))
        result.route_ms.append(round(route * 1000, 3))
        result.json_encode_ms.append(round(encoded * 1000, 3))
    return result


# -- output -----------------------------------------------------------------------------------

HEADER = (
    "db",
    "orders",
    "bare UPDATE ms",
    "engine ms",
    "engine / bare",
    "HTTP ms",
    "HTTP / bare",
    "route in process ms",
    "of which JSON encode ms",
    "client json.loads ms",
)


def table_row(r: Result) -> str:
    return (
        f"| {r.db} | {r.orders:,} | {r.median('bare_ms'):.1f} | {r.median('engine_ms'):.1f}"
        f" | {r.ratio('engine_ms'):.2f}x | {r.median('http_ms'):.1f} | {r.ratio('http_ms'):.2f}x"
        f" | {r.median('route_ms'):.1f} | {r.median('json_encode_ms'):.1f}"
        f" | {r.median('http_decode_ms'):.1f} |"
    )


def verdicts(results: list[Result]) -> list[dict[str, Any]]:
    """The issue's target (HTTP within 3x the bare statement at 10k and 100k), per row."""
    return [
        {
            "target": f"{r.db} {r.orders:,} HTTP <= {TARGET_RATIO}x bare",
            "value": r.ratio("http_ms"),
            "met": r.ratio("http_ms") <= TARGET_RATIO,
        }
        for r in results
        if r.orders in (10_000, 100_000)
    ]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated order counts")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the median is shown")
    parser.add_argument("--quick", action="store_true", help="1k and 10k, 1 run")
    parser.add_argument("--budget", type=float, default=1800, help="seconds before giving up")
    parser.add_argument("--pg-url", default=base.PG_URL, help="admin URL of the PostgreSQL server")
    parser.add_argument("--json", action="store_true", help="JSON on stdout, table on stderr")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.repeat = "1000,10000", 1
    check_sizes(parser, args)
    return args


async def run(args: argparse.Namespace) -> dict[str, Any]:
    try:
        async with asyncio.timeout(args.budget):
            return await _run(args)
    except TimeoutError:
        raise BenchError(f"over its budget of {args.budget:.0f} s") from None


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    skipped: dict[str, str] = {}
    chosen = await targets(args, skipped)
    stream = sys.stderr if args.json else sys.stdout

    def emit(line: str) -> None:
        print(line, file=stream, flush=True)

    about = machine({t.name: t.version() for t in chosen})
    about |= {p: f"{p} {metadata.version(p)}" for p in SERVER_PACKAGES}
    shown = (*base.VERSIONS, *SERVER_PACKAGES)
    emit(f"{about['cpus']} CPUs, " + ", ".join(v for k, v in about.items() if k in shown))
    emit(f"group cancel, medians of {args.repeat} runs, each on a fresh copy of the seeded state")
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
    found = verdicts(results)
    for v in found:
        emit(f"target {v['target']}: {v['value']:.2f} -> {'met' if v['met'] else 'NOT met'}")
    for db, reason in skipped.items():
        emit(f"{db}: skipped: {reason}")
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "repeat": args.repeat,
        "machine": about,
        "results": [r.summary() for r in results],
        "targets": found,
        "skipped": skipped,
    }


def main(argv: Sequence[str] | None = None) -> int:
    return bench_main(parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
