"""``GET /healthz``: the process is up and its database answers."""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from ordergate.api.deps import ContainerDep
from ordergate.api.responses import JsonResponse

__all__ = ["HealthOut", "router"]

log = logging.getLogger(__name__)

#: A database that does not answer within this many seconds counts as unavailable.
DATABASE_TIMEOUT = 5.0

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unavailable"]


@router.get(
    "/healthz",
    response_model=HealthOut,
    summary="Liveness and database check",
    responses={503: {"model": HealthOut, "description": "The database does not answer."}},
)
async def healthz(container: ContainerDep) -> JsonResponse:
    """200 when the database answers ``SELECT 1``; 503 when it does not."""
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT):
            await container.engine.records.ping()
        if container.engine.writer.stopped is not None:
            raise RuntimeError("the engine's journal failed")
    except Exception as exc:  # any failure to reach the database is "unavailable"
        log.warning("health check: database unavailable: %s: %s", type(exc).__name__, exc)
        body = HealthOut(status="unavailable", database="unavailable")
        return JsonResponse(body.model_dump(), status_code=503)
    return JsonResponse(HealthOut(status="ok", database="ok").model_dump())
