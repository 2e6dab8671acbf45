"""OPTIONS and 405: ``Allow`` names every method a path really has (whichever route takes
it), OPTIONS on a path that exists answers 204 with them, and a path that does not exist is
a 404 in its dialect's form, whatever the method. SQLite only: nothing here reaches a use
case."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ordergate.bootstrap import shutdown
from ordergate.store import SqlStore
from tests.api.crosstrade.conftest import Server, start

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

ORDERS = "/v1/api/accounts/Sim101/orders"


@pytest.fixture
async def ct(db_url: str, store: SqlStore) -> AsyncIterator[Server]:
    server = await start(db_url)
    yield server
    await server.client.aclose()
    await shutdown(server.container)


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        # POST routes of their own, whose paths a GET route's ({orderId}) matches too
        (f"{ORDERS}/flatplace", "GET, POST, OPTIONS"),
        (f"{ORDERS}/cancel_and_bracket", "GET, POST, OPTIONS"),
        (f"{ORDERS}/1234/cancel", "POST, OPTIONS"),
        (f"{ORDERS}/1234", "GET, OPTIONS"),
        (f"{ORDERS}/1234/change", "PUT, OPTIONS"),
        ("/trade/open", "POST, OPTIONS"),
        ("/sign/in", "POST, OPTIONS"),
        ("/trades", "GET, OPTIONS"),
        ("/healthz", "GET, OPTIONS"),
    ],
)
async def test_options_answers_204_with_every_method_of_the_path(
    ct: Server, path: str, allow: str
) -> None:
    answer = await ct.client.options(path)
    assert answer.status_code == 204
    assert answer.headers["allow"] == allow
    assert answer.content == b""


async def test_options_needs_no_credentials_and_reveals_no_account(ct: Server) -> None:
    mine = await ct.client.options(f"{ORDERS}/flatplace", headers=ct.auth())
    someone_elses = await ct.client.options("/v1/api/accounts/Other/orders/flatplace")
    unknown = await ct.client.options("/v1/api/accounts/Nobody/orders/flatplace")
    assert {a.status_code for a in (mine, someone_elses, unknown)} == {204}
    assert {a.headers["allow"] for a in (mine, someone_elses, unknown)} == {"GET, POST, OPTIONS"}


@pytest.mark.parametrize(
    ("method", "path", "allow", "body"),
    [
        (
            "DELETE",
            f"{ORDERS}/flatplace",
            "GET, POST, OPTIONS",
            {
                "success": False,
                "error": f"No endpoint DELETE {ORDERS}/flatplace",
                "code": "METHOD_NOT_ALLOWED",
            },
        ),
        (
            "PATCH",
            f"{ORDERS}/cancel_and_bracket",
            "GET, POST, OPTIONS",
            {
                "success": False,
                "error": f"No endpoint PATCH {ORDERS}/cancel_and_bracket",
                "code": "METHOD_NOT_ALLOWED",
            },
        ),
        (
            "GET",
            "/trade/open",
            "POST, OPTIONS",
            {"error": "METHOD_NOT_ALLOWED", "message": "GET is not allowed here"},
        ),
        (
            "POST",
            "/healthz",
            "GET, OPTIONS",
            {"error": "METHOD_NOT_ALLOWED", "message": "Method Not Allowed"},
        ),
    ],
)
async def test_a_method_the_path_does_not_take_is_a_405_naming_all_it_takes(
    ct: Server, method: str, path: str, allow: str, body: dict[str, object]
) -> None:
    answer = await ct.client.request(method, path, headers=ct.auth())
    assert answer.status_code == 405
    assert answer.headers["allow"] == allow
    got = answer.json()
    got.pop("did_you_mean", None)  # CrossTrade's hint at a near path, not under test here
    assert got == body


async def test_the_methods_a_path_takes_are_still_served(ct: Server) -> None:
    answer = await ct.client.get("/healthz")
    assert answer.status_code == 200
    answer = await ct.client.get(f"{ORDERS}/flatplace", headers=ct.auth())
    assert answer.status_code == 404  # GET …/orders/{orderId}: no order has that id
    assert answer.json()["code"] == "ORDER_NOT_FOUND"
    answer = await ct.client.post(f"{ORDERS}/flatplace", headers=ct.auth(), json={})
    assert answer.status_code == 400  # the POST route's: its body is refused
    assert answer.json()["error"] == "Invalid request"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/v1/api/no/such/path",
            {
                "success": False,
                "error": "No endpoint OPTIONS /v1/api/no/such/path",
                "code": "NOT_FOUND",
            },
        ),
        (
            "/trade/nothing",
            {"error": "RET_NOT_FOUND", "message": "no endpoint OPTIONS /trade/nothing"},
        ),
        ("/no/such/path", {"error": "NOT_FOUND", "message": "Not Found"}),
    ],
)
async def test_options_on_a_path_that_does_not_exist_is_a_404_in_the_dialects_form(
    ct: Server, path: str, body: dict[str, object]
) -> None:
    answer = await ct.client.options(path)
    assert answer.status_code == 404
    assert "allow" not in answer.headers
    got = answer.json()
    got.pop("did_you_mean", None)
    assert got == body
