"""The hottest routes answered without FastAPI's per-request machinery.

For every request FastAPI checks its telemetry providers, passes the request through
Starlette's middleware stack, tries the routes' patterns one by one, solves the route's tree
of dependencies and wraps the call in its exception and exit-stack layers. For a placement
under load that was about a quarter of the server's CPU (bench/README.md, ``load.py``).
``FastRoutedAPI`` answers a few hot routes, placing and cancelling orders, before all of it:
the same endpoint functions, the same callers (token, session, rate limit) and the same
error handlers as their FastAPI routes. Those routes stay registered; they answer everything
else (another method, a path that only looks alike) and the OpenAPI schema documents them.

The front the app factory builds is ``CatchBugs(BodyLimit(FastRoutes))``: bodies are limited
as for every route (limits.py), errors take the app's handlers, and a bug is the catch-all
500, as Starlette's server error layer answers it for the other routes. ``ordergate serve``
goes one step further for a request whose body has all arrived (api/fastserver.py).
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
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CatchBugs",
    "FastEndpoint",
    "FastRoute",
    "FastRouteTable",
    "FastRoutedAPI",
    "FastRoutes",
    "fast_routes",
]

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

    def match(self, scope: Scope) -> tuple[FastRoute, dict[str, str]] | None:
        """The route an HTTP request's method and path match, with its path parameters."""
        method, path = scope["method"], scope["path"]
        for route in self.routes:
            if route.method == method:
                found = route.pattern.fullmatch(path)
                if found is not None:
                    return route, found.groupdict()
        return None


def fast_routes(app: FastAPI) -> FastRouteTable:
    table: FastRouteTable | None = getattr(app.state, "fast_routes", None)
    if table is None:
        table = app.state.fast_routes = FastRouteTable()
    return table


class FastRoutedAPI(FastAPI):
    """A FastAPI app whose fast routes are answered before FastAPI's own layers (its
    telemetry check, Starlette's middleware stack, the router): ``fast_front`` (set by the
    app factory) takes the requests ``fast_routes(app)`` matches."""

    fast_front: ASGIApp | None = None
    #: ``fast_front`` without its body limit, for a request whose whole body has arrived
    #: and is within ``fast_body_limit`` (api/fastserver.py); set with ``fast_front``.
    fast_direct: ASGIApp | None = None
    fast_body_limit: int = 0

    def fast_route(self, scope: Scope) -> bool:
        """Whether ``scope`` is a request for a fast route; if it is, the route, its path
        parameters and the app are set in it, as the fast front expects them."""
        # Behind a root path Starlette routes by the path without it: leave that to FastAPI.
        if self.fast_front is None or scope["type"] != "http":
            return False
        if self.root_path or scope.get("root_path"):
            return False
        found = fast_routes(self).match(scope)
        if found is None:
            return False
        route, params = found
        scope["app"] = self
        scope["path_params"] = params
        scope[_ROUTE] = route
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        front = self.fast_front
        if front is not None and self.fast_route(scope):
            await front(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


_ROUTE = "ordergate.fast_route"


class FastRoutes:
    """The endpoint of the matched fast route, its errors answered by the app's handlers
    (as Starlette's exception layer finds them); what no handler claims is raised."""

    def __init__(self, owner: FastAPI) -> None:
        self.owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: FastRoute = scope[_ROUTE]
        request = Request(scope, receive, send)
        try:
            response = await route.endpoint(request, **scope["path_params"])
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise
            answer = handler(request, exc)
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> Handler | None:
        """The app's handler for ``exc``; the catch-all (``Exception``) is ``CatchBugs``'s."""
        handlers = self.owner.exception_handlers
        if isinstance(exc, HTTPException) and exc.status_code in handlers:
            return handlers[exc.status_code]
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            if cls in handlers:
                return handlers[cls]
        return None


class CatchBugs:
    """What Starlette's server error layer does for the other routes: an exception nothing
    handled is answered by the app's catch-all handler (a 500 that says nothing of the
    internals), if the response has not started, and raised on for the server to log."""

    def __init__(self, app: ASGIApp, *, owner: FastAPI) -> None:
        self.app = app
        self.owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            handler: Handler | None = self.owner.exception_handlers.get(Exception)
            if not started:
                response: Response
                if handler is None:
                    response = PlainTextResponse("Internal Server Error", status_code=500)
                else:
                    answer = handler(Request(scope), exc)
                    response = await answer if inspect.isawaitable(answer) else answer
                await response(scope, receive, send)
            raise
