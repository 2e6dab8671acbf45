"""The SDK's one error tree. Every failure a client call can meet is one of these::

    OrdergateError                  anything the SDK raises
    ├── TransportError              no answer: the server unreachable, a timeout, a dropped
    │                               stream that could not be reopened
    └── ApiError                    an answer with an error status: ``status``, ``code``,
        │                           ``message`` and the decoded ``body``
        ├── CrossTradeError         /v1/api, /ws/stream and webhooks: ``code`` is the body's
        │                           ``code`` (``ORDER_NOT_FOUND``, ``MARKET_CLOSED``...),
        │                           ``INVALID_REQUEST`` or ``RATE_LIMITED`` where it has none
        ├── ScaleTradeError         /sign/in, /trade..., the stream at /: ``code`` is the
        │                           body's ``error`` (``RET_TRADE_ORDER_LOCKED``...)
        └── AdminError              /admin: ``code`` is the body's ``error``

Catch ``ApiError`` for any refusal, a dialect's class for its refusals, and read ``code`` to
tell them apart; ``body`` keeps the whole answer (a bulk cancel's ``notCancelled`` list).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AdminError",
    "ApiError",
    "CrossTradeError",
    "OrdergateError",
    "ScaleTradeError",
    "TransportError",
    "admin_error",
    "crosstrade_error",
    "scaletrade_error",
]


class OrdergateError(Exception):
    """Base of everything the SDK raises."""


class TransportError(OrdergateError):
    """The server gave no answer (connection refused or lost, timeout)."""


class ApiError(OrdergateError):
    """The server answered with an error status."""

    def __init__(self, status: int, code: str, message: str, body: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.body = body


class CrossTradeError(ApiError):
    """A refusal of the CrossTrade API (REST, WebSocket rpc or webhook)."""


class ScaleTradeError(ApiError):
    """A refusal of the ScaleTrade API."""


class AdminError(ApiError):
    """A refusal of the admin API."""


def _text(value: object, default: str) -> str:
    return value if isinstance(value, str) and value else default


#: CrossTrade answers a few refusals without a ``code``: these texts stand for one.
_CROSSTRADE_CODES = {"Invalid request": "INVALID_REQUEST", "Rate limit exceeded": "RATE_LIMITED"}


def crosstrade_error(status: int, body: Any) -> CrossTradeError:
    """The error a CrossTrade answer of ``status`` with ``body`` stands for."""
    fields = body if isinstance(body, dict) else {}
    message = _text(fields.get("error"), f"HTTP {status}")
    code = _text(fields.get("code"), _CROSSTRADE_CODES.get(message, f"HTTP_{status}"))
    return CrossTradeError(status, code, message, body)


def _coded(cls: type[ApiError], status: int, body: Any) -> ApiError:
    fields = body if isinstance(body, dict) else {}
    code = _text(fields.get("error"), f"HTTP_{status}")
    return cls(status, code, _text(fields.get("message"), code), body)


def scaletrade_error(status: int, body: Any) -> ApiError:
    """The error a ScaleTrade answer of ``status`` with ``body`` stands for."""
    return _coded(ScaleTradeError, status, body)


def admin_error(status: int, body: Any) -> ApiError:
    """The error an admin answer of ``status`` with ``body`` stands for."""
    return _coded(AdminError, status, body)
