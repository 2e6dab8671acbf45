"""OpenAPI documentation of the CrossTrade routes, and how a route sends its answer.

Every route documents its parameters and request body as the args model validates them (the
body without the path parameters, with an example), its 200 with an example, and the
dialect's error answers; ``reply`` renders an operation's body so that Decimals stay exact
JSON numbers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import TypeAdapter
from starlette.responses import Response

from ordergate.api.crosstrade.answers import CrossTradeError, RateLimited
from ordergate.api.crosstrade.ops import AccountName, Args, OrderIdText
from ordergate.api.crosstrade.wire import CrossTradeJson
from ordergate.api.openapi import query_parameters, query_parameters_of, trimmed

__all__ = [
    "ACCOUNT_ERRORS",
    "ERRORS",
    "AccountPath",
    "OrderIdPath",
    "example",
    "path_parameter",
    "query_parameters",
    "query_parameters_of",
    "reply",
    "request_body",
    "responses",
]


def path_parameter(kind: Any) -> Any:
    """A string path parameter documented as the args models validate it (``kind``: the
    annotated type of their field); the args model still does the validating."""
    schema = trimmed(TypeAdapter(kind).json_schema())
    return Path(description=schema.pop("description", None), json_schema_extra=schema)


AccountPath = Annotated[str, path_parameter(AccountName)]
OrderIdPath = Annotated[str, path_parameter(OrderIdText)]


def request_body(
    model: type[Args], example: dict[str, Any], path: tuple[str, ...] = ("account",)
) -> dict[str, Any]:
    """The OpenAPI request body of a POST route: the args model without its path
    parameters, and an example. A body with required fields (or a rule that needs one) is
    itself required; an empty one reads as ``{}``."""
    schema = model.model_json_schema()
    for name in path:
        schema.get("properties", {}).pop(name, None)
        if name in schema.get("required", []):
            schema["required"].remove(name)
    return {
        "requestBody": {
            "required": bool(schema.get("required") or schema.get("anyOf")),
            "content": {"application/json": {"schema": schema, "example": example}},
        }
    }


def example(
    body: Any, description: str | None = None, *, model: Any = CrossTradeError
) -> dict[str, Any]:
    """A documented answer: its schema (``model``, a type: FastAPI documents it), with
    ``body`` as its example."""
    out: dict[str, Any] = {"model": model, "content": {"application/json": {"example": body}}}
    if description is not None:
        out["description"] = description
    return out


ERRORS: dict[int, dict[str, Any]] = {
    400: example(
        {"success": False, "error": "Invalid request", "detail": "body.quantity: ..."},
        "Invalid request: a malformed body or query, or a value refused",
    ),
    401: example(
        {
            "success": False,
            "error": "Unauthorized: missing bearer token (Authorization: Bearer <token>)",
            "code": "UNAUTHENTICATED",
        },
        "No or bad bearer token",
    ),
    404: example(
        {"success": False, "error": "Account 'Sim101' not found", "code": "ACCOUNT_NOT_FOUND"},
        "Unknown account, or one this token may not act on (answered alike)",
    ),
    429: example(
        {"error": "Rate limit exceeded"},
        "Rate limit exceeded (see Retry-After)",
        model=RateLimited,
    ),
}
_DEFAULT = example(
    {"success": False, "error": "<what was refused>", "code": "<CODE>"},
    "Any other refusal, in CrossTrade's error form",
)


def responses(
    model: Any, ok: Any, *errors: int, **more: dict[str, Any]
) -> dict[int | str, dict[str, Any]]:
    """The documented answers of a route: 200 of ``model`` with ``ok`` as example, the
    standard error forms of ``errors``, ``more`` by status (``s409=...``), and the error form
    as default."""
    out: dict[int | str, dict[str, Any]] = {200: example(ok, model=model)}
    out.update({status: ERRORS[status] for status in errors})
    out.update({int(key[1:]): value for key, value in more.items()})
    out["default"] = _DEFAULT  # also keeps FastAPI from listing a 422 it never answers
    return out


ACCOUNT_ERRORS = (400, 401, 404, 429)


def reply(body: dict[str, Any], status: int = 200) -> Response:
    """An operation's answer as the route sends it: rendered here, so that its Decimals stay
    exact JSON numbers (FastAPI's own serialization would turn them into strings)."""
    return CrossTradeJson(body, status_code=status)
