"""The discovery routes through HTTP: GET /v1/api/_endpoints (the catalog of every CrossTrade
route with its RPC) and GET /v1/api/openapi.json, both public."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from ordergate.api.app import create_app
from ordergate.api.crosstrade.context import CallerDep
from ordergate.api.crosstrade.discovery import catalog
from ordergate.api.crosstrade.docs import reply
from ordergate.api.crosstrade.errors import PREFIX
from ordergate.api.crosstrade.ops import OPERATIONS, Args, query_args, run
from ordergate.settings import Settings
from tests.api.crosstrade.test_positions import parsed
from tests.api.crosstrade.wsclient import session
from tests.builders import snapshot

ENDPOINTS = "/v1/api/_endpoints"
#: The routes that run no operation.
DISCOVERY = {("GET", ENDPOINTS), ("GET", "/v1/api/openapi.json")}
METHODS = ("get", "put", "post", "delete", "patch")


async def endpoints(ct: Any, headers: dict[str, str] | None = None) -> Any:
    response = await ct.client.get(ENDPOINTS, headers=headers or {})
    assert response.status_code == 200, response.text
    return parsed(response)


async def test_the_catalog_is_every_route_under_the_prefix_with_its_rpc(ct):
    body = await endpoints(ct)

    assert list(body) == ["success", "count", "endpoints"]
    assert body["success"] is True
    found = body["endpoints"]
    assert body["count"] == len(found)
    assert all(list(e) == ["method", "path", "rpc"] for e in found)
    assert found == sorted(found, key=lambda e: (e["path"], e["method"]))
    # The same routes the OpenAPI document describes, and the one it leaves out (itself).
    doc = (await ct.client.get("/openapi.json")).json()
    documented = {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        if path.startswith(PREFIX + "/")
        for method in METHODS
        if method in item
    }
    listed = [(e["method"], e["path"]) for e in found]
    assert len(listed) == len(set(listed))
    assert set(listed) == documented | {("GET", "/v1/api/openapi.json")}
    # Each runs an operation, but the discovery routes; every operation has a route.
    rpcs = {(e["method"], e["path"]): e["rpc"] for e in found}
    assert {route for route, rpc in rpcs.items() if rpc is None} == DISCOVERY
    assert set(rpcs.values()) - {None} == set(OPERATIONS)


@pytest.mark.parametrize(
    ("method", "path", "rpc"),
    [
        ("POST", "/v1/api/accounts/{account}/orders/cancel", "CancelOrders"),
        ("POST", "/v1/api/accounts/{account}/orders/place", "PlaceOrder"),
        ("GET", "/v1/api/accounts/{account}/executions/{executionId}", "GetExecution"),
        ("GET", "/v1/api/market/quote", "GetQuote"),
        ("GET", "/v1/api/accounts/{account}/quote", "GetQuote"),
        ("POST", "/v1/api/accounts/{account}/strategies/{strategyId}/close", "CloseStrategy"),
        ("GET", "/v1/api/_endpoints", None),
    ],
)
async def test_the_catalog_names_each_routes_rpc(ct, method, path, rpc):
    found = (await endpoints(ct))["endpoints"]
    assert {"method": method, "path": path, "rpc": rpc} in found


async def test_each_listed_rpc_runs_over_the_websocket(ct, live):
    names = {e["rpc"] for e in (await endpoints(ct))["endpoints"]} - {None}
    async with session(live, ct.token) as client:
        for name in sorted(names):
            frame = await client.call(name, ["not", "an", "object"])
            # Known to the WebSocket: its args are refused, not its name.
            assert frame.get("code") == "INVALID_REQUEST", frame


async def test_the_catalog_needs_no_token_and_ignores_a_bad_one(ct):
    before = await snapshot(ct.container.store)
    public = await endpoints(ct)
    assert await endpoints(ct, ct.auth()) == public
    assert await endpoints(ct, {"Authorization": "Bearer og_nope"}) == public
    # It names routes, never an account.
    assert "Sim101" not in str(public)
    assert await snapshot(ct.container.store) == before


async def test_the_catalog_follows_the_routes_the_app_has():
    app = create_app(Settings(database_url="sqlite:///unused.db", market_source="none"))

    @app.get(PREFIX + "/widgets")
    async def widgets(request: Request, ctx: CallerDep) -> Response:
        return reply(await run(ctx, "GetOrders", query_args(request, Args)))

    @app.delete(PREFIX + "/widgets/{widgetId}")
    async def drop_widget(widgetId: str) -> Response:
        raise AssertionError("never called")

    @app.get("/elsewhere")
    async def elsewhere() -> Response:
        raise AssertionError("never called")

    found = catalog(app)
    assert {"method": "GET", "path": "/v1/api/widgets", "rpc": "GetOrders"} in found
    assert {"method": "DELETE", "path": "/v1/api/widgets/{widgetId}", "rpc": None} in found
    assert not [e for e in found if e["path"] == "/elsewhere"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        served = (await client.get(ENDPOINTS)).json()
    assert served["endpoints"] == found


async def test_another_method_on_the_catalog_is_405_in_crosstrades_form(ct):
    response = await ct.client.post(ENDPOINTS, json={})
    assert response.status_code == 405
    body = response.json()
    assert (body["success"], body["code"]) == (False, "METHOD_NOT_ALLOWED")


async def test_the_openapi_document_is_served_under_the_prefix_without_a_token(ct):
    response = await ct.client.get("/v1/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == (await ct.client.get("/openapi.json")).json()
    with_token = await ct.client.get("/v1/api/openapi.json", headers=ct.auth())
    assert with_token.json() == response.json()


async def test_the_document_says_the_catalog_is_public_and_leaves_itself_out(ct):
    doc = (await ct.client.get("/v1/api/openapi.json")).json()
    catalog_doc = doc["paths"][ENDPOINTS]["get"]
    assert catalog_doc["security"] == []
    assert "no token" in catalog_doc["description"].lower()
    assert "/v1/api/openapi.json" not in doc["paths"]
