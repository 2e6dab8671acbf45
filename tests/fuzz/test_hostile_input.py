"""Hostile input: oversized bodies and frames are refused early, slow and idle clients do not
hold the server, and secrets never appear in logs or error bodies.

The server here has small limits (64 KiB bodies, 1 s to send one) and runs, where the wire
matters, on uvicorn at 127.0.0.1 with the options ``ordergate serve`` uses
(``ordergate.api.limits.uvicorn_options``); the clients are raw sockets that misbehave.
SQLite only: all of this happens at the HTTP edge, before any use case or query, so the
database adds nothing to what is tested.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError

from ordergate.api.limits import KEEP_ALIVE_SECONDS, uvicorn_options
from ordergate.auth.signin import SignIn
from ordergate.bootstrap import shutdown
from ordergate.store import SqlStore
from tests.api.crosstrade.conftest import Server, start
from tests.api.crosstrade.wsclient import place_body, session
from tests.builders import snapshot
from tests.wire import read_answer, request_head, serving

LIMIT = 64 * 1024
BODY_TIMEOUT = 1.0
SECRET = "the-jwt-secret-of-the-hostile-input-tests-0123456789"
PASSWORD = "Sim101pass"
#: /healthz must answer within this while the misbehaving clients are connected.
PROMPT = 1.0

CLIENT_LOGGERS = ("httpx", "httpcore", "websockets.client")

PLACE = "/v1/api/accounts/Sim101/orders/place"

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
async def guarded(db_url: str, store: SqlStore) -> AsyncIterator[Server]:
    """The test server with small limits and a configured JWT secret (ORDERGATE_SECRET)."""
    server = await start(db_url, max_body_bytes=LIMIT, body_timeout_s=BODY_TIMEOUT, secret=SECRET)
    await server.container.users.set_account_password(1001, PASSWORD)
    yield server
    await server.client.aclose()
    await shutdown(server.container)


async def health_is_prompt(port: int) -> None:
    """GET /healthz on a new connection answers 200 within PROMPT seconds."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        async with asyncio.timeout(PROMPT):
            answer = await client.get("/healthz")
    assert answer.status_code == 200


# -- oversized bodies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers", "expected"),
    [
        (
            PLACE,
            "crosstrade",
            {
                "success": False,
                "error": f"the request body may be at most {LIMIT} bytes",
                "code": "PAYLOAD_TOO_LARGE",
            },
        ),
        (
            "/trade/open",
            "scaletrade",
            {"error": "RET_ERROR", "message": f"the request body may be at most {LIMIT} bytes"},
        ),
        (
            "/admin/quotes",
            "crosstrade",
            {
                "error": "REQUEST_ENTITY_TOO_LARGE",
                "message": f"the request body may be at most {LIMIT} bytes",
            },
        ),
    ],
)
async def test_a_body_over_the_limit_is_refused_with_413_in_the_dialects_form(
    guarded: Server, path: str, headers: str, expected: dict[str, Any]
) -> None:
    auth = guarded.auth() if headers == "crosstrade" else {"Authorization": "not-read"}
    before = await snapshot(guarded.container.store)
    padded = json.dumps(place_body()) + " " * LIMIT
    answer = await guarded.client.post(path, headers=auth, content=padded)
    assert answer.status_code == 413
    assert answer.json() == expected
    assert answer.headers["connection"] == "close"
    assert await snapshot(guarded.container.store) == before


async def test_a_body_just_within_the_limit_is_read(guarded: Server) -> None:
    body = json.dumps(place_body())
    padded = body + " " * (LIMIT - len(body))
    answer = await guarded.client.post(PLACE, headers=guarded.auth(), content=padded)
    assert answer.status_code == 200, answer.text


async def test_a_streamed_body_is_refused_as_soon_as_it_passes_the_limit(
    guarded: Server,
) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        nonlocal sent
        yield json.dumps(place_body()).encode()
        for _ in range(100):
            sent += 1
            yield b" " * 16 * 1024

    before = await snapshot(guarded.container.store)
    answer = await guarded.client.post(PLACE, headers=guarded.auth(), content=chunks())
    assert answer.status_code == 413
    assert answer.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert sent <= LIMIT // (16 * 1024) + 1  # read no further than the limit
    assert await snapshot(guarded.container.store) == before


async def test_a_declared_oversized_body_is_answered_before_it_is_sent(guarded: Server) -> None:
    async with serving(guarded) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(request_head("POST", PLACE, 100 * 1024 * 1024, **guarded.auth()))
            writer.write(b"{" + b" " * 1023)  # and nothing more of the 100 MiB
            await writer.drain()
            async with asyncio.timeout(PROMPT):
                status, headers, body = await read_answer(reader)
                assert await reader.read() == b""  # and the server closed the connection
        finally:
            writer.close()
        assert (status, body["code"], headers["connection"]) == (413, "PAYLOAD_TOO_LARGE", "close")
        await health_is_prompt(port)


# -- slow and idle clients -------------------------------------------------------------------


async def test_a_body_sent_too_slowly_gets_408_while_health_stays_prompt(
    guarded: Server,
) -> None:
    async with serving(guarded) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request_head("POST", PLACE, 1000, **guarded.auth()))

        async def trickle() -> None:
            for _ in range(100):  # 10 bytes every 50 ms: 5 s for the body, if allowed
                writer.write(b" " * 10)
                await writer.drain()
                await asyncio.sleep(0.05)

        dripping = asyncio.create_task(trickle())
        try:
            for _ in range(3):
                await health_is_prompt(port)
            async with asyncio.timeout(BODY_TIMEOUT + 2):
                status, headers, body = await read_answer(reader)
        finally:
            dripping.cancel()
            await asyncio.gather(dripping, return_exceptions=True)
            writer.close()
        assert status == 408
        assert body == {
            "success": False,
            "error": f"the request body did not arrive within {BODY_TIMEOUT:g} s",
            "code": "REQUEST_TIMEOUT",
        }
        assert headers["connection"] == "close"
        await health_is_prompt(port)


async def test_many_idle_connections_do_not_stop_health(guarded: Server) -> None:
    async with serving(guarded) as port:
        idle = []
        try:
            for i in range(200):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                if i % 2:  # half send the start of a request head and never finish it
                    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                idle.append(writer)
            for _ in range(3):
                await health_is_prompt(port)
        finally:
            for writer in idle:
                writer.close()


async def test_an_idle_keep_alive_connection_is_closed_by_the_server(guarded: Server) -> None:
    assert uvicorn_options(guarded.container.settings)["timeout_keep_alive"] == KEEP_ALIVE_SECONDS
    async with serving(guarded, timeout_keep_alive=1) as port:  # 1 s here, to keep the test short
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            status, _, _ = await read_answer(reader)
            assert status == 200
            async with asyncio.timeout(3):
                assert await reader.read() == b""  # closed by the server
        finally:
            writer.close()


# -- WebSocket frames ------------------------------------------------------------------------


async def test_a_websocket_message_over_the_limit_closes_the_connection_with_1009(
    guarded: Server,
) -> None:
    async with serving(guarded) as port:
        base = f"http://127.0.0.1:{port}"
        async with session(base, guarded.token, max_size=None) as client:
            await client.send({"action": "rpc", "id": 1, "api": "GetOrders", "x": " " * LIMIT})
            with pytest.raises(ConnectionClosedError) as closed:
                await client.read()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009
        async with session(base, guarded.token) as client:  # the server carries on
            await client.ping()


async def test_invalid_utf8_in_a_text_frame_closes_with_1007_and_the_server_carries_on(
    guarded: Server,
) -> None:
    async with serving(guarded) as port:
        url = f"ws://127.0.0.1:{port}/ws/stream"
        headers = guarded.auth()
        async with connect(url, additional_headers=headers, proxy=None) as ws:
            await ws.send(b'{"action": "ping", "id": "\xff\xfe"}', text=True)
            with pytest.raises(ConnectionClosedError) as closed:
                await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1007
        async with session(f"http://127.0.0.1:{port}", guarded.token) as client:
            await client.ping()


# -- secrets ---------------------------------------------------------------------------------


async def _sign_in(client: httpx.AsyncClient, body: Any) -> httpx.Response:
    answer = await client.post("/sign/in", content=json.dumps(body))
    client.cookies.clear()
    return answer


async def _every_entry_point(server: Server, client: httpx.AsyncClient, port: int) -> None:
    """Each way in, used rightly: CrossTrade REST, the WebSocket with its token in the
    header and in the subprotocol (beside ``crosstrade`` and alone), ScaleTrade sign-in, a
    session's request and its event stream, and the admin API (the CrossTrade token in a
    WebSocket's query is the caller's own part of the test). No answer header carries
    a secret (a WebSocket offered only ``bearer.<token>`` selects no subprotocol)."""
    answers = [await client.get("/v1/api/accounts", headers=server.auth())]
    signed = await _sign_in(client, {"login": 1001, "password": PASSWORD})
    answers.append(signed)
    jwt = signed.json()["__token"]
    answers.append(
        await client.get("/trades", params={"login": 1001}, headers={"Authorization": jwt})
    )
    answers.append(await client.get("/admin/market", headers=server.auth(server.admin_token)))
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    for answer in answers:
        headers = "\n".join(f"{k}: {v}" for k, v in answer.headers.items() if k != "set-cookie")
        assert server.token not in headers
        assert jwt not in headers
    url = f"ws://127.0.0.1:{port}/ws/stream"
    offers: list[dict[str, Any]] = [
        {"additional_headers": server.auth()},
        {"subprotocols": ["crosstrade", f"bearer.{server.token}"]},
        {"subprotocols": [f"bearer.{server.token}"]},
    ]
    for offer in offers:
        async with connect(url, proxy=None, **offer) as ws:
            await ws.send(json.dumps({"action": "ping", "id": 1}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "pong"
            assert ws.response is not None
            shown = "\n".join(f"{k}: {v}" for k, v in ws.response.headers.raw_items())
            assert server.token not in shown, shown
            assert ws.subprotocol in ("crosstrade", None)
    # The ScaleTrade stream, authorized by its first frame.
    async with connect(f"ws://127.0.0.1:{port}", proxy=None) as ws:
        await ws.send(json.dumps({"authorization": jwt}))
        answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert (answer["event"], answer["success"]) == ("authorization", True), answer


async def test_secrets_never_appear_in_logs_or_error_bodies(
    guarded: Server, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "Not-the-Sim101-password"
    caplog.set_level(logging.DEBUG)
    uvicorn_loggers = [logging.getLogger(n) for n in ("uvicorn.error", "uvicorn.access")]
    for logger in uvicorn_loggers:  # uvicorn's own loggers may not reach the root's handler
        logger.addHandler(caplog.handler)
    errors: list[str] = []
    try:
        async with serving(guarded, log_level="debug") as port:
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base) as client:
                await _every_entry_point(guarded, client, port)
                signed = await _sign_in(client, {"login": 1001, "password": PASSWORD})
                jwt = signed.json()["__token"]
                answers = [
                    # failed sign-ins: a wrong password, an unknown login
                    await _sign_in(client, {"login": 1001, "password": wrong}),
                    await _sign_in(client, {"login": 999_999, "password": PASSWORD}),
                    # validation errors of the password field
                    await _sign_in(client, {"login": 1001, "password": [PASSWORD]}),
                    await _sign_in(client, {"login": 1001, "password": {"p": PASSWORD}}),
                    await _sign_in(client, {"login": 1001, "password": PASSWORD * 10}),
                    await _sign_in(client, {"login": PASSWORD, "password": PASSWORD}),
                    await _sign_in(client, {"login": 1001, "password": PASSWORD, "x": jwt}),
                    # bad tokens: tampered, in the wrong dialect, without their scheme
                    await client.get("/v1/api/accounts", headers=guarded.auth(guarded.token + "x")),
                    await client.get("/v1/api/accounts", headers={"Authorization": guarded.token}),
                    await client.get(
                        "/v1/api/accounts", headers={"Authorization": f"Bearer {jwt}"}
                    ),
                    await client.get("/trades", headers={"Authorization": jwt[:-2] + "xx"}),
                    await client.get("/trades", headers={"Authorization": guarded.token}),
                    await client.get("/trades", params={"token": jwt}),
                ]
                # the token in a WebSocket's query string (the browsers' last resort)
                async with session(base, None, query=f"?token={guarded.token}") as ws:
                    await ws.ping()

                # a server error while a password is being checked
                async def boom(*args: Any, **kwargs: Any) -> Any:
                    raise RuntimeError("the password store is on fire")

                monkeypatch.setattr(SignIn, "sign_in", boom)
                failed = await _sign_in(client, {"login": 1001, "password": PASSWORD})
                answers.append(failed)
    finally:
        for logger in uvicorn_loggers:
            logger.removeHandler(caplog.handler)
    assert failed.status_code == 500
    assert all(a.status_code >= 400 for a in answers), [a.status_code for a in answers]
    errors = [a.text for a in answers]
    # The server's records, at DEBUG: the test's own clients log what they send at DEBUG.
    server = [r for r in caplog.records if not r.name.startswith(CLIENT_LOGGERS)]
    logged = [caplog.handler.format(r) for r in server]
    assert any("token=***" in line for line in logged)  # the WebSocket was logged, redacted
    assert any("on fire" in line for line in logged)  # the server error was logged
    secrets = {
        "password": PASSWORD,
        "wrong password": wrong,
        "CrossTrade token": guarded.token,
        "other CrossTrade token": guarded.other_token,
        "JWT": jwt,
        "JWT signature": jwt.rsplit(".", 1)[1],
        "ORDERGATE_SECRET": SECRET,
    }
    for name, secret in secrets.items():
        assert not [e for e in errors if secret in e], f"{name} in an error body"
        assert not [line for line in logged if secret in line], f"{name} in the logs"
