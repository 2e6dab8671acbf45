"""A client generated from the server's own /openapi.json works: openapi-python-client
builds it (no operation skipped, no warning), and it places, reads, cancels and
bulk-cancels orders on a real server, its answers parsed into the documented models.

The generator lives in a virtualenv of its own (``make test`` builds it under
``.venv/opc``): it pins httpx and typer below the versions the server uses. Set
``ORDERGATE_OPENAPI_GENERATOR`` to use another. Under CI a missing generator fails the test.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.api.crosstrade.conftest import Server, ct, live

__all__ = ["ct", "live"]  # fixtures used here

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "ordergate_generated"


def generator() -> str:
    """The openapi-python-client command; skipped (failed under CI) when there is none."""
    found = (
        os.environ.get("ORDERGATE_OPENAPI_GENERATOR")
        or shutil.which("openapi-python-client", path=str(ROOT / ".venv" / "opc" / "bin"))
        or shutil.which("openapi-python-client")
    )
    if found is None:
        message = "openapi-python-client not found (make test installs it in .venv/opc)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture
def generated(tmp_path: Path) -> Iterator[Any]:
    """A function that generates the client package from a document and imports it."""
    command = generator()

    def generate(doc: dict[str, Any]) -> ModuleType:
        spec = tmp_path / "openapi.json"
        spec.write_text(json.dumps(doc))
        config = tmp_path / "config.json"
        config.write_text(json.dumps({"package_name_override": PACKAGE, "post_hooks": []}))
        out = subprocess.run(  # noqa: S603 - our own arguments, no shell
            [
                command,
                "generate",
                "--path",
                str(spec),
                "--output-path",
                str(tmp_path / PACKAGE),
                "--meta",
                "none",
                "--config",
                str(config),
                "--fail-on-warning",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        sys.path.insert(0, str(tmp_path))
        return importlib.import_module(PACKAGE)

    yield generate
    if str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]


def _api(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def _model(name: str) -> Any:
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


async def test_a_generated_client_places_cancels_and_bulk_cancels(
    ct: Server, live: str, generated: Any
) -> None:
    async with httpx.AsyncClient(base_url=live, trust_env=False) as http:
        doc = (await http.get("/openapi.json")).json()
    package = generated(doc)
    async with package.AuthenticatedClient(base_url=live, token=ct.token) as client:
        await _trade(ct, client)


async def _trade(ct: Server, client: Any) -> None:
    place, get_order, cancel, cancel_orders, get_orders = (
        _api(f"orders.{name}")
        for name in ("place_order", "get_order", "cancel", "cancel_orders", "get_orders")
    )
    place_args = _model("PlaceOrderPlaceArgs")

    async def place_limit(instrument: str) -> str:
        body = place_args.from_dict(
            {
                "instrument": instrument,
                "action": "Buy",
                "quantity": 1,
                "orderType": "Limit",
                "limitPrice": "5990.25" if instrument.startswith("ES") else "20990",
                "timeInForce": "Gtc",
            }
        )
        answer = await place.asyncio(account="Sim101", client=client, body=body)
        assert isinstance(answer, _model("OrderIdAnswer")), answer
        assert answer.success is True
        return str(answer.order_id)

    # Place, read it back as an OrderAnswer, cancel it.
    first = await place_limit("ES 12-26")
    await ct.container.engine.settle()
    order = await get_order.asyncio(account="Sim101", order_id=first, client=client)
    assert isinstance(order, _model("OrderAnswer")), order
    assert (order.order_id, order.instrument, order.order_state) == (first, "ES 12-26", "Working")
    assert order.limit_price == 5990.25
    cancelled = await cancel.asyncio(account="Sim101", order_id=first, client=client)
    assert isinstance(cancelled, _model("OrderIdAnswer"))
    assert cancelled.order_id == first

    # Bulk-cancel by instrument, then the rest of the account.
    es, nq = await place_limit("ES 12-26"), await place_limit("NQ 12-26")
    await ct.container.engine.settle()
    by = _model("CancelOrdersCancelOrdersArgs")
    answer = await cancel_orders.asyncio(
        account="Sim101", client=client, body=by.from_dict({"instrument": "ES 12-26"})
    )
    assert isinstance(answer, _model("CancelOrdersAnswer")), answer
    assert (answer.order_ids, answer.not_cancelled, answer.success) == ([es], [], True)
    answer = await cancel_orders.asyncio(account="Sim101", client=client, body=by.from_dict({}))
    assert isinstance(answer, _model("CancelOrdersAnswer"))
    assert answer.order_ids == [nq]
    await ct.container.engine.settle()
    left = await get_orders.asyncio(account="Sim101", client=client)
    assert isinstance(left, _model("OrdersAnswer"))
    assert left.orders == []

    # A refusal is parsed into the dialect's error form: the other user's account is 404.
    refused = await place.asyncio_detailed(
        account="Other",
        client=client,
        body=place_args.from_dict(
            {
                "instrument": "ES 12-26",
                "action": "Buy",
                "quantity": 1,
                "orderType": "Market",
                "timeInForce": "Day",
            }
        ),
    )
    assert refused.status_code == 404
    assert isinstance(refused.parsed, _model("CrossTradeError"))
    assert refused.parsed.code == "ACCOUNT_NOT_FOUND"
