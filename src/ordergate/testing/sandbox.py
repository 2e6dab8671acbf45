"""A real ordergate server for a bot's tests, with the world under the test's control.

``Sandbox`` starts the server as ``ordergate serve`` runs it (uvicorn, the whole stack) on a
free port at 127.0.0.1, over a new SQLite database holding the demo data (users ``demo`` and
``admin``, accounts Sim101/Sim102, the demo instruments and resting orders), in a thread of
its own with its own event loop, so that a plain ``def test_...`` can drive it. The server's
clock is a test clock: time, and with it fills after a delay, expiries, session closes and
every timer, moves only when the test calls ``advance``. Quotes come only from the test
(``quote``, ``price_path``); the venue misbehaves on demand (``faults``).

    with Sandbox(tmp_path) as box:
        box.crosstrade.place_order("Sim101", "ES", "Buy", 1, "Limit", limit_price=5990)
        box.quote("ES 03-26", "5989.75", "5990.00")     # crosses: the order fills
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

import uvicorn

from ordergate.api.app import create_app
from ordergate.api.limits import redact_server_logs, uvicorn_options
from ordergate.auth.webhooks import Webhooks, webhook_url
from ordergate.bootstrap import Container, administration, bootstrap, close_administration, shutdown
from ordergate.client import AdminClient, CrossTradeClient, ScaleTradeClient
from ordergate.client._http import Json, Number
from ordergate.client.admin import quote as quote_body
from ordergate.demo import (
    ADMIN_USER,
    DEMO_ACCOUNTS,
    DEMO_USER,
    MANAGER_USER,
    issue_demo_token,
    seed_demo,
)
from ordergate.domain.clock import ManualClock
from ordergate.settings import Settings
from ordergate.store import sqlite_url

__all__ = ["DEFAULT_START", "Sandbox"]

#: Where the sandbox's clock starts unless told: a Wednesday, 15:00 UTC, when every demo
#: instrument's session is open (the same day for every run, so tests are repeatable).
DEFAULT_START = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
T = TypeVar("T")
_DEMO_PASSWORDS = {a.login: a.password for a in DEMO_ACCOUNTS} | {MANAGER_USER[1]: MANAGER_USER[2]}


class Sandbox:
    """One server for one test. ``start`` is where its clock begins; ``sessions``
    ``"enforce"`` keeps the instruments' trading hours (``"ignore"``: open around the
    clock); ``settings`` overrides any other server setting (``Settings`` field names)."""

    def __init__(
        self,
        directory: Path,
        *,
        start: datetime = DEFAULT_START,
        sessions: Literal["enforce", "ignore"] = "enforce",
        settings: Mapping[str, object] | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.clock = ManualClock(start)
        self.timeout = timeout
        values: dict[str, object] = {
            "database_url": sqlite_url(str(directory / "sandbox.db")),
            "market_source": "none",
            "rate_limit_enabled": False,
            "sim_sessions": sessions,
            "log_level": "warning",
        }
        self.settings = Settings(**{**values, **(settings or {})})  # type: ignore[arg-type]
        self.base_url = ""
        #: bearer token of the demo trader (accounts Sim101 and Sim102)
        self.token = ""
        #: bearer token of the admin user
        self.admin_token = ""
        #: the demo trader's webhook URL (``send_alert``)
        self.webhook_url = ""
        self._hook = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._container: Container | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._clients: list[CrossTradeClient | ScaleTradeClient | AdminClient] = []

    # -- running ---------------------------------------------------------------------------

    def start(self) -> Self:
        """Start the server and wait until it answers."""
        self._thread = threading.Thread(target=self._main, name="ordergate-sandbox", daemon=True)
        self._thread.start()
        if not self._ready.wait(self.timeout):
            raise TimeoutError(f"the sandbox server did not start within {self.timeout} s")
        if self._failure is not None:
            self._thread.join(self.timeout)
            raise RuntimeError("the sandbox server did not start") from self._failure
        return self

    def close(self) -> None:
        """Close the clients, stop the server and shut the engine down."""
        for client in self._clients:
            client.close()
        self._clients.clear()
        server, loop = self._server, self._loop
        if server is not None and loop is not None:
            loop.call_soon_threadsafe(setattr, server, "should_exit", True)
        if self._thread is not None:
            self._thread.join(self.timeout)
        if self._failure is not None:
            raise RuntimeError("the sandbox server failed") from self._failure

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the test's thread by start or close
            self._failure = exc
            self._ready.set()

    async def _seed(self) -> None:
        admin = await administration(self.settings)
        try:
            # The demo's futures and resting orders are those of the sandbox's day.
            admin = dataclasses.replace(admin, clock=self.clock)
            await seed_demo(admin)
            self.token = await issue_demo_token(admin, "sandbox")
            self.admin_token = await admin.users.create_token(ADMIN_USER, "sandbox")
            hook = await Webhooks(admin.users, self.clock).webhook_id(DEMO_USER)
        finally:
            await close_administration(admin)
        self._hook = hook

    async def _serve(self) -> None:
        await self._seed()
        container = await bootstrap(self.settings, clock=self.clock)
        listener = socket.socket()
        try:
            listener.bind(("127.0.0.1", 0))
            port = int(listener.getsockname()[1])
            redact_server_logs()
            config = uvicorn.Config(
                create_app(container=container),
                host="127.0.0.1",
                port=port,
                log_level=self.settings.log_level,
                log_config=None,
                lifespan="off",
                **uvicorn_options(self.settings),
            )
            server = uvicorn.Server(config)
            self._loop, self._container, self._server = (
                asyncio.get_running_loop(),
                container,
                server,
            )
            self.base_url = f"http://127.0.0.1:{port}"
            self.webhook_url = webhook_url(self.base_url, self._hook)
            serving = asyncio.create_task(server.serve(sockets=[listener]))
            while not server.started and not serving.done():
                await asyncio.sleep(0.01)
            self._ready.set()
            await serving
        finally:
            listener.close()
            await shutdown(container)

    def run(self, work: Callable[[Container], Coroutine[Any, Any, T]]) -> T:
        """Run ``work(container)`` on the server's event loop and wait for its result: the
        door to anything the other methods do not offer."""
        loop, container = self._loop, self._container
        if loop is None or container is None:
            raise RuntimeError("the sandbox is not running (use it inside `with` or start())")
        return asyncio.run_coroutine_threadsafe(work(container), loop).result(self.timeout)

    # -- clients ---------------------------------------------------------------------------

    @cached_property
    def crosstrade(self) -> CrossTradeClient:
        """A CrossTrade client with the demo trader's token."""
        client = CrossTradeClient(self.base_url, self.token)
        self._clients.append(client)
        return client

    @cached_property
    def admin(self) -> AdminClient:
        """An admin API client with the admin's token."""
        client = AdminClient(self.base_url, self.admin_token)
        self._clients.append(client)
        return client

    def scaletrade(self, login: int = 1001, password: str | None = None) -> ScaleTradeClient:
        """A ScaleTrade client of ``login``: by default the demo account Sim101 (1001); the
        demo's password of a demo login (Sim102 1002, the manager 900) is filled in."""
        if password is None:
            password = _DEMO_PASSWORDS[login]
        client = ScaleTradeClient(self.base_url, login, password)
        self._clients.append(client)
        return client

    def new_token(self, user: str = DEMO_USER, label: str = "sandbox") -> str:
        """A new bearer token of ``user``."""

        async def create(container: Container) -> str:
            return await container.users.create_token(user, label)

        return self.run(create)

    # -- the world -------------------------------------------------------------------------

    def now(self) -> datetime:
        """The server's time."""
        return self.clock.now()

    def settle(self) -> None:
        """Wait until the venue has answered everything due now and the engine has written
        it: after it, reads show the fills, cancels and expiries up to this moment."""

        async def settle(container: Container) -> None:
            await container.engine.settle()

        self.run(settle)

    def advance(self, seconds: float) -> None:
        """Move the server's clock ``seconds`` on, then ``settle``: what fell due on the way
        (delayed acknowledgements, fills and cancels, expiries, session closes, timers)
        has happened."""

        async def advance(container: Container) -> None:
            self.clock.advance(timedelta(seconds=seconds))
            await container.engine.settle()

        self.run(advance)

    def advance_to(self, when: datetime) -> None:
        """Move the server's clock on to ``when``, then ``settle``."""
        self.advance((when - self.now()).total_seconds())

    def quote(
        self,
        symbol: str,
        bid: Number,
        ask: Number,
        *,
        bid_size: Number | None = None,
        ask_size: Number | None = None,
        last: Number | None = None,
        last_size: Number | None = None,
    ) -> Json:
        """Push a quote through the admin API (resting orders it crosses fill), then
        ``settle``: the instrument's snapshot after it."""
        body = quote_body(
            symbol, bid, ask, bid_size=bid_size, ask_size=ask_size, last=last, last_size=last_size
        )
        snapshots = self.admin.push_quotes([body])
        self.settle()
        return snapshots[0]

    def price_path(
        self,
        symbol: str,
        prices: Iterable[Number],
        *,
        spread: Number | None = None,
        every: float = 0.0,
    ) -> list[Json]:
        """Quote ``symbol`` at each of ``prices`` in turn (the bid; the ask ``spread`` above
        it, one tick by default), moving the clock ``every`` seconds between two: the
        snapshots."""
        width = Decimal(spread) if spread is not None else self._tick(symbol)
        snapshots = []
        for index, price in enumerate(prices):
            if index and every:
                self.advance(every)
            bid = Decimal(price)
            snapshots.append(self.quote(symbol, bid, bid + width))
        return snapshots

    def _tick(self, symbol: str) -> Decimal:
        async def tick(container: Container) -> Decimal:
            instrument = container.market.instrument(symbol)
            if instrument is None:
                raise KeyError(f"no instrument {symbol!r} in the sandbox")
            return instrument.tick_size

        return self.run(tick)

    def faults(
        self,
        symbol: str | None = None,
        *,
        ack_delay_ms: int | None = None,
        fill_delay_ms: int | None = None,
        cancel_delay_ms: int | None = None,
        cancel_refusal_pct: int | None = None,
        partial_fills: bool | None = None,
        market_closed: bool | None = None,
    ) -> None:
        """Make the venue misbehave, for ``symbol`` or for every instrument: acknowledge,
        fill or cancel after a delay (ms on the sandbox clock: ``advance`` to let it pass),
        refuse ``cancel_refusal_pct`` percent of cancels, fill no more than a quote's size,
        or close the market (orders and cancels refused ``MARKET_CLOSED``). Arguments left
        out keep their setting; ``faults(symbol, market_closed=False)`` reopens."""
        changes = {
            name: value
            for name, value in (
                ("ack_delay_ms", ack_delay_ms),
                ("fill_delay_ms", fill_delay_ms),
                ("cancel_delay_ms", cancel_delay_ms),
                ("cancel_refusal_pct", cancel_refusal_pct),
                ("partial_fills", partial_fills),
                ("market_closed", market_closed),
            )
            if value is not None
        }

        async def apply(container: Container) -> None:
            container.venue.config.set(symbol, **changes)

        self.run(apply)

    def wait_for(
        self, condition: Callable[[], T | None], timeout: float = 10.0, interval: float = 0.02
    ) -> T:
        """The first truthy value of ``condition()``, polled until ``timeout`` seconds have
        passed (real time: for a bot running in a thread of its own); ``TimeoutError``."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            time.sleep(interval)
