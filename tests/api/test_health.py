"""The app shell through HTTP: health, OpenAPI, docs, and the error-mapping hook."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from ordergate import __version__
from ordergate.api.app import create_app
from ordergate.api.errors import ErrorRegistry, error_registry
from ordergate.bootstrap import Container, bootstrap, shutdown
from ordergate.domain.errors import (
    AccountNotFound,
    AuthError,
    DomainError,
    InvalidQuantity,
    MarketClosed,
    OrderLocked,
    PermissionDenied,
)
from ordergate.settings import Settings
from ordergate.store import SqlRecords, create_engine
from tests.conformance import conformance_hook


def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'ordergate.db'}")


@pytest.fixture
async def container(tmp_path: Path) -> AsyncIterator[Container]:
    built = await bootstrap(sqlite_settings(tmp_path))
    yield built
    await shutdown(built)


@pytest.fixture
def app(container: Container) -> FastAPI:
    app = create_app(container=container)

    async def raise_domain_error(kind: str) -> None:
        raise ERRORS[kind]

    async def takes_a_number(n: int) -> dict[str, int]:
        return {"n": n}

    async def bug() -> None:
        raise RuntimeError("internal detail: password=hunter2")

    for prefix in ("", "/dialect", "/dialectx"):
        app.add_api_route(f"{prefix}/raise/{{kind}}", raise_domain_error)
        app.add_api_route(f"{prefix}/number", takes_a_number)
    app.add_api_route("/bug", bug)
    return app


async def client_for(app: FastAPI, *, raise_app_exceptions: bool = True) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    # Every documented answer (/healthz's 200 and 503) fits its schema.
    hooks = {"response": [conformance_hook]}
    return httpx.AsyncClient(transport=transport, base_url="http://test", event_hooks=hooks)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(app) as client:
        yield client


ERRORS: dict[str, DomainError] = {
    "auth": AuthError("invalid token"),
    "permission": PermissionDenied("user:demo may not act on account Other"),
    "not_found": AccountNotFound("account Nope not found"),
    "invalid": InvalidQuantity("quantity must be positive"),
    "conflict": OrderLocked("order is submitted: the venue is processing it"),
    "rejected": MarketClosed("ES 12-26: market_closed"),
    "base": DomainError("something refused"),
}


async def test_healthz_is_ok_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert response.headers["content-type"] == "application/json"


async def test_healthz_is_503_when_the_database_does_not_answer(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The engine reads its database at port 1 on localhost: nothing listens there, the
    # connection is refused at once.
    broken = create_engine("postgresql://ordergate@127.0.0.1:1/ordergate")
    monkeypatch.setattr(container.engine, "records", SqlRecords(broken))
    app = create_app(container=container)
    try:
        async with await client_for(app) as client:
            response = await client.get("/healthz")
    finally:
        await broken.dispose()
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable"}


async def test_lifespan_bootstraps_from_settings(tmp_path: Path) -> None:
    app = create_app(sqlite_settings(tmp_path))
    async with app.router.lifespan_context(app), await client_for(app) as client:
        response = await client.get("/healthz")
    assert response.json()["database"] == "ok"
    assert (tmp_path / "ordergate.db").exists()


async def test_openapi_names_the_service_and_its_paths(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert schema["info"]["title"] == "ordergate"
    assert schema["info"]["version"] == __version__
    assert "CrossTrade" in schema["info"]["description"]
    assert schema["paths"]["/healthz"]["get"]["operationId"] == "GetHealth"


async def test_docs_are_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()


async def test_unknown_path_is_a_404_in_the_default_form(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/path")
    assert response.status_code == 404
    assert response.json() == {"error": "NOT_FOUND", "message": "Not Found"}


async def test_wrong_method_is_a_405_that_names_the_allowed_ones(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/healthz")
    assert response.status_code == 405
    assert response.json()["error"] == "METHOD_NOT_ALLOWED"
    assert response.headers["allow"] == "GET, OPTIONS"


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("auth", 401, "UNAUTHENTICATED"),
        ("permission", 403, "PERMISSION_DENIED"),
        ("not_found", 404, "ACCOUNT_NOT_FOUND"),
        ("invalid", 400, "INVALID_QUANTITY"),
        ("conflict", 409, "ORDER_LOCKED"),
        ("rejected", 422, "MARKET_CLOSED"),
        ("base", 400, "DOMAIN_ERROR"),
    ],
)
async def test_domain_errors_map_to_status_by_class_in_the_default_form(
    client: httpx.AsyncClient, kind: str, status: int, code: str
) -> None:
    response = await client.get(f"/raise/{kind}")
    assert response.status_code == status
    assert response.json() == {"error": code, "message": ERRORS[kind].message}


async def test_request_validation_errors_are_400_and_say_where(client: httpx.AsyncClient) -> None:
    response = await client.get("/number", params={"n": "twelve"})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "INVALID_INPUT"
    assert "query.n" in body["message"]
    assert "twelve" not in body["message"]  # input is never echoed: it may be a secret


def _teapot(request: Request, exc: DomainError) -> Response:
    return JSONResponse({"dialect": exc.code}, status_code=418)


def _bad_request(request: Request, exc: RequestValidationError) -> Response:
    return JSONResponse({"error": "Invalid request"}, status_code=400)


def _structured_404(request: Request, exc: HTTPException) -> Response:
    return JSONResponse({"error": "no such endpoint", "path": request.url.path}, status_code=404)


async def test_a_registered_dialect_renders_errors_under_its_prefix(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    error_registry(app).register("/dialect", _teapot, validation=_bad_request, http=_structured_404)

    claimed = await client.get("/dialect/raise/rejected")
    assert (claimed.status_code, claimed.json()) == (418, {"dialect": "MARKET_CLOSED"})
    invalid = await client.get("/dialect/number", params={"n": "x"})
    assert (invalid.status_code, invalid.json()) == (400, {"error": "Invalid request"})
    missing = await client.get("/dialect/nothing")
    assert missing.json() == {"error": "no such endpoint", "path": "/dialect/nothing"}

    # A prefix claims whole path segments only, and other paths keep the default form.
    for path in ("/dialectx/raise/rejected", "/raise/rejected"):
        response = await client.get(path)
        assert response.status_code == 422
        assert response.json()["error"] == "MARKET_CLOSED"


def test_registry_prefers_the_longest_prefix_and_refuses_duplicates() -> None:
    registry = ErrorRegistry()
    registry.register("/v1", _teapot)
    registry.register("/v1/api/", _teapot)
    claimed = registry.claim("/v1/api/accounts")
    assert claimed is not None
    assert claimed.prefix == "/v1/api"
    assert registry.claim("/v1") is not None
    assert registry.claim("/v2/api") is None
    with pytest.raises(ValueError, match="already registered"):
        registry.register("/v1/api", _teapot)
    with pytest.raises(ValueError, match="below '/'"):
        registry.register("/", _teapot)


async def test_a_bug_is_a_500_that_reveals_nothing_and_is_logged(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="ordergate.api.errors")
    async with await client_for(app, raise_app_exceptions=False) as client:
        response = await client.get("/bug")
    assert response.status_code == 500
    assert response.json() == {"error": "INTERNAL_ERROR", "message": "internal server error"}
    assert "hunter2" not in response.text
    assert any("GET /bug" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_once_started_the_server_collects_garbage_less_often(tmp_path: Path) -> None:
    import gc

    from ordergate.api.app import GC_THRESHOLDS

    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)  # CPython's defaults (another test's server may have set them)
    app = create_app(sqlite_settings(tmp_path))
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_threshold() == GC_THRESHOLDS
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
