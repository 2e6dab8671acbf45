"""``GET /healthz``: the process is up and its database answers."""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

from fastapi import APIRouter

from ordergate.api.deps import ContainerDep
from ordergate.api.openapi import DocumentedRoute, WireModel
from ordergate.api.responses import JsonResponse

__all__ = ["Health", "router"]

log = logging.getLogger(__name__)

#: A database that does not answer within this many seconds counts as unavailable.
DATABASE_TIMEOUT = 5.0

router = APIRouter(tags=["health"], route_class=DocumentedRoute)


class Health(WireModel):
    """The process answers (``status``), and so does its database (``database``)."""

    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unavailable"]


def _answer(description: str, state: str) -> dict[str, object]:
    example = {"status": state, "database": state}
    return {
        "model": Health,
        "description": description,
        "content": {"application/json": {"example": example}},
    }


@router.get(
    "/healthz",
    summary="Liveness and database check",
    operation_id="GetHealth",
    responses={
        200: _answer("The database answers.", "ok"),
        503: _answer("The database does not answer.", "unavailable"),
    },
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
        body = Health(status="unavailable", database="unavailable")
        return JsonResponse(body.model_dump(), status_code=503)
    return JsonResponse(Health(status="ok", database="ok").model_dump())
