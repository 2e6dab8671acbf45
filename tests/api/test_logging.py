"""Log lines through a real uvicorn: ``ORDERGATE_LOG_FORMAT=json`` gives one JSON object per
line (uvicorn's, the app's, the engine's), each request's id in its lines and in its
``X-Request-Id`` answer, a line per order event, and no secrets; ``.env`` is read."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ordergate.api.app import create_app
from ordergate.bootstrap import shutdown
from ordergate.logs import configure_logging
from ordergate.settings import Settings
from tests.api.crosstrade.conftest import Server, start
from tests.api.crosstrade.wsclient import place_body
from tests.wire import serving

_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    """The process's logging as ``ordergate serve --log-format json`` sets it, into a buffer;
    put back as it was afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    kept = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate) for n in _LOGGERS}
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    yield stream
    root.handlers[:], _ = saved
    root.setLevel(saved[1])
    for name, (handlers, propagate) in kept.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).propagate = propagate


@pytest.fixture
async def server(logged: io.StringIO, db_url: str, store: Any) -> AsyncIterator[Server]:
    """A server built once logging is configured (so it logs its order events)."""
    built = await start(db_url)
    yield built
    await built.client.aclose()
    await shutdown(built.container)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    """Every line written, each parsed as one JSON object (a line that is not fails)."""
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_json_lines_carry_the_request_id_answered_in_x_request_id(
    server: Server, logged: io.StringIO
) -> None:
    async with (
        serving(server, log_level="info") as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        given = await client.get(
            "/v1/api/accounts/Sim101", headers={**server.auth(), "X-Request-Id": "trace-42"}
        )
        made = await client.get("/v1/api/accounts/Sim101", headers=server.auth())
        bad = await client.get("/healthz", headers={"X-Request-Id": "no spaces allowed"})
        refused = await client.get("/v1/api/accounts/Sim101")

    assert given.headers["x-request-id"] == "trace-42"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", bad.headers["x-request-id"])
    assert refused.status_code == 401
    assert re.fullmatch(r"[0-9a-f]{32}", refused.headers["x-request-id"])
    found = lines(logged)
    access = [e for e in found if e["logger"] == "uvicorn.access"]
    by_id = {e.get("request_id"): e for e in access}
    assert "GET /v1/api/accounts/Sim101" in by_id["trace-42"]["message"]
    assert by_id[made.headers["x-request-id"]]["level"] == "info"
    assert {"time", "level", "logger", "message"} <= set(by_id["trace-42"])
    # uvicorn's own lines are JSON too.
    assert any(e["logger"] == "uvicorn.error" for e in found)


async def test_each_order_event_is_a_line_of_its_own(server: Server, logged: io.StringIO):
    async with serving(server, log_level="info") as port:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            placed = await client.post(
                "/v1/api/accounts/Sim101/orders/place", headers=server.auth(), json=place_body()
            )
            assert placed.status_code == 200, placed.text
            order_id = placed.json()["orderId"]
            await server.container.engine.settle()
            cancelled = await client.post(
                f"/v1/api/accounts/Sim101/orders/{order_id}/cancel", headers=server.auth()
            )
            assert cancelled.status_code == 200, cancelled.text
            await server.container.engine.settle()
        # The order log reads the bus in a task of its own: let it catch up.
        await _settled(logged, order_id, "cancelled")

    events = [e for e in lines(logged) if e.get("event") == "order" and e["order_id"] == order_id]
    assert [e["status"] for e in events][:1] == ["submitted"]
    assert events[-1]["status"] == "cancelled"
    assert {e["account"] for e in events} == {1001}
    assert all(e["logger"] == "ordergate.orders" and e["level"] == "info" for e in events)


async def _settled(stream: io.StringIO, order_id: str, status: str) -> None:
    for _ in range(200):
        if any(e.get("order_id") == order_id and e.get("status") == status for e in lines(stream)):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no {status} line for order {order_id}")


async def test_tokens_are_blanked_in_json_lines(server: Server, logged: io.StringIO):
    async with (
        serving(server, log_level="info") as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        await client.get(f"/v1/api/accounts?token={server.token}")

    text = logged.getvalue()
    assert server.token not in text
    assert "token=***" in text
    lines(logged)  # still one JSON object per line


async def test_a_bug_is_answered_500_with_its_request_id(server: Server, logged: io.StringIO):
    app = create_app(container=server.container)

    async def bug() -> None:
        raise RuntimeError("internal detail")

    app.add_api_route("/bug", bug)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/bug", headers={"X-Request-Id": "bug-1"})

    assert response.status_code == 500
    assert response.headers["x-request-id"] == "bug-1"
    logged_bug = [e for e in lines(logged) if e.get("request_id") == "bug-1"]
    assert logged_bug
    assert "RuntimeError: internal detail" in logged_bug[0]["exception"]


def test_settings_are_read_from_a_dotenv_file_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("ORDERGATE_LOG_FORMAT=json\nORDERGATE_PORT=8123\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ORDERGATE_LOG_FORMAT", raising=False)
    monkeypatch.setenv("ORDERGATE_PORT", "8456")

    settings = Settings()

    assert settings.log_format == "json"
    assert settings.port == 8456
