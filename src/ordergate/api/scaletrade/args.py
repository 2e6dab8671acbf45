"""The fields of a ScaleTrade GET: ScaleTrade sends them as a JSON body on the GET; they are
taken from the query string too (integers from their digits, arrays and objects as JSON).
Either or both: a field given in both is refused rather than one silently winning."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.requests import Request

from ordergate.api.bodies import invalid, parse_json, validate
from ordergate.domain.errors import InvalidInput

__all__ = ["read_args"]

Q = TypeVar("Q", bound=BaseModel)
_INTEGER = re.compile(r"-?[0-9]{1,19}")


def _from_query(
    params: Iterable[tuple[str, str]], ints: Collection[str], json: Collection[str]
) -> dict[str, Any]:
    """Query parameters as body fields: ``ints`` from their digits, ``json`` parsed."""
    data: dict[str, Any] = {}
    for key, raw in params:
        if key in data:
            raise invalid("query", f"{key} is given twice")
        if key in ints and _INTEGER.fullmatch(raw):
            data[key] = int(raw)
        elif key in json:
            try:
                if not raw.strip():
                    raise InvalidInput("empty")
                data[key] = parse_json(raw.encode())
            except InvalidInput:
                raise invalid("query", f"{key} must be JSON") from None
        else:
            data[key] = raw  # a text field, or what the model refuses
    return data


async def read_args(
    request: Request, model: type[Q], *, ints: Collection[str] = (), json: Collection[str] = ()
) -> Q:
    """A GET's fields, from its query string and its JSON body, as ``model``."""
    data = _from_query(request.query_params.multi_items(), ints, json)
    try:
        body = parse_json(await request.body())
    except InvalidInput as exc:
        raise invalid("body", exc.message) from None
    if not isinstance(body, dict):
        raise invalid("body", "the body must be a JSON object")
    both = sorted(set(body) & set(data))
    if both:
        raise invalid("query", f"given in both the query and the body: {', '.join(both)}")
    return validate(model, {**data, **body}, "query")
