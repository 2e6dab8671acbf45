"""Discovery: the catalog of the CrossTrade routes (``GET /v1/api/_endpoints``) and the OpenAPI
document under the API's prefix (``GET /v1/api/openapi.json``, as CrossTrade serves its own).

Both are public, without a token: they describe the API and say nothing of any account or
user. The catalog is read from the app's routes when asked, and each route's RPC from the
handler the route runs, so that it cannot fall out of step with either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.utils import generate_unique_id
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ordergate.api.crosstrade.answers import EndpointsAnswer
from ordergate.api.crosstrade.docs import example, reply
from ordergate.api.crosstrade.errors import PREFIX
from ordergate.api.crosstrade.ops import OPERATIONS
from ordergate.api.openapi import DocumentedRoute

__all__ = ["catalog", "operation_id", "router", "rpc_of"]

router = APIRouter(tags=["discovery"], route_class=DocumentedRoute)


def rpc_of(endpoint: Callable[..., Any]) -> str | None:
    """The operation a route runs: the one operation name among the literals of its endpoint
    function (every route calls ``run(ctx, "<RpcName>", args)``); None for a route that runs
    none (these discovery routes) or, ambiguously, several."""
    code = getattr(endpoint, "__code__", None)
    if code is None:
        return None
    names = {c for c in code.co_consts if isinstance(c, str) and c in OPERATIONS}
    return names.pop() if len(names) == 1 else None


def operation_id(route: APIRoute) -> str:
    """A route's OpenAPI operationId: the name of the operation it runs, as the WebSocket
    rpc and CrossTrade's docs name it (``PlaceOrder``), so that a generated client's methods
    read as the dialect's; FastAPI's default for a route that runs none (these set their
    own)."""
    return rpc_of(route.endpoint) or generate_unique_id(route)


def catalog(app: FastAPI) -> list[dict[str, Any]]:
    """Every route of ``app`` under the CrossTrade prefix: method, path template and the RPC
    that runs the same operation over the WebSocket, by path then method."""
    entries: list[dict[str, Any]] = []
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path
        if not isinstance(route, APIRoute) or path is None or not path.startswith(PREFIX + "/"):
            continue
        rpc = rpc_of(route.endpoint)
        # Starlette answers HEAD beside each GET by itself: not a route of its own.
        entries.extend(
            {"method": method, "path": path, "rpc": rpc}
            for method in (route.methods or set()) - {"HEAD"}
        )
    return sorted(entries, key=lambda e: (e["path"], e["method"]))


_CATALOG_EXAMPLE = {
    "success": True,
    "count": 2,
    "endpoints": [
        {"method": "GET", "path": "/v1/api/_endpoints", "rpc": None},
        {"method": "POST", "path": "/v1/api/accounts/{account}/orders/place", "rpc": "PlaceOrder"},
    ],
}


@router.get(
    "/_endpoints",
    operation_id="ListEndpoints",
    summary="The catalog of every CrossTrade route",
    description=(
        "Every route under /v1/api: method, path template and rpc, the name of the same "
        "operation as a WebSocket rpc at /ws/stream (null for the routes that run none: this "
        "one and /v1/api/openapi.json), sorted by path then method; count is their number. "
        "Read from the server's routes, so it lists exactly what this server serves. Needs no "
        "token (CrossTrade leaves the shape and the authentication of this route "
        "undocumented: ordergate's choice is this flat list, public because it names no "
        "account). The same API described in full: GET /v1/api/openapi.json (also at "
        "/openapi.json), public too."
    ),
    responses={200: example(_CATALOG_EXAMPLE, model=EndpointsAnswer)},
    openapi_extra={"security": []},
)
async def endpoints_route(request: Request) -> Response:
    found = catalog(request.app)
    return reply({"success": True, "count": len(found), "endpoints": found})


# Left out of the document it serves, as FastAPI's own /openapi.json is.
@router.get("/openapi.json", include_in_schema=False)
async def openapi_route(request: Request) -> Response:
    app: FastAPI = request.app
    return JSONResponse(app.openapi())
