"""Send a TradingView-style alert to a CrossTrade webhook URL, as TradingView does.

``payload`` is the alert's message: the text form (``"key=...; command=PLACE; ..."``, sent
as ``text/plain``) or a mapping of the same fields (sent as JSON). The answer is the
outcome (``{"success": true, "status": "Success", "orderIds": [...]}``; ``Blocked``,
``Failed`` and ``Pending`` are answers too); a refused alert (400 bad field, 401 unknown
webhook or wrong key, 429) raises ``CrossTradeError``.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from ordergate.client._http import DEFAULT_TIMEOUT, Call, Json, answer
from ordergate.client.errors import TransportError, crosstrade_error

__all__ = ["async_send_alert", "send_alert"]

Payload = str | Mapping[str, object]


def _call(payload: Payload) -> Call:
    if isinstance(payload, str):
        return Call("POST", "", body=payload, content_type="text/plain")
    return Call("POST", "", body=dict(payload))


def send_alert(webhook_url: str, payload: Payload, *, timeout: float = DEFAULT_TIMEOUT) -> Json:
    """Post ``payload`` to ``webhook_url``: the alert's outcome."""
    call = _call(payload)
    try:
        content, headers = _content(call)
        response = httpx.post(webhook_url, content=content, headers=headers, timeout=timeout)
    except httpx.TransportError as exc:
        raise TransportError(f"POST {webhook_url}: {exc!r}") from exc
    return answer(response, crosstrade_error)


async def async_send_alert(
    webhook_url: str, payload: Payload, *, timeout: float = DEFAULT_TIMEOUT
) -> Json:
    """``send_alert`` for asyncio."""
    content, headers = _content(_call(payload))
    try:
        async with httpx.AsyncClient(timeout=timeout) as http:
            response = await http.post(webhook_url, content=content, headers=headers)
    except httpx.TransportError as exc:
        raise TransportError(f"POST {webhook_url}: {exc!r}") from exc
    return answer(response, crosstrade_error)


def _content(call: Call) -> tuple[bytes | str, dict[str, str]]:
    options = call.options({})
    content: bytes | str = options["content"]
    headers: dict[str, str] = options["headers"]
    return content, headers
