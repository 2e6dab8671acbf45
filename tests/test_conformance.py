"""The conformance check that the test servers' clients run on every answer finds what it
must: a missing, mistyped or undocumented field, and an undocumented success status."""

from __future__ import annotations

import httpx
import pytest

from tests.conformance import conformance, conformance_hook

ORDER_ID = "adb3868865de4b59b0e147b8300e4a29"


def test_an_answer_that_fits_its_schema_passes() -> None:
    path = "/v1/api/accounts/Sim101/orders/place"
    body = {"orderId": ORDER_ID, "success": True}
    assert conformance().problems("POST", path, 200, body) == []


def test_a_missing_mistyped_or_undocumented_field_is_found() -> None:
    path = "/v1/api/accounts/Sim101/orders/place"
    problems = conformance().problems("POST", path, 200, {"orderId": 7, "extra": 1})
    assert problems == [
        "POST /v1/api/accounts/{account}/orders/place 200: $: 'success' is required",
        "POST /v1/api/accounts/{account}/orders/place 200: $.orderId: 7 is not of type string",
        "POST /v1/api/accounts/{account}/orders/place 200: $: 'extra' is not an allowed property",
    ]


def test_an_error_is_held_against_the_error_form_and_a_stray_success_status_is_found() -> None:
    path = "/v1/api/accounts/Sim101/orders"
    assert conformance().problems("GET", path, 404, {"success": False, "error": "x"}) == []
    assert conformance().problems("GET", path, 409, {"error": 1})  # default: the error form
    assert conformance().problems("GET", path, 201, {}) == [
        "GET /v1/api/accounts/{account}/orders 201: status not documented"
    ]


def test_a_literal_path_wins_over_a_template() -> None:
    found = conformance().operation("GET", "/v1/api/accounts/snapshot")
    assert found is not None
    assert found[0] == "/v1/api/accounts/snapshot"


async def test_the_hook_fails_the_request_whose_answer_breaks_its_schema() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"orderId": ORDER_ID})  # no success

    transport = httpx.MockTransport(answer)
    hooks = {"response": [conformance_hook]}
    async with httpx.AsyncClient(transport=transport, event_hooks=hooks) as client:
        with pytest.raises(AssertionError, match="'success' is required"):
            await client.post("http://test/v1/api/accounts/Sim101/orders/place", json={})
