"""OpenAPI helpers shared by the dialects' route documentation."""

from __future__ import annotations

from typing import Any

__all__ = ["query_parameters"]


def query_parameters(*params: tuple[str, str, str, bool]) -> dict[str, Any]:
    """OpenAPI query parameters (name, description, JSON type, required) of a GET route that
    reads its query string itself."""
    return {
        "parameters": [
            {
                "name": name,
                "in": "query",
                "required": required,
                "description": description,
                "schema": {"type": kind},
            }
            for name, description, kind, required in params
        ]
    }
