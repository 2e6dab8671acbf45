"""``GET /metrics`` (Prometheus' text format), and the middleware that gives every HTTP request
its id and counts it.

``Telemetry`` is a pure ASGI middleware, the outermost of the app's own. For each HTTP request
it takes the client's ``X-Request-Id`` when it is well formed (1 to 128 of ``A-Z a-z 0-9 . _
: -``), else makes one (32 hex digits); sets it for the log lines written while the request
is answered (``ordergate.logs.REQUEST_ID``) and returns it as ``X-Request-Id`` on the answer,
errors included; and records the answer in the server's metrics by route template (never the
raw path: ``/v1/api/accounts/{account}/orders``, or ``unmatched``), dialect and status.

A bug's 500 is answered here, by the app's handler for ``Exception`` (which logs it), so
that it carries the request id too: Starlette would otherwise answer it outside every
middleware of the app.
"""

from __future__ import annotations

import inspect
import re
import secrets
import time

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordergate.api.deps import ContainerDep
from ordergate.logs import REQUEST_ID

__all__ = ["REQUEST_ID_HEADER", "Telemetry", "route_labels", "router"]

REQUEST_ID_HEADER = "X-Request-Id"
_HEADER = REQUEST_ID_HEADER.lower().encode()
_WELL_FORMED = re.compile(rb"[A-Za-z0-9._:-]{1,128}")

#: The dialect of a route, by the package of its endpoint.
_DIALECTS = (
    ("ordergate.api.crosstrade", "crosstrade"),
    ("ordergate.api.scaletrade", "scaletrade"),
    ("ordergate.api.admin", "admin"),
)
_UNMATCHED = ("unmatched", "other")

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
async def metrics(container: ContainerDep) -> Response:
    """The server's metrics in Prometheus' text format."""
    return Response(container.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def route_labels(route: BaseRoute | None, path: str) -> tuple[str, str]:
    """The route template and dialect a request for ``path`` that ``route`` answered is
    counted under. A route of a router included under a prefix knows only its own part of
    the template (``/accounts/{account}``): the prefix is the part of ``path`` before what
    that part matches."""
    template = getattr(route, "path", None)
    pattern = getattr(route, "path_regex", None)
    if not isinstance(template, str) or not isinstance(pattern, re.Pattern):
        return _UNMATCHED
    cut = next((i for i, c in enumerate(path) if c == "/" and pattern.match(path[i:])), 0)
    module = getattr(getattr(route, "endpoint", None), "__module__", None) or ""
    dialect = next((d for prefix, d in _DIALECTS if module.startswith(prefix)), "other")
    return path[:cut] + template, dialect


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == _HEADER:
            if _WELL_FORMED.fullmatch(value):
                return bytes(value).decode("ascii")
            break
    return secrets.token_hex(16)


class Telemetry:
    """Request ids in and out, and request metrics (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # By the route's id: routes compare by value and are not hashable; each lives as
        # long as the app.
        self._labels: dict[int, tuple[str, str]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        header = (_HEADER, request_id.encode("ascii"))
        started = time.perf_counter()
        status = 0

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        try:
            try:
                await self.app(scope, receive, answer)
            except Exception as exc:
                if status:
                    raise  # the answer has begun: the server can only drop the connection
                await self._bug(scope, receive, answer, exc)
        finally:
            REQUEST_ID.reset(token)
            self._count(scope, status or 500, time.perf_counter() - started)

    @staticmethod
    async def _bug(scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
        app = scope.get("app")
        handler = getattr(app, "exception_handlers", {}).get(Exception)
        if handler is None:
            raise exc
        response = handler(Request(scope, receive), exc)
        if inspect.isawaitable(response):
            response = await response
        await response(scope, receive, send)

    def _count(self, scope: Scope, status: int, seconds: float) -> None:
        container = getattr(getattr(scope.get("app"), "state", None), "container", None)
        if container is None:  # no server yet (a lifespan that has not run)
            return
        route = scope.get("route")
        labels = self._labels.get(id(route))
        if labels is None:
            labels = route_labels(route, scope["path"])
            if route is not None:  # every unmatched path differs: none is kept
                self._labels[id(route)] = labels
        container.metrics.request(labels[0], labels[1], status, seconds)
