"""ScaleTrade's error form ``{"error": "<CODE>", "message": "..."}``, mapped from the domain
error tree in one table.

A session that may not act on a login is answered the same whether the login exists or not,
and an order of someone else's account is answered like an unknown ticket.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ordergate.api.errors import ErrorRegistry, validation_summary
from ordergate.api.scaletrade.wire import ScaleTradeJson
from ordergate.domain.errors import (
    AccountDisabled,
    AccountNotFound,
    AlreadyExists,
    AlreadyPendingCancel,
    AuthError,
    BadCredentials,
    Conflict,
    DomainError,
    InstrumentNotFound,
    InsufficientMargin,
    InvalidInput,
    InvalidPrice,
    InvalidQuantity,
    InvalidStops,
    MarketClosed,
    NoQuote,
    NotFound,
    OrderLocked,
    OrderNotCancellable,
    PermissionDenied,
    Rejected,
    SignInDisabled,
    Throttled,
    UserNotFound,
)
from ordergate.domain.reports import CancelFailure, FailureCode

__all__ = [
    "PREFIXES",
    "IncorrectCommand",
    "error_body",
    "failure_code",
    "install_errors",
    "render",
]

#: The paths ScaleTrade serves (each claims itself and what is below it).
PREFIXES = ("/sign", "/trade", "/trades", "/market", "/account", "/balances")
NO_ACCESS = "this session may not act on that login"


class IncorrectCommand(Conflict):
    """A cmd code the request does not take (a pending cmd to /trade/open, a trade's ticket
    to /trade/cancel...)."""

    code = "RET_TRADE_INCORRECT_CMD"


# Looked up along the exception's MRO: the most specific listed class wins.
_TABLE: dict[type[DomainError], tuple[int, str]] = {
    BadCredentials: (403, "USER_NOT_FOUND_OR_INCORRECT"),
    SignInDisabled: (402, "USER_DISABLED"),
    AuthError: (401, "UNAUTHORIZED"),
    PermissionDenied: (403, "PERMISSION_DENIED"),
    AccountNotFound: (403, "PERMISSION_DENIED"),
    Throttled: (429, "TOO_MANY_REQUESTS"),
    InvalidQuantity: (400, "RET_TRADE_BAD_VOLUME"),
    InvalidStops: (400, "RET_TRADE_BAD_STOPS"),
    InvalidPrice: (400, "RET_TRADE_BAD_PRICES"),
    InvalidInput: (400, "INVALID_DATA"),
    InstrumentNotFound: (404, "RET_SYMBOL_NOT_FOUND"),
    UserNotFound: (404, "RET_USER_NOT_FOUND"),
    NotFound: (404, "RET_NOT_FOUND"),
    OrderLocked: (409, "RET_TRADE_ORDER_LOCKED"),
    AlreadyPendingCancel: (409, "RET_TRADE_INCORRECT_STATE"),
    OrderNotCancellable: (409, "RET_TRADE_INCORRECT_CMD"),
    IncorrectCommand: (409, "RET_TRADE_INCORRECT_CMD"),
    AlreadyExists: (409, "RET_ERROR"),
    Conflict: (409, "RET_TRADE_INCORRECT_STATE"),
    MarketClosed: (409, "RET_TRADE_MARKET_CLOSED"),
    InsufficientMargin: (409, "RET_TRADE_NO_MONEY"),
    AccountDisabled: (409, "RET_ACCOUNT_DISABLED"),
    NoQuote: (409, "RET_TRADE_BAD_PRICES"),
    Rejected: (409, "RET_TRADE_DISABLE"),
}

_FAILURES = {
    FailureCode.ORDER_LOCKED: "RET_TRADE_ORDER_LOCKED",
    FailureCode.ALREADY_PENDING_CANCEL: "RET_TRADE_INCORRECT_STATE",
}


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": code, "message": message}


def render(exc: DomainError) -> tuple[int, str, str]:
    """Status, code and message of a domain error."""
    for cls in type(exc).__mro__:
        if cls in _TABLE:
            status, code = _TABLE[cls]
            message = NO_ACCESS if code == "PERMISSION_DENIED" else exc.message
            return status, code, message
    return 400, "RET_ERROR", exc.message


def failure_code(failure: CancelFailure) -> str:
    """A bulk cancel's failure as a return code: the venue refusing cancels because the
    market is closed is RET_TRADE_MARKET_CLOSED, any other refusal RET_TRADE_DISABLE."""
    if failure.code is FailureCode.VENUE_REJECTED:
        return (
            "RET_TRADE_MARKET_CLOSED" if failure.reason == "market_closed" else "RET_TRADE_DISABLE"
        )
    return _FAILURES[failure.code]


def _domain(request: Request, exc: DomainError) -> Response:
    status, code, message = render(exc)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Throttled) else None
    return ScaleTradeJson(error_body(code, message), status_code=status, headers=headers)


def _validation(request: Request, exc: RequestValidationError) -> Response:
    return ScaleTradeJson(error_body("INVALID_DATA", validation_summary(exc)), status_code=400)


def _http(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 404:
        body = error_body("RET_NOT_FOUND", f"no endpoint {request.method} {request.url.path}")
    elif exc.status_code == 405:
        body = error_body("METHOD_NOT_ALLOWED", f"{request.method} is not allowed here")
    else:
        body = error_body("RET_ERROR", str(exc.detail))
    return ScaleTradeJson(body, status_code=exc.status_code, headers=exc.headers)


def install_errors(app: FastAPI, registry: ErrorRegistry) -> None:
    for prefix in PREFIXES:
        registry.register(prefix, _domain, validation=_validation, http=_http)
