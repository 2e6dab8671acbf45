"""OpenAPI helpers shared by the dialects' and the admin API's documentation.

The request schemas say what the validators take, so that a request that follows the
document is never refused as malformed: exact decimals with their limits, strings that
the models strip, names in any letter case, rules across fields (``given``, ``when``),
query parameters read from the args model itself, and the default error form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler, WithJsonSchema
from pydantic.json_schema import JsonSchemaValue, models_json_schema
from pydantic_core import CoreSchema

from ordergate.domain.values import MAX_INTEGER_DIGITS, SCALE

__all__ = [
    "SPACE",
    "DocumentedRoute",
    "ErrorOut",
    "JsonNumber",
    "WireModel",
    "TrimmedModel",
    "absent",
    "any_case",
    "at_least_one",
    "decimal_schema",
    "error_responses",
    "field_schema",
    "given",
    "finish_document",
    "query_parameters",
    "query_parameters_of",
    "trimmed",
    "when",
]

#: Whitespace, for a pattern's character class: every character that Python (``str.strip``,
#: ``str.split``), pydantic (Unicode White_Space) or ECMA-262 (``\s``) counts as one. Each
#: reads ``\s`` its own way, so a schema spells the characters out.
SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
#: A string the model strips must hold more than whitespace: the shortest rule, for length 1.
_SOME_TEXT = f"[^{SPACE}]"
#: ... and, to keep a longer minimum length exact, no whitespace around it.
_TRIMMED = f"^[^{SPACE}](?:[\\s\\S]*[^{SPACE}])?$"


def trimmed(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (a property's, in place) for a model that strips whitespace from strings:
    a string with a minimum length needs that much besides the whitespace around it."""
    for sub in [schema, *schema.get("anyOf", [])]:
        if sub.get("type") == "string" and sub.get("minLength", 0) > 0 and "pattern" not in sub:
            sub["pattern"] = _SOME_TEXT if sub["minLength"] == 1 else _TRIMMED
    return schema


class TrimmedModel(BaseModel):
    """Base of the request models that strip whitespace from their strings; their JSON
    Schema says what that leaves a length limit meaning (``trimmed``). A subclass that
    keeps its strings as they are (``str_strip_whitespace=False``) documents them as such."""

    model_config = ConfigDict(str_strip_whitespace=True)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler.resolve_ref_schema(handler(core_schema))
        if cls.model_config.get("str_strip_whitespace"):
            for prop in schema.get("properties", {}).values():
                trimmed(prop)
        return schema


def decimal_schema(
    *,
    minimum: int | None = None,
    exclusive_minimum: int | None = None,
    maximum: int | None = None,
) -> dict[str, Any]:
    """An exact decimal as the server takes it: a JSON number, or a decimal string, of at
    most ``MAX_INTEGER_DIGITS`` integer digits and ``SCALE`` decimal places, within the
    bounds given (``exclusive_minimum=0``: positive). With a ``maximum`` only numbers are
    documented (a pattern cannot bound a string's value)."""
    limit = 10**MAX_INTEGER_DIGITS
    number: dict[str, Any] = {"type": "number", "multipleOf": float(Decimal(1).scaleb(-SCALE))}
    if exclusive_minimum is not None:
        number["exclusiveMinimum"] = exclusive_minimum
    elif minimum is not None:
        number["minimum"] = minimum
    else:
        number["exclusiveMinimum"] = -limit
    if maximum is not None:
        return {**number, "maximum": maximum}
    number["exclusiveMaximum"] = limit
    lowest = exclusive_minimum if exclusive_minimum is not None else minimum
    sign = "" if lowest is not None and lowest >= 0 else "-?"
    nonzero = "(?=[^1-9]*[1-9])" if exclusive_minimum == 0 else ""
    digits = f"[0-9]{{1,{MAX_INTEGER_DIGITS}}}(?:\\.[0-9]{{1,{SCALE}}})?"
    string = {"type": "string", "pattern": f"^{sign}{nonzero}{digits}$"}
    return {"anyOf": [number, string]}


def any_case(*words: str) -> str:
    """A pattern matching exactly one of ``words``, in any letter case."""
    spelled = (
        "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)
        for word in words
    )
    return f"^(?:{'|'.join(spelled)})$"


def given(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """A rule: field ``name`` is present and not null (and fits ``schema``)."""
    return {"required": [name], "properties": {name: schema or {"not": {"type": "null"}}}}


def absent(name: str) -> dict[str, Any]:
    """A rule: field ``name`` is absent or null."""
    return {"properties": {name: {"type": "null"}}}


def at_least_one(*names: str) -> dict[str, Any]:
    """A rule: at least one of the fields ``names`` is given (not null)."""
    return {"anyOf": [given(name) for name in names]}


def when(
    name: str,
    schema: dict[str, Any],
    then: dict[str, Any],
    otherwise: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A rule: if field ``name`` is present and fits ``schema``, ``then`` holds (else
    ``otherwise``)."""
    rule = {"if": {"required": [name], "properties": {name: schema}}, "then": then}
    if otherwise is not None:
        rule["else"] = otherwise
    return rule


def query_parameters(*params: tuple[str, str, dict[str, Any] | str, bool]) -> dict[str, Any]:
    """OpenAPI query parameters (name, description, JSON Schema or JSON type, required) of a
    GET route that reads its query string itself."""
    return {
        "parameters": [
            {
                "name": name,
                "in": "query",
                "required": required,
                "description": description,
                "schema": {"type": kind} if isinstance(kind, str) else kind,
            }
            for name, description, kind, required in params
        ]
    }


def field_schema(model: type[BaseModel], name: str) -> dict[str, Any]:
    """The JSON Schema of ``model``'s field ``name`` as a parameter's: without its title and
    description, and without null (a parameter is left out, never null)."""
    schema: dict[str, Any] = model.model_json_schema()["properties"][name]
    schema = {k: v for k, v in schema.items() if k not in ("title", "description")}
    options = [o for o in schema.get("anyOf", []) if o != {"type": "null"}]
    if "anyOf" in schema and len(options) == 1:
        del schema["anyOf"]
        schema = {**{k: v for k, v in options[0].items() if k != "description"}, **schema}
    return schema


def query_parameters_of(model: type[BaseModel], path: tuple[str, ...] = ()) -> dict[str, Any]:
    """The query parameters of a GET route whose query string ``model`` validates (without
    the path parameters ``path``): each field's own schema, description and requiredness."""
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        if name in path:
            continue
        parameter = {"name": name, "in": "query", "required": name in required}
        if "description" in prop:
            parameter["description"] = prop["description"]
        parameters.append({**parameter, "schema": field_schema(model, name)})
    return {"parameters": parameters}


class ErrorOut(BaseModel):
    """The error form outside the dialects' paths."""

    error: str
    message: str


def error_responses(errors: dict[int, tuple[str, str, str]]) -> dict[int | str, dict[str, Any]]:
    """Documented error answers in the default form, {status: (code, message, description)}."""
    return {
        status: {
            "model": ErrorOut,
            "description": description,
            "content": {"application/json": {"example": {"error": code, "message": message}}},
        }
        for status, (code, message, description) in errors.items()
    }


#: A price, quantity or amount as the dialects send it: an exact JSON number (rendered from
#: the Decimal itself, never through a float).
JsonNumber = Annotated[Decimal, WithJsonSchema({"type": "number"})]


class WireModel(BaseModel):
    """Base of the response models: what an answer holds, for the OpenAPI document and the
    clients generated from it. The routes build their bodies themselves (exact numbers, one
    serialization); the tests hold every answer they receive against these models' schemas
    (tests/conformance.py), so a model and its route cannot drift apart unnoticed."""


#: The models the documented answers name, by name (their schemas go into the document).
_DOCUMENTED: dict[str, type[BaseModel]] = {}
_COMPONENT = "#/components/schemas/{model}"


def schema_of(kind: Any) -> dict[str, Any]:
    """The JSON Schema of a documented answer of type ``kind`` (a model, a union of them or
    a list of one), each model by reference to the document's components."""
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        known = _DOCUMENTED.setdefault(kind.__name__, kind)
        if known is not kind:
            raise ValueError(f"two documented models are named {kind.__name__}")
        return {"$ref": _COMPONENT.format(model=kind.__name__)}
    if get_origin(kind) in (Union, UnionType):
        return {"anyOf": [schema_of(member) for member in get_args(kind)]}
    if get_origin(kind) is list:
        (item,) = get_args(kind)
        return {"type": "array", "items": schema_of(item)}
    raise TypeError(f"cannot document {kind!r} as an answer")


def _by_reference(responses: dict[int | str, Any]) -> dict[int | str, Any]:
    """``responses`` with each ``"model"`` turned into its JSON Schema (``schema_of``)."""
    out: dict[int | str, Any] = {}
    for status, response in responses.items():
        if "model" not in response:
            out[status] = response
            continue
        documented = {key: value for key, value in response.items() if key != "model"}
        content = dict(documented.get("content", {}))
        content["application/json"] = {
            **content.get("application/json", {}),
            "schema": schema_of(response["model"]),
        }
        out[status] = {**documented, "content": content}
    return out


class DocumentedRoute(APIRoute):
    """A route whose documented answers name their models as FastAPI takes them
    (``responses={200: {"model": M, ...}}``), without FastAPI building a validator of each
    for every app it is part of: the routes render their own answers, so the models only
    document them. Their schemas join the document when it is built (``finish_document``)."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        responses: dict[int | str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(path, endpoint, responses=_by_reference(responses or {}), **kwargs)


def _json_example(node: Any) -> Any:
    """The ``example`` of a media type object (None when it has none)."""
    return node.get("content", {}).get("application/json", {}).get("example")


def _restore_examples(doc: dict[str, Any], app: FastAPI) -> None:
    """Put the routes' examples back as they declare them: FastAPI drops every null from
    the document it renders (``exclude_none``), examples included, so an answer that sends
    ``"gtd": null`` would be documented without the field, against its own schema."""
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        item = doc["paths"].get(route.path_format, {})
        for method in (route.methods or set()) - {"HEAD"}:
            operation = item.get(method.lower())
            if operation is None:
                continue
            for status, response in route.responses.items():
                body = _json_example(response)
                documented = operation["responses"].get(str(status))
                if body is not None and documented is not None:
                    documented["content"]["application/json"]["example"] = jsonable_encoder(body)
            request = (route.openapi_extra or {}).get("requestBody", {})
            body = _json_example(request)
            if body is not None and "requestBody" in operation:
                media = operation["requestBody"]["content"]["application/json"]
                media["example"] = jsonable_encoder(body)


def finish_document(app: FastAPI) -> None:
    """Complete ``app``'s OpenAPI document when it is first built: the schemas of the
    models the answers name (``DocumentedRoute``), and the examples with their nulls."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = build()
        models = [(_DOCUMENTED[name], "serialization") for name in sorted(_DOCUMENTED)]
        _, defs = models_json_schema(models, ref_template=_COMPONENT)  # type: ignore[arg-type]
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(defs.get("$defs", {}))
        doc["components"]["schemas"] = dict(sorted(schemas.items()))
        _restore_examples(doc, app)
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
