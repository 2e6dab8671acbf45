"""The server on a real uvicorn at 127.0.0.1 as ``ordergate serve`` runs it, and raw HTTP/1.1
on a socket for clients that do what httpx would not (misbehave, pipeline, stall)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from ordergate.api.app import create_app
from ordergate.api.limits import redact_server_logs, uvicorn_options
from tests.api.crosstrade.conftest import Server, free_port

__all__ = ["read_answer", "request_head", "serving"]


@asynccontextmanager
async def serving(server: Server, log_level: str = "info", **overrides: Any) -> AsyncIterator[int]:
    """``server`` on uvicorn at 127.0.0.1 as ``ordergate serve`` runs it: its port."""
    redact_server_logs()
    options = {**uvicorn_options(server.container.settings), **overrides}
    config = uvicorn.Config(
        create_app(container=server.container),
        host="127.0.0.1",
        port=free_port(),
        log_level=log_level,
        log_config=None,
        lifespan="off",
        **options,
    )
    running = uvicorn.Server(config)
    task = asyncio.create_task(running.serve())
    while not running.started:
        await asyncio.sleep(0.01)
    try:
        yield config.port
    finally:
        running.should_exit = True
        await task


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], Any]:
    """Status, headers and JSON body of one HTTP/1.1 answer."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {
        k.strip().lower(): v.strip()
        for k, _, v in (line.partition(":") for line in lines[1:] if line)
    }
    body = await reader.readexactly(int(headers["content-length"]))
    return status, headers, json.loads(body)


def request_head(method: str, path: str, length: int, **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
