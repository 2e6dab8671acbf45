"""Property-based fuzzing of the CrossTrade WebSocket's frames, over a real connection to
uvicorn on loopback.

Hypothesis sends frames that are all wrong in some way: bytes and text that are not JSON
(invalid UTF-8 in binary frames included), JSON that is not an object, ids of the wrong type
or beyond 64 bits, unknown actions, ``rpc`` frames with a wrong ``api`` or wrong-typed
``args``, subscriptions and P&L requests with wrong fields, deep or wide nested garbage, and
well-formed frames (a valid ``PlaceOrder`` among them) with a lone UTF-16 surrogate escaped
into one of their strings: text that cannot be encoded back, refused before anything runs.
For each one:

- the answer is an error frame in the form of docs/crosstrade-websocket.md (``success``
  false, ``error``, ``code``, a ``status`` below 500), with the frame's ``id`` echoed when it
  had a usable one (a string or a 64-bit integer) and null otherwise;
- the connection stays usable: a following ``ping`` is answered with its ``pong``;
- nothing is logged at ERROR (the server's mark of a bug) and the database is unchanged.

All examples share one connection, so that a frame that broke it would fail the next one.
SQLite only: every frame here is refused while it is parsed or validated, before the
engine or the database is asked anything, so the database adds nothing to what is tested
(the HTTP fuzzing, tests/fuzz/test_openapi_fuzz.py, covers both databases).

``ORDERGATE_FUZZ_FRAMES`` sets the number of frames (default 150); the seed is
``ORDERGATE_FUZZ_SEED``, as for the HTTP fuzzing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from ordergate.api.crosstrade.ops import OPERATIONS
from tests.api.crosstrade.conftest import Server
from tests.api.crosstrade.wsclient import Client, place_body, session
from tests.builders import snapshot

FRAMES = int(os.environ.get("ORDERGATE_FUZZ_FRAMES", "150"))
SEED = int(os.environ.get("ORDERGATE_FUZZ_SEED", "20261121"))
#: An answer later than this is a failure (a frame the server never answers).
ANSWER_SECONDS = 3.0
ACTIONS = {"rpc", "subscribe", "unsubscribe", "streampnl", "ping"}
#: Operations whose args name an account: a wrong-typed ``account`` is always refused.
WITH_ACCOUNT = sorted(name for name, op in OPERATIONS.items() if "account" in op.args.model_fields)

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=4)
not_a_string = (
    st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.lists(json_scalars, max_size=3)
    | st.dictionaries(st.text(max_size=4), json_scalars, max_size=3)
)
good_ids = st.none() | st.text(max_size=40) | st.integers(-(2**63), 2**63 - 1)
bad_ids = (
    st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.lists(json_scalars, max_size=3)
    | st.dictionaries(st.text(max_size=4), json_scalars, max_size=3)
    | st.integers(min_value=2**63)
    | st.integers(max_value=-(2**63) - 1)
)

#: A sent frame and the id its error frame must carry.
Sent = tuple[str | bytes, Any]


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except (ValueError, RecursionError):
        return False
    return True


@st.composite
def with_id(draw: st.DrawFn, frames: st.SearchStrategy[dict[str, Any]]) -> Sent:
    """A JSON object frame with a usable id (or none): the id its answer echoes."""
    frame, rid = draw(frames), draw(good_ids)
    return json.dumps(frame if rid is None else {**frame, "id": rid}), rid


not_json = st.binary(min_size=1, max_size=200).filter(lambda b: not _is_json(b)) | st.text(
    min_size=1, max_size=200
).filter(lambda t: not _is_json(t.encode()))
not_an_object = json_values.filter(lambda v: not isinstance(v, dict)).map(json.dumps)
bad_id = bad_ids.map(lambda rid: json.dumps({"action": "ping", "id": rid}))
unknown_action = st.builds(
    lambda extra, action: {**extra, "action": action},
    json_objects,
    json_values.filter(lambda a: not (isinstance(a, str) and a.casefold() in ACTIONS)),
)
bad_api = st.builds(lambda api: {"action": "rpc", "api": api}, not_a_string | st.none())
unknown_api = st.builds(
    lambda api, args: {"action": "rpc", "api": api, "args": args},
    st.text(max_size=30).filter(lambda a: a.casefold() not in {n.casefold() for n in OPERATIONS}),
    json_values,
)
bad_args = st.builds(
    lambda api, args: {"action": "rpc", "api": api, "args": args},
    st.sampled_from(WITH_ACCOUNT),
    st.builds(lambda garbage, account: {**garbage, "account": account}, json_objects, not_a_string)
    | json_values.filter(lambda v: not isinstance(v, dict) and v is not None),
)
bad_subscribe = st.builds(
    lambda action, instruments: {"action": action, "instruments": instruments},
    st.sampled_from(["subscribe", "unsubscribe", "SUBSCRIBE"]),
    st.integers()
    | st.dictionaries(st.text(max_size=4), json_scalars, min_size=1, max_size=3)
    | st.lists(st.integers() | st.none() | st.booleans(), min_size=1, max_size=4),
)
bad_pnl = st.builds(
    lambda interval: {"action": "streamPnl", "interval": interval},
    st.integers(max_value=249) | st.integers(min_value=60_001) | st.text(max_size=5),
)


@st.composite
def deep(draw: st.DrawFn) -> Sent:
    """Nesting far beyond what any frame needs, as api and args."""
    # Either well within what a parser takes or far beyond it, never near the edge (where
    # the server, deeper in its stack, could disagree with this test).
    depth = draw(st.integers(50, 200) | st.integers(3000, 20_000))
    nested = "[" * depth + "]" * depth
    rid = draw(good_ids)
    action = draw(st.sampled_from(["rpc", "nope"]))
    body = f'"action": "{action}", "api": {nested}, "args": {nested}'
    text = "{" + body + ("" if rid is None else f', "id": {json.dumps(rid)}') + "}"
    # Nesting too deep to parse is not JSON to the server either: no id to echo.
    return text, rid if depth <= 200 else None


lone_surrogate = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
#: Text with one lone surrogate in it (``st.text`` itself never draws surrogates).
unencodable = st.builds(
    lambda before, surrogate, after: before + surrogate + after,
    st.text(max_size=5),
    lone_surrogate,
    st.text(max_size=5),
)
good_frames = st.sampled_from(
    [
        {
            "action": "rpc",
            "id": "p1",
            "api": "PlaceOrder",
            "args": {"account": "Sim101", **place_body()},
        },
        {"action": "rpc", "id": 7, "api": "ListOrders", "args": {"account": "Sim101"}},
        {"action": "subscribe", "id": "s", "instruments": ["ES 12-26"]},
        {"action": "streamPnl", "id": "p", "interval": 1000, "accounts": ["Sim101"]},
        {"action": "ping", "id": "x"},
    ]
)


def _spoil(frame: Any, path: list[int], text: str) -> Any:
    """``frame`` with one of its strings (a key or a value, chosen by ``path``) replaced by
    ``text``, or ``text`` added as a key where there is no string to replace."""
    if isinstance(frame, str):
        return text
    if isinstance(frame, dict) and frame:
        keys = list(frame)
        key = keys[path[0] % len(keys)] if path else keys[0]
        if len(path) < 2 or path[1] % 4 == 0:
            return {(text if k == key else k): v for k, v in frame.items()}
        return {**frame, key: _spoil(frame[key], path[2:], text)}
    if isinstance(frame, list) and frame:
        i = path[0] % len(frame) if path else 0
        return [*frame[:i], _spoil(frame[i], path[1:], text), *frame[i + 1 :]]
    return text


#: A good frame with a lone surrogate escaped into it: not JSON text, so no id to echo.
spoiled = st.builds(
    lambda frame, path, text: json.dumps(_spoil(frame, path, text)),
    good_frames,
    st.lists(st.integers(0, 20), max_size=6),
    unencodable,
)


bad_frames: st.SearchStrategy[Sent] = st.one_of(
    st.tuples(not_json | not_an_object | bad_id | spoiled, st.none()),
    with_id(unknown_action | bad_api | unknown_api | bad_args | bad_subscribe | bad_pnl),
    deep(),
)


def _problem(frame: dict[str, Any], rid: Any) -> str | None:
    """Why ``frame`` is not the error frame a bad frame with ``rid`` must get."""
    if frame.get("id") != rid:
        return f"id {frame.get('id')!r}, expected {rid!r}"
    if frame.get("success") is not False or not isinstance(frame.get("error"), str):
        return "not an error frame"
    if not isinstance(frame.get("code"), str) or frame["code"] == "INTERNAL_ERROR":
        return f"code {frame.get('code')!r}"
    status = frame.get("status")
    if not isinstance(status, int) or not 400 <= status < 500:
        return f"status {status!r}"
    return None


@pytest.fixture
async def client(ct: Server, live: str) -> AsyncIterator[Client]:
    async with session(live, ct.token, max_size=None) as client:
        yield client


@seed(SEED)
@settings(
    max_examples=FRAMES,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    print_blob=False,
)
@given(sent=bad_frames)
async def test_every_bad_frame_gets_an_error_frame_and_the_connection_stays_usable(
    db_url: str, ct: Server, client: Client, caplog: pytest.LogCaptureFixture, sent: tuple[Any, Any]
) -> None:
    raw, rid = sent
    caplog.set_level(logging.ERROR)
    before = await snapshot(ct.container.store)
    await client.send(raw)
    async with asyncio.timeout(ANSWER_SECONDS):
        answer = await client.until(lambda f: "type" not in f)
    problem = _problem(answer, rid)
    assert problem is None, f"{raw!r:.300} -> {answer!r:.500}: {problem}"
    await client.send({"action": "ping", "id": "after"})
    async with asyncio.timeout(ANSWER_SECONDS):
        pong = await client.until(lambda f: f.get("id") == "after")
    assert pong["type"] == "pong"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    assert await snapshot(ct.container.store) == before


@pytest.mark.parametrize("rid", [2**63, -(2**63) - 1, 10**40])
async def test_an_id_beyond_64_bits_is_refused_as_a_bad_id(
    db_url: str, client: Client, caplog: pytest.LogCaptureFixture, rid: int
) -> None:
    """Found by the fuzzing: the answer echoing such an id could not be encoded (a 500)."""
    await client.send(json.dumps({"action": "ping", "id": rid}))
    answer = await client.until(lambda f: "type" not in f)
    assert (answer["id"], answer["status"], answer["code"]) == (None, 400, "INVALID_REQUEST")
    assert "64-bit" in answer["detail"]
    await client.ping()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    "frame",
    [
        {"action": "rpc", "id": "\ud800", "api": "PlaceOrder", "args": {"account": "Sim101"}},
        {"action": "rpc", "id": 1, "api": "PlaceOrder\udfff", "args": {"account": "Sim101"}},
        {"action": "subscribe\ud800", "instruments": ["ES 12-26"]},
        {"action": "subscribe", "instruments": ["ES 12-26\udc00"]},
        {"action": "streamPnl", "accounts": ["Sim101\ud801"]},
    ],
)
async def test_a_lone_surrogate_anywhere_is_refused_before_anything_runs(
    db_url: str, ct: Server, client: Client, caplog: pytest.LogCaptureFixture, frame: Any
) -> None:
    """Found probing from outside: with a valid ``api`` the order was placed and no answer
    sent; elsewhere the answer was a 500. The escaped surrogate decodes to text that has no
    UTF-8, so the frame is refused as the invalid JSON it is for the server."""
    if frame.get("api") == "PlaceOrder":
        frame["args"].update(place_body())
    before = await snapshot(ct.container.store)
    await client.send(json.dumps(frame))
    answer = await client.until(lambda f: "type" not in f)
    assert (answer["id"], answer["status"], answer["code"]) == (None, 400, "INVALID_REQUEST")
    assert "surrogate" in answer["detail"]
    await client.ping()
    await ct.container.engine.settle()
    assert await snapshot(ct.container.store) == before
    assert list(ct.container.engine.state.all_open()) == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
