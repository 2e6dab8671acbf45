"""CrossTrade's error form: ``{"success": false, "error": "<text>", "code": "<CODE>"}``; a
malformed request is the seed's ``{"error": "Invalid request"}`` (with a ``detail``).

Someone else's account answers exactly like an unknown one (404, the same text), so that a
token learns nothing about accounts it may not use.
"""

from __future__ import annotations

import difflib
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from starlette.requests import Request
from starlette.responses import Response

from ordergate.api.crosstrade.wire import CrossTradeJson
from ordergate.api.errors import validation_summary
from ordergate.domain.errors import (
    AccountNotFound,
    AuthError,
    DomainError,
    NotFound,
    PermissionDenied,
)

__all__ = ["PREFIX", "Unsuccessful", "error_body", "install_errors", "order_gone", "status_of"]


class Unsuccessful(Exception):
    """An operation that answers with its own full body and a status other than 200: a bulk
    cancel that matched orders but could cancel none (its lists say why), an order that is
    gone. REST sends ``body`` with ``status``; the WebSocket the same body in an error
    frame carrying ``status``."""

    def __init__(self, body: dict[str, Any], status: int = 400) -> None:
        super().__init__(body.get("error", ""))
        self.body = body
        self.status = status


def order_gone(ref: str) -> Unsuccessful:
    """Cancelling (changing, replacing) an order that is unknown, someone else's, or ended:
    the text upstream calls stable, alike for all three."""
    text = f"Order linked to '{ref}' not found or already terminal."
    return Unsuccessful({"success": False, "error": text, "code": "ORDER_NOT_FOUND"})


PREFIX = "/v1/api"
_HTTP_CODES = {408: "REQUEST_TIMEOUT", 413: "PAYLOAD_TOO_LARGE"}


def error_body(message: str, code: str) -> dict[str, Any]:
    return {"success": False, "error": message, "code": code}


def status_of(exc: DomainError) -> int:
    if isinstance(exc, AuthError):
        return 401
    if isinstance(exc, NotFound | PermissionDenied):
        return 404
    return 400  # CrossTrade answers refusals (bad input, wrong state, market closed) with 400


def render_domain(exc: DomainError, account: str | None) -> tuple[int, dict[str, Any]]:
    if isinstance(exc, PermissionDenied | AccountNotFound):
        return 404, error_body(f"Account '{account}' not found", "ACCOUNT_NOT_FOUND")
    if isinstance(exc, AuthError):
        return 401, error_body(f"Unauthorized: {exc.message}", exc.code)
    return status_of(exc), error_body(exc.message, exc.code)


def _domain(request: Request, exc: DomainError) -> Response:
    status, body = render_domain(exc, request.path_params.get("account"))
    return CrossTradeJson(body, status_code=status)


def _validation(request: Request, exc: RequestValidationError) -> Response:
    return CrossTradeJson(
        {"success": False, "error": "Invalid request", "detail": validation_summary(exc)},
        status_code=400,
    )


def install_errors(app: FastAPI, registry: Any) -> None:
    def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 429:
            return CrossTradeJson(
                {"error": "Rate limit exceeded"}, status_code=429, headers=exc.headers
            )
        code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        body: dict[str, Any] = {"success": False, "error": str(exc.detail), "code": code}
        if exc.status_code in (404, 405):
            path = request.url.path
            body["error"] = f"No endpoint {request.method} {path}"
            body["code"] = "NOT_FOUND" if exc.status_code == 404 else "METHOD_NOT_ALLOWED"
            # Included routers are not routes of their own: walk to the routes inside them.
            known = sorted({c.path for c in iter_route_contexts(app.routes) if c.path})
            hint = difflib.get_close_matches(path, [p for p in known if p.startswith(PREFIX)], 1)
            if hint:
                body["did_you_mean"] = hint[0]
        return CrossTradeJson(body, status_code=exc.status_code, headers=exc.headers)

    registry.register(PREFIX, _domain, validation=_validation, http=_http)

    async def _unsuccessful(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, Unsuccessful):  # registered for it alone
            raise exc
        return CrossTradeJson(exc.body, status_code=exc.status)

    app.add_exception_handler(Unsuccessful, _unsuccessful)
