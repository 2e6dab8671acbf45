"""A small JSON Schema check, enough to hold a body (an example, or an answer the server
sent) against the schema the OpenAPI document gives it: type, enum, const, lengths, pattern,
required, properties, additionalProperties, items, anyOf/oneOf/allOf and local ``$ref``."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["Doc", "mismatches", "resolve"]

Doc = dict[str, Any]


def resolve(doc: Doc, ref: str) -> Any:
    """The object a local ``$ref`` (``#/a/b``) points at; KeyError if there is none."""
    if not ref.startswith("#"):
        raise KeyError(f"{ref} is not a reference inside the document")
    node: Any = doc
    for part in ref[1:].split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(ref)
    return node


_TYPES: dict[str, Any] = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
}


def mismatches(doc: Doc, schema: Any, value: Any, at: str = "$") -> list[str]:
    """Where ``value`` breaks ``schema`` (type, enum, const, lengths, pattern, required,
    properties, additionalProperties, items, anyOf/oneOf/allOf, $ref); empty if it fits."""
    if schema is True or schema == {}:
        return []
    if schema is False:
        return [f"{at}: no value is allowed here"]
    if "$ref" in schema:
        try:
            return mismatches(doc, resolve(doc, schema["$ref"]), value, at)
        except KeyError:
            return [f"{at}: unresolvable $ref {schema['$ref']}"]
    found = _scalar_mismatches(schema, value, at) + _combined_mismatches(doc, schema, value, at)
    if isinstance(value, dict):
        found += _object_mismatches(doc, schema, value, at)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += mismatches(doc, schema["items"], item, f"{at}[{i}]")
    return found


def _combined_mismatches(doc: Doc, schema: Doc, value: Any, at: str) -> list[str]:
    found = [m for sub in schema.get("allOf", []) for m in mismatches(doc, sub, value, at)]
    for key, want in (("anyOf", lambda n: n >= 1), ("oneOf", lambda n: n == 1)):
        if key in schema:
            fits = sum(not mismatches(doc, sub, value, at) for sub in schema[key])
            if not want(fits):
                found.append(f"{at}: {value!r} fits {fits} of the {key} alternatives")
    return found


def _scalar_mismatches(schema: Doc, value: Any, at: str) -> list[str]:
    found = []
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else types
        if not any(_TYPES[name](value) for name in names):
            found.append(f"{at}: {value!r} is not of type {types}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{at}: {value!r} is not one of {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        found.append(f"{at}: {value!r} is not {schema['const']!r}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            found.append(f"{at}: {value!r} is shorter than {schema['minLength']}")
        if len(value) > schema.get("maxLength", len(value)):
            found.append(f"{at}: {value!r} is longer than {schema['maxLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            found.append(f"{at}: {value!r} does not match {schema['pattern']}")
    return found


def _object_mismatches(doc: Doc, schema: Doc, value: Doc, at: str) -> list[str]:
    found = [
        f"{at}: {name!r} is required" for name in schema.get("required", []) if name not in value
    ]
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            found += mismatches(doc, properties[name], item, f"{at}.{name}")
        elif extra is False:
            found.append(f"{at}: {name!r} is not an allowed property")
        elif isinstance(extra, dict):
            found += mismatches(doc, extra, item, f"{at}.{name}")
    return found
