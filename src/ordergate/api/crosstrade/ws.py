"""The CrossTrade WebSocket API at ``/ws/stream``.

Authentication happens in the handshake, with the user's CrossTrade token, in the first of
these that the client sends:

1. ``Authorization: Bearer <token>`` (what CrossTrade documents; any non-browser client).
2. The ``Sec-WebSocket-Protocol`` header, for browsers (which cannot set headers): offer
   ``bearer.<token>`` next to ``crosstrade``, i.e.
   ``new WebSocket(url, ["crosstrade", "bearer." + token])``; the server selects
   ``crosstrade``. A token is never echoed back: offered alone, ``bearer.<token>`` is not
   selected and the answer names no subprotocol (clients other than browsers accept that;
   browsers fail such a connection, so they must offer ``crosstrade`` too).
3. The ``token`` query parameter (``/ws/stream?token=<token>``), the last resort: query
   strings end up in proxy and server access logs, so prefer the subprotocol.

A missing or bad token refuses the handshake: the socket is never accepted. The answer is
HTTP 401 with CrossTrade's error body (``{"success": false, "error": "Unauthorized: ...",
"code": "UNAUTHENTICATED"}``) where the server supports the ASGI denial-response extension
(uvicorn does); elsewhere the close code 1008 (policy violation) before accepting, which the
server turns into HTTP 403. Browsers see either only as a failed connection (close 1006).

Once open, a connection whose user is disabled is closed with 4401 within about a second
(the access watch wakes it), one whose token is revoked within a minute; 1001 when the server
shuts down, 1011 on an internal error. The frames are described in ws_session.py and docs;
the accounts the connection pushes updates for are read once, at connect.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.websockets import WebSocket

from ordergate.api.crosstrade.context import limiter_of
from ordergate.api.crosstrade.errors import render_domain
from ordergate.api.crosstrade.ops import Ctx
from ordergate.api.crosstrade.wire import CrossTradeJson
from ordergate.api.crosstrade.ws_session import Session
from ordergate.api.crosstrade.ws_streams import visible_accounts
from ordergate.api.deps import container_of
from ordergate.domain.errors import AuthError

__all__ = ["PROTOCOL", "credentials", "router"]

router = APIRouter(tags=["websocket"])

PROTOCOL = "crosstrade"
_BEARER_PROTOCOL = "bearer."


def credentials(websocket: WebSocket) -> tuple[str | None, str | None]:
    """The token the handshake carries (header, subprotocol, query, in that order) and the
    subprotocol to accept with."""
    offered: list[str] = list(websocket.scope.get("subprotocols") or [])
    bearer = next((p for p in offered if p.startswith(_BEARER_PROTOCOL)), None)
    chosen = PROTOCOL if PROTOCOL in offered else None
    header = websocket.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.strip().partition(" ")
        return (token.strip() if scheme.casefold() == "bearer" else ""), chosen
    if bearer is not None:
        return bearer[len(_BEARER_PROTOCOL) :], chosen
    return websocket.query_params.get("token"), chosen


async def _refuse(websocket: WebSocket, exc: AuthError) -> None:
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        status, body = render_domain(exc, None)
        headers = {"WWW-Authenticate": "Bearer"}
        await websocket.send_denial_response(CrossTradeJson(body, status, headers=headers))
    else:
        await websocket.close(code=1008, reason=f"Unauthorized: {exc.message}")


@router.websocket("/ws/stream")
async def stream(websocket: WebSocket) -> None:
    """The CrossTrade WebSocket: ``rpc`` for every REST operation, market data, P&L, and
    pushed order, execution and position updates of the caller's accounts."""
    container = container_of(websocket)
    token, protocol = credentials(websocket)
    try:
        if not token:
            raise AuthError(
                "missing bearer token (Authorization: Bearer <token>, "
                "subprotocol bearer.<token>, or ?token=)"
            )
        principal = await container.users.authenticate_token(token)
    except AuthError as exc:
        await _refuse(websocket, exc)
        return
    accounts = await visible_accounts(container, principal)
    await websocket.accept(subprotocol=protocol)
    ctx = Ctx(container, principal)
    with container.metrics.websocket("crosstrade"):
        await Session(websocket, ctx, token, accounts, limiter_of(websocket)).serve()
