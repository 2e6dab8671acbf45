"""The caller of a ScaleTrade request: the session JWT from ``Authorization`` (bare, or with
a ``Bearer`` prefix) or, for browsers, the ``__token`` cookie that sign-in sets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyHeader
from starlette.requests import HTTPConnection

from ordergate.api.deps import ContainerDep
from ordergate.bootstrap import Container
from ordergate.domain.errors import AuthError, InvalidInput
from ordergate.domain.ids import Login
from ordergate.domain.principal import Principal
from ordergate.engine.engine import OrderEngine

__all__ = ["COOKIE", "Session", "SessionDep"]

COOKIE = "__token"
_header = APIKeyHeader(
    name="Authorization",
    auto_error=False,
    description="The JWT from POST /sign/in (a `Bearer ` prefix is accepted too).",
)


@dataclass(frozen=True, slots=True)
class Session:
    container: Container
    principal: Principal

    @property
    def engine(self) -> OrderEngine:
        return self.container.engine

    def login(self, asked: int | None) -> Login:
        """The login a request acts on: the one it names, else a client session's own."""
        if asked is not None:
            return Login(asked)
        if self.principal.login is None:
            raise InvalidInput("login is required for a manager or admin session")
        return self.principal.login


def _token(conn: HTTPConnection, header: str | None) -> str:
    if header is not None:
        scheme, _, rest = header.strip().partition(" ")
        return rest.strip() if scheme.lower() == "bearer" and rest else header.strip()
    return conn.cookies.get(COOKIE, "")


async def session(
    conn: HTTPConnection,
    container: ContainerDep,
    header: Annotated[str | None, Depends(_header)],
) -> Session:
    token = _token(conn, header)
    if not token:
        raise AuthError("missing token (Authorization: <JWT from /sign/in>)")
    return Session(container, await container.signin.principal(token))


SessionDep = Annotated[Session, Depends(session)]
