"""The world of the authorization matrix (tests/api/test_authz_matrix.py): one server with a
target to attack, every kind of credential, checks of each dialect's error form, and the
running of the matrix's cells.

The target is user demo's account Sim101 (login 1001): a resting ES limit order and an open
ES position (CrossTrade), a resting EURUSD pending order and an open EURUSD trade (ScaleTrade),
and the fills they made. User other owns account Other (2002, group other), which holds
nothing, so that what other may do to its own account changes nothing either.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.api.crosstrade.wsclient import loads, place
from tests.api.scaletrade.conftest import St, pending
from tests.api.scaletrade.helpers import bad_tokens, market
from tests.builders import snapshot
from tests.invariants import violations

__all__ = [
    "ES",
    "VICTIM",
    "Cell",
    "Headers",
    "Ledger",
    "Like",
    "Route",
    "Target",
    "World",
    "admin_error",
    "check_rest",
    "crosstrade_error",
    "crosstrade_error_body",
    "make_target",
    "scaletrade_error",
    "send",
    "shows_nothing_of_the_target",
    "state",
    "unnumbered",
    "unsigned",
    "world",
]

VICTIM = "Sim101"
ES = "ES 12-26"

Route = tuple[str, str]  # (method, path); a WebSocket route's method is "WS"
Headers = dict[str, str]


@dataclass(frozen=True)
class Target:
    """What the matrix's requests name: Sim101's things."""

    order_id: str  # a resting ES limit order (CrossTrade id)
    execution_id: int  # a fill of Sim101
    trade: int  # an open EURUSD trade of login 1001 (ScaleTrade ticket)
    pending: int  # a resting EURUSD pending order of login 1001 (ScaleTrade ticket)


@dataclass
class World:
    """The server (``st``), the target in it, and the credentials of the matrix."""

    st: St
    target: Target
    #: CrossTrade bearer tokens by holder: demo (owner of Sim101 and Sim102), other (owner of
    #: Other), far (manager of group other), desk (manager of group demo), root (admin), and
    #: revoked and revoked admin (a token of demo's and of root's, revoked).
    tokens: dict[str, str]
    #: ScaleTrade session JWTs by login, and refused ones by kind (helpers.bad_tokens).
    jwts: dict[int, str]
    bad_jwts: dict[str, dict[str, str]]

    @property
    def client(self) -> httpx.AsyncClient:
        return self.st.client

    def bearer(self, holder: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[holder]}"}


async def make_target(st: St) -> Target:
    """A fresh set of Sim101's things (each call adds one more of each)."""
    ct = st.server
    order_id = await place(ct, price="5990")
    await place(ct, orderType="MARKET", limitPrice=None)
    trade = await market(st, 1001)
    ticket = await pending(st, 1001)
    await ct.container.engine.settle()
    # Read as the owner, so that the matrix meets the order (and the account) in the
    # server's order view as well as in the database.
    answer = await ct.client.get(f"/v1/api/accounts/{VICTIM}/orders/{order_id}", headers=ct.auth())
    assert answer.status_code == 200, answer.text
    answer = await ct.client.get(f"/v1/api/accounts/{VICTIM}/executions", headers=ct.auth())
    assert answer.status_code == 200, answer.text
    execution_id = int(answer.json()["executions"][-1]["id"], 16)  # its 32-hex id
    return Target(order_id, execution_id, trade, ticket)


async def world(st: St) -> World:
    """Tokens of every holder on ``st``'s server, and a target in Sim101."""
    users = st.server.container.users
    # Revoking is per user: revoke every token of demo and root, then give them new ones.
    revoked = await users.create_token("demo")
    revoked_admin = await users.create_token("root")
    for name in ("demo", "root"):
        await users.revoke_tokens(name)
    st.server.token = await users.create_token("demo")
    st.server.admin_token = await users.create_token("root")
    tokens = {
        "demo": st.server.token,
        "other": st.server.other_token,
        "root": st.server.admin_token,
        "revoked": revoked,
        "revoked admin": revoked_admin,
    }
    for holder in ("far", "desk"):
        tokens[holder] = await users.create_token(holder)
    target = await make_target(st)
    return World(st, target, tokens, dict(st.tokens), await bad_tokens(st))


def _json(answer: httpx.Response, what: str) -> Any:
    assert answer.headers.get("content-type", "").startswith("application/json"), (
        f"{what}: {answer.status_code} {answer.headers.get('content-type')} {answer.text[:200]}"
    )
    return loads(answer.content)


def crosstrade_error(answer: httpx.Response, status: int, code: str, what: str) -> str:
    """``answer`` is CrossTrade's error form ``{"success": false, "error", "code"}`` with
    ``status`` and ``code``; its error text."""
    assert answer.status_code == status, f"{what}: {answer.status_code} {answer.text[:300]}"
    return crosstrade_error_body(_json(answer, what), code, what)


def crosstrade_error_body(body: Any, code: str | None, what: str) -> str:
    """``body`` is CrossTrade's error form (with ``code`` when given); its error text."""
    assert isinstance(body, dict), f"{what}: {body}"
    assert set(body) == {"success", "error", "code"}, f"{what}: {body}"
    assert body["success"] is False, f"{what}: {body}"
    assert isinstance(body["error"], str), f"{what}: {body}"
    assert body["error"], f"{what}: {body}"
    if code is not None:
        assert body["code"] == code, f"{what}: {body}"
    return body["error"]


def _code_message(answer: httpx.Response, status: int, code: str, what: str) -> str:
    assert answer.status_code == status, f"{what}: {answer.status_code} {answer.text[:300]}"
    body = _json(answer, what)
    assert isinstance(body, dict), f"{what}: {body}"
    assert set(body) == {"error", "message"}, f"{what}: {body}"
    assert body["error"] == code, f"{what}: {body}"
    assert isinstance(body["message"], str), f"{what}: {body}"
    assert body["message"], f"{what}: {body}"
    return body["message"]


def scaletrade_error(answer: httpx.Response, status: int, code: str, what: str) -> str:
    """``answer`` is ScaleTrade's error form ``{"error": CODE, "message"}``; its message."""
    return _code_message(answer, status, code, what)


def admin_error(answer: httpx.Response, status: int, code: str, what: str) -> str:
    """``answer`` is the admin API's error form (the default one, as ScaleTrade's)."""
    return _code_message(answer, status, code, what)


def unnumbered(message: str) -> str:
    return re.sub(r"\d+", "N", message)


def unsigned(token: str) -> str:
    """``token``'s claims under an ``alg: none`` header, without a signature."""
    _, payload, _ = token.split(".")
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    return f"{header}.{payload}."


# -- cells ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Like:
    """The same request naming an unknown thing: the answer must not differ but for the
    reference itself (``ref`` in this request, ``unknown`` in that one)."""

    args: dict[str, Any]
    ref: str
    unknown: str


@dataclass(frozen=True)
class Cell:
    """One request of the matrix and what it must get (``code`` None: a 200 that shows none
    of the target's accounts)."""

    kind: str
    headers: Headers
    args: dict[str, Any]
    status: int
    code: str | None
    like: Like | None = None
    holder: str | None = None  # the CrossTrade user (its WebSocket sends the RPC)


def _query(args: dict[str, Any]) -> dict[str, str]:
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in args.items()}


async def send(w: World, route: Route, args: dict[str, Any], headers: Headers) -> httpx.Response:
    """``route`` with ``args``: path parameters in the path, the rest as the query of a GET
    or the JSON body of anything else."""
    method, template = route
    in_path = {k: v for k, v in args.items() if "{" + k + "}" in template}
    rest = {k: v for k, v in args.items() if k not in in_path}
    path = template.format(**in_path)
    if method == "GET":
        return await w.client.get(path, params=_query(rest), headers=headers)
    return await w.client.request(method, path, json=rest, headers=headers)


async def state(w: World) -> dict[str, Any]:
    """What a refused request must leave as it was: the database and the market."""
    container = w.st.server.container
    return {"db": await snapshot(container.store), "market": container.market.snapshots()}


def shows_nothing_of_the_target(text: str, w: World, what: str) -> None:
    """``text`` (an answer to someone else) names none of demo's accounts nor the order."""
    for secret in ("Sim101", "Sim102", w.target.order_id):
        assert secret not in text, f"{what}: names {secret}: {text[:300]}"


def _same_but_the_reference(message: str, unknown: str, like: Like, what: str) -> None:
    if like.ref:
        message, unknown = (
            message.replace(like.ref, "<ref>"),
            unknown.replace(like.unknown, "<ref>"),
        )
    else:
        message, unknown = unnumbered(message), unnumbered(unknown)
    assert message == unknown, f"{what}: {message!r} differs from an unknown one's {unknown!r}"


Check = Callable[[httpx.Response, int, str, str], str]


async def check_rest(w: World, route: Route, cell: Cell, error: Check) -> Any:
    """Send ``cell`` to ``route`` and check the answer (with ``error``, the dialect's form);
    the answer's body."""
    what = f"{route[0]} {route[1]} with {cell.kind}"
    answer = await send(w, route, cell.args, cell.headers)
    if cell.code is None and cell.status == 200:
        assert answer.status_code == 200, f"{what}: {answer.status_code} {answer.text[:300]}"
        shows_nothing_of_the_target(answer.text, w, what)
        return loads(answer.content)
    assert cell.code is not None
    message = error(answer, cell.status, cell.code, what)
    if cell.like is not None:
        unknown = await send(w, route, cell.like.args, cell.headers)
        known = error(unknown, cell.status, cell.code, f"{what} (an unknown one)")
        _same_but_the_reference(message, known, cell.like, what)
    return loads(answer.content)


class Ledger:
    """The cells a test ran and the lines of those that failed, so that one failing test
    says every broken cell at once; and the state refused requests must leave as it was."""

    def __init__(self, w: World) -> None:
        self.w = w
        self.failures: list[str] = []
        self.cells = 0
        self.before: dict[str, Any] = {}

    async def __aenter__(self) -> Ledger:
        self.before = await state(self.w)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if exc[0] is not None:
            return
        container = self.w.st.server.container
        await container.engine.settle()
        await self.unchanged("the matrix, once the venue settled,")
        found = await violations(container.store, container.venue)
        self.failures.extend(f"invariant broken: {line}" for line in found)
        assert not self.failures, f"{len(self.failures)} failures in {self.cells} cells:\n" + (
            "\n".join(self.failures)
        )

    async def run(self, check: Awaitable[None]) -> None:
        """Run one cell's ``check``; a failed assertion is one more line of the report."""
        self.cells += 1
        try:
            await check
        except AssertionError as exc:
            self.failures.append(str(exc).splitlines()[0] if str(exc) else repr(exc))

    async def unchanged(self, what: str) -> None:
        """The state is as before; else a failure, and the changed state is the new baseline
        (so that the report names the one entry that changed it)."""
        now = await state(self.w)
        if now != self.before:
            self.failures.append(f"{what} changed the state")
            self.before = now
