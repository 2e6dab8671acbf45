"""Dependency aliases for routes: the container the lifespan built, and its parts."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from ordergate.auth.users import UserService
from ordergate.bootstrap import Container
from ordergate.engine.service import OrderEngine

__all__ = ["ContainerDep", "EngineDep", "UsersDep", "get_container", "get_engine", "get_users"]


def get_container(conn: HTTPConnection) -> Container:
    """The container on ``app.state`` (HTTP and WebSocket routes alike)."""
    container: Container = conn.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def get_engine(container: ContainerDep) -> OrderEngine:
    return container.engine


def get_users(container: ContainerDep) -> UserService:
    return container.users


EngineDep = Annotated[OrderEngine, Depends(get_engine)]
UsersDep = Annotated[UserService, Depends(get_users)]
