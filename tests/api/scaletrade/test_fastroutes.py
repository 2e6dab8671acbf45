"""api/fastroutes.py: the hot routes of both dialects answer exactly as their FastAPI routes.

Here rather than in a directory of its own because this directory's fixtures give both a
CrossTrade server (``ct``) and ScaleTrade sessions (``st``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from ordergate.api.app import create_app
from ordergate.api.fastroutes import FastRoute, FastRouteTable, fast_routes
from ordergate.store.tables import order_events, orders
from tests.api.scaletrade.conftest import St

PLACE = "/v1/api/accounts/{account}/orders/place"
LIMIT = {
    "instrument": "ES 12-26",
    "action": "Buy",
    "quantity": 1,
    "orderType": "Limit",
    "timeInForce": "Gtc",
}


@pytest.fixture
async def app(st: St) -> FastAPI:
    return create_app(container=st.server.container)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@contextmanager
def without_fast_routes(app: FastAPI) -> Iterator[None]:
    table = fast_routes(app)
    kept, table.routes = table.routes, []
    try:
        yield
    finally:
        table.routes = kept


async def rows(st: St) -> tuple[int, int]:
    async with st.server.container.store.engine.connect() as conn:
        n_orders = (await conn.execute(select(func.count()).select_from(orders))).scalar_one()
        n_events = (await conn.execute(select(func.count()).select_from(order_events))).scalar_one()
    return n_orders, n_events


async def both_ways(
    app: FastAPI, client: httpx.AsyncClient, method: str, path: str, **kw: Any
) -> tuple[httpx.Response, httpx.Response]:
    fast = await client.request(method, path, **kw)
    with without_fast_routes(app):
        slow = await client.request(method, path, **kw)
    return fast, slow


def same(fast: httpx.Response, slow: httpx.Response, *, ignore: tuple[str, ...] = ()) -> None:
    assert fast.status_code == slow.status_code, (fast.text, slow.text)
    assert fast.headers.get("content-type") == slow.headers.get("content-type")
    assert fast.headers.get("retry-after") == slow.headers.get("retry-after")
    if fast.content or slow.content:
        mine, theirs = fast.json(), slow.json()
        for key in ignore:
            mine.pop(key, None)
            theirs.pop(key, None)
        assert mine == theirs


def spy_on(table: FastRouteTable) -> list[str]:
    """The paths of the fast routes that answer from now on, in order."""
    calls: list[str] = []

    def spied(route: FastRoute) -> FastRoute:
        async def endpoint(request: Any, **params: str) -> Any:
            calls.append(route.path)
            return await route.endpoint(request, **params)

        return FastRoute(route.method, route.path, endpoint, route.pattern)

    table.routes = [spied(r) for r in table.routes]
    return calls


def test_every_fast_route_is_a_documented_route(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    table = fast_routes(app).routes
    assert {(r.method, r.path) for r in table} == {
        ("POST", PLACE),
        ("POST", "/v1/api/accounts/{account}/orders/{orderId}/cancel"),
        ("POST", "/trade/open"),
        ("POST", "/trade/open/pending"),
        ("DELETE", "/trade/cancel"),
    }
    for route in table:
        assert route.method.lower() in paths[route.path]


async def test_crosstrade_refusals_are_the_same_either_way_and_change_nothing(
    st: St, app: FastAPI, client: httpx.AsyncClient
) -> None:
    token = {"Authorization": f"Bearer {st.server.token}"}
    other = {"Authorization": f"Bearer {st.server.other_token}"}
    before = await rows(st)
    cases: list[tuple[str, dict[str, Any]]] = [
        (PLACE.format(account="Sim101"), {"json": LIMIT | {"limitPrice": 5990}}),  # no token
        (PLACE.format(account="Sim101"), {"json": LIMIT, "headers": {"Authorization": "Bearer x"}}),
        (PLACE.format(account="Sim101"), {"json": LIMIT, "headers": {"Authorization": "Basic x"}}),
        (PLACE.format(account="Sim101"), {"json": LIMIT, "headers": {"Authorization": "Bearer"}}),
        (
            PLACE.format(account="Sim101"),
            {"json": LIMIT, "headers": {"Authorization": f"bearer  {st.server.token}"}},
        ),
        (PLACE.format(account="Sim101"), {"json": LIMIT | {"limitPrice": 5990}, "headers": other}),
        (PLACE.format(account="Nope"), {"json": LIMIT | {"limitPrice": 5990}, "headers": token}),
        (PLACE.format(account="Sim101"), {"content": b"{not json", "headers": token}),
        (PLACE.format(account="Sim101"), {"json": [1, 2], "headers": token}),
        (PLACE.format(account="Sim101"), {"json": LIMIT | {"quantity": -1}, "headers": token}),
        (PLACE.format(account="Sim101"), {"json": LIMIT, "headers": token}),  # no limit price
        (PLACE.format(account="Sim101"), {"json": LIMIT | {"instrument": "XX"}, "headers": token}),
        (PLACE.format(account="Sim101"), {"json": LIMIT | {"bogus": 1}, "headers": token}),
        (
            "/v1/api/accounts/Sim101/orders/0123456789abcdef0123456789abcdef/cancel",
            {"json": {}, "headers": token},
        ),
        ("/v1/api/accounts/Sim101/orders/not-an-id/cancel", {"headers": token}),
        ("/v1/api/accounts/Sim101/orders/place/", {"json": LIMIT, "headers": token}),  # not it
    ]
    for path, kw in cases:
        fast, slow = await both_ways(app, client, "POST", path, **kw)
        assert fast.status_code >= 300, (path, fast.text)
        same(fast, slow)
    assert await rows(st) == before


async def test_crosstrade_placements_and_cancels_are_the_same_either_way(
    st: St, app: FastAPI, client: httpx.AsyncClient
) -> None:
    token = {"Authorization": f"Bearer {st.server.token}"}
    body = LIMIT | {"limitPrice": 5990}
    fast, slow = await both_ways(app, client, "POST", PLACE.format(account="sim101"), json=body)
    same(fast, slow)  # no token: refused alike
    lower = {"Authorization": f"bearer {st.server.token}"}  # the scheme in any case
    fast, slow = await both_ways(
        app, client, "POST", PLACE.format(account="sim101"), json=body, headers=lower
    )
    same(fast, slow, ignore=("orderId",))
    assert fast.status_code == 200
    await st.server.container.engine.settle()
    for placed in (fast, slow):
        path = f"/v1/api/accounts/Sim101/orders/{placed.json()['orderId']}/cancel"
        answer = await client.post(path, headers=token)
        with without_fast_routes(app):
            again = await client.post(path, headers=token)  # already cancelling: refused
        assert answer.status_code == 200, answer.text
        assert again.status_code == 400, again.text
        assert answer.json() == {"orderId": placed.json()["orderId"], "success": True}


async def test_scaletrade_answers_are_the_same_either_way(
    st: St, app: FastAPI, client: httpx.AsyncClient
) -> None:
    mine, theirs = st.auth(1001), st.auth(2002)
    pending = {"login": 1001, "cmd": 2, "volume": 100, "symbol": "EURUSD", "open_price": 1.09}
    before = await rows(st)
    refusals: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/trade/open/pending", {"json": pending}),  # no session
        ("POST", "/trade/open/pending", {"json": pending, "headers": {"Authorization": "x.y.z"}}),
        ("POST", "/trade/open/pending", {"json": pending, "headers": theirs}),
        ("POST", "/trade/open/pending", {"json": pending | {"cmd": 0}, "headers": mine}),
        ("POST", "/trade/open/pending", {"json": pending | {"volume": 0}, "headers": mine}),
        ("POST", "/trade/open/pending", {"content": b"[", "headers": mine}),
        ("POST", "/trade/open", {"json": pending, "headers": mine}),  # a pending cmd
        ("DELETE", "/trade/cancel", {"json": {"order": 999999}, "headers": mine}),
        ("DELETE", "/trade/cancel", {"json": {"order": "x"}, "headers": mine}),
        ("PUT", "/trade/cancel", {"json": {"order": 1}, "headers": mine}),  # not a fast route
    ]
    for method, path, kw in refusals:
        fast, slow = await both_ways(app, client, method, path, **kw)
        assert fast.status_code >= 300, (path, fast.text)
        same(fast, slow)
    assert await rows(st) == before

    fast, slow = await both_ways(
        app, client, "POST", "/trade/open/pending", json=pending, headers=mine
    )
    same(fast, slow, ignore=("order",))
    assert fast.status_code == 200, fast.text
    market = {"login": 1001, "cmd": 0, "volume": 100, "symbol": "EURUSD"}
    opened, opened_slow = await both_ways(
        app, client, "POST", "/trade/open", json=market, headers=mine
    )
    same(opened, opened_slow, ignore=("order",))
    await st.server.container.engine.settle()
    for placed in (fast, slow):
        ticket = placed.json()["order"]
        answer = await client.request(
            "DELETE", "/trade/cancel", json={"order": ticket}, headers=mine
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["order"] == ticket


async def test_the_fast_routes_answer_and_a_bug_in_one_is_a_plain_500(
    st: St, app: FastAPI, client: httpx.AsyncClient
) -> None:
    table = fast_routes(app)
    calls = spy_on(table)
    token = {"Authorization": f"Bearer {st.server.token}"}
    answer = await client.post(
        PLACE.format(account="Sim101"), json=LIMIT | {"limitPrice": 5990}, headers=token
    )
    assert answer.status_code == 200, answer.text
    assert calls == [PLACE]

    async def broken(request: Any, **params: str) -> Any:
        raise RuntimeError("internal detail: password=hunter2")

    table.routes = [FastRoute(r.method, r.path, broken, r.pattern) for r in table.routes]
    answer = await client.post(PLACE.format(account="Sim101"), json=LIMIT, headers=token)
    assert answer.status_code == 500
    assert "hunter2" not in answer.text
    assert answer.json() == {"error": "INTERNAL_ERROR", "message": "internal server error"}


async def test_behind_a_root_path_the_fast_routes_leave_the_request_to_fastapi(
    st: St, app: FastAPI
) -> None:
    table = fast_routes(app)
    calls = spy_on(table)
    transport = httpx.ASGITransport(app=app, root_path="/gate")
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.post(
            "/gate" + PLACE.format(account="Sim101"),
            json=LIMIT | {"limitPrice": 5990},
            headers={"Authorization": f"Bearer {st.server.token}"},
        )
    assert answer.status_code == 200, answer.text
    assert calls == []  # FastAPI's route answered, as Starlette routes below a root path
