"""The admin API over HTTP: pushing quotes (exact numbers, all or nothing, admins only), the
market they make, the bars they build, and a resting order they fill."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ordergate.api.app import create_app
from ordergate.bootstrap import Container, bootstrap, shutdown
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import OrderStatus, Side
from ordergate.domain.principal import Role
from ordergate.engine import queries
from ordergate.settings import Settings
from tests.builders import account, es, eurusd, limit
from tests.conformance import conformance_hook
from tests.schema_check import mismatches

D = Decimal


def fine() -> Instrument:
    """An instrument priced to the 8th decimal, the finest storage keeps."""
    return Instrument(
        symbol="FINE",
        tick_size=D("0.00000001"),
        point_value=D("1"),
        digits=8,
        lot_min=D("1"),
        lot_max=D("10"),
        lot_step=D("1"),
    )


@pytest.fixture
async def container(tmp_path: Path) -> AsyncIterator[Container]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'ordergate.db'}")
    built = await bootstrap(settings)
    demo = await built.users.add_user("demo", Role.TRADER, ("demo",))
    await built.users.add_user("root", Role.ADMIN)
    async with built.store.transaction() as tx:
        for instrument in (es(), eurusd(), fine()):
            await tx.accounts.add_instrument(instrument)
        await tx.accounts.add(account(owner=demo.id))
        await tx.commit()
    # The instruments came after the start: the market learns them as an admin quotes them.
    yield built
    await shutdown(built)


@pytest.fixture
async def admin_token(container: Container) -> str:
    return await container.users.create_token("root")


@pytest.fixture
async def trader_token(container: Container) -> str:
    return await container.users.create_token("demo")


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(container=container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://test",
        event_hooks={"response": [conformance_hook]},  # every answer fits its documentation
    ) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def push(client: httpx.AsyncClient, token: str, body: Any) -> httpx.Response:
    return await client.post("/admin/quotes", json=body, headers=bearer(token))


async def push_raw(client: httpx.AsyncClient, token: str, body: str) -> httpx.Response:
    headers = {**bearer(token), "content-type": "application/json"}
    return await client.post("/admin/quotes", content=body, headers=headers)


ES_QUOTE = {"symbol": "ES 12-26", "bid": "5000.00", "ask": "5000.25"}


# -- who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer og_not-a-real-token"}, {"Authorization": "Basic cm9vdDp4"}],
)
async def test_quotes_need_a_valid_bearer_token(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post("/admin/quotes", json=ES_QUOTE, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "UNAUTHENTICATED"
    assert (await client.get("/admin/market", headers=headers)).status_code == 401


async def test_a_trader_may_not_push_quotes(
    client: httpx.AsyncClient, trader_token: str, container: Container
) -> None:
    response = await push(client, trader_token, ES_QUOTE)
    assert response.status_code == 403
    assert response.json() == {
        "error": "PERMISSION_DENIED",
        "message": "user:demo is not an admin",
    }
    assert container.market.snapshot("ES 12-26") is None
    assert (await client.get("/admin/market", headers=bearer(trader_token))).status_code == 403


# -- pushing ---------------------------------------------------------------------------------


async def test_an_admin_pushes_one_quote_and_gets_its_snapshot(
    client: httpx.AsyncClient, admin_token: str, container: Container
) -> None:
    body = {**ES_QUOTE, "bid_size": "3", "ask_size": 4, "last": "5000.25", "last_size": "2"}
    response = await push(client, admin_token, body)
    assert response.status_code == 200, response.text
    (snapshot,) = response.json()
    assert {k: snapshot[k] for k in ("symbol", "bid", "ask", "bid_size", "ask_size", "last")} == {
        "symbol": "ES 12-26",
        "bid": "5000.00",
        "ask": "5000.25",
        "bid_size": "3",
        "ask_size": "4",
        "last": "5000.25",
    }
    assert (snapshot["open"], snapshot["high"], snapshot["low"]) == ("5000.25",) * 3
    assert (snapshot["close"], snapshot["volume"]) == (None, "2")
    assert snapshot["at"].endswith("Z") or snapshot["at"].endswith("+00:00")
    quote = container.venue.quote("ES 12-26")
    assert quote is not None
    assert (quote.bid, quote.ask) == (D("5000.00"), D("5000.25"))


async def test_json_numbers_are_read_exactly_never_through_float(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    # 18 significant digits: a float keeps 17, and would turn this into ...12345678 +- 1e-7.
    body = '{"symbol": "FINE", "bid": 9999999999.12345678, "ask": 9999999999.12345679}'
    response = await push_raw(client, admin_token, body)
    assert response.status_code == 200, response.text
    assert (response.json()[0]["bid"], response.json()[0]["ask"]) == (
        "9999999999.12345678",
        "9999999999.12345679",
    )
    sums = (
        '[{"symbol": "EURUSD", "bid": 0.1, "ask": 0.3}, {"symbol": "FINE", "bid": 0.2, "ask": 0.3}]'
    )
    response = await push_raw(client, admin_token, sums)
    assert response.status_code == 200, response.text
    assert [(s["bid"], s["ask"]) for s in response.json()] == [
        ("0.10000", "0.30000"),  # written with the instrument's digits
        ("0.20000000", "0.30000000"),
    ]
    # 0.1 + 0.2 as a float: 17 decimals, more than the 8 prices may have.
    response = await push_raw(
        client, admin_token, '{"symbol":"FINE","bid":0.30000000000000004,"ask":1}'
    )
    assert response.status_code == 400
    assert response.json()["error"] == "INVALID_PRICE"


async def test_a_list_of_quotes_answers_a_snapshot_per_quote_in_order(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    body = [
        {**ES_QUOTE, "last": "5000.00", "last_size": "1"},
        {"symbol": "EURUSD", "bid": "1.10000", "ask": "1.10002"},
        {**ES_QUOTE, "bid": "5001.00", "ask": "5001.25", "last": "5001.25", "last_size": "2"},
    ]
    response = await push(client, admin_token, body)
    assert response.status_code == 200, response.text
    got = response.json()
    assert [(s["symbol"], s["bid"]) for s in got] == [
        ("ES 12-26", "5000.00"),
        ("EURUSD", "1.10000"),
        ("ES 12-26", "5001.00"),
    ]
    assert (got[2]["open"], got[2]["high"], got[2]["volume"]) == ("5000.00", "5001.25", "3")

    market = await client.get("/admin/market", headers=bearer(admin_token))
    assert market.status_code == 200
    assert [(s["symbol"], s["bid"]) for s in market.json()] == [
        ("ES 12-26", "5001.00"),
        ("EURUSD", "1.10000"),
    ]


def es_body(**changes: object) -> str:
    """The ES quote as JSON with ``changes`` (None removes a field)."""
    body = {**ES_QUOTE, **changes}
    return json.dumps({k: v for k, v in body.items() if v is not None})


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        ("{not json", 400, "INVALID_INPUT", "not valid JSON"),
        ('"ES 12-26"', 400, "INVALID_INPUT", "quote object or a list"),
        ("[]", 400, "INVALID_INPUT", "1 to 1000"),
        (es_body(ask=None), 400, "INVALID_INPUT", "body.ask"),
        (es_body(bid="x"), 400, "INVALID_INPUT", "body.bid"),
        ('{"symbol": "ES 12-26", "bid": NaN, "ask": "5000.25"}', 400, "INVALID_INPUT", "NaN"),
        (es_body(x=1), 400, "INVALID_INPUT", "body.x"),
        (f"[{es_body()}, {es_body(bid=None)}]", 400, "INVALID_INPUT", "body.1.bid"),
        (es_body(bid="5000.10"), 400, "INVALID_PRICE", "tick size"),
        (es_body(bid="5000.50"), 400, "INVALID_PRICE", "below bid"),
        (es_body(bid="-1"), 400, "INVALID_PRICE", "positive"),
        (es_body(ask_size=0), 400, "INVALID_QUANTITY", "ask_size"),
        (es_body(symbol="NOPE"), 404, "INSTRUMENT_NOT_FOUND", "NOPE"),
    ],
)
async def test_a_bad_body_is_refused_in_the_default_form(
    client: httpx.AsyncClient,
    admin_token: str,
    container: Container,
    body: str,
    status: int,
    code: str,
    words: str,
) -> None:
    response = await push_raw(client, admin_token, body)
    assert response.status_code == status, response.text
    assert response.json()["error"] == code
    assert words in response.json()["message"]
    assert container.market.snapshot("ES 12-26") is None
    assert container.venue.quote("ES 12-26") is None


async def test_one_bad_quote_in_a_list_changes_nothing(
    client: httpx.AsyncClient, admin_token: str, container: Container
) -> None:
    assert (await push(client, admin_token, ES_QUOTE)).status_code == 200
    before = container.market.snapshots()
    body = [
        {"symbol": "EURUSD", "bid": "1.10000", "ask": "1.10002"},
        {**ES_QUOTE, "bid": "5000.10"},
    ]
    response = await push(client, admin_token, body)
    assert response.status_code == 400
    assert container.market.snapshots() == before
    assert container.venue.quote("EURUSD") is None


# -- what quotes do --------------------------------------------------------------------------


async def test_a_crossing_quote_fills_a_resting_limit_order(
    client: httpx.AsyncClient, admin_token: str, container: Container
) -> None:
    assert (await push(client, admin_token, ES_QUOTE)).status_code == 200
    principal = await container.users.principal_for_user(1)
    order = await container.engine.place(principal, limit(Side.BUY, price="4990.00"))
    await container.engine.settle()
    assert (await queries.get_order(container.engine, principal, 1001, order.id)).status is (
        OrderStatus.WORKING
    )

    crossing = {"symbol": "ES 12-26", "bid": "4989.75", "ask": "4990.00"}
    assert (await push(client, admin_token, crossing)).status_code == 200
    await container.engine.settle()
    got = await queries.get_order(container.engine, principal, 1001, order.id)
    assert (got.status, got.avg_fill_price) == (OrderStatus.FILLED, D("4990.00"))


async def test_bars_of_the_pushed_quotes_are_served(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    body = [
        {**ES_QUOTE, "last": "5000.00", "last_size": "1"},
        {**ES_QUOTE, "last": "5000.25", "last_size": "2"},
    ]
    assert (await push(client, admin_token, body)).status_code == 200
    response = await client.get(
        "/admin/bars", params={"symbol": "ES 12-26", "period": 5}, headers=bearer(admin_token)
    )
    assert response.status_code == 200, response.text
    got = response.json()
    assert (got["symbol"], got["period"]) == ("ES 12-26", 5)
    (five,) = got["bars"]
    assert (five["open"], five["high"], five["low"], five["close"], five["volume"]) == (
        "5000.00",
        "5000.25",
        "5000.00",
        "5000.25",
        "3",
    )
    bad = await client.get(
        "/admin/bars", params={"symbol": "ES 12-26", "period": 7}, headers=bearer(admin_token)
    )
    assert (bad.status_code, bad.json()["error"]) == (400, "INVALID_INPUT")


#: Every admin operation by its operationId (a generated client's method names).
OPERATIONS = {
    ("POST", "/admin/quotes"): "AdminPushQuotes",
    ("GET", "/admin/market"): "AdminGetMarket",
    ("GET", "/admin/bars"): "AdminGetBars",
    ("GET", "/admin/tokens"): "AdminListTokens",
    ("POST", "/admin/tokens/{token_id}/revoke"): "AdminRevokeToken",
    ("GET", "/admin/users"): "AdminListUsers",
    ("POST", "/admin/users/{name}/disable"): "AdminDisableUser",
    ("POST", "/admin/users/{name}/enable"): "AdminEnableUser",
    ("GET", "/admin/accounts"): "AdminListAccounts",
    ("POST", "/admin/accounts/{account}/disable"): "AdminDisableAccount",
    ("POST", "/admin/accounts/{account}/enable"): "AdminEnableAccount",
    ("POST", "/admin/reset"): "AdminReset",
    ("GET", "/admin/faults"): "AdminGetFaults",
    ("PUT", "/admin/faults"): "AdminSetFaults",
    ("DELETE", "/admin/faults"): "AdminClearFaults",
    ("GET", "/healthz"): "GetHealth",
}


async def test_every_admin_operation_is_named_and_documents_its_answer(
    client: httpx.AsyncClient,
) -> None:
    doc = (await client.get("/openapi.json")).json()
    found = {
        (method.upper(), path): operation
        for path, item in doc["paths"].items()
        if path.startswith("/admin") or path == "/healthz"
        for method, operation in item.items()
    }
    assert {op: o["operationId"] for op, o in found.items()} == OPERATIONS
    for (method, path), operation in found.items():
        media = operation["responses"]["200"]["content"]["application/json"]
        schema = media["schema"]
        assert "$ref" in schema.get("items", schema), f"{method} {path}: no model"
        assert mismatches(doc, schema, media["example"]) == [], f"{method} {path}"


async def test_the_quote_body_is_one_quote_or_a_list_with_examples_that_fit(
    client: httpx.AsyncClient,
) -> None:
    doc = (await client.get("/openapi.json")).json()
    media = doc["paths"]["/admin/quotes"]["post"]["requestBody"]["content"]["application/json"]
    one, many = media["schema"]["anyOf"]
    assert (one["type"], many["type"], many["items"]["required"]) == (
        "object",
        "array",
        ["symbol", "bid", "ask"],
    )
    # Titled apart: openapi-python-client makes a class of each and refuses two of one name.
    assert one["title"] != many["items"]["title"]
    for example in media["examples"].values():
        assert mismatches(doc, media["schema"], example["value"]) == []
