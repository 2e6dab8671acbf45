"""Load: placements and cancels at a fixed rate on loopback, through either dialect.

An open-loop client sends requests on a fixed schedule (``--rate`` a second for ``--seconds``)
whatever the answers do, and times each from when it was due, so that a slow server shows as
latency, not as fewer requests. Most requests place a resting limit order; ``--cancel-share``
of them cancel one the client placed earlier. Beside it the client asks ``/healthz`` ten times
a second, reads the server's resident memory from /proc, and times a small durable write of
its own ten times a second (how the disk answers fsync during the run: a durable commit waits
for it, however idle the server). The server is ``ordergate serve``
in its own process on a copy of the seeded database (``--seed-orders`` resting orders in it
first, e.g. 1,000,000 for the memory bound), with durable commits as configured by default.

    .venv/bin/python bench/load.py --db sqlite --rate 2000 --seconds 20
    .venv/bin/python bench/load.py --db postgresql --dialect scaletrade --rate 1000
    .venv/bin/python bench/load.py --db sqlite --seed-orders 1000000 --rate 200 --seconds 10

Targets (issue 6): 2,000 placements a second sustained with p99 under 50 ms, and the server's
resident memory under 500 MB with 1M orders in the database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvloop
from sqlalchemy import update

import cancel_orders as base
from cancel_orders import LOGIN, SYMBOL, BenchError, bench_main, log, targets
from crosstrade import percentiles, prepared, served
from ordergate.auth.users import UserService
from ordergate.store import SqlStore
from ordergate.store.tables import accounts

base.PG_SEED_DB, base.PG_RUN_DB = "ordergate_bench_load_seed", "ordergate_bench_load"

PASSWORD = "bench-password"  # noqa: S105 - the bench account's, on a throwaway database
TARGET_RATE, TARGET_P99_MS, TARGET_RSS_MB = 2000, 50.0, 500.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
FUNDS = Decimal(10) ** 10  # the balance column holds up to about 9.2e10 (8 decimals)


@dataclass
class Tally:
    """What the client saw: latencies by kind, statuses, health and memory samples."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {"place": [], "cancel": []})
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    health_ms: list[float] = field(default_factory=list)
    health_failures: int = 0
    rss_mb: list[float] = field(default_factory=list)
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds over the run, by process
    placed: list[Any] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)  # the first few error answers
    by_second: dict[int, list[float]] = field(default_factory=dict)  # latencies by second due
    start: float = 0.0
    steal_share: float = 0.0  # of the machine's CPU time over the run, taken by the host
    fsync_s: list[float] = field(default_factory=list)  # the disk probe's (``disk``)


class Dialect:
    """How to place and cancel through one dialect."""

    def __init__(self, name: str, base_url: str, token: str) -> None:
        self.name = name
        self.url = base_url
        bearer = f"Bearer {token}" if name == "crosstrade" else token
        self.headers = {"Authorization": bearer}

    def place(self, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        price = Decimal(4950) + Decimal(rng.randint(0, 160)) * Decimal("0.25")  # below 5000
        if self.name == "crosstrade":
            body = {
                "instrument": SYMBOL,
                "action": "Buy",
                "quantity": 1,
                "orderType": "Limit",
                "limitPrice": float(price),
                "timeInForce": "Gtc",
            }
            return "POST", "/v1/api/accounts/Sim101/orders/place", body
        body = {"login": LOGIN, "cmd": 2, "volume": 100, "symbol": SYMBOL}
        body["open_price"] = float(price)
        return "POST", "/trade/open/pending", body

    def placed(self, answer: dict[str, Any]) -> Any:
        return answer.get("orderId") if self.name == "crosstrade" else answer.get("order")

    def cancel(self, ref: Any) -> tuple[str, str, dict[str, Any]]:
        if self.name == "crosstrade":
            return "POST", f"/v1/api/accounts/Sim101/orders/{ref}/cancel", {}
        return "DELETE", "/trade/cancel", {"order": ref}


class Connection:
    """One keep-alive HTTP/1.1 connection, one request at a time, with as little client work
    as a request can take (httpx costs the client about a millisecond a request, which on a
    2-core machine shared with the server is the bottleneck well before 2,000/s)."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        fixed = {"Host": f"{host}:{port}", "Content-Type": "application/json", **headers}
        self.headers = "".join(f"{k}: {v}\r\n" for k, v in fixed.items()).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.reader, self.writer
        try:
            writer.write(
                b"%s %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s"
                % (method.encode(), path.encode(), self.headers, len(body), body)
            )
            head = (await reader.readuntil(b"\r\n\r\n")).lower()
            status = int(head[9:12])
            at = head.find(b"content-length:")
            length = int(head[at + 15 : head.index(b"\r\n", at)]) if at >= 0 else 0
            answer = await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.close()
            raise
        if b"connection: close" in head:
            self.close()
        return status, answer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def worker(
    conn: Connection,
    due_times: asyncio.Queue[float | None],
    dialect: Dialect,
    tally: Tally,
    rng: random.Random,
    cancel_share: float,
) -> None:
    """Send each request when it is taken off the queue; its latency counts from when it
    was due, so that time spent waiting for a free connection is counted too."""
    while (due := await due_times.get()) is not None:
        kind = "cancel" if rng.random() < cancel_share and tally.placed else "place"
        if kind == "cancel":
            ref = tally.placed.pop(rng.randrange(len(tally.placed)))
            method, path, body = dialect.cancel(ref)
        else:
            method, path, body = dialect.place(rng)
        try:
            status, answer = await conn.request(method, path, orjson.dumps(body))
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            tally.errors[type(exc).__name__] += 1
            continue
        latency = time.perf_counter() - due
        tally.latencies[kind].append(latency)
        tally.by_second.setdefault(int(due - tally.start), []).append(latency)
        tally.statuses[(kind, status)] += 1
        if status >= 400 and len(tally.samples) < 5:
            tally.samples.append(f"{kind} {status} {answer[:200]!r}")
        if kind == "place" and status == 200:
            ref = dialect.placed(orjson.loads(answer))
            if ref is not None:
                tally.placed.append(ref)
    conn.close()


async def health(client: httpx.AsyncClient, tally: Tally, until: float) -> None:
    while time.perf_counter() < until:
        started = time.perf_counter()
        try:
            ok = (await client.get("/healthz", timeout=5)).status_code == 200
        except httpx.HTTPError:
            ok = False
        tally.health_ms.append((time.perf_counter() - started) * 1000)
        tally.health_failures += not ok
        await asyncio.sleep(0.1)


def _write_and_sync(fd: int, block: bytes) -> float:
    started = time.perf_counter()
    os.write(fd, block)
    os.fsync(fd)
    return time.perf_counter() - started


async def disk(tally: Tally, until: float) -> None:
    """Time a 4 KiB write and its fsync ten times a second, on a thread, in the temporary
    directory (where the bench's database is): how the disk answers durable writes beside
    the server's, which wait as long as it takes."""
    fd, path = tempfile.mkstemp(prefix="ordergate-fsync-")
    block = b"\0" * 4096
    try:
        while time.perf_counter() < until:
            tally.fsync_s.append(await asyncio.to_thread(_write_and_sync, fd, block))
            await asyncio.sleep(0.1)
    finally:
        os.close(fd)
        os.unlink(path)


def server_pid(port: int) -> int | None:
    """The ``ordergate serve`` process listening on ``port`` (Linux /proc)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            args = (proc / "cmdline").read_bytes().split(b"\0")
            if b"serve" in args and str(port).encode() in args:
                return int(proc.name)
    return None


def cpu_s(pid: int, thread: int | None = None) -> float:
    """CPU time (user + system) the process has used so far, in seconds: all its threads,
    or only ``thread`` (its main thread, the event loop's, is ``pid``)."""
    where = f"/proc/{pid}" if thread is None else f"/proc/{pid}/task/{thread}"
    fields = Path(f"{where}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_times() -> tuple[int, int]:
    """The machine's CPU time so far in ticks, all of it and the hypervisor's steal (time
    a virtual CPU was ready to run but the host ran something else), from /proc/stat."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields[:8]), fields[7]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def memory(pid: int, tally: Tally, until: float) -> None:
    while time.perf_counter() < until:
        with contextlib.suppress(OSError):
            tally.rss_mb.append(rss_mb(pid))
        await asyncio.sleep(0.5)


async def drive(url: str, dialect: Dialect, args: argparse.Namespace) -> Tally:
    tally = Tally()
    rng = random.Random(args.random_seed)
    host, port = url.removeprefix("http://").rsplit(":", 1)
    pid = server_pid(int(port))
    if pid is None:
        raise BenchError(f"no server process found on port {port}")
    tally.rss_mb.append(rss_mb(pid))
    due_times: asyncio.Queue[float | None] = asyncio.Queue()
    async with httpx.AsyncClient(base_url=url, timeout=5, trust_env=False) as probe:
        server_cpu, loop_cpu, client_cpu = cpu_s(pid), cpu_s(pid, pid), time.process_time()
        machine = machine_times()
        start = tally.start = time.perf_counter()
        until = start + args.seconds
        watchers = [
            asyncio.create_task(health(probe, tally, until)),
            asyncio.create_task(memory(pid, tally, until)),
            asyncio.create_task(disk(tally, until)),
        ]
        workers = [
            asyncio.create_task(
                worker(
                    Connection(host, int(port), dialect.headers),
                    due_times,
                    dialect,
                    tally,
                    rng,
                    args.cancel_share,
                )
            )
            for _ in range(args.connections)
        ]
        interval = 1 / args.rate
        for i in range(int(args.rate * args.seconds)):
            due = start + i * interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            due_times.put_nowait(due)
        for _ in workers:
            due_times.put_nowait(None)
        await asyncio.gather(*workers)
        wall = time.perf_counter() - start
        tally.cpu_s = {
            "server": cpu_s(pid) - server_cpu,
            "server's event loop thread": cpu_s(pid, pid) - loop_cpu,
            "client": time.process_time() - client_cpu,
        }
        total, steal = (now - then for now, then in zip(machine_times(), machine, strict=True))
        tally.steal_share = steal / max(1, total)
        await asyncio.gather(*watchers)
    tally.rss_mb.append(rss_mb(pid))
    args.wall = wall
    return tally


async def session_token(url: str) -> str:
    async with httpx.AsyncClient(base_url=url, trust_env=False) as client:
        answer = await client.post("/sign/in", json={"login": LOGIN, "password": PASSWORD})
        if answer.status_code != 200:
            raise BenchError(f"sign-in answered {answer.status_code}: {answer.text}")
        return str(answer.json()["__token"])


def report(db: str, args: argparse.Namespace, tally: Tally) -> dict[str, Any]:
    wall = args.wall
    out: dict[str, Any] = {
        "db": db,
        "dialect": args.dialect,
        "rate": args.rate,
        "seconds": args.seconds,
        "seed_orders": args.seed_orders,
        "wall_s": round(wall, 2),
        "statuses": {f"{k} {s}": n for (k, s), n in sorted(tally.statuses.items()) if n},
        "errors": dict(tally.errors),
        "error_samples": tally.samples,
        "health_max_ms": round(max(tally.health_ms, default=float("nan")), 1),
        "health_failures": tally.health_failures,
        "rss_mb_start": round(tally.rss_mb[0], 1),
        # Share of one core, and CPU milliseconds per request answered.
        "cpu": {
            who: {
                "core_share": round(used / wall, 2),
                "ms_per_request": round(1000 * used / max(1, sum(tally.statuses.values())), 3),
            }
            for who, used in tally.cpu_s.items()
        },
        "rss_mb_max": round(max(tally.rss_mb), 1),
        "steal_share": round(tally.steal_share, 3),
        "fsync_ms": percentiles(tally.fsync_s, wall) if len(tally.fsync_s) >= 2 else None,
    }
    for kind, samples in tally.latencies.items():
        if len(samples) >= 2:
            out[kind] = percentiles(samples, wall)
    # Each second of the run (by when its requests were due): requests, p99 and max in ms.
    out["by_second"] = [
        [
            second,
            len(ms),
            round(sorted(ms)[int(0.99 * (len(ms) - 1))] * 1000, 1),
            round(max(ms) * 1000, 1),
        ]
        for second, ms in sorted(tally.by_second.items())
    ]
    return out


def _machine_notes(out: dict[str, Any]) -> str:
    """What the machine did to a run that missed the target: a disk that held an fsync as
    long as the target (every durable commit waits for the disk), or the host's steal."""
    notes = []
    disk = out.get("fsync_ms")
    if disk and disk["max_ms"] >= TARGET_P99_MS:
        notes.append(f"the disk's slowest fsync beside it took {disk['max_ms']:.0f} ms")
    if out["steal_share"] >= 0.03:
        notes.append(f"the host's steal was {out['steal_share']:.0%}")
    return f" ({'; '.join(notes)})" if notes else ""


def verdict(out: dict[str, Any]) -> list[str]:
    lines = []
    place = out.get("place")
    if place is not None and out["rate"] >= TARGET_RATE:
        ok = place["per_s"] >= TARGET_RATE * 0.95 and place["p99_ms"] < TARGET_P99_MS
        lines.append(
            f"target {out['db']} {out['dialect']}: {TARGET_RATE} placements/s, p99 < "
            f"{TARGET_P99_MS:.0f} ms: {place['per_s']}/s, p99 {place['p99_ms']} ms -> "
            f"{'met' if ok else 'NOT met'}{'' if ok else _machine_notes(out)}"
        )
    if out["seed_orders"] >= 1_000_000:
        ok = out["rss_mb_max"] < TARGET_RSS_MB
        lines.append(
            f"target {out['db']}: RSS < {TARGET_RSS_MB:.0f} MB with {out['seed_orders']:,} orders: "
            f"{out['rss_mb_max']} MB -> {'met' if ok else 'NOT met'}"
        )
    return lines


async def run(args: argparse.Namespace) -> dict[str, Any]:
    skipped: dict[str, str] = {}
    results = []
    for target in await targets(args, skipped):
        try:
            started = time.perf_counter()
            await target.seed(args.seed_orders)
            took = time.perf_counter() - started
            log(f"{target.name}: seeded {args.seed_orders} orders in {took:.1f} s")
            engine, url, token = await prepared(target)
            async with engine.begin() as conn:
                # Margin for the seeded orders and every one the run places: the run measures
                # placements, not refusals (the seed's balance covers a bulk cancel's orders).
                await conn.execute(
                    update(accounts).where(accounts.c.login == LOGIN).values(balance=FUNDS)
                )
            if args.dialect == "scaletrade":
                await UserService(SqlStore(engine)).set_account_password(LOGIN, PASSWORD)
            await engine.dispose()
            async with served(url) as base_url:
                if args.dialect == "scaletrade":
                    token = await session_token(base_url)
                tally = await drive(base_url, Dialect(args.dialect, base_url, token), args)
            out = report(target.name, args, tally)
            results.append(out)
            log(_table(out))
            for line in verdict(out):
                log(line)
        finally:
            await target.close()
    return {"skipped": skipped, "results": results}


def _table(out: dict[str, Any]) -> str:
    lines = [f"{out['db']} {out['dialect']}: {out['rate']}/s for {out['seconds']} s "
             f"({out['seed_orders']:,} orders seeded), wall {out['wall_s']} s"]  # fmt: skip
    for kind in ("place", "cancel"):
        p = out.get(kind)
        if p:
            lines.append(
                f"  {kind}: {p['requests']} done, {p['per_s']}/s, p50 {p['p50_ms']} ms, "
                f"p99 {p['p99_ms']} ms, max {p['max_ms']} ms"
            )
    lines.append(f"  statuses {out['statuses']}, errors {out['errors']}")
    lines.extend(f"  e.g. {sample}" for sample in out["error_samples"][:3])
    lines.append(
        f"  health max {out['health_max_ms']} ms, failures {out['health_failures']}; "
        f"RSS {out['rss_mb_start']} -> max {out['rss_mb_max']} MB"
    )
    lines.extend(
        f"  {who} CPU {c['core_share']:.0%} of a core, {c['ms_per_request']} ms a request"
        for who, c in out["cpu"].items()
    )
    lines.append(f"  the host's steal: {out['steal_share']:.1%} of the machine's CPU time")
    if out["fsync_ms"]:
        f = out["fsync_ms"]
        lines.append(
            f"  the disk: a 4 KiB write and fsync beside the server, p50 {f['p50_ms']} ms, "
            f"p99 {f['p99_ms']} ms, max {f['max_ms']} ms ({f['requests']} of them)"
        )
    seconds = " ".join(f"{p99:.0f}" for _, _, p99, _ in out["by_second"])
    lines.append(f"  p99 by second (ms): {seconds}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--dialect", choices=("crosstrade", "scaletrade"), default="crosstrade")
    parser.add_argument("--rate", type=float, default=500, help="requests a second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--cancel-share", type=float, default=0.2)
    parser.add_argument("--seed-orders", type=int, default=0, help="resting orders seeded first")
    parser.add_argument("--connections", type=int, default=128)
    parser.add_argument("--random-seed", type=int, default=1)
    parser.add_argument("--pg-url", default=base.PG_URL)
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


if __name__ == "__main__":
    # The client's loop is uvloop's, as the server's is: the client shares the two cores
    # with the server, and the standard loop would spend more of them on its own bookkeeping.
    uvloop.install()
    sys.exit(bench_main(parse_args(), run))
