"""Error mapping: one hook where each dialect turns the domain error tree into its own bodies.

A dialect registers the path prefix it serves and how it renders errors there::

    registry = error_registry(app)
    registry.register("/v1/api", crosstrade_domain_error, validation=crosstrade_bad_request)

The app has one handler per kind of error (``DomainError``, request validation, HTTP errors
such as an unknown path, and a catch-all for bugs); each looks up the dialect whose prefix
claims the request's path (the longest wins) and falls back to the default form
``{"error": "<CODE>", "message": "..."}`` for paths no dialect claims. Routes raise domain
errors; they never build HTTP errors for business rules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ordergate.api.responses import JsonResponse
from ordergate.domain.errors import (
    AuthError,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Rejected,
)

__all__ = [
    "DialectErrors",
    "DomainErrorRenderer",
    "ErrorRegistry",
    "HttpErrorRenderer",
    "ValidationErrorRenderer",
    "default_domain_error",
    "default_http_error",
    "default_validation_error",
    "error_body",
    "error_registry",
    "install_error_handlers",
    "status_for",
    "validation_summary",
]

log = logging.getLogger(__name__)

DomainErrorRenderer = Callable[[Request, DomainError], Response]
ValidationErrorRenderer = Callable[[Request, RequestValidationError], Response]
HttpErrorRenderer = Callable[[Request, HTTPException], Response]

# Looked up along the exception's MRO, so the most specific class that is listed wins.
_STATUS: dict[type[DomainError], int] = {
    AuthError: 401,
    PermissionDenied: 403,
    NotFound: 404,
    InvalidInput: 400,
    Conflict: 409,
    Rejected: 422,
}
_MAX_MESSAGE = 1000


def status_for(exc: DomainError) -> int:
    """The default HTTP status of a domain error (400 for a class not in the table: a
    refusal is never a server error)."""
    for cls in type(exc).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 400


def error_body(code: str, message: str) -> dict[str, str]:
    return {"error": code, "message": message}


def default_domain_error(request: Request, exc: DomainError) -> Response:
    return JsonResponse(error_body(exc.code, exc.message), status_code=status_for(exc))


def validation_summary(exc: RequestValidationError) -> str:
    """``where: what`` for each problem, without echoing the input (it may be a password)."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg")))
    return "; ".join(parts)[:_MAX_MESSAGE] or "invalid request"


def default_validation_error(request: Request, exc: RequestValidationError) -> Response:
    return JsonResponse(error_body(InvalidInput.code, validation_summary(exc)), status_code=400)


def default_http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code in (204, 304):  # these carry no body
        return Response(status_code=exc.status_code, headers=exc.headers)
    try:
        code = HTTPStatus(exc.status_code).name
    except ValueError:
        code = "HTTP_ERROR"
    message = exc.detail if isinstance(exc.detail, str) else code
    return JsonResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


@dataclass(frozen=True, slots=True)
class DialectErrors:
    """How one dialect renders errors under its path prefix; None means the default form."""

    prefix: str
    domain: DomainErrorRenderer
    validation: ValidationErrorRenderer | None = None
    http: HttpErrorRenderer | None = None


class ErrorRegistry:
    """The dialects' error renderers by path prefix."""

    def __init__(self) -> None:
        self._dialects: list[DialectErrors] = []

    def register(
        self,
        prefix: str,
        domain: DomainErrorRenderer,
        *,
        validation: ValidationErrorRenderer | None = None,
        http: HttpErrorRenderer | None = None,
    ) -> None:
        """Render errors of requests under ``prefix`` (``/v1/api`` claims ``/v1/api`` and
        ``/v1/api/...``, not ``/v1/apix``) with these functions."""
        if not prefix.startswith("/") or prefix == "/":
            raise ValueError(f"prefix must be a path below '/', got {prefix!r}")
        prefix = prefix.rstrip("/")
        if any(d.prefix == prefix for d in self._dialects):
            raise ValueError(f"prefix {prefix} is already registered")
        self._dialects.append(DialectErrors(prefix, domain, validation, http))
        self._dialects.sort(key=lambda d: len(d.prefix), reverse=True)

    def claim(self, path: str) -> DialectErrors | None:
        """The dialect serving ``path``, if any."""
        for dialect in self._dialects:
            if path == dialect.prefix or path.startswith(dialect.prefix + "/"):
                return dialect
        return None

    def for_request(self, request: Request) -> DialectErrors | None:
        path = request.scope.get("path", "")
        root = request.scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        return self.claim(path)

    def http_error(self, request: Request, exc: HTTPException) -> Response:
        """``exc`` in the form of the dialect serving the request (the default elsewhere)."""
        dialect = self.for_request(request)
        render = dialect.http if dialect and dialect.http else None
        return (render or default_http_error)(request, exc)

    def http_error_at(self, path: str, exc: HTTPException) -> Response:
        """``exc`` in the form of the dialect serving ``path``, for an answer given before
        there is a request (the server refusing a malformed one)."""
        scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}
        return self.http_error(Request(scope), exc)


def error_registry(app: FastAPI) -> ErrorRegistry:
    """The registry ``install_error_handlers`` put on ``app``."""
    registry: ErrorRegistry = app.state.errors
    return registry


def install_error_handlers(app: FastAPI) -> ErrorRegistry:
    """Install the dispatching handlers on ``app`` and return its (empty) registry."""
    registry = ErrorRegistry()
    app.state.errors = registry

    # Handlers take Exception (Starlette's handler type) and narrow: Starlette calls each
    # only for the class it was registered for, so the re-raise never happens.
    async def on_domain_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, DomainError):
            raise exc
        dialect = registry.for_request(request)
        return (dialect.domain if dialect else default_domain_error)(request, exc)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, RequestValidationError):
            raise exc
        dialect = registry.for_request(request)
        render = dialect.validation if dialect and dialect.validation else None
        return (render or default_validation_error)(request, exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, HTTPException):
            raise exc
        return registry.http_error(request, exc)

    async def on_bug(request: Request, exc: Exception) -> Response:
        # Reached only by a bug (client input is refused by the handlers above): say
        # nothing of the internals, keep the traceback for the log.
        log.error("unhandled error answering %s %s", request.method, request.url.path, exc_info=exc)
        return JsonResponse(error_body("INTERNAL_ERROR", "internal server error"), status_code=500)

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_bug)
    return registry
