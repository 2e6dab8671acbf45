"""Every answer a test gets from the server fits what ``/openapi.json`` documents for it.

The test servers' clients (``tests.api.crosstrade.conftest.start``) check each JSON answer
against the schema its operation documents for that status (or its ``default``, for an
error): a field missing, of another type, or not documented at all fails the test that
received it. So the response models are held to what the routes send by the whole suite,
not by examples alone. A 2xx that the operation does not document at all fails too.

Objects are checked closed: a field the schema does not list is a mismatch, although the
published document leaves objects open (a client must ignore a field added later).
"""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any

import httpx

from tests.schema_check import Doc, mismatches

__all__ = ["Conformance", "conformance", "conformance_hook"]

_METHODS = ("get", "put", "post", "delete", "patch")


def _closed(node: Any) -> Any:
    """``node`` with every object schema that lists properties closed to others."""
    if isinstance(node, dict):
        out = {key: _closed(value) for key, value in node.items()}
        if isinstance(out.get("properties"), dict) and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_closed(value) for value in node]
    return node


class Conformance:
    """The operations of one OpenAPI document, matched by method and path."""

    def __init__(self, doc: Doc) -> None:
        self.doc: Doc = _closed(copy.deepcopy(doc))
        routes = []
        for path, item in self.doc["paths"].items():
            names = re.findall(r"\{[^}/]+\}", path)
            pattern = re.escape(path)
            for name in names:
                pattern = pattern.replace(re.escape(name), "[^/]+")
            # A literal path wins over a template it also fits (/accounts/snapshot).
            routes.append((len(names), re.compile(pattern + "$"), path, item))
        self.routes = sorted(routes, key=lambda route: route[0])

    def operation(self, method: str, path: str) -> tuple[str, Doc] | None:
        """(path template, operation) that ``method path`` calls; None if undocumented."""
        for _, pattern, template, item in self.routes:
            if pattern.match(path) and method.lower() in item:
                return template, item[method.lower()]
        return None

    def problems(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Where ``body``, answered ``status`` to ``method path``, breaks the documentation."""
        found = self.operation(method, path)
        if found is None:
            return []
        template, operation = found
        responses = operation.get("responses", {})
        response = responses.get(str(status))
        if response is None and status >= 400:
            response = responses.get("default")
        where = f"{method.upper()} {template} {status}"
        if response is None:
            return [f"{where}: status not documented"] if status < 300 else []
        media = response.get("content", {}).get("application/json", {})
        if "schema" not in media:
            return []
        return [f"{where}: {m}" for m in mismatches(self.doc, media["schema"], body)]


@cache
def conformance() -> Conformance:
    """The checker of the app's own document (built once per test process)."""
    from ordergate.api.app import create_app
    from ordergate.settings import Settings

    app = create_app(Settings(database_url="sqlite:///unused.db", market_source="none"))
    return Conformance(app.openapi())


async def conformance_hook(response: httpx.Response) -> None:
    """An httpx response hook: fail on an answer that breaks its documented schema."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return
    await response.aread()
    try:
        body = response.json()
    except ValueError:
        return  # not JSON after all: the tests of malformed answers say so themselves
    request = response.request
    problems = conformance().problems(request.method, request.url.path, response.status_code, body)
    if problems:
        raise AssertionError(
            "the answer does not fit its documented schema:\n  "
            + "\n  ".join(problems[:20])
            + f"\nbody: {response.text:.1000}"
        )
