"""A JSON response rendered with orjson (FastAPI's own ORJSONResponse is deprecated)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from starlette.responses import JSONResponse

__all__ = ["JsonResponse"]


def _default(value: object) -> object:
    # Decimals go out as strings, never through float: prices and quantities stay exact.
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class JsonResponse(JSONResponse):
    """``application/json`` via orjson; datetimes as RFC 3339, Decimals as strings."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_default)
