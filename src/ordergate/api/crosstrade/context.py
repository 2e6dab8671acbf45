"""The caller of a CrossTrade request: a bearer token, then the rate limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.requests import HTTPConnection, Request

from ordergate.api.crosstrade.ops import Ctx
from ordergate.api.crosstrade.ratelimit import RateLimiter
from ordergate.api.deps import ContainerDep, container_of
from ordergate.bootstrap import Container
from ordergate.domain.errors import AuthError
from ordergate.domain.principal import Principal

__all__ = ["CallerDep", "caller", "caller_of", "check_rate", "limiter_of"]

_bearer = HTTPBearer(auto_error=False, description="The user's CrossTrade API token.")


def limiter_of(conn: HTTPConnection) -> RateLimiter:
    limiter: RateLimiter = conn.app.state.crosstrade_limiter
    return limiter


def check_rate(limiter: RateLimiter, principal: Principal) -> None:
    """Spend one request of the caller's budget; 429 with Retry-After when it is empty."""
    wait = limiter.take(principal.user_id or principal.actor)
    if wait is not None:
        retry = max(1, int(wait + 0.999))
        raise HTTPException(429, "Rate limit exceeded", headers={"Retry-After": str(retry)})


async def caller(
    conn: HTTPConnection,
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Ctx:
    return await _caller(conn, container, None if credentials is None else credentials.credentials)


CallerDep = Annotated[Ctx, Depends(caller)]


async def caller_of(request: Request) -> Ctx:
    """``caller`` outside FastAPI's dependencies (api/fastroutes.py): the token read from the
    header as ``HTTPBearer`` reads it, without building its credentials model."""
    scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
    usable = bool(scheme and token) and scheme.lower() == "bearer"
    return await _caller(request, container_of(request), token if usable else None)


async def _caller(conn: HTTPConnection, container: Container, token: str | None) -> Ctx:
    if token is None:
        raise AuthError("missing bearer token (Authorization: Bearer <token>)")
    principal = await container.users.authenticate_token(token)
    check_rate(limiter_of(conn), principal)
    return Ctx(container, principal)
