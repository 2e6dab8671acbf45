"""The hottest routes answered without FastAPI's per-request machinery.

For every request FastAPI tries the routes' patterns one by one, solves the route's tree of
dependencies and wraps the call in its exception and exit-stack layers. For a placement under
load that is about a fifth of the server's CPU (bench/README.md, ``load.py``). ``FastRoutes``
answers a few hot routes, placing and cancelling orders, directly: the same endpoint
functions, the same callers (token, session, rate limit) and the same error handlers as
their FastAPI routes. Those routes stay registered; they answer everything else (another
method, a path that only looks alike, the OpenAPI schema documents them).

``FastRoutes`` sits inside ``BodyLimit`` (limits.py), so bodies are limited as before; an
exception no handler claims goes on to the server's catch-all, as from a FastAPI route.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["FastEndpoint", "FastRoute", "FastRoutes", "fast_routes"]

#: ``endpoint(request, **path_params)``: the response, or an exception the app's handlers
#: turn into one.
FastEndpoint = Callable[..., Awaitable[Response]]
Handler = Callable[[Request, Any], Response | Awaitable[Response]]

_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True, slots=True)
class FastRoute:
    method: str
    path: str  # as the FastAPI route declares it: /v1/api/accounts/{account}/orders/place
    endpoint: FastEndpoint
    pattern: re.Pattern[str]


class FastRouteTable:
    """The fast routes of one app (``app.state.fast_routes``)."""

    def __init__(self) -> None:
        self.routes: list[FastRoute] = []

    def add(self, method: str, path: str, endpoint: FastEndpoint) -> None:
        # A path parameter matches one segment, as in Starlette's routes.
        pattern = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)"
            for i, part in enumerate(_PARAM.split(path))
        )
        self.routes.append(FastRoute(method, path, endpoint, re.compile(pattern)))


def fast_routes(app: FastAPI) -> FastRouteTable:
    table: FastRouteTable | None = getattr(app.state, "fast_routes", None)
    if table is None:
        table = app.state.fast_routes = FastRouteTable()
    return table


class FastRoutes:
    """Answer the routes of ``table`` directly; pass everything else to ``app``."""

    def __init__(self, app: ASGIApp, *, table: FastRouteTable, owner: FastAPI) -> None:
        self.app = app
        self.table = table
        self.owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            method, path = scope["method"], scope["path"]
            for route in self.table.routes:
                if route.method != method:
                    continue
                match = route.pattern.fullmatch(path)
                if match is None:
                    continue
                scope["path_params"] = match.groupdict()
                request = Request(scope, receive, send)
                try:
                    response = await route.endpoint(request, **match.groupdict())
                except Exception as exc:
                    handler = self._handler(exc)
                    if handler is None:
                        raise
                    answer = handler(request, exc)
                    response = await answer if inspect.isawaitable(answer) else answer
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _handler(self, exc: Exception) -> Handler | None:
        """The app's handler for ``exc``, as Starlette's exception layer finds it; the
        catch-all (``Exception``) is left to the server error layer outside, as for any
        route."""
        handlers = self.owner.exception_handlers
        if isinstance(exc, HTTPException) and exc.status_code in handlers:
            return handlers[exc.status_code]
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            if cls in handlers:
                return handlers[cls]
        return None
