"""The methods a path really has: ``Allow`` on every 405 lists them all, and OPTIONS on a path
that exists answers 204 with them.

Starlette answers a method no route of a path takes with the methods of the first route
whose path matched, which need not be all of them: ``…/orders/{orderId}`` (GET) comes before
``…/orders/flatplace`` (POST), so ``DELETE …/orders/flatplace`` was told ``Allow: GET``.
``install_allow`` adds a handler for status 405 (Starlette looks handlers up by status
before class), so a request that routes normally never reaches it. The handler asks every
route, through ``BaseRoute.matches``, which methods fully match the path (OPTIONS, answered
here, always does) and keeps the answer for the next request to the same path; a 405 is
then rendered as any HTTP error of the path's dialect is. HEAD is listed only where a route
takes it: FastAPI's routes do not add it beside GET as Starlette's do.
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match

from ordergate.api.errors import error_registry

__all__ = ["allowed_methods", "install_allow"]

#: The order methods are listed in; others come after, by name.
_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
#: Distinct paths whose methods are kept.
_KEPT_PATHS = 1024


def allowed_methods(app: FastAPI, path: str, root_path: str = "") -> tuple[str, ...]:
    """The methods some route of ``app`` takes at ``path`` (a request's scope's, under
    ``root_path``), in the usual order."""
    methods: set[str] = set()
    for route in iter_route_contexts(app.routes):
        methods |= route.methods or set()
    found = {m for m in methods if any(_takes(r, m, path, root_path) for r in app.routes)}
    return _in_order(found)


def _takes(route: BaseRoute, method: str, path: str, root_path: str) -> bool:
    # A scope for each route: matching may write to it.
    scope = {"type": "http", "method": method, "path": path, "root_path": root_path}
    return route.matches(scope)[0] is Match.FULL


def _in_order(methods: set[str]) -> tuple[str, ...]:
    return tuple(sorted(methods, key=lambda m: (_ORDER.index(m) if m in _ORDER else 99, m)))


def install_allow(app: FastAPI) -> None:
    """Answer OPTIONS, and name every method of the path in a 405's ``Allow``, on ``app``
    (its error handlers installed)."""
    registry = error_registry(app)

    @lru_cache(maxsize=_KEPT_PATHS)
    def allow(path: str, root_path: str) -> str:
        return ", ".join(_in_order({*allowed_methods(app, path, root_path), "OPTIONS"}))

    async def on_method_not_allowed(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, HTTPException):  # Starlette calls it for HTTPExceptions only
            raise exc
        methods = allow(request.scope["path"], request.scope.get("root_path", ""))
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": methods})
        exc = HTTPException(405, exc.detail, {**(exc.headers or {}), "Allow": methods})
        return registry.http_error(request, exc)

    app.add_exception_handler(405, on_method_not_allowed)
