"""The OpenAPI document documents every CrossTrade operation, and is a sound OpenAPI 3.1
document.

The rules apply to every path under /v1/api, whenever it was added: a new endpoint without a
summary, a request example or its error responses fails here. ``KNOWN_GAPS`` lists what the
routes lacked when the rules were written; a fixed gap must be removed from it (the list only
shrinks).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from ordergate.api.app import create_app
from ordergate.api.crosstrade.discovery import catalog
from ordergate.api.crosstrade.errors import PREFIX
from ordergate.api.crosstrade.ops import OPERATIONS
from ordergate.settings import Settings
from tests.api.crosstrade.conftest import free_port
from tests.schema_check import Doc, mismatches, resolve

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
WITH_BODY = ("post", "put", "patch")
NO_422 = "422 documented but never answered (invalid requests are 400)"
NO_BODY_DOC = "response 200 body (example or schema with fields)"
NO_AUTH_ERRORS = {"response 401", "response 429"}  # the bearer token, the rate limit
NO_ACCOUNT_ERRORS = {*NO_AUTH_ERRORS, "response 404", NO_422}
NO_ERRORS = {*NO_ACCOUNT_ERRORS, "response 400"}


def in_body(*names: str) -> set[str]:
    """The gaps of a body schema that lists (and requires) path parameters."""
    return {f"body schema without path parameter {n}" for n in names} | {
        f"body example: $: {n!r} is required" for n in names
    }


#: The operations that need no token, and why (each says so: ``security: []``).
PUBLIC: dict[str, str] = {
    "GET /v1/api/_endpoints": "the catalog of the routes: names no account",
}

# What the routes lacked when these rules were written. Remove entries as the routes are
# documented; never add one (a new route is documented when it is added).
KNOWN_GAPS: dict[str, set[str]] = {}


@pytest.fixture(scope="module")
def doc() -> Doc:
    """/openapi.json from a real uvicorn on loopback (without its lifespan: no database)."""
    app = create_app(Settings(database_url="sqlite:///unused.db", market_source="none"))
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="openapi-uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        url = f"http://127.0.0.1:{config.port}/openapi.json"
        response = httpx.get(url, timeout=10, trust_env=False)
    finally:
        server.should_exit = True
        thread.join(10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document: Doc = response.json()
    return document


def operations(doc: Doc) -> Iterator[tuple[str, str, Doc]]:
    """(``"POST /v1/api/…"``, path, operation) of every CrossTrade operation."""
    for path, item in doc["paths"].items():
        if path == PREFIX or path.startswith(PREFIX + "/"):
            for method in METHODS:
                if method in item:
                    yield f"{method.upper()} {path}", path, item[method]


def path_names(path: str) -> set[str]:
    return set(re.findall(r"\{([^}/]+)\}", path))


# -- the documentation rules, one function each ------------------------------------------------


def _default_summary(path: str, method: str, operation: Doc) -> str | None:
    """The summary FastAPI makes up from the function name when none is given (the name is
    the head of FastAPI's default operationId: name + path + method, non-word chars as _)."""
    tail = re.sub(r"\W", "_", path) + "_" + method
    op_id = str(operation.get("operationId", ""))
    if not op_id.endswith(tail):
        return None
    return op_id[: -len(tail)].replace("_", " ").title()


def summary_gaps(doc: Doc) -> dict[str, set[str]]:
    """A summary written for the operation (not made up from the function's name)."""
    gaps = {}
    for op, path, operation in operations(doc):
        summary = str(operation.get("summary", "")).strip()
        method = op.split()[0].lower()
        if not summary or summary == _default_summary(path, method, operation):
            gaps[op] = {"summary"}
    return gaps


def _examples(media: Doc) -> list[Any]:
    if "example" in media:
        return [media["example"]]
    return [e.get("value") for e in media.get("examples", {}).values() if "value" in e]


def body_gaps(doc: Doc) -> dict[str, set[str]]:
    """A POST/PUT/PATCH takes a JSON body: a schema of its fields only (path parameters stay in
    the path), and an example that fits the schema."""
    gaps: dict[str, set[str]] = {}
    for op, path, operation in operations(doc):
        if op.split()[0].lower() not in WITH_BODY:
            continue
        media = operation.get("requestBody", {}).get("content", {}).get("application/json")
        missing = set()
        if media is None:
            missing.add("JSON request body")
        else:
            schema = media.get("schema")
            if schema is None:
                missing.add("request body schema")
            else:
                body = resolve(doc, schema["$ref"]) if "$ref" in schema else schema
                listed = set(body.get("properties", {})) | set(body.get("required", []))
                missing |= {
                    f"body schema without path parameter {n}" for n in path_names(path) & listed
                }
            examples = _examples(media)
            if not examples:
                missing.add("request body example")
            elif schema is not None:
                for example in examples:
                    missing |= {f"body example: {m}" for m in mismatches(doc, schema, example)}
        if missing:
            gaps[op] = missing
    return gaps


def is_public(operation: Doc) -> bool:
    """An operation that says it needs no credentials (``security: []``, OpenAPI's way)."""
    return operation.get("security") == []


def expected_statuses(path: str, operation: Doc) -> set[str]:
    """The statuses every CrossTrade operation can answer, so must document: 200; 401 (bearer
    token) and 429 (rate limit) always, but for a public one (no token: nothing to refuse or
    to count); 400 (invalid request) when it takes a body or any parameter; 404 when its path
    names something that may not exist (an account, an order)."""
    statuses = {"200"} if is_public(operation) else {"200", "401", "429"}
    if "requestBody" in operation or operation.get("parameters") or path_names(path):
        statuses.add("400")
    if path_names(path):
        statuses.add("404")
    return statuses


def _documents_body(doc: Doc, response: Doc) -> bool:
    """A JSON body described by an example, or by a schema that names its fields."""
    if "$ref" in response:
        response = resolve(doc, response["$ref"])
    media = response.get("content", {}).get("application/json")
    if media is None:
        return False
    if _examples(media):
        return True
    schema = media.get("schema", {})
    if "$ref" in schema:
        schema = resolve(doc, schema["$ref"])
    return bool(schema.get("properties") or schema.get("items") or schema.get("anyOf"))


def response_gaps(doc: Doc) -> dict[str, set[str]]:
    """Each expected status documented with its JSON body; examples fit their schemas; no 422
    (the dialect answers an invalid request with 400, never 422)."""
    gaps: dict[str, set[str]] = {}
    for op, path, operation in operations(doc):
        responses = operation.get("responses", {})
        missing = set()
        for status in sorted(expected_statuses(path, operation)):
            if status not in responses:
                missing.add(f"response {status}")
            elif not _documents_body(doc, responses[status]):
                missing.add(f"response {status} body (example or schema with fields)")
        if "422" in responses:
            missing.add("422 documented but never answered (invalid requests are 400)")
        for status, response in responses.items():
            media = response.get("content", {}).get("application/json", {})
            for example in _examples(media) if "schema" in media else []:
                missing |= {
                    f"{status} example: {m}" for m in mismatches(doc, media["schema"], example)
                }
        if missing:
            gaps[op] = missing
    return gaps


def security_gaps(doc: Doc) -> dict[str, set[str]]:
    """Every CrossTrade operation asks for a bearer token (a security scheme of type http,
    scheme bearer, whatever its name), but those that say they are public (``PUBLIC``)."""
    schemes = doc.get("components", {}).get("securitySchemes", {})
    bearer = {
        name
        for name, scheme in schemes.items()
        if scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() == "bearer"
    }
    return {
        op: {"bearer security requirement"}
        for op, _, operation in operations(doc)
        if not any(set(req) & bearer for req in operation.get("security", []))
        and not (op in PUBLIC and is_public(operation))
    }


def check(rule: str, found: dict[str, set[str]]) -> None:
    """``found`` must be exactly the known gaps of ``rule``'s kind: no new ones, none fixed
    but still listed."""
    known = {op: {gap for gap in gaps if _kind(gap) == rule} for op, gaps in KNOWN_GAPS.items()}
    new = sorted(
        f"{op}: {gap}" for op, gaps in found.items() for gap in gaps - known.get(op, set())
    )
    fixed = sorted(
        f"{op}: {gap}" for op, gaps in known.items() for gap in gaps - found.get(op, set())
    )
    assert not new, "undocumented:\n  " + "\n  ".join(new)
    assert not fixed, "documented now, remove from KNOWN_GAPS:\n  " + "\n  ".join(fixed)


def _kind(gap: str) -> str:
    if gap == "summary":
        return "summary"
    if gap.startswith(("JSON request body", "request body", "body ")):
        return "body"
    if gap == "bearer security requirement":
        return "security"
    return "responses"


def test_the_document_has_crosstrade_operations(doc):
    assert len(list(operations(doc))) >= 5


def test_every_operation_has_a_summary(doc):
    check("summary", summary_gaps(doc))


def test_every_post_and_put_takes_a_json_body_with_schema_and_example(doc):
    check("body", body_gaps(doc))


def test_every_operation_documents_200_and_its_error_responses(doc):
    check("responses", response_gaps(doc))


def test_every_operation_asks_for_the_bearer_token(doc):
    check("security", security_gaps(doc))


def test_only_the_listed_operations_are_public(doc):
    public = {op for op, _, operation in operations(doc) if is_public(operation)}
    assert public == set(PUBLIC)


def test_known_gaps_name_operations_that_exist(doc):
    existing = {op for op, _, _ in operations(doc)}
    assert set(KNOWN_GAPS) <= existing


def test_the_rules_catch_an_endpoint_added_without_documentation():
    app = create_app(Settings(database_url="sqlite:///unused.db", market_source="none"))

    @app.post(PREFIX + "/accounts/{account}/widgets")
    async def widgets(account: str) -> dict[str, Any]:
        return {}

    doc = app.openapi()
    op = "POST /v1/api/accounts/{account}/widgets"
    assert summary_gaps(doc)[op] == {"summary"}
    assert body_gaps(doc)[op] == {"JSON request body"}
    assert response_gaps(doc)[op] == {*NO_ERRORS, NO_BODY_DOC}
    assert security_gaps(doc)[op] == {"bearer security requirement"}


def test_an_example_is_held_against_its_schema():
    doc: Doc = {"components": {"schemas": {"Id": {"type": "string", "minLength": 32}}}}
    schema = {
        "type": "object",
        "required": ["orderIds"],
        "additionalProperties": False,
        "properties": {
            "orderIds": {"type": "array", "items": {"$ref": "#/components/schemas/Id"}},
            "success": {"anyOf": [{"type": "boolean"}, {"type": "null"}]},
        },
    }
    assert mismatches(doc, schema, {"orderIds": ["a" * 32], "success": True}) == []
    assert mismatches(doc, schema, {"orderIds": ["abc"], "success": 1, "x": 0}) == [
        "$.orderIds[0]: 'abc' is shorter than 32",
        "$.success: 1 fits 0 of the anyOf alternatives",
        "$: 'x' is not an allowed property",
    ]
    assert mismatches(doc, schema, {}) == ["$: 'orderIds' is required"]


# -- OpenAPI 3.1, structurally ------------------------------------------------------------------


def refs(node: Any, at: str = "#") -> Iterator[tuple[str, str]]:
    """(where, target) of every ``$ref`` in ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield at, value
            else:
                yield from refs(value, f"{at}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from refs(value, f"{at}/{i}")


def test_every_reference_resolves(doc):
    broken = []
    for at, ref in refs(doc):
        try:
            resolve(doc, ref)
        except KeyError:
            broken.append(f"{at}: {ref}")
    assert not broken, "unresolvable $ref:\n  " + "\n  ".join(broken)


def test_the_document_is_openapi_3_1(doc):
    assert re.fullmatch(r"3\.1\.\d+", doc["openapi"])
    assert isinstance(doc["info"]["title"], str)
    assert isinstance(doc["info"]["version"], str)
    assert all(path.startswith("/") for path in doc["paths"])
    names = doc.get("components", {})
    for kind, entries in names.items():
        bad = [n for n in entries if not re.fullmatch(r"[a-zA-Z0-9._-]+", n)]
        assert not bad, f"components/{kind}: names OpenAPI does not allow: {bad}"


def _parameter_problems(doc: Doc, path: str, item: Doc, method: str) -> list[str]:
    where = f"{method.upper()} {path}"
    parameters = [*item.get("parameters", []), *item[method].get("parameters", [])]
    parameters = [resolve(doc, p["$ref"]) if "$ref" in p else p for p in parameters]
    problems = []
    for p in parameters:
        if p.get("in") not in ("query", "header", "path", "cookie") or not p.get("name"):
            problems.append(f"{where}: parameter {p} needs a name and a valid 'in'")
        if ("schema" in p) == ("content" in p):
            problems.append(f"{where}: parameter {p.get('name')} needs schema or content")
        if p.get("in") == "path" and p.get("required") is not True:
            problems.append(f"{where}: path parameter {p.get('name')} must be required")
    declared = {p.get("name") for p in parameters if p.get("in") == "path"}
    if declared != path_names(path):
        problems.append(f"{where}: path parameters {declared} != template {path_names(path)}")
    return problems


def _response_problems(doc: Doc, where: str, operation: Doc) -> list[str]:
    responses = operation.get("responses")
    problems = [] if responses else [f"{where}: no responses"]
    for status, response in (responses or {}).items():
        if not re.fullmatch(r"default|[1-5](\d\d|XX)", status):
            problems.append(f"{where}: response key {status!r}")
        response = resolve(doc, response["$ref"]) if "$ref" in response else response
        if not isinstance(response.get("description"), str):
            problems.append(f"{where}: response {status} has no description")
        for media in response.get("content", {}).values():
            if "example" in media and "examples" in media:
                problems.append(f"{where}: response {status}: example and examples both set")
    return problems


def _operation_problems(doc: Doc, path: str, item: Doc, method: str) -> list[str]:
    """What the OpenAPI 3.1 schema itself would refuse in one operation."""
    operation = item[method]
    where = f"{method.upper()} {path}"
    problems = _parameter_problems(doc, path, item, method)
    problems += _response_problems(doc, where, operation)
    body = operation.get("requestBody")
    if body is not None and not body.get("content"):
        problems.append(f"{where}: requestBody without content")
    schemes = doc.get("components", {}).get("securitySchemes", {})
    for requirement in operation.get("security", []):
        problems += [
            f"{where}: unknown security scheme {n}" for n in requirement if n not in schemes
        ]
    return problems


def test_every_operation_is_well_formed(doc):
    problems: list[str] = []
    ids: dict[str, str] = {}
    for path, item in doc["paths"].items():
        for method in (m for m in METHODS if m in item):
            problems += _operation_problems(doc, path, item, method)
            op_id = item[method].get("operationId")
            if op_id is not None and ids.setdefault(op_id, path) != path:
                problems.append(f"{method.upper()} {path}: operationId {op_id} used twice")
    assert not problems, "\n  ".join(problems)


#: The operations whose id is not the rpc their route runs: none runs one, or two share it.
OWN_IDS = {
    "GET /v1/api/_endpoints": "ListEndpoints",
    "GET /v1/api/accounts/{account}/quote": "GetAccountQuote",  # GetQuote's legacy form
    "POST /v1/send/{webhookId}": "SendAlert",
}


def test_every_operation_id_is_the_rpc_name_of_what_the_route_runs(doc):
    app = create_app(Settings(database_url="sqlite:///unused.db", market_source="none"))
    rpcs = {f"{e['method']} {e['path']}": e["rpc"] for e in catalog(app)}
    ids = {op: operation["operationId"] for op, _, operation in operations(doc)}
    ids["POST /v1/send/{webhookId}"] = doc["paths"]["/v1/send/{webhookId}"]["post"]["operationId"]
    expected = {op: OWN_IDS.get(op) or rpcs[op] for op in ids}
    assert ids == expected
    assert all(name in OPERATIONS for op, name in ids.items() if op not in OWN_IDS)
