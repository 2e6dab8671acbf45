"""What every client shares: JSON with exact decimals both ways, one request as a value
(``Call``), and the sync and async transports that send it and turn an error status into
the dialect's ``ApiError``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx

from ordergate.client.errors import ApiError, TransportError

__all__ = [
    "DEFAULT_TIMEOUT",
    "AsyncClosing",
    "AsyncTransport",
    "Call",
    "ErrorMaker",
    "Json",
    "Number",
    "SyncClosing",
    "SyncTransport",
    "answer",
    "dumps",
    "loads",
    "numbers",
    "segment",
    "without_none",
]

#: A decoded JSON answer: objects, arrays, str, int, Decimal (never float), bool, None.
Json = Any
#: A price or quantity as the SDK takes it: exact, never a float.
Number = Decimal | int | str
#: Turns an error status and its decoded body into the dialect's exception.
ErrorMaker = Callable[[int, Any], ApiError]
DEFAULT_TIMEOUT = 30.0

_MARK = "\x1fD"
_MARKED = re.compile(r'"\\u001fD(-?[0-9.]+)\\u001fD"')


def _decimal(value: object) -> object:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        return f"{_MARK}{value:f}{_MARK}"
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(content: Any) -> bytes:
    """JSON where Decimals are numbers written from their exact text."""
    text = json.dumps(content, default=_decimal, separators=(",", ":"), allow_nan=False)
    return _MARKED.sub(r"\1", text).encode()


def loads(raw: bytes | str) -> Json:
    """JSON where every number with a fraction or exponent is a Decimal, never a float."""
    return json.loads(raw, parse_float=Decimal)


def segment(value: str | int) -> str:
    """``value`` as one path segment (an account named ``a/b`` stays one segment)."""
    return quote(str(value), safe="")


def without_none(**fields: Any) -> dict[str, Any]:
    """The fields that are set: an absent option is left out, not sent as null."""
    return {k: v for k, v in fields.items() if v is not None}


def _number(value: Number) -> Decimal | int:
    """A price or quantity for the wire; a string is read as an exact decimal."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(f"a price or quantity is a Decimal, int or str, not {type(value).__name__}")
    return Decimal(value) if isinstance(value, str) else value


def numbers(**fields: Number | None) -> dict[str, Decimal | int]:
    """The numeric fields that are set, exact."""
    return {k: _number(v) for k, v in fields.items() if v is not None}


@dataclass(frozen=True, slots=True)
class Call:
    """One request: method, path under the client's base URL, query and JSON body."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    #: send ``body`` even on a GET (ScaleTrade reads its filters from a GET's JSON body)
    has_body: bool = False
    content_type: str = "application/json"

    def options(self, headers: Mapping[str, str]) -> dict[str, Any]:
        """The keyword arguments of ``httpx.Client.request`` for this call."""
        sent = dict(headers)
        options: dict[str, Any] = {"params": dict(self.params) or None, "headers": sent}
        if self.body is not None or self.has_body:
            sent["Content-Type"] = self.content_type
            raw = self.body if isinstance(self.body, str) else dumps(self.body or {})
            options["content"] = raw
        return options


def answer(response: httpx.Response, error: ErrorMaker) -> Json:
    """The decoded body of a 2xx answer; the dialect's error for any other."""
    try:
        body = loads(response.content) if response.content else None
    except ValueError:
        body = response.text
    if 200 <= response.status_code < 300:
        return body
    raise error(response.status_code, body)


class SyncTransport:
    """Sends calls over one ``httpx.Client`` (a connection pool)."""

    def __init__(
        self,
        base_url: str,
        error: ErrorMaker,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.Client | None = None,
    ) -> None:
        self._http = client or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self._error = error

    def send(self, call: Call, headers: Mapping[str, str] | None = None) -> Json:
        try:
            response = self._http.request(call.method, call.path, **call.options(headers or {}))
        except httpx.TransportError as exc:
            raise TransportError(f"{call.method} {call.path}: {exc!r}") from exc
        return answer(response, self._error)

    def close(self) -> None:
        self._http.close()


class AsyncTransport:
    """Sends calls over one ``httpx.AsyncClient``."""

    def __init__(
        self,
        base_url: str,
        error: ErrorMaker,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._http = client or httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)
        self._error = error

    async def send(self, call: Call, headers: Mapping[str, str] | None = None) -> Json:
        try:
            response = await self._http.request(
                call.method, call.path, **call.options(headers or {})
            )
        except httpx.TransportError as exc:
            raise TransportError(f"{call.method} {call.path}: {exc!r}") from exc
        return answer(response, self._error)

    async def aclose(self) -> None:
        await self._http.aclose()


class SyncClosing:
    """A client over a ``SyncTransport``: ``close()``, and closed at the end of a
    ``with``."""

    _transport: SyncTransport

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClosing:
    """A client over an ``AsyncTransport``: ``aclose()``, and closed at the end of an
    ``async with``."""

    _transport: AsyncTransport

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
