"""Placements and cancels on many accounts at once, through CrossTrade HTTP on a real uvicorn,
with a venue that acknowledges late and refuses 30 % of cancels: the short form of the
500 requests/s run. Every request is answered in the dialect's form (never a 5xx), nothing
fails in the engine, and once the venue has answered everything no order is left submitted
or pending, the journal holds every rule and the venue's book is the resting orders.

The load runs on real time (the venue's delays are what makes the commands race); the
assertions are about consistency only, so a slow machine sends fewer requests, not a
failure.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal

import httpx
import pytest
import uvicorn

from ordergate.api.app import create_app
from ordergate.bootstrap import Container, bootstrap, shutdown
from ordergate.domain.orders import OrderStatus
from ordergate.domain.principal import Role
from ordergate.settings import Settings
from ordergate.store import SqlStore
from ordergate.venue.base import Quote
from tests.builders import account, es
from tests.invariants import memory_drift, violations

D = Decimal
ACCOUNTS = 8
RATE = 500  # requests per second
SECONDS = 4.0
IN_FLIGHT = 64
CANCEL_SHARE = 0.4
PENDING = {OrderStatus.SUBMITTED, OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_CHANGE}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Load:
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    working: dict[str, list[str]] = field(default_factory=dict)  # account -> placed ids
    sent: int = 0


@pytest.fixture
async def server(db_url: str, store: SqlStore) -> AsyncIterator[tuple[Container, str, str]]:
    settings = Settings(
        database_url=db_url,
        market_source="none",
        rate_limit_enabled=False,
        sim_ack_delay_ms=200,
        sim_cancel_refusal_pct=30,
    )
    container = await bootstrap(settings)
    user = await container.users.add_user("load", Role.TRADER, ())
    async with container.store.transaction() as tx:
        await tx.accounts.add_instrument(es())
        for i in range(ACCOUNTS):
            await tx.accounts.add(account(3001 + i, f"Load{i}", owner=user.id))
        await tx.commit()
    container.venue.load_instruments([es()])
    container.market.add_instruments([es()])
    now = container.clock.now()
    container.market.push(Quote("ES 12-26", D("6000.00"), D("6000.25"), now))
    token = await container.users.create_token("load")
    config = uvicorn.Config(
        create_app(container=container),
        host="127.0.0.1",
        port=_free_port(),
        log_level="warning",
        lifespan="off",
        # The client reuses its connections; a server closing one it found idle (uvicorn's
        # default is after 5 s, which a busy machine reaches mid-run) races the client's
        # next request on it and the client reads nothing (httpx.ReadError).
        timeout_keep_alive=120,
    )
    web = uvicorn.Server(config)
    task = asyncio.create_task(web.serve())
    while not web.started:
        await asyncio.sleep(0.01)
    try:
        yield container, f"http://127.0.0.1:{config.port}", token
    finally:
        web.should_exit = True
        await task
        await shutdown(container)


async def _one(client: httpx.AsyncClient, load: Load, rng: random.Random) -> None:
    name = f"Load{rng.randrange(ACCOUNTS)}"
    placed = load.working.setdefault(name, [])
    if placed and rng.random() < CANCEL_SHARE:
        order_id = placed.pop(rng.randrange(len(placed)))
        response = await client.post(f"/v1/api/accounts/{name}/orders/{order_id}/cancel", json={})
    else:
        price = D("5900.00") - D("0.25") * rng.randrange(200)
        body = {
            "instrument": "ES 12-26",
            "action": "BUY",  # under the market: they rest
            "quantity": 1,
            "orderType": "LIMIT",
            "limitPrice": str(price),
            "timeInForce": "GTC",
        }
        response = await client.post(f"/v1/api/accounts/{name}/orders/place", json=body)
        if response.status_code == 200:
            placed.append(response.json()["orderId"])
    load.statuses[response.status_code] += 1
    if response.status_code != 200:
        body = response.json()  # the dialect's error form, or this raises
        if response.status_code >= 500 or body.get("success") is not False:
            load.errors.append(f"{response.status_code} {response.text[:200]}")


async def _drive(base_url: str, token: str) -> Load:
    """Send at RATE for SECONDS on a schedule (open loop), at most IN_FLIGHT at once."""
    load, rng = Load(), random.Random(18)
    gate = asyncio.Semaphore(IN_FLIGHT)
    limits = httpx.Limits(max_connections=IN_FLIGHT)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=30
    ) as client:

        async def send() -> None:
            async with gate:
                await _one(client, load, rng)

        tasks = []
        start = time.monotonic()
        while (elapsed := time.monotonic() - start) < SECONDS:
            due = int(elapsed * RATE) - load.sent
            for _ in range(max(due, 0)):
                load.sent += 1
                tasks.append(asyncio.create_task(send()))
            await asyncio.sleep(0.002)
        await asyncio.gather(*tasks)
    return load


async def _answered_everything(container: Container, timeout_s: float = 30) -> list[str]:
    """Wait until no order is pending (the venue answered all); what is still pending."""
    deadline = time.monotonic() + timeout_s
    while True:
        pending = [o for o in container.engine.state.all_open() if o.status in PENDING]
        if not pending or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    await container.engine.writer.idle()
    return [f"order {o.key} left {o.status}" for o in pending]


async def test_placements_and_cancels_on_many_accounts_leave_nothing_stuck(
    server: tuple[Container, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    container, base_url, token = server
    caplog.set_level(logging.WARNING, logger="ordergate")

    load = await _drive(base_url, token)

    assert load.errors == []
    assert load.statuses[200] > load.sent * 0.9, load.statuses
    assert await _answered_everything(container) == []
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures == []
    assert not container.engine.writer.stopped
    store = container.store
    assert await violations(store, container.venue, container.engine) == []
    assert await memory_drift(store, container.engine) == []
