"""The OpenAPI document is as strict as the server: a request that follows it is never refused
as malformed, and every refusal it can get is documented.

schemathesis generates, in positive mode only, requests that conform to each operation of
``/openapi.json`` (CrossTrade, ScaleTrade, the admin API), plus the schema's own examples,
and sends them in process with valid credentials of the dialect (half of them aimed at the
seeded account, login and order, so that they get past the lookups). Each answer:

- is not the malformed-input refusal of its dialect: CrossTrade 400 ``Invalid request`` or
  ``INVALID_INPUT``, ScaleTrade 400 ``INVALID_DATA``, the admin API 400 ``INVALID_INPUT``.
  What no schema can state (the time now, the state of the order named) is allowed by its
  message, in ``NOT_IN_SCHEMA``;
- has a status the operation documents (or its ``default`` covers);
- is below 500.

SQLite only (the schema and the validators meet at the edge, before any query), a few
examples per operation (``ORDERGATE_STRICT_EXAMPLES``, default 30), derandomized: the same
requests on every run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from ordergate.api.app import create_app
from ordergate.settings import Settings
from tests.fuzz.test_openapi_fuzz import SCALETRADE_ROOTS, Target, _aim, _request, target

__all__ = ["target"]  # the fixture: the seeded server on a loop of its own

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

EXAMPLES = int(os.environ.get("ORDERGATE_STRICT_EXAMPLES", "30"))

DOC = create_app(Settings(database_url="sqlite:///unused.db", market_source="none")).openapi()
SCHEMA = schemathesis.openapi.from_dict(DOC)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
METHODS = ("get", "put", "post", "delete", "patch")
#: The largest integer the document allows anywhere (logins, tickets, offsets).
MAX_INT = 2**63 - 1

#: Refusals no schema can state, by a part of their message: they depend on the time now or
#: on the state of the order the request names, not on the shape of the request.
NOT_IN_SCHEMA = {
    "expiry must be in the future": "gtdTime, expiration: a time that has passed by now",
    "from must be before to": "bars: compares two fields (to defaults to now)",
    "trigger_price is only for stop-limit orders": "modify pending: the order's type",
    "takes no stop price": "change: a stop price for an order of a type without one",
    "takes no limit price": "change: a limit price for an order of a type without one",
    "a day order expires at the session end": "modify pending: the order's time in force",
}


def _crosstrade_malformed(status: int, body: Any) -> bool:
    return status == 400 and (
        body.get("error") == "Invalid request" or body.get("code") == "INVALID_INPUT"
    )


def _scaletrade_malformed(status: int, body: Any) -> bool:
    return status == 400 and body.get("error") == "INVALID_DATA"


def _default_malformed(status: int, body: Any) -> bool:
    return status == 400 and body.get("error") == "INVALID_INPUT"


def _dialect(target: Target, path: str) -> tuple[dict[str, str], Callable[[int, Any], bool]]:
    """The credentials a request to ``path`` carries, and how its dialect says malformed."""
    server = target.server
    if path.startswith("/v1/api"):
        return server.auth(), _crosstrade_malformed
    if path.startswith("/admin"):
        return server.auth(server.admin_token), _default_malformed
    if path.split("/")[1] in SCALETRADE_ROOTS:
        return {"Authorization": target.aims["jwt"]}, _scaletrade_malformed
    return {}, _default_malformed


def _documented(path: str, method: str) -> set[str]:
    return set(DOC["paths"][path][method.lower()]["responses"])


def _problem(status: int, body: Any, malformed: bool, documented: set[str]) -> str | None:
    """What is wrong with an answer to a schema-conforming request (None: nothing)."""
    if status >= 500:
        return "a server error"
    if str(status) not in documented and "default" not in documented:
        return f"status {status} is not documented"
    if malformed:
        text = f"{body.get('error', '')} {body.get('message', '')} {body.get('detail', '')}"
        if not any(known in text for known in NOT_IN_SCHEMA):
            return "refused as malformed"
    return None


def _beyond_64_bits(value: Any) -> bool:
    """Whether ``value`` holds an integer past 64 bits. schemathesis reads a bound past 2**53
    through a float and can draw integers just beyond it (2**63 + 192 for a maximum of
    2**63 - 1): such a request does not follow the document."""
    if isinstance(value, dict):
        return any(_beyond_64_bits(v) for v in value.values())
    if isinstance(value, list):
        return any(_beyond_64_bits(v) for v in value)
    return isinstance(value, int) and abs(value) > MAX_INT


def _examples(target: Target, op: Any, failures: list[str]) -> None:
    """Send ``op``'s positive cases (and its schema's examples); note each bad answer."""
    auth, malformed = _dialect(target, op.path)
    documented = _documented(op.path, op.method)
    strategy = st.one_of(
        op.as_strategy(generation_mode=GenerationMode.POSITIVE),
        *op.get_strategies_from_examples(),
    )

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=strategy, aim=st.booleans())
    def run(case: Any, aim: bool) -> None:
        assume(not _beyond_64_bits([case.body, case.query]))
        if aim:
            _aim(case, target.aims)
        request = _request(case)
        request["headers"].update(auth)
        target.client.cookies.clear()
        response = target.run(target.client.request(**request))
        target.client.cookies.clear()
        try:
            body = response.json()
        except ValueError:
            body = response.text
        status = response.status_code
        refused = isinstance(body, dict) and malformed(status, body)
        problem = _problem(status, body if isinstance(body, dict) else {}, refused, documented)
        if problem is not None:
            failures.append(
                f"{op.label}: {problem}\n  {request['method']} {request['url']} "
                f"params={request['params']} body={request.get('content')!r:.300}\n"
                f"  -> {status} {response.text:.300}"
            )

    run()


@sqlite_only
def test_schema_conforming_requests_are_never_refused_as_malformed(target: Target) -> None:
    failures: list[str] = []
    for op in OPERATIONS:
        _examples(target, op, failures)
    assert not failures, f"{len(failures)} answers:\n" + "\n".join(failures)


def test_the_strict_fuzzing_covers_every_dialect_and_the_admin_api() -> None:
    prefixes = {op.path.split("/")[1] for op in OPERATIONS}
    assert {"v1", "admin", *SCALETRADE_ROOTS} <= prefixes


def test_every_admin_operation_documents_401_and_403_in_the_error_form() -> None:
    admin = [
        (f"{method.upper()} {path}", item[method])
        for path, item in DOC["paths"].items()
        if path.startswith("/admin/")
        for method in METHODS
        if method in item
    ]
    assert len(admin) >= 3
    error_form = {"$ref": "#/components/schemas/ErrorOut"}
    assert set(DOC["components"]["schemas"]["ErrorOut"]["required"]) == {"error", "message"}
    for op, operation in admin:
        for status, code in (("401", "UNAUTHENTICATED"), ("403", "PERMISSION_DENIED")):
            response = operation["responses"].get(status)
            assert response is not None, f"{op}: {status} not documented"
            media = response["content"]["application/json"]
            assert media["schema"] == error_form, f"{op}: {status} schema"
            assert media["example"]["error"] == code, f"{op}: {status} example"
            assert isinstance(media["example"]["message"], str), f"{op}: {status} example"
        assert "422" not in operation["responses"], f"{op}: 422 is never answered (400 is)"


@sqlite_only
def test_admin_operations_answer_401_and_403_as_documented(target: Target) -> None:
    server = target.server
    trader = server.auth()  # user demo: a trader
    for path, item in DOC["paths"].items():
        for method in (m for m in METHODS if path.startswith("/admin/") and m in item):
            documented = item[method]["responses"]
            params = {"symbol": "EURUSD"} if path == "/admin/bars" else None
            for status, headers in (("401", {}), ("403", trader)):
                answer = target.run(
                    target.client.request(method, path, headers=headers, params=params)
                )
                want = documented[status]["content"]["application/json"]["example"]
                assert answer.status_code == int(status), f"{method} {path}: {answer.text}"
                assert answer.json()["error"] == want["error"], f"{method} {path}: {answer.text}"
