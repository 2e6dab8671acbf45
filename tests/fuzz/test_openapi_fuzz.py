"""Property-based fuzzing of both dialects from the app's own OpenAPI document.

schemathesis turns every CrossTrade and ScaleTrade operation of ``/openapi.json`` into
Hypothesis strategies: requests that follow the schema (positive) and requests that break it
(negative: wrong types, missing fields, bodies that are not JSON, garbage headers). Each is
sent in process to a seeded server, with a valid token or session JWT (so that the fuzzing
reaches the handlers; half the cases also aim at a real account, login and order) and with
none. For every answer:

- the status is below 500, and no exception escapes the app;
- an error (4xx) is in the dialect's own form: CrossTrade ``{"success": false, "error",
  "code"}``, its malformed-request form ``{"success": false, "error": "Invalid request",
  "detail"}`` or ``{"error": "Rate limit exceeded"}``; ScaleTrade exactly ``{"error",
  "message"}`` (a group cancel or close that matched orders but accepted none adds its rows,
  failures and counts);
- a rejected request (4xx) leaves the database as it was (``tests.builders.snapshot``, taken
  after the venue has settled), and the stored state keeps its invariants.

Bounded for ``make test``: a few examples per operation, generation mode and credential set
(``ORDERGATE_FUZZ_EXAMPLES``, default 4), from a fixed seed (``ORDERGATE_FUZZ_SEED``), on
SQLite and PostgreSQL. For the long form set ``ORDERGATE_FUZZ_EXAMPLES`` higher (README, Testing).

The test functions are synchronous and run the server on an event loop of their own
(``asyncio.Runner``): Hypothesis drives each operation's examples itself, and every call
into the app goes through that one loop, so the database connections stay on it.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from ordergate.api.app import create_app
from ordergate.api.scaletrade.errors import PREFIXES
from ordergate.bootstrap import shutdown
from ordergate.domain.principal import Role
from ordergate.settings import Settings
from ordergate.store import SqlStore
from tests.api.crosstrade.conftest import Server, start
from tests.builders import snapshot
from tests.invariants import violations

EXAMPLES = int(os.environ.get("ORDERGATE_FUZZ_EXAMPLES", "4"))
SEED = int(os.environ.get("ORDERGATE_FUZZ_SEED", "20261121"))

SCHEMA = schemathesis.openapi.from_dict(
    create_app(Settings(database_url="sqlite:///unused.db", market_source="none")).openapi()
)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
CROSSTRADE = [op for op in OPERATIONS if op.path.startswith("/v1/api")]
#: ScaleTrade's paths: each first segment it claims (/sign, /trade, /market, /account...).
SCALETRADE_ROOTS = tuple(prefix.strip("/") for prefix in PREFIXES)
SCALETRADE = [op for op in OPERATIONS if op.path.split("/")[1] in SCALETRADE_ROOTS]
PASSWORDS = {1001: "Sim101pass", 1002: "Sim102pass", 2002: "Otherpass"}
DESK = (900, "Desk900pass")

_CT_KEYS = {"success", "error", "code", "detail", "did_you_mean"}
_GROUP_KEYS = {"rows", "failures", "matched", "failed", "cancelled", "closed"}


def crosstrade_form(status: int, body: Any) -> str | None:
    """Why ``body`` is not a CrossTrade error (None: it is one)."""
    if not isinstance(body, dict):
        return "not a JSON object"
    if status == 429 and body == {"error": "Rate limit exceeded"}:
        return None
    if set(body) - _CT_KEYS or body.get("success") is not False:
        return f"keys {sorted(body)}, success {body.get('success')!r}"
    if not isinstance(body.get("error"), str):
        return "error is not a string"
    if "code" in body:
        return None if isinstance(body["code"], str) and "detail" not in body else "bad code"
    if body["error"] == "Invalid request" and isinstance(body.get("detail"), str):
        return None
    return "neither a code nor the Invalid request form"


def scaletrade_form(status: int, body: Any) -> str | None:
    """Why ``body`` is not a ScaleTrade error (None: it is one)."""
    if not isinstance(body, dict):
        return "not a JSON object"
    keys = set(body)
    if status == 409 and keys - {"error", "message"} and keys - {"error", "message"} <= _GROUP_KEYS:
        keys = {"error", "message"}
    if keys != {"error", "message"}:
        return f"keys {sorted(body)}"
    if not (isinstance(body["error"], str) and isinstance(body["message"], str)):
        return "error and message are not strings"
    return None


@dataclass
class Target:
    """The seeded server, its loop, and what the fuzzer may aim at."""

    runner: asyncio.Runner
    server: Server
    client: httpx.AsyncClient
    auth: dict[str, str]  # a valid Authorization header of this dialect
    aims: dict[str, Any] = field(default_factory=dict)

    @property
    def store(self) -> SqlStore:
        return self.server.container.store

    def run(self, work: Any) -> Any:
        return self.runner.run(work)

    def settled_snapshot(self) -> dict[str, object]:
        async def go() -> dict[str, object]:
            await self.server.container.engine.settle()
            return await snapshot(self.store)

        return self.run(go())  # type: ignore[no-any-return]


async def _scaletrade_logins(server: Server) -> dict[int, str]:
    users = server.container.users
    for login, password in PASSWORDS.items():
        await users.set_account_password(login, password)
    await users.add_user("desk", Role.MANAGER, ("demo",), DESK[1], DESK[0])
    tokens = {}
    for login, password in (*PASSWORDS.items(), DESK):
        answer = await server.client.post("/sign/in", json={"login": login, "password": password})
        assert answer.status_code == 200, answer.text
        tokens[login] = answer.json()["__token"]
    server.client.cookies.clear()
    return tokens


async def _resting_orders(server: Server, jwt: str) -> tuple[str, int]:
    """Two resting orders of Sim101 (login 1001) for the fuzzer to aim at: the id of one
    placed through CrossTrade, the ticket of one placed through ScaleTrade."""
    body: dict[str, Any] = {
        "instrument": "ES 12-26",
        "action": "Buy",
        "quantity": 1,
        "orderType": "Limit",
        "limitPrice": 5990,
        "timeInForce": "Gtc",
    }
    placed = await server.client.post(
        "/v1/api/accounts/Sim101/orders/place", headers=server.auth(), json=body
    )
    assert placed.status_code == 200, placed.text
    body = {"login": 1001, "cmd": 2, "volume": 100, "symbol": "EURUSD", "open_price": 1.09}
    pending = await server.client.post(
        "/trade/open/pending", headers={"Authorization": jwt}, json=body
    )
    assert pending.status_code == 200, pending.text
    await server.container.engine.settle()
    return placed.json()["orderId"], int(pending.json()["order"])


@pytest.fixture
def target(db_url: str, store: SqlStore) -> Iterator[Target]:
    """The CrossTrade/ScaleTrade test server on ``db_url``, on a loop of its own."""
    with asyncio.Runner() as runner:
        server = runner.run(start(db_url))
        try:
            tokens = runner.run(_scaletrade_logins(server))
            order_id, ticket = runner.run(_resting_orders(server, tokens[1001]))
            yield Target(
                runner,
                server,
                server.client,
                server.auth(),
                {
                    "account": "Sim101",
                    "orderId": order_id,
                    "login": 1001,
                    "ticket": ticket,
                    "jwt": tokens[1001],
                },
            )
        finally:
            runner.run(server.client.aclose())
            runner.run(shutdown(server.container))


def _request(case: Any) -> dict[str, Any]:
    """The case as httpx.request keyword arguments."""
    kw = case.as_transport_kwargs(base_url="http://test")
    out: dict[str, Any] = {"method": kw["method"], "url": kw["url"], "params": kw.get("params")}
    headers = dict(kw.get("headers") or {})
    cookies = kw.get("cookies") or {}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    out["headers"] = headers
    if "json" in kw:
        out["content"] = json.dumps(kw["json"]).encode()
    elif "data" in kw:
        data = kw["data"]
        out["content"] = data if isinstance(data, bytes) else str(data).encode()
    return out


def _aim(case: Any, aims: dict[str, Any]) -> None:
    """Point the case at the seeded account, login and order (only the fields it has)."""
    for name in ("account", "orderId"):
        if name in case.path_parameters:
            case.path_parameters[name] = aims[name]
    fields = {
        "login": aims["login"],
        "order": aims["ticket"],
        "account": aims["account"],
        "instrument": "ES 12-26",
        "symbol": "EURUSD",
    }
    for where in (case.query, case.body):
        if isinstance(where, dict):
            where.update({k: v for k, v in fields.items() if k in where})


def _check(
    target: Target, case: Any, creds: bool, aim: bool, form: Callable[[int, Any], str | None]
) -> None:
    if aim:
        _aim(case, target.aims)
    request = _request(case)
    if creds:
        request["headers"]["Authorization"] = target.auth["Authorization"]
    before = target.settled_snapshot()
    target.client.cookies.clear()
    try:
        response = target.run(target.client.request(**request))
    except httpx.LocalProtocolError:
        return  # a header httpx will not send (the server never sees it)
    finally:
        target.client.cookies.clear()
    where = (
        f"{request['method']} {request['url']} params={request['params']} "
        f"body={request.get('content')!r:.300}"
    )
    assert response.status_code < 500, f"{where} -> {response.status_code} {response.text:.500}"
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = response.text
    problem = form(response.status_code, body)
    assert problem is None, f"{where} -> {response.status_code} {body!r:.500}: {problem}"
    after = target.settled_snapshot()
    assert after == before, f"{where} -> {response.status_code} changed the database"


def _examples(
    target: Target, strategy: Any, creds: bool, form: Callable[[int, Any], str | None]
) -> Callable[[], None]:
    """A Hypothesis test of ``strategy``'s cases, seeded and bounded."""

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=strategy, aim=st.booleans())
    def run(case: Any, aim: bool) -> None:
        _check(target, case, creds, aim and creds, form)

    return run  # type: ignore[no-any-return]


def _fuzz(
    target: Target,
    operations: list[Any],
    auth: dict[str, str],
    form: Callable[[int, Any], str | None],
) -> None:
    target.auth = auth
    failures = []
    for op in operations:
        for mode in GenerationMode:
            for creds in (True, False):
                strategy = op.as_strategy(generation_mode=mode)
                if mode is GenerationMode.POSITIVE:  # and the schema's own examples
                    strategy = st.one_of(strategy, *op.get_strategies_from_examples())
                try:
                    _examples(target, strategy, creds, form)()
                except Unsatisfiable:
                    # An operation that takes nothing (GET /v1/api/_endpoints) has no
                    # negative case to make: its positive ones are all there is.
                    if mode is GenerationMode.POSITIVE:
                        raise
                except Exception as exc:  # collect every operation's failure, then report
                    notes = "\n".join(getattr(exc, "__notes__", []))
                    failures.append(f"{op.label} [{mode.value}, creds={creds}]: {exc}\n{notes}")
    problems = target.run(violations(target.store, target.server.container.venue))
    assert not failures, "\n\n".join(failures)
    assert problems == []


def test_crosstrade_operations_answer_every_generated_request_in_their_form(
    target: Target,
) -> None:
    _fuzz(target, CROSSTRADE, target.server.auth(), crosstrade_form)


def test_scaletrade_operations_answer_every_generated_request_in_their_form(
    target: Target,
) -> None:
    _fuzz(target, SCALETRADE, {"Authorization": target.aims["jwt"]}, scaletrade_form)
