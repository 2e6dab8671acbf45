"""The ScaleTrade WebSocket stream, on the server's own port at ``/`` (ScaleTrade's stream URL
is ``wss://host:port`` with no path, so a client configured with the bare address works).

The handshake needs no credentials: the client authorizes with its first frame,
``{"authorization": "<__token from POST /sign/in>"}``. A client session then streams its own
login at once; a manager or admin session picks a login it may act on with
``{"event": "account.switch", "active_login": N}``. The frames, the event arrays and the
choices made where ScaleTrade's documents are silent: docs/scaletrade-stream.md, and
stream_frames.py, stream_events.py, stream_session.py.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.websockets import WebSocket

from ordergate.api.deps import container_of
from ordergate.api.scaletrade.stream_session import StreamSession

__all__ = ["PATH", "router"]

PATH = "/"

router = APIRouter(tags=["ScaleTrade"])


@router.websocket(PATH)
async def stream(websocket: WebSocket) -> None:
    """ScaleTrade's event stream: ``t`` quotes of subscribed symbols, and the ``b`` balance,
    ``o`` trade and ``n`` notification events of the selected account login."""
    await websocket.accept()
    container = container_of(websocket)
    with container.metrics.websocket("scaletrade"):
        await StreamSession(websocket, container).serve()
