"""OpenAPI documentation of the ScaleTrade routes: request bodies with examples, the success
answer with its model and example, and the error answers in ScaleTrade's form."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ordergate.api.openapi import query_parameters
from ordergate.api.scaletrade.answers import ScaleTradeError

__all__ = ["example", "query_parameters", "request_body", "responses"]

_COMMON: dict[int, tuple[str, str]] = {
    400: ("INVALID_DATA", "Validation failed: a missing, malformed or wrongly typed field"),
    401: ("UNAUTHORIZED", "No token, or an expired, tampered or wrongly signed one"),
    403: ("PERMISSION_DENIED", "The session may not act on that login (or it does not exist)"),
    404: ("RET_NOT_FOUND", "No such order or trade (or not one this session may see)"),
    409: ("RET_TRADE_ORDER_LOCKED", "The trade state forbids it now (RET_TRADE_* code)"),
}


def example(body: Any, description: str, model: type[BaseModel]) -> dict[str, Any]:
    """A documented answer: ``model``'s schema with ``body`` as its example."""
    return {
        "model": model,
        "description": description,
        "content": {"application/json": {"example": body}},
    }


def request_body(model: type[BaseModel], body: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI request body of a route that reads its JSON body itself."""
    schema = model.model_json_schema()
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema, "example": body}},
        }
    }


def responses(
    ok: Any,
    *codes: int,
    model: type[BaseModel],
    extra: dict[int, tuple[str, str]] | None = None,
    errors: dict[int, type[BaseModel]] | None = None,
    secured: bool = True,
    ok_status: int = 200,
) -> dict[int | str, dict[str, Any]]:
    """The success answer (``model``, with ``ok`` as example) and the error answers: the
    common ``codes`` (plus 401 and 403 for a route behind a session), then ``extra`` as
    {status: (code, text)}; each in ScaleTradeError's form unless ``errors`` names a model
    that adds to it."""
    out: dict[int | str, dict[str, Any]] = {ok_status: example(ok, "Success", model)}
    wanted = {*codes, *((401, 403) if secured else ())}
    table = {s: _COMMON[s] for s in sorted(wanted)} | (extra or {})
    refusals = errors or {}
    for status, (code, text) in sorted(table.items()):
        body = {"error": code, "message": text}
        out[status] = example(body, text, refusals.get(status, ScaleTradeError))
    return out
