"""uvicorn's HTTP protocol, with the fast routes of a request whose body is all there run
straight from uvicorn's cycle.

Through the app, a placement passes uvicorn's proxy-headers layer, the app's fast-route
front and its body limit (api/fastroutes.py, api/limits.py): a layer of closures each, and
for the body limit a timer per request. When uvicorn starts a request's task, the body has
usually arrived with the head already (the parser read both from the same packet). Then
there is nothing left for those layers to do: no forwarded headers to apply, no body to
wait for or to count. ``FastHttpProtocol`` runs such a request's fast route directly
(``FastRoutedAPI.fast_direct``: the same endpoint, error handlers and catch-all), and its
answer goes to the socket in one write where uvicorn makes two (head, then body); every
other request, one with a body still to come or one over the limit included, goes the
whole way as before. It costs the server about a tenth less CPU per placement
(bench/README.md).

It hooks uvicorn's ``_start_asgi_task``, where uvicorn hands a request's cycle to the app;
the answer is still written by uvicorn's own ``send``. Were the hook to disappear from
uvicorn, every request would go the whole way: slower, with the same answers
(tests/fuzz/test_fast_server.py fails then, so that it is noticed).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from ordergate.api.fastroutes import FastRoutedAPI

__all__ = ["FastHttpProtocol"]


class FastHttpProtocol(HttpToolsProtocol):
    """``ordergate serve``'s HTTP protocol (uvicorn's ``http`` option)."""

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        api = self.config.app
        # ``app`` is another when uvicorn answers for itself (503 over its concurrency limit).
        if app is self.app and isinstance(api, FastRoutedAPI) and api.fast_direct is not None:
            app = _Direct(api, api.fast_direct, app, cycle)
        super()._start_asgi_task(cycle, app)


class _Direct:
    """One request's app: ``direct`` if the request can take it, else ``whole``."""

    __slots__ = ("api", "cycle", "direct", "whole")

    def __init__(
        self, api: FastRoutedAPI, direct: ASGIApp, whole: ASGIApp, cycle: RequestResponseCycle
    ) -> None:
        self.api, self.direct, self.whole, self.cycle = api, direct, whole, cycle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cycle, api = self.cycle, self.api
        if (
            not cycle.more_body  # all of the body is in (nothing has read it yet)
            and len(cycle.body) <= api.fast_body_limit
            and _unforwarded(scope)
            and api.fast_route(scope)
        ):
            # uvicorn writes an answer's head and body apart: two sends to the socket.
            gathered = _Gathered(cycle.transport)
            cycle.transport = cast(asyncio.Transport, gathered)
            try:
                await self.direct(scope, receive, send)
            finally:
                cycle.transport = gathered.transport
                gathered.flush()
        else:
            await self.whole(scope, receive, send)


def _unforwarded(scope: Scope) -> bool:
    """No X-Forwarded-* header: nothing for uvicorn's proxy-headers layer to apply."""
    return all(not name.startswith(b"x-forwarded-") for name, _ in scope["headers"])


class _Gathered:
    """A cycle's transport while its answer is made: what uvicorn writes is gathered and
    goes to the socket in one write, when the answer is done (``flush``) or before the
    connection is closed. Nothing else of the transport is used meanwhile."""

    __slots__ = ("parts", "transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.parts.append(data)

    def flush(self) -> None:
        if self.parts:
            data = b"".join(self.parts)
            self.parts.clear()
            self.transport.write(data)

    def close(self) -> None:
        self.flush()
        self.transport.close()
