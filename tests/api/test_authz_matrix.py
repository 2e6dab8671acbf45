"""The authorization matrix (issue 6, point 4): every endpoint and RPC, by every credential that
must not reach its target → the dialect's own 401, 403 or 404, and nothing changed.

The tables below name every route of the app (and every CrossTrade RPC): how to call it on
the target (user demo's account Sim101, login 1001: see tests/api/authz.py) and what it acts
on, which decides the credential kinds that apply and what each must get:

- CrossTrade (REST and WebSocket RPC, the same handlers): no credentials, a garbage, an
  API-token-shaped or a 4 kB token, a wrong or missing scheme, a revoked token (CrossTrade
  tokens do not expire: revoking is how one dies), a ScaleTrade JWT → 401, and the WebSocket
  refuses the handshake with them (in the header, the query or the subprotocol). Another
  user's token, a trader naming another user's account, a manager outside its groups → 404
  ACCOUNT_NOT_FOUND with the text an unknown account gets; one's own account with another
  account's order or fill → 404 as an unknown one. Calls over every account the caller may
  use answer 200 without a trace of the target's accounts. Over the WebSocket each answer is
  REST's, in a frame that echoes the request's id, and the connection stays open; streamPnl
  naming the target's account is refused like an unknown one.
- ScaleTrade: no, empty, garbage, 4 kB, expired, tampered, wrongly signed and unsigned
  (``alg: none``) JWTs, a wrong scheme, a CrossTrade token, an expired cookie → 401
  UNAUTHORIZED. A client JWT of another login (of the same owner or of another user) and a
  manager outside its groups → 403 PERMISSION_DENIED for the login, as for an unknown login,
  and 404 RET_NOT_FOUND for the target's ticket, alone or under a login the session may use,
  as for an unknown ticket.
- ScaleTrade stream (the WebSocket at ``/``): every refused JWT above, sent in its
  ``authorization`` frame → ``{"event": "authorization", "success": false, "error":
  "INVALID_TOKEN"}``, and the connection stays unauthorized (its frames refused, no events).
  A session switching to a login it may not act on → ``PERMISSION_DENIED`` with the text an
  unknown login gets; a session never receives an event of a login it may not see.
- Admin: no or bad API token, a ScaleTrade admin JWT → 401; a trader's or a manager's token → 403.

Every refused request leaves the database (orders, events, fills, positions, accounts) and the
market as they were, and the stored state keeps tests/invariants.py's rules.
``test_every_route_and_rpc_is_in_the_matrix`` fails for a route, an RPC or a WebSocket action
missing from the tables, and for an entry that no longer exists;
``test_each_matrix_call_is_accepted_from_the_targets_owner`` checks that each call, from the
target's owner, is accepted, so that the refusals are the credentials' doing and not a bad
request's.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import WebSocketRoute
from websockets.exceptions import ConnectionClosed, InvalidStatus

from ordergate.api.app import create_app
from ordergate.api.crosstrade.ops import OPERATIONS
from ordergate.api.crosstrade.ws_session import Session
from ordergate.api.scaletrade.stream import PATH as STREAM_PATH
from ordergate.api.scaletrade.stream_frames import AUTHORIZATION, EVENTS
from ordergate.settings import Settings
from tests.api.authz import (
    ES,
    VICTIM,
    Cell,
    Headers,
    Ledger,
    Like,
    Route,
    World,
    admin_error,
    check_rest,
    crosstrade_error,
    crosstrade_error_body,
    make_target,
    scaletrade_error,
    send,
    shows_nothing_of_the_target,
    unsigned,
    world,
)
from tests.api.crosstrade.conftest import ct, live
from tests.api.crosstrade.wsclient import Client, loads, session
from tests.api.scaletrade.conftest import DESK, FAR, PASSWORDS, _cheap_argon2, pending, st
from tests.api.scaletrade.helpers import market
from tests.api.scaletrade.streamclient import StreamClient, stream
from tests.api.scaletrade.streamclient import closed_by_the_server as stream_closed

__all__ = ["_cheap_argon2", "ct", "live", "st"]  # fixtures used here

# -- the tables -------------------------------------------------------------------------------


class Scope(enum.Enum):
    """What a request acts on, which decides the credential kinds that apply to it."""

    ACCOUNT = "an account it names"
    ORDER = "an order of an account it names"
    EXECUTION = "a fill of an account it names"
    CALLER = "every account the caller may use (or one it names)"
    MARKET = "market data, the same for every caller"
    LOGIN = "a login it names"
    LOGINS = "several logins it names (refused whole for one out of reach)"
    TRADE = "an open trade's ticket"
    PENDING = "a pending order's ticket"


@dataclass(frozen=True)
class Ct:
    """A CrossTrade operation: its RPC name, what it acts on, and its arguments besides the
    account, order and fill the scope names (for the REST route: the JSON body of a POST or
    PUT, the query of a GET)."""

    rpc: str
    scope: Scope
    extra: dict[str, Any] = field(default_factory=dict)
    #: CALLER scope: the arguments may name one account, which is then checked like a path's
    names_account: bool = False
    #: What the target's owner gets: 200, but for an operation refused to everyone who may use
    #: the account (CloseStrategy: ATM strategies are not simulated)
    owner_status: int = 200
    #: Another route of an RPC already in the table, in another form (GetQuote with an
    #: account: the deprecated per-account quote)
    same_rpc: bool = False


#: RPCs whose answer for an order that is not there (or not the caller's) is a 400.
GONE_IS_400 = {"Cancel", "ChangeOrder", "ReplaceOrder", "GetOrderStatus"}

PLACE = {
    "instrument": ES,
    "action": "Buy",
    "quantity": 1,
    "orderType": "Limit",
    "limitPrice": 5980,
    "timeInForce": "Gtc",
}
BRACKET = {"instrument": ES, "action": "Buy", "quantity": 1, "takeProfit": 6100, "stopLoss": 5900}
A = "/v1/api/accounts/{account}"

CROSSTRADE: dict[Route, Ct] = {
    ("GET", "/v1/api/accounts"): Ct("ListAccounts", Scope.CALLER),
    ("GET", "/v1/api/accounts/snapshot"): Ct("GetSnapshot", Scope.CALLER),
    ("GET", "/v1/api/alerts"): Ct("GetAlerts", Scope.CALLER),
    ("GET", A): Ct("GetAccount", Scope.ACCOUNT),
    ("GET", f"{A}/watermarks"): Ct("GetWatermarks", Scope.ACCOUNT),
    ("POST", f"{A}/orders/cancel"): Ct("CancelOrders", Scope.ACCOUNT, {"instrument": ES}),
    ("POST", f"{A}/orders/{{orderId}}/cancel"): Ct("Cancel", Scope.ORDER),
    ("POST", f"{A}/orders/place"): Ct("PlaceOrder", Scope.ACCOUNT, PLACE),
    ("GET", f"{A}/orders"): Ct("GetOrders", Scope.ACCOUNT),
    ("GET", f"{A}/orders/{{orderId}}"): Ct("GetOrder", Scope.ORDER),
    ("GET", f"{A}/orders/{{orderId}}/lifecycle"): Ct("GetLifecycle", Scope.ORDER),
    ("PUT", f"{A}/orders/{{orderId}}/change"): Ct("ChangeOrder", Scope.ORDER, {"limitPrice": 5985}),
    ("POST", f"{A}/orders/{{orderId}}/replace"): Ct("ReplaceOrder", Scope.ORDER, PLACE),
    ("POST", f"{A}/orders/flatplace"): Ct("FlatPlaceOrder", Scope.ACCOUNT, PLACE),
    ("GET", f"{A}/orders/{{orderId}}/status"): Ct("GetOrderStatus", Scope.ORDER),
    ("POST", "/v1/api/orders/cancelall"): Ct(
        "CancelAllOrders", Scope.CALLER, {"instrument": ES}, names_account=True
    ),
    ("POST", f"{A}/positions/reverseposition"): Ct("ReversePosition", Scope.ACCOUNT, PLACE),
    ("POST", f"{A}/orders/cancel_and_bracket"): Ct("CancelAndBracket", Scope.ACCOUNT, BRACKET),
    ("GET", f"{A}/positions"): Ct("GetPositions", Scope.ACCOUNT),
    ("GET", f"{A}/monitor"): Ct("GetMonitor", Scope.ACCOUNT),
    ("PUT", f"{A}/monitor"): Ct(
        "SetMonitor", Scope.ACCOUNT, {"enabled": True, "lossThreshold": 1000}
    ),
    ("POST", f"{A}/monitor/reset"): Ct("ResetMonitor", Scope.ACCOUNT),
    ("GET", f"{A}/monitor/log"): Ct("GetMonitorLog", Scope.ACCOUNT),
    ("POST", f"{A}/orders/cancelafter"): Ct("CancelAfter", Scope.ACCOUNT, {"timeout": 0}),
    ("PUT", "/v1/api/killswitch"): Ct(
        "SetKillSwitch", Scope.CALLER, {"enabled": False}, names_account=True
    ),
    ("GET", "/v1/api/killswitch"): Ct("GetKillSwitch", Scope.CALLER),
    ("GET", "/v1/api/positions"): Ct("GetAllPositions", Scope.CALLER, {"includeFlat": True}),
    ("GET", f"{A}/position"): Ct("GetPosition", Scope.ACCOUNT, {"instrument": ES}),
    ("POST", f"{A}/positions/close"): Ct("ClosePosition", Scope.ACCOUNT, {"instrument": ES}),
    ("POST", f"{A}/positions/flatten"): Ct("Flatten", Scope.ACCOUNT),
    ("POST", "/v1/api/positions/flatten"): Ct(
        "FlattenEverything", Scope.CALLER, {"all": True}, names_account=True
    ),
    ("POST", f"{A}/positions/reverse"): Ct("Reverse", Scope.ACCOUNT, {"instrument": ES}),
    ("GET", f"{A}/executions"): Ct("GetExecutions", Scope.ACCOUNT),
    ("GET", f"{A}/executions/{{executionId}}"): Ct("GetExecution", Scope.EXECUTION),
    ("GET", "/v1/api/market/quote"): Ct("GetQuote", Scope.MARKET, {"instrument": ES}),
    ("GET", f"{A}/quote"): Ct("GetQuote", Scope.ACCOUNT, {"instrument": ES}, same_rpc=True),
    ("POST", f"{A}/strategies/{{strategyId}}/close"): Ct(
        "CloseStrategy", Scope.ACCOUNT, {"strategyId": "ATM_1"}, owner_status=400
    ),
    ("GET", "/v1/api/market/info"): Ct("GetMarketInfo", Scope.MARKET, {"instrument": ES}),
    ("POST", "/v1/api/market/bars"): Ct("GetBars", Scope.MARKET, {"instrument": ES}),
}


@dataclass(frozen=True)
class Sc:
    """A ScaleTrade request: what it acts on, and its fields besides the login or ticket (a
    JSON body, or the query of a GET)."""

    scope: Scope
    extra: dict[str, Any] = field(default_factory=dict)


SCALETRADE: dict[Route, Sc] = {
    ("POST", "/trade/open"): Sc(Scope.LOGIN, {"cmd": 0, "volume": 10, "symbol": "EURUSD"}),
    ("POST", "/trade/open/pending"): Sc(
        Scope.LOGIN, {"cmd": 2, "volume": 10, "symbol": "EURUSD", "open_price": 1.08}
    ),
    ("PUT", "/trade/modify/open"): Sc(Scope.TRADE, {"sl": 1.05}),
    ("PUT", "/trade/modify"): Sc(Scope.TRADE, {"sl": 1.05}),
    ("PUT", "/trade/modify/pending"): Sc(Scope.PENDING, {"open_price": 1.085}),
    ("DELETE", "/trade/close"): Sc(Scope.TRADE, {"volume": 10}),
    ("DELETE", "/trade/cancel"): Sc(Scope.PENDING),
    ("DELETE", "/trade/close/group"): Sc(Scope.LOGIN, {"type": 0}),
    ("DELETE", "/trade/cancel/group"): Sc(Scope.LOGIN),
    ("GET", "/trades"): Sc(Scope.LOGIN, {"tradeType": 0}),
    ("GET", "/market/symbol"): Sc(Scope.LOGIN, {"symbol": "EURUSD"}),
    ("GET", "/market"): Sc(Scope.LOGIN),
    ("GET", "/account/me"): Sc(Scope.LOGIN),
    ("GET", "/account/balance"): Sc(Scope.LOGIN),
    ("GET", "/balances/list"): Sc(Scope.LOGINS),
}

#: Admin routes and their body (POST) or query (GET). The quote would fill Sim101's resting
#: ES buy limit: a push that got through would show in the orders, not only in the market.
ADMIN: dict[Route, dict[str, Any]] = {
    ("POST", "/admin/quotes"): {"symbol": ES, "bid": "5950.00", "ask": "5950.25"},
    ("GET", "/admin/market"): {},
    ("GET", "/admin/bars"): {"symbol": ES, "period": 1},
}

#: The handshake of the CrossTrade WebSocket; its RPCs are CROSSTRADE's operations.
WEBSOCKET: Route = ("WS", "/ws/stream")

#: The WebSocket's actions, and where the matrix has each.
WS_ACTIONS: dict[str, str] = {
    "rpc": "every operation in CROSSTRADE, with every valid token of the matrix",
    "streampnl": "names accounts: check_stream_pnl, with the target's",
    "subscribe": "market data, the same for every caller",
    "unsubscribe": "market data, the same for every caller",
    "ping": "names nothing",
    "cancelondisconnect": "names nothing: acts on the connection's own orders",
}

#: The ScaleTrade stream; it authorizes with its first frame, not in the handshake.
SCALETRADE_STREAM: Route = ("WS", STREAM_PATH)

#: The ScaleTrade stream's frames, and where the matrix has each.
STREAM_EVENTS: dict[str, str] = {
    "authorization": "every refused JWT: test_the_scaletrade_stream_refuses_bad_or_foreign_jwts",
    "account.switch": "names a login: the same test, with the target's login",
    "subscribe": "market data, the same for every caller",
    "unsubscribe": "market data, the same for every caller",
}

EXEMPT: dict[Route, str] = {
    ("GET", "/healthz"): "public liveness probe; says nothing of any account",
    ("GET", "/metrics"): "Prometheus scrape: counts and timings, no account's data",
    ("GET", "/"): "the web blotter page; a public static file, every call it makes is authorized",
    ("GET", "/static/{path:path}"): "the blotter's and the API docs' packaged assets; public",
    ("GET", "/admin/tokens"): "admin only: tests/api/test_admin_manage.py (401, 403)",
    ("GET", "/admin/faults"): "admin only: tests/api/test_admin_faults.py (401, 403)",
    ("PUT", "/admin/faults"): "admin only: tests/api/test_admin_faults.py (401, 403)",
    ("DELETE", "/admin/faults"): "admin only: tests/api/test_admin_faults.py (401, 403)",
    ("POST", "/admin/tokens/{token_id}/revoke"): "admin only: tests/api/test_admin_manage.py",
    ("GET", "/admin/users"): "admin only: tests/api/test_admin_manage.py (401, 403)",
    ("POST", "/admin/users/{name}/disable"): "admin only: tests/api/test_admin_manage.py",
    ("POST", "/admin/users/{name}/enable"): "admin only: tests/api/test_admin_manage.py",
    ("GET", "/admin/accounts"): "admin only: tests/api/test_admin_manage.py (401, 403)",
    ("POST", "/admin/accounts/{account}/disable"): "admin only: tests/api/test_admin_manage.py",
    ("POST", "/admin/accounts/{account}/enable"): "admin only: tests/api/test_admin_manage.py",
    ("POST", "/admin/reset"): "admin only: tests/api/test_admin_manage.py (401, 403)",
    ("POST", "/v1/send/{webhookId}"): (
        "authenticated by its payload's key, not a header: "
        "test_the_webhook_takes_only_its_users_own_live_key"
    ),
    ("GET", "/v1/api/_endpoints"): "the public catalog of the CrossTrade routes; names no account",
    ("GET", "/v1/api/openapi.json"): "the public API description, under CrossTrade's prefix",
    ("GET", "/openapi.json"): "the public API description",
    ("GET", "/docs"): "the public API documentation",
    ("GET", "/docs/oauth2-redirect"): "part of the public API documentation page",
    ("GET", "/redoc"): "the public API documentation",
    ("POST", "/sign/in"): (
        "issues the ScaleTrade credentials; its refusals (wrong password, unknown login, "
        "throttling) are tests/api/scaletrade/test_signin.py's"
    ),
}


def app_routes() -> set[Route]:
    """Every (method, path) the app serves; HEAD, which Starlette adds beside each GET of
    its own routes, goes with the GET."""
    app = create_app(Settings(database_url="sqlite:///:memory:"))
    found: set[Route] = set()
    for route in iter_route_contexts(app.routes):
        path = route.path
        assert path is not None, route
        if isinstance(route.original_route, WebSocketRoute) or route.methods is None:
            found.add(("WS", path))
            continue
        found.update((method, path) for method in route.methods - {"HEAD"})
    return found


def _differences(what: str, served: set[Any], tabled: list[Any]) -> list[str]:
    problems = [
        f"{what} twice in the tables: {x}" for x in sorted(set(tabled)) if tabled.count(x) > 1
    ]
    problems += [f"{what} missing from the matrix: {x}" for x in sorted(served - set(tabled))]
    problems += [
        f"{what} in the matrix no longer exists: {x}" for x in sorted(set(tabled) - served)
    ]
    return problems


def test_every_route_and_rpc_is_in_the_matrix() -> None:
    """A new route, RPC or WebSocket action must be added to a table here (or to EXEMPT,
    with the reason) before it can ship; an entry whose route went must go too."""
    # The actions a connection serves (a Session is built here only to read its table).
    actions = set(Session(None, None, "", [], None)._actions)  # type: ignore[arg-type]
    problems = [
        *_differences(
            "route",
            app_routes(),
            [*CROSSTRADE, *SCALETRADE, *ADMIN, WEBSOCKET, SCALETRADE_STREAM, *EXEMPT],
        ),
        *_differences(
            "RPC", set(OPERATIONS), [e.rpc for e in CROSSTRADE.values() if not e.same_rpc]
        ),
        *(
            f"RPC of another form, but in no other entry: {e.rpc}"
            for e in CROSSTRADE.values()
            if e.same_rpc
            and not any(o.rpc == e.rpc and not o.same_rpc for o in CROSSTRADE.values())
        ),
        *_differences("WebSocket action", actions, list(WS_ACTIONS)),
        *_differences("stream event", {AUTHORIZATION, *EVENTS}, list(STREAM_EVENTS)),
    ]
    assert not problems, "\n".join(problems)
    # Each table's checks know the scopes it uses (a new scope needs its expectations).
    ct_scopes = {Scope.ACCOUNT, Scope.ORDER, Scope.EXECUTION, Scope.CALLER, Scope.MARKET}
    assert {e.scope for e in CROSSTRADE.values()} <= ct_scopes
    st_scopes = {Scope.LOGIN, Scope.LOGINS, Scope.TRADE, Scope.PENDING}
    assert {e.scope for e in SCALETRADE.values()} <= st_scopes


# -- the credential kinds ---------------------------------------------------------------------

UNKNOWN_ACCOUNT = "Nope1"
UNKNOWN_ORDER = "f" * 32
UNKNOWN_EXECUTION = 987654321
UNKNOWN_LOGIN = 5555
UNKNOWN_TICKET = 987654
VICTIM_LOGIN = 1001

#: CrossTrade credentials refused before anything is looked at: 401 (and no WebSocket).
CT_UNAUTHENTICATED: dict[str, Callable[[World], Headers]] = {
    "no credentials": lambda w: {},
    "a garbage token": lambda w: {"Authorization": "Bearer not-a-token"},
    "an API-token-shaped garbage token": lambda w: {"Authorization": "Bearer og_" + "x" * 43},
    "a 4 kB garbage token": lambda w: {"Authorization": "Bearer " + "x" * 4096},
    "a wrong scheme": lambda w: {"Authorization": f"Basic {w.tokens['demo']}"},
    "no scheme": lambda w: {"Authorization": w.tokens["demo"]},
    "a revoked token": lambda w: w.bearer("revoked"),
    "a ScaleTrade JWT": lambda w: {"Authorization": f"Bearer {w.jwts[VICTIM_LOGIN]}"},
}


@dataclass(frozen=True)
class Foreign:
    """A valid CrossTrade token that must not reach the target: whose, the account it names,
    and (own_account) whether it names the target's order or fill under that account."""

    holder: str
    account: str
    own_account: bool = False


CT_FOREIGN: dict[str, Foreign] = {
    "another user's token": Foreign("other", VICTIM),
    "a trader on another user's account": Foreign("demo", "Other"),
    "a manager outside its groups": Foreign("far", VICTIM),
    "another account's order or fill, under one's own account": Foreign("other", "Other", True),
}

#: ScaleTrade credentials refused before anything is looked at: 401 UNAUTHORIZED. (With
#: tests/api/scaletrade/helpers.bad_tokens: no, empty, expired, tampered, wrongly signed and
#: non-JWT tokens.)
ST_UNAUTHENTICATED: dict[str, Callable[[World], Headers]] = {
    "a wrong scheme": lambda w: {"Authorization": f"Basic {w.jwts[VICTIM_LOGIN]}"},
    "a 4 kB garbage token": lambda w: {"Authorization": "x" * 4096},
    "a CrossTrade token": lambda w: w.bearer("demo"),
    "an expired cookie": lambda w: {"Cookie": f"__token={w.bad_jwts['expired']['Authorization']}"},
    "an unsigned JWT (alg none)": lambda w: {"Authorization": unsigned(w.jwts[VICTIM_LOGIN])},
}

#: ScaleTrade sessions that must not reach login 1001: the session's login, and a login it
#: may act on (under which it names the target's ticket).
ST_FOREIGN: dict[str, tuple[int, int]] = {
    "a client JWT of another login of the same owner": (1002, 1002),
    "a client JWT of another user's account": (2002, 2002),
    "a manager outside its groups": (901, 2002),
}

#: Admin API: 401 for these, 403 for ADMIN_FORBIDDEN.
ADMIN_UNAUTHENTICATED: dict[str, Callable[[World], Headers]] = {
    "no credentials": lambda w: {},
    "a garbage token": lambda w: {"Authorization": "Bearer not-a-token"},
    "a wrong scheme": lambda w: {"Authorization": f"Basic {w.tokens['root']}"},
    "a revoked admin token": lambda w: w.bearer("revoked admin"),
    "a ScaleTrade admin JWT": lambda w: {"Authorization": f"Bearer {w.jwts[1]}"},
}
ADMIN_FORBIDDEN: dict[str, str] = {"a trader's token": "demo", "a manager's token": "desk"}


# -- cells ------------------------------------------------------------------------------------


def ct_args(entry: Ct, w: World, account: str = VICTIM) -> dict[str, Any]:
    """The RPC arguments of ``entry`` on ``account`` and the target's order or fill (path
    parameters included)."""
    args: dict[str, Any] = {}
    if entry.scope in (Scope.ACCOUNT, Scope.ORDER, Scope.EXECUTION):
        args["account"] = account
    if entry.scope is Scope.ORDER:
        args["orderId"] = w.target.order_id
    if entry.scope is Scope.EXECUTION:
        args["executionId"] = w.target.execution_id
    return {**args, **entry.extra}


def ct_cells(entry: Ct, w: World) -> list[Cell]:
    cells = [
        Cell(kind, headers(w), ct_args(entry, w), 401, "UNAUTHENTICATED")
        for kind, headers in CT_UNAUTHENTICATED.items()
    ]
    for kind, foreign in CT_FOREIGN.items():
        cells.extend(_ct_foreign(entry, w, kind, foreign))
    return cells


def _ct_foreign(entry: Ct, w: World, kind: str, foreign: Foreign) -> list[Cell]:
    headers, holder = w.bearer(foreign.holder), foreign.holder
    scope = entry.scope
    if foreign.own_account:
        # Only a request naming an order or a fill can carry another account's.
        if scope is Scope.ORDER:
            key, ref, unknown = "orderId", w.target.order_id, UNKNOWN_ORDER
        elif scope is Scope.EXECUTION:
            key, ref, unknown = "executionId", str(w.target.execution_id), str(UNKNOWN_EXECUTION)
        else:
            return []
        args = ct_args(entry, w, foreign.account)
        like = Like({**args, key: type(args[key])(unknown)}, ref, unknown)
        code = "ORDER_NOT_FOUND" if scope is Scope.ORDER else "NOT_FOUND"
        # Acting on an order that is gone is upstream's 400 (its stable text), alike for
        # someone else's order, an unknown one and one that ended.
        status = 400 if entry.rpc in GONE_IS_400 else 404
        return [Cell(kind, headers, args, status, code, like, holder)]
    if scope in (Scope.ACCOUNT, Scope.ORDER, Scope.EXECUTION):
        args = ct_args(entry, w, foreign.account)
        like = Like({**args, "account": UNKNOWN_ACCOUNT}, foreign.account, UNKNOWN_ACCOUNT)
        return [Cell(kind, headers, args, 404, "ACCOUNT_NOT_FOUND", like, holder)]
    if scope is not Scope.CALLER:
        return []  # market data: the same for every caller
    cells = []
    if foreign.account == VICTIM:
        cells.append(Cell(kind, headers, dict(entry.extra), 200, None, holder=holder))
    if entry.names_account:
        args = {**entry.extra, "account": foreign.account}
        like = Like({**args, "account": UNKNOWN_ACCOUNT}, foreign.account, UNKNOWN_ACCOUNT)
        cells.append(Cell(kind, headers, args, 404, "ACCOUNT_NOT_FOUND", like, holder))
    return cells


def st_args(entry: Sc, w: World, login: int | None = VICTIM_LOGIN, **fields: Any) -> dict:
    if entry.scope is Scope.LOGIN:
        args: dict[str, Any] = {"login": login}
    elif entry.scope is Scope.LOGINS:
        args = {"logins": [login]}
    else:
        ticket = w.target.trade if entry.scope is Scope.TRADE else w.target.pending
        args = {"order": ticket} if login is None else {"order": ticket, "login": login}
    return {**args, **entry.extra, **fields}


def st_cells(entry: Sc, w: World) -> list[Cell]:
    unauthenticated = {**w.bad_jwts, **{k: f(w) for k, f in ST_UNAUTHENTICATED.items()}}
    cells = [
        Cell(kind, headers, st_args(entry, w), 401, "UNAUTHORIZED")
        for kind, headers in unauthenticated.items()
    ]
    for kind, (login, own) in ST_FOREIGN.items():
        headers = {"Authorization": w.jwts[login]}
        if entry.scope in (Scope.LOGIN, Scope.LOGINS):
            args = st_args(entry, w)
            like = Like(st_args(entry, w, UNKNOWN_LOGIN), "", "")
            cells.append(Cell(kind, headers, args, 403, "PERMISSION_DENIED", like))
            continue
        # The ticket alone, or under a login the session may use: not one it may see, as if
        # unknown. Naming login 1001 too: the login is refused.
        for how, args in (
            ("ticket alone", st_args(entry, w, None)),
            (f"ticket under its own login {own}", st_args(entry, w, own)),
        ):
            ref = str(args["order"])
            like = Like({**args, "order": UNKNOWN_TICKET}, ref, str(UNKNOWN_TICKET))
            cells.append(Cell(f"{kind}, {how}", headers, args, 404, "RET_NOT_FOUND", like))
        named = st_args(entry, w)
        cells.append(Cell(f"{kind}, naming login 1001", headers, named, 403, "PERMISSION_DENIED"))
    return cells


def admin_cells(args: dict[str, Any], w: World) -> list[Cell]:
    cells = [
        Cell(kind, headers(w), args, 401, "UNAUTHENTICATED")
        for kind, headers in ADMIN_UNAUTHENTICATED.items()
    ]
    cells.extend(
        Cell(kind, w.bearer(holder), args, 403, "PERMISSION_DENIED")
        for kind, holder in ADMIN_FORBIDDEN.items()
    )
    return cells


# -- the matrix -------------------------------------------------------------------------------


@pytest.fixture
async def w(st) -> World:
    return await world(st)


async def check_crosstrade(
    w: World, route: Route, entry: Ct, cell: Cell, sockets: dict[str, Client]
) -> None:
    """REST, then (for a valid token) the same request as an RPC on the holder's WebSocket:
    the same answer, in an error frame that echoes the request's id."""
    body = await check_rest(w, route, cell, crosstrade_error)
    if cell.holder is None:
        return  # no WebSocket opens with this credential (test_…_handshake)
    rid = f"{entry.rpc} with {cell.kind}"
    frame = await sockets[cell.holder].call(entry.rpc, cell.args, rid=rid)
    what = f"RPC {rid}"
    assert frame.get("id") == rid, f"{what}: {frame}"
    if cell.code is None and cell.status == 200:
        assert "data" in frame, f"{what}: {frame}"
        shows_nothing_of_the_target(repr(frame["data"]), w, what)
        return
    assert frame.get("status") == cell.status, f"{what}: {frame}"
    error = {k: v for k, v in frame.items() if k not in ("id", "status")}
    crosstrade_error_body(error, cell.code, what)
    assert error == body, f"{what}: the frame {error} differs from REST's {body}"


async def check_stream_pnl(w: World, socket: Client, holder: str) -> None:
    """streamPnl naming the target's account: refused like an unknown account."""
    what = f"streamPnl of {VICTIM} by {holder}"
    frames = []
    for rid, account in ((what, VICTIM), (f"{what} (unknown)", UNKNOWN_ACCOUNT)):
        await socket.send({"action": "streamPnl", "id": rid, "accounts": [account]})
        frame = await socket.until(lambda f, rid=rid: f.get("id") == rid)
        assert frame.get("status") == 404, f"{what}: {frame}"
        error = {k: v for k, v in frame.items() if k not in ("id", "status")}
        text = crosstrade_error_body(error, "ACCOUNT_NOT_FOUND", what)
        frames.append(text.replace(account, "<ref>"))
    assert frames[0] == frames[1], f"{what}: {frames[0]!r} differs from {frames[1]!r}"


async def still_open(socket: Client, holder: str) -> None:
    await socket.ping()
    assert socket.ws.close_code is None, f"the WebSocket of {holder} closed"


async def test_crosstrade_refuses_every_bad_or_foreign_credential(w, live):
    async with (
        Ledger(w) as ledger,
        session(live, w.tokens["other"]) as other,
        session(live, w.tokens["demo"]) as demo,
        session(live, w.tokens["far"]) as far,
    ):
        sockets = {"other": other, "demo": demo, "far": far}
        for route, entry in CROSSTRADE.items():
            for cell in ct_cells(entry, w):
                await ledger.run(check_crosstrade(w, route, entry, cell, sockets))
            await ledger.unchanged(f"{route[0]} {route[1]}")
        for holder in ("other", "far"):
            await ledger.run(check_stream_pnl(w, sockets[holder], holder))
        for holder, socket in sockets.items():
            await ledger.run(still_open(socket, holder))


async def test_the_crosstrade_websocket_refuses_bad_credentials_at_the_handshake(w, live):
    offers: dict[str, dict[str, Any]] = {
        kind: {"additional_headers": headers(w)} for kind, headers in CT_UNAUTHENTICATED.items()
    }
    offers["a garbage token in the query"] = {"query": "?token=not-a-token"}
    offers["a revoked token in the query"] = {"query": f"?token={w.tokens['revoked']}"}
    offers["a revoked token as subprotocol"] = {
        "subprotocols": ["crosstrade", f"bearer.{w.tokens['revoked']}"]
    }
    async with Ledger(w) as ledger:
        for kind, offer in offers.items():
            await ledger.run(refused_handshake(live, kind, offer))


async def refused_handshake(live: str, kind: str, offer: dict[str, Any]) -> None:
    try:
        async with session(live, None, **offer):
            raise AssertionError(f"the WebSocket opened with {kind}")
    except InvalidStatus as refused:
        response = refused.response
        assert response.status_code == 401, f"{kind}: {response.status_code}"
        crosstrade_error_body(loads(response.body), "UNAUTHENTICATED", kind)


async def test_scaletrade_refuses_every_bad_or_foreign_credential(w):
    async with Ledger(w) as ledger:
        for route, entry in SCALETRADE.items():
            for cell in st_cells(entry, w):
                await ledger.run(check_rest(w, route, cell, scaletrade_error))
            await ledger.unchanged(f"{route[0]} {route[1]}")


async def test_the_admin_api_refuses_everyone_but_an_admin(w):
    async with Ledger(w) as ledger:
        for route, args in ADMIN.items():
            for cell in admin_cells(args, w):
                await ledger.run(check_rest(w, route, cell, admin_error))
            await ledger.unchanged(f"{route[0]} {route[1]}")


# -- the calls are valid ----------------------------------------------------------------------


async def test_each_matrix_call_is_accepted_from_the_targets_owner(w):
    """The refusals above are the credentials' doing: from its owner (demo, the session of
    login 1001, an admin), each request of the matrix is accepted (CloseStrategy: refused
    to everyone, with its own 400, not a 401 or 404)."""
    failures: list[str] = []
    calls: list[tuple[Route, Callable[[], dict[str, Any]], Headers, int]] = [
        *(
            (r, lambda e=e: ct_args(e, w), w.bearer("demo"), e.owner_status)
            for r, e in CROSSTRADE.items()
        ),
        *(
            (r, lambda e=e: st_args(e, w), {"Authorization": w.jwts[VICTIM_LOGIN]}, 200)
            for r, e in SCALETRADE.items()
        ),
        *((r, lambda a=a: a, w.bearer("root"), 200) for r, a in ADMIN.items()),
    ]
    for route, args, headers, status in calls:
        if route[0] != "GET":
            w.target = await make_target(w.st)  # a mutation may use up the last target
        answer = await send(w, route, args(), headers)
        if answer.status_code != status:
            failures.append(f"{route[0]} {route[1]}: {answer.status_code} {answer.text[:300]}")
        await w.st.server.container.engine.settle()
    assert not failures, "\n".join(failures)


# -- disabled users and accounts --------------------------------------------------------------

#: CrossTrade operations that take on or move exposure: refused on a disabled account.
EXPOSING = {
    "PlaceOrder",
    "ChangeOrder",
    "ReplaceOrder",
    "FlatPlaceOrder",
    "CancelAndBracket",
    "ClosePosition",
    "Reverse",
}


async def disable(w: World, *, user: str | None = None, login: int | None = None) -> None:
    """Disable ``user`` or account ``login`` as another process would (plain SQL), and let
    the server's access watch read it (it does so by itself every ``access_check_s``)."""
    from sqlalchemy import update

    from ordergate.store.tables import accounts, users

    container = w.st.server.container
    async with container.store.transaction() as tx:
        if user is not None:
            stmt = update(users).where(users.c.name == user).values(enabled=False)
        else:
            stmt = update(accounts).where(accounts.c.login == login).values(enabled=False)
        await tx.connection.execute(stmt)
        await tx.commit()
    assert await container.access.check()


async def closed_by_the_server(socket: Client, code: int, what: str) -> None:
    try:
        async with asyncio.timeout(5):
            while True:
                await socket.ws.recv()
    except ConnectionClosed:
        pass
    assert socket.ws.close_code == code, f"{what}: closed with {socket.ws.close_code}"


async def signs_in_no_more(w: World, login: int, password: str, what: str) -> None:
    answer = await w.client.post("/sign/in", json={"login": login, "password": password})
    w.client.cookies.clear()
    scaletrade_error(answer, 402, "USER_DISABLED", what)


async def test_a_disabled_user_is_refused_at_every_entry_point(w, live):
    """demo (owner of Sim101, login 1001), desk (a manager with a staff login) and root (an
    admin) disabled: their tokens, the sessions already issued to them and to the accounts
    they own, sign-in, new and open WebSockets all stop."""
    async with session(live, w.tokens["demo"]) as opened:
        for name in ("demo", "desk", "root"):
            await disable(w, user=name)
        await closed_by_the_server(opened, 4401, "demo's open WebSocket")
    async with Ledger(w) as ledger:
        for route, entry in CROSSTRADE.items():
            args = ct_args(entry, w)
            cell = Cell("a disabled user's token", w.bearer("demo"), args, 401, "UNAUTHENTICATED")
            await ledger.run(check_rest(w, route, cell, crosstrade_error))
        for route, sc in SCALETRADE.items():
            for login, whose in ((VICTIM_LOGIN, "an account of a disabled user"), (900, "desk")):
                headers = {"Authorization": w.jwts[login]}
                cell = Cell(f"the session of {whose}", headers, st_args(sc, w), 401, "UNAUTHORIZED")
                await ledger.run(check_rest(w, route, cell, scaletrade_error))
        for route, args in ADMIN.items():
            cell = Cell("a disabled admin's token", w.bearer("root"), args, 401, "UNAUTHENTICATED")
            await ledger.run(check_rest(w, route, cell, admin_error))
        await ledger.run(signs_in_no_more(w, VICTIM_LOGIN, PASSWORDS[VICTIM_LOGIN], "1001"))
        await ledger.run(signs_in_no_more(w, DESK[0], DESK[1], "desk"))
        offer = {"additional_headers": w.bearer("demo")}
        await ledger.run(refused_handshake(live, "a disabled user's token", offer))


async def test_a_disabled_account_signs_in_no_more_and_takes_no_new_exposure(w, live):
    """Sim101 (login 1001) disabled, its owner not: its sessions and sign-in stop; through
    CrossTrade its owner may still read it and cancel its orders, but nothing that takes on
    or moves exposure goes through."""
    await disable(w, login=VICTIM_LOGIN)
    async with Ledger(w) as ledger:
        for route, sc in SCALETRADE.items():
            headers = {"Authorization": w.jwts[VICTIM_LOGIN]}
            cell = Cell(
                "a disabled account's session", headers, st_args(sc, w), 401, "UNAUTHORIZED"
            )
            await ledger.run(check_rest(w, route, cell, scaletrade_error))
        await ledger.run(signs_in_no_more(w, VICTIM_LOGIN, PASSWORDS[VICTIM_LOGIN], "1001"))
        for route, entry in CROSSTRADE.items():
            if entry.rpc not in EXPOSING:
                continue
            cell = Cell("its owner", w.bearer("demo"), ct_args(entry, w), 400, "ACCOUNT_DISABLED")
            await ledger.run(check_rest(w, route, cell, crosstrade_error))
    # Reading and cancelling stay open; flattening cancels and reports each close refused.
    for route in (("GET", f"{A}/orders"), ("POST", f"{A}/orders/cancel")):
        answer = await send(w, route, {"account": VICTIM}, w.bearer("demo"))
        assert answer.status_code == 200, f"{route}: {answer.text}"
    await w.st.server.container.engine.settle()  # the cancels are done: nothing left to do
    answer = await send(
        w, ("POST", f"{A}/positions/flatten"), {"account": VICTIM}, w.bearer("demo")
    )
    assert answer.status_code == 400, answer.text
    assert {f["code"] for f in answer.json()["failed"]} == {"ACCOUNT_DISABLED"}, answer.text


async def test_the_server_notices_a_user_disabled_elsewhere_within_a_second(w, live):
    """No explicit check: the access watch reads the flags every ``access_check_s`` (0.5 s),
    and the open WebSocket of the user is closed. The bound here is wider than a second so
    that a busy machine does not fail it; the watch's interval is what keeps it prompt."""
    container = w.st.server.container
    assert container.settings.access_check_s <= 0.5
    async with session(live, w.tokens["demo"]) as opened:
        from sqlalchemy import update

        from ordergate.store.tables import users

        async with container.store.transaction() as tx:
            await tx.connection.execute(
                update(users).where(users.c.name == "demo").values(enabled=False)
            )
            await tx.commit()
        await closed_by_the_server(opened, 4401, "demo's open WebSocket")
    answer = await send(w, ("GET", "/v1/api/accounts"), {}, w.bearer("demo"))
    crosstrade_error(answer, 401, "UNAUTHENTICATED", "demo's token")


# -- the ScaleTrade stream --------------------------------------------------------------------


def stream_tokens(w: World) -> dict[str, Any]:
    """What each refused credential puts in the stream's authorization frame: its
    Authorization value (an expired cookie's JWT is the expired one, already here)."""
    unauthenticated = {**w.bad_jwts, **{k: f(w) for k, f in ST_UNAUTHENTICATED.items()}}
    return {
        kind: headers.get("Authorization")
        for kind, headers in unauthenticated.items()
        if "Cookie" not in headers
    }


async def refused_in_the_stream(client: StreamClient, kind: str, token: Any) -> None:
    answer = await client.authorize(token)
    what = f"the stream's authorization with {kind}"
    assert answer.get("success") is False, f"{what}: {answer}"
    assert answer.get("error") == "INVALID_TOKEN", f"{what}: {answer}"
    answer = await client.ask({"event": "account.switch", "active_login": VICTIM_LOGIN}, "error")
    assert answer.get("error") == "UNAUTHORIZED", f"{what}, then a switch: {answer}"


async def switch_refused(client: StreamClient, kind: str) -> None:
    """A switch to the target's login is refused as one to an unknown login is."""
    texts = []
    for login in (VICTIM_LOGIN, UNKNOWN_LOGIN):
        answer = await client.ask(
            {"event": "account.switch", "active_login": login}, "account.switch"
        )
        what = f"{kind} switching to {login}"
        assert answer.get("success") is False, f"{what}: {answer}"
        assert answer.get("error") == "PERMISSION_DENIED", f"{what}: {answer}"
        texts.append(answer["message"].replace(str(login), "<login>"))
    assert texts[0] == texts[1], f"{kind}: {texts[0]!r} differs from {texts[1]!r}"


def logins_in(frames: list[Any]) -> set[int]:
    """The logins the event arrays among ``frames`` are of (a quote is of none)."""
    where = {"o": 2, "b": 1, "n": 6}
    return {f[where[f[0]]] for f in frames if isinstance(f, list) and f[0] in where}


async def victim_trades(w: World) -> int:
    """Open, pend, cancel and close on login 1001; the closed trade's ticket."""
    st = w.st
    ticket = await market(st, VICTIM_LOGIN)
    order = await pending(st, VICTIM_LOGIN)
    await st.server.container.engine.settle()
    for method, path, body in (
        ("DELETE", "/trade/cancel", {"order": order}),
        ("DELETE", "/trade/close", {"order": ticket}),
    ):
        answer = await st.call(method, path, body, login=VICTIM_LOGIN)
        assert answer.status_code == 200, answer.text
    await st.server.container.engine.settle()
    return ticket


async def test_the_scaletrade_stream_refuses_bad_or_foreign_jwts(w, live):
    """Refused JWTs leave a connection unauthorized; sessions of other logins (1002, 2002) and
    a manager outside its groups may not switch to 1001, and of 1001's trades, cancels and
    closes they receive nothing, while a session of 1001 receives them all."""
    st = w.st
    async with (
        stream(live) as unauthorized,
        stream(live, w.jwts[VICTIM_LOGIN]) as victim,
        stream(live, w.jwts[1002]) as same_owner,
        stream(live, w.jwts[2002]) as other_user,
        stream(live, w.jwts[FAR[0]]) as far,
    ):
        for kind, token in stream_tokens(w).items():
            await refused_in_the_stream(unauthorized, kind, token)
        foreign = {1002: same_owner, 2002: other_user, FAR[0]: far}
        for login, client in foreign.items():
            await switch_refused(client, f"the session of {login}")
        answer = await far.ask({"event": "account.switch", "active_login": 2002}, "account.switch")
        assert answer["success"] is True, answer

        closed = await victim_trades(w)
        note = await victim.event("n")
        assert note[8] == {"order": closed}
        # Each then sees an order of its own login, published after all of 1001's: anything
        # of 1001 it were sent would have come first.
        for login in (1002, 2002):
            await pending(st, login)
        for login, client in foreign.items():
            own = 2002 if login == FAR[0] else login
            await client.event("o", lambda e, own=own: e[2] == own)
            frames = [*client.unread, *await client.sync()]
            assert logins_in(frames) <= {own}, f"the session of {login}: {frames}"
            shows_nothing_of_the_target(repr(frames), w, f"the session of {login}")
        assert logins_in(await unauthorized.sync()) == set()
        assert logins_in(await victim.sync()) == {VICTIM_LOGIN}


async def test_the_server_closes_a_disabled_logins_stream_within_a_second(w, live):
    """No explicit check: the access watch reads the flags every ``access_check_s``, and the
    stream of the disabled account closes (the bound here is wider, for a busy machine)."""
    from sqlalchemy import update

    from ordergate.store.tables import accounts

    container = w.st.server.container
    assert container.settings.access_check_s <= 0.5
    async with stream(live, w.jwts[VICTIM_LOGIN]) as client:
        async with container.store.transaction() as tx:
            await tx.connection.execute(
                update(accounts).where(accounts.c.login == VICTIM_LOGIN).values(enabled=False)
            )
            await tx.commit()
        frames = await stream_closed(client)
    assert frames[-1]["error"] == "INVALID_TOKEN", frames
    assert client.ws.close_code == 4401


# -- the TradingView webhook ------------------------------------------------------------------


async def test_the_webhook_takes_only_its_users_own_live_key(w):
    """demo's webhook URL with any key but one of demo's live tokens, and a rotated URL with
    demo's key: the same 401, nothing placed, nothing recorded."""
    from ordergate.auth.webhooks import Webhooks

    hooks = Webhooks(w.st.server.container.users)
    path = f"/v1/send/{await hooks.webhook_id('demo')}"
    alert = (
        "key={key}; command=PLACE; account=Sim101; instrument=ES 12-26; action=BUY; qty=1;"
        " order_type=MARKET; tif=DAY;"
    )
    keys = {
        "another user's token": w.tokens["other"],
        "a manager's token": w.tokens["desk"],
        "an admin's token": w.tokens["root"],
        "demo's revoked token": w.tokens["revoked"],
        "a ScaleTrade JWT": w.jwts[VICTIM_LOGIN],
    }
    async with Ledger(w) as ledger:
        answers = {}
        for kind, key in keys.items():
            answers[kind] = await w.client.post(path, content=alert.format(key=key).encode())
        await hooks.rotate_webhook("demo")
        answers["a rotated webhook"] = await w.client.post(
            path, content=alert.format(key=w.tokens["demo"]).encode()
        )
        for kind, answer in answers.items():
            await ledger.run(_refused_alert(kind, answer))
        texts = {a.text for a in answers.values()}
        assert len(texts) == 1, texts


async def _refused_alert(kind: str, answer: Any) -> None:
    assert answer.status_code == 401, f"{kind}: {answer.status_code} {answer.text[:200]}"
    crosstrade_error_body(loads(answer.content), "UNAUTHENTICATED", kind)
