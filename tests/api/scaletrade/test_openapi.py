"""The OpenAPI document documents every ScaleTrade operation.

The rules apply to every path ScaleTrade serves (/sign/in, /trade/..., /trades, /market...,
/account/..., /balances/list), whenever it was added: a new route without ScaleTrade's
operationId, a summary, a request body with schema and example (DELETEs here take a body
too), a 200 example or its 400 and 401 answers in ScaleTrade's error form, or a JSON answer
without a schema (a generated client has no type for it) fails here. Examples are held
against their schemas with the small JSON Schema checker (tests/schema_check.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from starlette.responses import Response

from ordergate.api.app import create_app
from ordergate.api.scaletrade.errors import PREFIXES
from ordergate.settings import Settings
from tests.api.crosstrade.test_openapi import doc
from tests.conformance import Conformance
from tests.schema_check import mismatches, resolve

__all__ = ["doc"]  # the fixture: /openapi.json from a real uvicorn, shared with CrossTrade

Doc = dict[str, Any]
METHODS = ("get", "put", "post", "delete", "patch")
UNSECURED = {"POST /sign/in"}
#: Every ScaleTrade operation there is; a new one must be added here (and documented).
OPERATIONS = {
    "POST /sign/in",
    "POST /trade/open",
    "POST /trade/open/pending",
    "PUT /trade/modify/open",
    "PUT /trade/modify",
    "PUT /trade/modify/pending",
    "DELETE /trade/close",
    "DELETE /trade/close/group",
    "DELETE /trade/cancel",
    "DELETE /trade/cancel/group",
    "GET /trades",
    "GET /market/symbol",
    "GET /market",
    "GET /account/me",
    "GET /account/balance",
    "GET /balances/list",
}
#: The operationId of each: ScaleTrade's own operation name, which a generated client names
#: its functions after. GET /market is ScaleTrade's GetMarketInfo, a name CrossTrade's
#: GET /v1/api/market/info has too: operationIds are unique, so this one carries the dialect.
OPERATION_IDS = {
    "POST /sign/in": "SignIn",
    "POST /trade/open": "OpenTrade",
    "POST /trade/open/pending": "OpenPendingTrade",
    "PUT /trade/modify/open": "ModifyOpenTrade",
    "PUT /trade/modify": "ModifyTrade",
    "PUT /trade/modify/pending": "ModifyPendingTrade",
    "DELETE /trade/close": "CloseTrade",
    "DELETE /trade/close/group": "CloseGroupTrade",
    "DELETE /trade/cancel": "CancelPendingTrade",
    "DELETE /trade/cancel/group": "CancelGroupPendingTrade",
    "GET /trades": "GetOpenTrades",
    "GET /market/symbol": "GetMarketSymbol",
    "GET /market": "ScaleTradeGetMarketInfo",
    "GET /account/me": "GetAccountMe",
    "GET /account/balance": "GetAccountBalance",
    "GET /balances/list": "GetBalancesList",
}


def operations(doc: Doc) -> Iterator[tuple[str, Doc]]:
    """(``"DELETE /trade/cancel"``, operation) of every ScaleTrade operation."""
    for path, item in doc["paths"].items():
        if any(path == p or path.startswith(p + "/") for p in PREFIXES):
            for method in METHODS:
                if method in item:
                    yield f"{method.upper()} {path}", item[method]


def _examples(media: Doc) -> list[Any]:
    if "example" in media:
        return [media["example"]]
    return [e["value"] for e in media.get("examples", {}).values() if "value" in e]


def _json(doc: Doc, response: Doc) -> Doc | None:
    if "$ref" in response:
        response = resolve(doc, response["$ref"])
    media: Doc | None = response.get("content", {}).get("application/json")
    return media


def _made_up_summary(op: str, operation: Doc) -> str:
    """The summary FastAPI makes up from the function name when none is given (the name is the
    head of its default operationId: name + path + method, non-word characters as _)."""
    method, path = op.split()
    tail = re.sub(r"\W", "_", path) + "_" + method.lower()
    op_id = str(operation.get("operationId", ""))
    return op_id.removesuffix(tail).replace("_", " ").title() if op_id.endswith(tail) else ""


def summary_gaps(doc: Doc) -> dict[str, set[str]]:
    """A summary written for the operation, not made up from the function's name."""
    gaps = {}
    for op, operation in operations(doc):
        summary = str(operation.get("summary", "")).strip()
        if not summary or summary == _made_up_summary(op, operation):
            gaps[op] = {"summary"}
    return gaps


def operation_id_gaps(doc: Doc) -> dict[str, set[str]]:
    """Each operation has the operationId OPERATION_IDS gives it."""
    gaps = {}
    for op, operation in operations(doc):
        found = operation.get("operationId")
        if found != OPERATION_IDS.get(op):
            gaps[op] = {f"operationId {found}"}
    return gaps


def body_gaps(doc: Doc) -> dict[str, set[str]]:
    """Every operation but a GET takes a JSON body: its schema, and an example that fits."""
    gaps: dict[str, set[str]] = {}
    for op, operation in operations(doc):
        if op.startswith("GET "):
            continue
        media = operation.get("requestBody", {}).get("content", {}).get("application/json")
        missing: set[str] = set()
        if media is None:
            missing.add("JSON request body")
        else:
            schema = media.get("schema")
            if not schema:
                missing.add("request body schema")
            examples = _examples(media)
            if not examples:
                missing.add("request body example")
            for example in examples if schema else []:
                missing |= {f"body example: {m}" for m in mismatches(doc, schema, example)}
        if missing:
            gaps[op] = missing
    return gaps


def parameter_gaps(doc: Doc) -> dict[str, set[str]]:
    """A GET documents its query parameters, each with a description."""
    gaps: dict[str, set[str]] = {}
    for op, operation in operations(doc):
        if not op.startswith("GET "):
            continue
        parameters = operation.get("parameters", [])
        missing = {
            f"parameter {p['name']} description" for p in parameters if not p.get("description")
        }
        if not parameters:
            missing.add("query parameters")
        if missing:
            gaps[op] = missing
    return gaps


def expected_statuses(op: str) -> set[str]:
    """200, 400 (every request can be malformed) and 401 (behind a session) at least."""
    return {"200", "400"} | (set() if op in UNSECURED else {"401"})


def _example_gaps(doc: Doc, status: str, media: Doc) -> set[str]:
    """An error example in ScaleTrade's form; every example fits its schema (``doc``: with
    objects closed, so that an example shows no field its schema does not list)."""
    gaps = set()
    for example in _examples(media):
        if status.startswith("4") and not {"error", "message"} <= set(example):
            gaps.add(f"response {status} example is not the error form")
        if media.get("schema"):
            gaps |= {f"{status} example: {m}" for m in mismatches(doc, media["schema"], example)}
    return gaps


def response_gaps(doc: Doc) -> dict[str, set[str]]:
    """200 with an example; 400 and 401 with examples in ScaleTrade's error form
    ``{"error", "message"}``; every JSON answer with a schema its examples fit; no 422
    (invalid requests are 400 here)."""
    gaps: dict[str, set[str]] = {}
    closed = Conformance(doc).doc
    for op, operation in operations(doc):
        responses = operation.get("responses", {})
        missing: set[str] = set()
        for status in sorted(expected_statuses(op)):
            media = _json(doc, responses[status]) if status in responses else None
            if media is None:
                missing.add(f"response {status}")
            elif not _examples(media):
                missing.add(f"response {status} example")
        for status, response in responses.items():
            media = _json(doc, response)
            if media is not None and not media.get("schema"):
                missing.add(f"response {status} schema")
            missing |= _example_gaps(closed, status, media or {})
        if "422" in responses:
            missing.add("422 documented but never answered (invalid requests are 400)")
        if missing:
            gaps[op] = missing
    return gaps


def security_gaps(doc: Doc) -> dict[str, set[str]]:
    """Every operation but sign-in asks for the session JWT in the Authorization header."""
    schemes = doc.get("components", {}).get("securitySchemes", {})
    jwt = {
        name
        for name, scheme in schemes.items()
        if scheme.get("type") == "apiKey"
        and scheme.get("in") == "header"
        and scheme.get("name") == "Authorization"
    }
    gaps = {}
    for op, operation in operations(doc):
        asks = any(set(req) & jwt for req in operation.get("security", []))
        if op in UNSECURED and asks:
            gaps[op] = {"sign-in asks for a session"}
        elif op not in UNSECURED and not asks:
            gaps[op] = {"session security requirement"}
    return gaps


def test_the_document_has_every_scaletrade_operation(doc):
    assert {op for op, _ in operations(doc)} == OPERATIONS


def test_every_operation_has_scaletrades_operation_id(doc):
    assert operation_id_gaps(doc) == {}


def test_every_operation_has_a_summary(doc):
    assert summary_gaps(doc) == {}


def test_every_operation_but_a_get_takes_a_json_body_with_schema_and_example(doc):
    assert body_gaps(doc) == {}


def test_every_get_documents_its_query_parameters(doc):
    assert parameter_gaps(doc) == {}


def test_every_operation_documents_200_400_and_401_with_examples_and_schemas(doc):
    assert response_gaps(doc) == {}


def test_every_operation_but_sign_in_asks_for_the_session_token(doc):
    assert security_gaps(doc) == {}


def test_group_operations_document_their_partial_and_refused_answers(doc):
    for op, operation in operations(doc):
        if op.endswith("/group"):
            assert {"207", "404", "409"} <= set(operation["responses"]), op
            partial = _examples(_json(doc, operation["responses"]["207"]) or {})
            assert partial, op
            assert {"rows", "failures", "matched", "failed"} <= set(partial[0]), op


def test_the_rules_catch_a_route_added_without_documentation():
    app = create_app(Settings(database_url="sqlite:///unused.db", market_source="none"))

    @app.delete("/trade/widgets")
    async def widgets() -> dict[str, Any]:
        return {}

    @app.get("/trades/widgets")
    async def trade_widgets() -> Response:  # a JSON answer of no documented shape
        return Response()

    doc = app.openapi()
    assert {op for op, _ in operations(doc)} == OPERATIONS | {
        "DELETE /trade/widgets",
        "GET /trades/widgets",
    }
    assert operation_id_gaps(doc) == {
        "DELETE /trade/widgets": {"operationId widgets_trade_widgets_delete"},
        "GET /trades/widgets": {"operationId trade_widgets_trades_widgets_get"},
    }
    assert summary_gaps(doc) == {
        "DELETE /trade/widgets": {"summary"},
        "GET /trades/widgets": {"summary"},
    }
    assert body_gaps(doc) == {"DELETE /trade/widgets": {"JSON request body"}}
    assert parameter_gaps(doc) == {"GET /trades/widgets": {"query parameters"}}
    assert response_gaps(doc) == {
        "DELETE /trade/widgets": {"response 200 example", "response 400", "response 401"},
        "GET /trades/widgets": {
            "response 200 example",
            "response 200 schema",
            "response 400",
            "response 401",
        },
    }
    assert security_gaps(doc) == {
        op: {"session security requirement"}
        for op in ("DELETE /trade/widgets", "GET /trades/widgets")
    }
