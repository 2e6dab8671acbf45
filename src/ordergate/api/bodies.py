"""Request and response bodies shared by the dialects: JSON with exact decimals in and out,
and request models validated into the 400 each dialect renders in its own form."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, TypeVar

import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from ordergate.domain.errors import InvalidInput

__all__ = ["body_model", "dumps", "invalid", "num", "parse_json", "validate"]

M = TypeVar("M", bound=BaseModel)


def _no_constant(name: str) -> Any:
    raise InvalidInput(f"{name} is not a number")


#: A ``\\u`` escape of a UTF-16 surrogate: only these can decode to text that has no UTF-8.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def parse_json(raw: bytes) -> Any:
    """A request body; JSON numbers become Decimals from their own text, never floats.

    Text that cannot be written back as UTF-8 (a lone surrogate, ``"\\ud800"``) is refused
    like invalid JSON: nothing could answer with it, log it or store it."""
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise InvalidInput("the body is not valid JSON") from None
    if _SURROGATE_ESCAPE.search(raw) is not None and not _encodable(data):
        raise InvalidInput("the body is not valid JSON: it holds a lone UTF-16 surrogate")
    return data


def _encodable(value: Any) -> bool:
    """Whether every string in ``value`` (keys too) encodes as UTF-8. Iterative: the parser
    accepted the nesting, so a recursion limit must not refuse it here."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode()
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def num(value: Decimal | None) -> Decimal | None:
    """A stored number for the wire: trailing zeros dropped (1.00000000 -> 1)."""
    if value is None:
        return None
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal


_MARK = "\x1fD"
_MARKED = re.compile(rb'"\\u001fD(-?[0-9.]+)\\u001fD"')


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return f"{_MARK}{value:f}{_MARK}"
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(content: Any) -> bytes:
    """JSON where Decimals are JSON numbers written from their exact text (as both APIs'
    clients expect numbers, and a float would not keep every digit)."""
    return _MARKED.sub(rb"\1", orjson.dumps(content, default=_default))


def validate(model: type[M], data: Any, where: str = "body") -> M:
    """``data`` as ``model``; a RequestValidationError (the dialect's 400) if it is not."""
    if not isinstance(data, dict):
        raise invalid(where, f"the {where} must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        for error in errors:
            error["loc"] = (where, *error["loc"])
        raise RequestValidationError(errors) from None


def invalid(where: str, message: str) -> RequestValidationError:
    """A malformed request, rendered as the dialect's 400."""
    return RequestValidationError([{"loc": (where,), "msg": message, "type": "value_error"}])


async def body_model(request: Request, model: type[M], **extra: Any) -> M:
    """The JSON body (exact decimals) plus ``extra`` fields, as ``model``."""
    try:
        data = parse_json(await request.body())
    except InvalidInput as exc:
        raise invalid("body", exc.message) from None
    if isinstance(data, dict):
        data = {**data, **extra}
    return validate(model, data)
