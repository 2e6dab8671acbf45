"""Crash consistency: a real ``ordergate serve`` killed with SIGKILL at random points, then
restarted and checked, on SQLite and on PostgreSQL.

Two scenarios:

- **cancel**: N working limit orders of account 1001 (the benches' seeding); the CrossTrade
  bulk cancel ``POST /v1/api/accounts/Sim101/orders/cancel``; SIGKILL a random delay after
  it was sent. The first kill point waits until the cancel is answered and the venue has
  confirmed it (so it kills a server at rest, and measures how long the work takes); the
  others draw their delay from 0 to 1.25 times that, and a random venue (cancel delay 0 or
  20 ms, 0 or 10% of cancels refused). Each kill point starts from a fresh copy of the seed.
- **stream**: four clients place orders on account 1001 as fast as they are answered, through
  both dialects (CrossTrade market and limit orders, ScaleTrade ``/trade/open`` and
  ``/trade/open/pending``), while the synthetic feed (a step every 20 ms) moves the market
  and fills them; a random venue (acknowledgement 0/5/20 ms, fill report 0/20 ms later,
  partial fills or not); SIGKILL after a random delay. The kill points follow one another on
  one database: each server recovers what the previous one left.

After each kill the database is checked as the crash left it (``checks.py``); every
``again_every``-th kill point then starts the server again and kills it during its start-up
and recovery, and checks again. Last, ordergate is bootstrapped in process on the database
with recovery (what a restarted server does), the venue settles, and everything is checked
again, the venue's book included.

``python -m tests.resilience.crash --help``. The short form runs in ``make test``
(``tests/resilience/test_crash.py``); figures in ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from ordergate.auth.users import UserService
from ordergate.store import SqlStore
from tests.resilience import checks
from tests.resilience.clients import CANCEL, PASSWORD, TIMEOUT_S, Acked, Stream
from tests.resilience.harness import LOGIN, PgTarget, Server, SqliteTarget, Target, prepared

__all__ = ["Point", "Run", "main", "run_cancel", "run_stream"]

DEFAULT_PG_URL = os.environ.get(
    "ORDERGATE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


@dataclass
class Point:
    """One kill point: when it killed, what it found."""

    index: int
    kill_s: float | None  # after the request (cancel) or the stream's start; None: when done
    again_s: float | None  # the second kill, this long after the restarted server was spawned
    venue: dict[str, str]
    stage: str = ""  # what the kill interrupted
    acked: int = 0  # orders acknowledged before the kill (stream)
    in_flight: int = 0  # orders submitted, pending_cancel or pending_change at the kill (stream)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Run:
    """One scenario on one database."""

    scenario: str
    db: str
    orders: int
    points: list[Point] = field(default_factory=list)
    seconds: float = 0.0
    window_s: float = 0.0  # the kill delays are drawn from up to this
    fills: int = 0

    @property
    def problems(self) -> list[str]:
        return [
            f"{self.db} {self.scenario} #{p.index}: {x}" for p in self.points for x in p.problems
        ]


def _venue(rng: random.Random, choices: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {f"ORDERGATE_SIM_{k}": rng.choice(v) for k, v in choices.items()}


CANCEL_VENUES = {"CANCEL_DELAY_MS": ("0", "0", "20"), "CANCEL_REFUSAL_PCT": ("0", "0", "10")}
STREAM_VENUES = {
    "ACK_DELAY_MS": ("0", "5", "20"),
    "FILL_DELAY_MS": ("0", "20"),
    "PARTIAL_FILLS": ("false", "true"),
}


async def _answer(request: asyncio.Task[httpx.Response]) -> list[str] | None:
    """The ids a bulk cancel answered, or None if the kill came first."""
    try:
        response = await asyncio.wait_for(request, TIMEOUT_S)
    except httpx.HTTPError:
        return None
    body = response.json()
    if response.status_code != 200 or body.get("success") is not True:
        raise RuntimeError(
            f"the bulk cancel answered {response.status_code}: {response.text[:300]}"
        )
    return list(body["orderIds"])


async def _kill_again(url: str, env: dict[str, str], after_s: float) -> None:
    """Start the server again and SIGKILL it ``after_s`` later (in its start-up or recovery)."""
    server = Server(url, env)
    try:
        await server.spawn()
        await asyncio.sleep(after_s)
    finally:
        await server.kill()
        server.close()


async def cancel_point(target: Target, n: int, point: Point) -> tuple[float, float]:
    """Run one kill point of the cancel scenario: seconds until the server was ready, and
    until it was killed after the request."""
    engine, url, token = await prepared(target)
    env = {"ORDERGATE_MARKET_SOURCE": "none", **point.venue}
    try:
        seeded = await checks.order_ids(engine)
        server = Server(url, env)
        try:
            started = time.monotonic()
            base_url = await server.start()
            ready = time.monotonic() - started
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(
                base_url=base_url, headers=headers, timeout=TIMEOUT_S, trust_env=False
            ) as client:
                sent = time.monotonic()
                request = asyncio.create_task(client.post(CANCEL, json={}))
                if point.kill_s is None:
                    await asyncio.wait_for(asyncio.shield(request), TIMEOUT_S)
                    await checks.until_confirmed(engine)
                else:
                    await asyncio.sleep(point.kill_s)
                took = time.monotonic() - sent
                await server.kill()
                answered = await _answer(request)
        except BaseException:
            print(server.output(), file=sys.stderr)
            raise
        finally:
            await server.kill()
            server.close()
        point.problems, point.stage = await checks.cancel_after_crash(engine, n, answered, seeded)
        if answered is not None:
            point.stage += " (answered)"
        if point.again_s is not None:
            await _kill_again(url, env, point.again_s)
            again, _ = await checks.cancel_after_crash(engine, n, None, seeded)
            point.problems += [f"after the second kill: {p}" for p in again]
        refusals = point.venue.get("ORDERGATE_SIM_CANCEL_REFUSAL_PCT", "0") != "0"
        point.problems += await checks.cancel_after_restart(url, engine, n, refusals)
    finally:
        await engine.dispose()
    return ready, took


def _again(index: int, every: int) -> bool:
    return every > 0 and index % every == every - 1


def _again_window(ready: float, work: float) -> tuple[float, float]:
    """When to kill a restarted server: from half its start-up time (the first half is
    Python importing, before it opens the database) to ``work`` seconds after it was ready."""
    return 0.5 * ready, ready + 1.25 * work


async def run_cancel(
    target: Target,
    n: int,
    kills: int,
    *,
    seed: int = 1,
    again_every: int = 3,
    budget_s: float = 1e9,
) -> Run:
    """The cancel scenario: ``kills`` kill points (fewer if ``budget_s`` runs out; at least
    the first), each on a fresh copy of ``n`` seeded orders."""
    started = time.monotonic()
    run = Run("cancel", target.name, n)
    rng = random.Random(seed)
    await target.seed(n)
    again_window = (0.0, 0.0)
    for i in range(kills):
        if i and time.monotonic() - started > budget_s:
            break
        first = i == 0
        point = Point(
            index=i,
            kill_s=None if first else round(rng.uniform(0, run.window_s), 4),
            again_s=round(rng.uniform(*again_window), 4) if _again(i, again_every) else None,
            venue={} if first else _venue(rng, CANCEL_VENUES),
        )
        at = time.monotonic()
        ready, took = await cancel_point(target, n, point)
        point.seconds = time.monotonic() - at
        if first:
            run.window_s = 1.25 * took
            again_window = _again_window(ready, took)
        run.points.append(point)
    run.seconds = time.monotonic() - started
    return run


async def stream_point(
    url: str, engine: AsyncEngine, token: str, point: Point, acked: Acked, seed: int
) -> float:
    """One kill point of the stream scenario; seconds until the server was ready."""
    env = {
        "ORDERGATE_MARKET_SOURCE": "synthetic",
        "ORDERGATE_MARKET_INTERVAL_MS": "20",
        "ORDERGATE_MARKET_SEED": str(seed),
        **point.venue,
    }
    server = Server(url, env)
    before = len(acked)
    try:
        started = time.monotonic()
        base_url = await server.start()
        ready = time.monotonic() - started
        placing = asyncio.Event()
        clients = asyncio.create_task(Stream(base_url, token, seed, acked).run(placing))
        waiting = asyncio.create_task(placing.wait())
        try:  # the kill's clock starts once the clients are signed in and placing
            await asyncio.wait(
                {clients, waiting}, timeout=TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiting.cancel()
        await asyncio.wait({clients}, timeout=point.kill_s)
        await server.kill()
        await asyncio.wait_for(clients, TIMEOUT_S)
    except BaseException:
        print(server.output(), file=sys.stderr)
        raise
    finally:
        await server.kill()
        server.close()
    point.acked = len(acked) - before
    found = await checks.statuses(engine, LOGIN)
    point.in_flight = sum(c for s, c in found.items() if s in checks.PENDING)
    point.stage = "orders in flight" if point.in_flight else "none in flight"
    point.problems = await checks.stream_after_crash(engine, acked)
    if point.again_s is not None:
        await _kill_again(url, env, point.again_s)
        again = await checks.stream_after_crash(engine, acked)
        point.problems += [f"after the second kill: {p}" for p in again]
    ended = await checks.ended(engine)
    point.problems += await checks.stream_after_restart(url, engine, acked, ended)
    return ready


async def run_stream(
    target: Target,
    kills: int,
    *,
    seed: int = 1,
    again_every: int = 3,
    stream_s: float = 1.0,
    budget_s: float = 1e9,
) -> Run:
    """The stream scenario: ``kills`` kill points one after another on one database, each
    a random 0.05 to ``stream_s`` seconds into the stream (fewer if ``budget_s`` runs out)."""
    started = time.monotonic()
    run = Run("stream", target.name, 0, window_s=stream_s)
    rng = random.Random(seed)
    await target.seed(0)
    engine, url, token = await prepared(target)
    acked = Acked()
    try:
        await UserService(SqlStore(engine)).set_account_password(LOGIN, PASSWORD)
        again_window = (0.0, 0.0)
        for i in range(kills):
            if i and time.monotonic() - started > budget_s:
                break
            point = Point(
                index=i,
                kill_s=round(rng.uniform(0.05, stream_s), 4),
                again_s=round(rng.uniform(*again_window), 4) if _again(i, again_every) else None,
                venue=_venue(rng, STREAM_VENUES),
            )
            at = time.monotonic()
            ready = await stream_point(url, engine, token, point, acked, seed * 1000 + i)
            point.seconds = time.monotonic() - at
            if i == 0:
                again_window = _again_window(ready, 0.5)
            run.points.append(point)
        run.orders = len(acked)
        run.fills = await checks.count_fills(engine, LOGIN)
        if acked.refused:
            run.points[-1].problems += [f"answered {k} ({c}x)" for k, c in acked.refused.items()]
    finally:
        await engine.dispose()
    run.seconds = time.monotonic() - started
    return run


# -- the long form ----------------------------------------------------------------------------


def summary(run: Run) -> dict[str, Any]:
    stages = Counter(p.stage or "none pending" for p in run.points)
    return {
        "scenario": run.scenario,
        "db": run.db,
        "orders": run.orders,
        "kill_points": len(run.points),
        "second_kills": sum(p.again_s is not None for p in run.points),
        "window_s": round(run.window_s, 3),
        "stages": dict(stages.most_common()),
        "fills": run.fills,
        "in_flight_at_kills": sum(p.in_flight for p in run.points),
        "seconds": round(run.seconds, 1),
        "problems": run.problems,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.resilience.crash", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--scenario", choices=("cancel", "stream", "both"), default="both")
    parser.add_argument("--kills", type=int, default=200, help="kill points per scenario and db")
    parser.add_argument("--orders", type=int, default=100_000, help="orders the cancel cancels")
    parser.add_argument("--stream-s", type=float, default=2.0, help="longest stream before a kill")
    parser.add_argument("--again-every", type=int, default=3, help="every k-th point kills twice")
    parser.add_argument("--budget", type=float, default=3600, help="seconds for the whole run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL server (admin URL)")
    parser.add_argument("--json", action="store_true", help="JSON on stdout")
    args = parser.parse_args(argv)
    if args.kills < 1 or args.orders < 1 or args.stream_s <= 0.05 or args.budget <= 0:
        parser.error("--kills, --orders, --budget must be positive, --stream-s above 0.05")
    return args


async def _run_all(args: argparse.Namespace) -> list[Run]:
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    scenarios = ["cancel", "stream"] if args.scenario == "both" else [args.scenario]
    jobs = [(db, s) for db in dbs for s in scenarios]
    started, runs = time.monotonic(), []
    for k, (db, scenario) in enumerate(jobs):
        share = (args.budget - (time.monotonic() - started)) / (len(jobs) - k)
        target: Target = SqliteTarget() if db == "sqlite" else PgTarget(args.pg_url)
        try:
            if scenario == "cancel":
                run = await run_cancel(
                    target, args.orders, args.kills, seed=args.seed,
                    again_every=args.again_every, budget_s=share,
                )  # fmt: skip
            else:
                run = await run_stream(
                    target, args.kills, seed=args.seed, again_every=args.again_every,
                    stream_s=args.stream_s, budget_s=share,
                )  # fmt: skip
        finally:
            await target.close()
        runs.append(run)
        print(_line(summary(run)), file=sys.stderr, flush=True)
    return runs


def _line(s: dict[str, Any]) -> str:
    stages = "; ".join(f"{k}: {v}" for k, v in s["stages"].items())
    return (
        f"{s['db']:<10} {s['scenario']:<6} {s['kill_points']} kill points "
        f"({s['second_kills']} killed twice), {s['orders']} orders, {s['fills']} fills, "
        f"window {s['window_s']} s, {s['seconds']} s; at the kill: {stages}; "
        f"{len(s['problems'])} problems" + "".join(f"\n  {p}" for p in s["problems"][:50])
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runs = asyncio.run(_run_all(args))
    if args.json:
        print(json.dumps({"args": vars(args), "runs": [summary(r) for r in runs]}, indent=2))
    return 1 if any(r.problems for r in runs) else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
