"""A CrossTrade server for the tests: a seeded database on SQLite and PostgreSQL, the demo
users' tokens, an in-process client, and a real uvicorn on loopback."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

import httpx
import pytest
import uvicorn

from ordergate.api.app import create_app
from ordergate.bootstrap import Container, bootstrap, shutdown
from ordergate.domain.clock import ManualClock
from ordergate.domain.contracts import front_months
from ordergate.domain.instruments import Instrument
from ordergate.domain.principal import Role
from ordergate.settings import Settings
from ordergate.store import SqlStore, create_engine
from ordergate.venue.base import Quote
from tests.builders import account, es, eurusd
from tests.conformance import conformance_hook

D = Decimal
T = TypeVar("T")


@dataclass
class Server:
    container: Container
    token: str  # user demo: accounts Sim101 (1001) and Sim102 (1002)
    other_token: str  # user other: account Other (2002)
    admin_token: str
    client: httpx.AsyncClient  # in-process

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    @property
    def clock(self) -> ManualClock:
        """The server's clock: time stands still until a test moves it."""
        clock = self.container.clock
        assert isinstance(clock, ManualClock)
        return clock

    async def advance(self, seconds: float) -> None:
        """Move the clock by ``seconds``, then let the venue answer what fell due and the
        engine journal it."""
        self.clock.advance(timedelta(seconds=seconds))
        await self.container.engine.settle()

    async def run_until_done(self, task: asyncio.Task[T], step: float, within: float) -> T:
        """``task``'s result, moving the clock ``step`` seconds at a time while it runs (the
        venue answers, and the waits of a request fall due, as time passes), the clock never
        more than ``within`` seconds further (a venue delay beyond it stays owed)."""
        moved = 0.0
        while not task.done():
            await asyncio.sleep(0.01)  # the request reaches its next wait
            if task.done():
                break
            assert moved + step < within, f"still running after {moved} s on the clock"
            await self.advance(step)
            moved += step
        return await task


def mes() -> Instrument:
    return Instrument(
        symbol="MES 12-25",
        tick_size=D("0.25"),
        point_value=D("5"),
        digits=2,
        lot_min=D("1"),
        lot_max=D("1000"),
        lot_step=D("1"),
    )


async def _seed(url: str) -> None:
    store = SqlStore(create_engine(url))  # migrated already (the db_url fixture)
    try:
        async with store.transaction() as tx:
            symbols = ["ES 09-26", "ES 12-26", "ES 03-27"]
            # The live ES contracts too, whatever the day: the aliases (ES1!) resolve to them.
            live = [m.symbol("ES") for m in front_months(datetime.now(UTC).date(), 2)]
            symbols += [s for s in live if s not in symbols]
            for instrument in (mes(), *(es(s) for s in symbols), es("NQ 12-26"), eurusd()):
                await tx.accounts.add_instrument(instrument)
            await tx.commit()
    finally:
        await store.engine.dispose()


def ct_settings(db_url: str, **kw: object) -> Settings:
    values: dict[str, object] = {
        "database_url": db_url,
        "market_source": "none",
        "rate_limit_enabled": False,
    }
    values.update(kw)
    return Settings(**values)  # type: ignore[arg-type]


async def start(db_url: str, **settings: object) -> Server:
    """Seed the database, bootstrap a container on it and give it users and accounts."""
    await _seed(db_url)
    # A manual clock: the venue's delays, expiries and the requests' waits for the venue
    # come only as the test moves it (Server.advance).
    container = await bootstrap(
        ct_settings(db_url, **settings), clock=ManualClock(datetime.now(UTC))
    )
    demo = await container.users.add_user("demo", Role.TRADER, ("demo",))
    other = await container.users.add_user("other", Role.TRADER, ("other",))
    await container.users.add_user("root", Role.ADMIN)
    async with container.store.transaction() as tx:
        await tx.accounts.add(account(1001, "Sim101", owner=demo.id))
        await tx.accounts.add(account(1002, "Sim102", owner=demo.id))
        await tx.accounts.add(account(2002, "Other", owner=other.id, group="other"))
        await tx.commit()
    for symbol, bid in (
        ("MES 12-25", "6000.00"),
        ("ES 09-26", "6000.00"),
        ("ES 12-26", "6000.00"),
        ("ES 03-27", "6010.00"),
        ("NQ 12-26", "21000.00"),
        ("EURUSD", "1.10000"),
    ):
        tick = D("0.25") if " " in symbol else D("0.00002")
        container.market.push(Quote(symbol, D(bid), D(bid) + tick, container.clock.now()))
    app = create_app(container=container)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        event_hooks={"response": [conformance_hook]},  # every answer fits its documentation
    )
    return Server(
        container,
        await container.users.create_token("demo"),
        await container.users.create_token("other"),
        await container.users.create_token("root"),
        client,
    )


@pytest.fixture
async def ct(db_url: str, store: SqlStore) -> AsyncIterator[Server]:
    """The server on an empty database (``store`` empties PostgreSQL's between tests)."""
    server = await start(db_url)
    yield server
    await server.client.aclose()
    await shutdown(server.container)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def live(ct: Server) -> AsyncIterator[str]:
    """The same server on a real uvicorn at 127.0.0.1: its base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(container=ct.container),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
