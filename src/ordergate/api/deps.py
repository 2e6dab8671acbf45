"""Dependency aliases for routes: the container the lifespan built, and its parts."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from ordergate.auth.users import UserService
from ordergate.bootstrap import Container
from ordergate.engine.engine import OrderEngine

__all__ = [
    "ContainerDep",
    "container_of",
    "EngineDep",
    "UsersDep",
    "get_container",
    "get_engine",
    "get_users",
]


def container_of(conn: HTTPConnection) -> Container:
    """The container on ``app.state`` (HTTP and WebSocket routes alike)."""
    container: Container = conn.app.state.container
    return container


# The dependencies are coroutines, even these trivial ones: FastAPI runs a plain function
# dependency in a worker thread, a thread hop on every request.
async def get_container(conn: HTTPConnection) -> Container:
    return container_of(conn)


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_engine(container: ContainerDep) -> OrderEngine:
    return container.engine


async def get_users(container: ContainerDep) -> UserService:
    return container.users


EngineDep = Annotated[OrderEngine, Depends(get_engine)]
UsersDep = Annotated[UserService, Depends(get_users)]
