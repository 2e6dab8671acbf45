"""What the crash suite runs on: seeded databases handed out as fresh copies, and
``ordergate serve`` in a process of its own that can be killed.

The seeding is the benches' (``bench/cancel_orders.py`` seeds N working limit orders of account
1001 "Sim101" in bulk, with their events; ``bench/crosstrade.py`` adds a 1-minute bar at 5000,
so the server's opening quote crosses none of them, and a bearer token of user "bench"),
imported, not copied.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import IO, Protocol

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import cancel_orders
import crosstrade
from ordergate.store import create_engine

__all__ = [
    "LOGIN",
    "OTHERS",
    "SYMBOL",
    "PgTarget",
    "Server",
    "ServerError",
    "SqliteTarget",
    "Target",
    "prepared",
]

LOGIN, SYMBOL = cancel_orders.LOGIN, cancel_orders.SYMBOL
#: The seeded accounts no scenario touches, with their number of working orders.
OTHERS = {
    cancel_orders.OTHER: cancel_orders.OTHER_ORDERS,
    cancel_orders.WARM: cancel_orders.WARM_ORDERS,
}
START_TIMEOUT_S = 180
prepared = crosstrade.prepared
SqliteTarget = cancel_orders.SqliteTarget


class ServerError(Exception):
    """The server did not start, or the harness could not drive it."""


class Target(Protocol):
    """One database kind: seeded once (``seed``), then handed out as fresh copies."""

    name: str

    async def seed(self, n: int) -> None: ...

    async def fresh(self) -> AsyncEngine: ...

    async def close(self) -> None: ...


class PgTarget:
    """Databases of this run's own on a PostgreSQL server (unique names, so that runs beside
    the test suite or the benches do not meet): the seeded state is a template, each fresh
    copy a ``CREATE DATABASE … TEMPLATE`` of it."""

    name = "postgresql"

    def __init__(self, admin_url: str) -> None:
        self._admin_url = admin_url
        stem = f"ordergate_crash_{uuid.uuid4().hex[:10]}"
        self._seed, self._run = f"{stem}_seed", f"{stem}_run"

    def _url(self, database: str) -> str:
        return (
            make_url(self._admin_url).set(database=database).render_as_string(hide_password=False)
        )

    async def _admin(self, *statements: str) -> None:
        engine = create_engine(self._admin_url)
        try:
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                for sql in statements:
                    await conn.execute(text(sql))
        finally:
            await engine.dispose()

    async def seed(self, n: int) -> None:
        await self._admin(
            f'DROP DATABASE IF EXISTS "{self._run}" WITH (FORCE)',
            f'DROP DATABASE IF EXISTS "{self._seed}" WITH (FORCE)',
            f'CREATE DATABASE "{self._seed}"',
        )
        engine = create_engine(self._url(self._seed))
        try:
            await cancel_orders.seed(engine, n)
        finally:
            await engine.dispose()

    async def fresh(self) -> AsyncEngine:
        await self._admin(
            f'DROP DATABASE IF EXISTS "{self._run}" WITH (FORCE)',
            f'CREATE DATABASE "{self._run}" TEMPLATE "{self._seed}"',
        )
        return create_engine(self._url(self._run))

    async def close(self) -> None:
        await self._admin(
            f'DROP DATABASE IF EXISTS "{self._run}" WITH (FORCE)',
            f'DROP DATABASE IF EXISTS "{self._seed}" WITH (FORCE)',
        )


class Server:
    """``ordergate serve --db url`` on a free loopback port in a process of its own, with the
    environment ``env`` adds (rate limit off; ``ORDERGATE_*`` of the caller's not inherited).
    ``kill`` sends SIGKILL: no shutdown code runs, as when the machine loses the process."""

    def __init__(self, url: str, env: dict[str, str]) -> None:
        self.port = crosstrade.free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGATE_")}
        self._env |= {
            "ORDERGATE_RATE_LIMIT_ENABLED": "false",
            "ORDERGATE_LOG_LEVEL": "warning",
            **env,
        }
        self._command = ["-c", "from ordergate.cli import main; main()", "serve", "--db", url]
        self._command += ["--host", "127.0.0.1", "--port", str(self.port)]
        self._proc: asyncio.subprocess.Process | None = None
        self._output: IO[bytes] | None = None

    async def spawn(self) -> None:
        """Start the process (it is not answering yet)."""
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 - closed by kill()
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, *self._command, env=self._env, stdout=self._output, stderr=self._output
        )

    async def ready(self) -> str:
        """Wait until /healthz answers 200 (start-up, recovery included, is done)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            while time.monotonic() < deadline:
                if self._proc is None or self._proc.returncode is not None:
                    raise ServerError(f"the server exited at start:\n{self.output()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{self.base_url}/healthz")).status_code == 200:
                        return self.base_url
                await asyncio.sleep(0.02)
        raise ServerError(f"the server did not answer within {START_TIMEOUT_S} s:\n{self.output()}")

    async def start(self) -> str:
        await self.spawn()
        return await self.ready()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def kill(self) -> None:
        """SIGKILL, and wait until the process is gone."""
        if self._proc is not None:
            if self._proc.returncode is None:
                self._proc.send_signal(signal.SIGKILL)
            await self._proc.wait()

    def output(self) -> str:
        """The last lines the server wrote (for failure messages)."""
        if self._output is None:
            return ""
        self._output.seek(0)
        return self._output.read().decode(errors="replace")[-4000:]

    def close(self) -> None:
        if self._output is not None:
            self._output.close()
            self._output = None
