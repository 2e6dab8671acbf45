"""The caller of a CrossTrade request: a bearer token, then the rate limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from ordergate.api.crosstrade.ops import Ctx
from ordergate.api.crosstrade.ratelimit import RateLimiter
from ordergate.api.deps import ContainerDep
from ordergate.domain.errors import AuthError
from ordergate.domain.principal import Principal

__all__ = ["CallerDep", "caller", "check_rate", "limiter_of"]

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
    if credentials is None:
        raise AuthError("missing bearer token (Authorization: Bearer <token>)")
    principal = await container.users.authenticate_token(credentials.credentials)
    check_rate(limiter_of(conn), principal)
    return Ctx(container, principal)


CallerDep = Annotated[Ctx, Depends(caller)]
