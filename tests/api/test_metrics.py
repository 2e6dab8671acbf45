"""``GET /metrics`` through a real uvicorn: requests by route template, dialect and status;
orders by status, fills and journal commits; WebSocket connections; webhook alerts by
outcome; monitor firings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from ordergate.auth.webhooks import Webhooks
from ordergate.bootstrap import shutdown
from ordergate.metrics import Metrics
from tests.api.crosstrade.conftest import Server, start
from tests.api.crosstrade.wsclient import place_body, session
from tests.wire import serving


@pytest.fixture
async def ct(db_url: str, store: Any) -> AsyncIterator[Server]:
    """The CrossTrade tests' server (``store`` empties PostgreSQL's database between tests)."""
    built = await start(db_url)
    yield built
    await built.client.aclose()
    await shutdown(built.container)


@pytest.fixture
async def base(ct: Server) -> AsyncIterator[str]:
    async with serving(ct, log_level="warning") as port:
        yield f"http://127.0.0.1:{port}"


async def scrape(base: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of ``GET /metrics``, by name and labels."""
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{base}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str):
    return samples.get((name, frozenset(labels.items())))


async def test_requests_are_counted_by_route_template_dialect_and_status(ct: Server, base: str):
    async with httpx.AsyncClient(base_url=base) as client:
        for account in ("Sim101", "Sim102"):
            ok = await client.get(f"/v1/api/accounts/{account}", headers=ct.auth())
            assert ok.status_code == 200, ok.text
        assert (await client.get("/v1/api/accounts/Sim101")).status_code == 401
        denied = await client.post("/sign/in", json={"login": 1001, "password": "wrong-pw"})
        assert denied.status_code == 403
        assert (await client.get("/admin/market", headers=ct.auth())).status_code == 403
        assert (await client.get("/no/such/path")).status_code == 404

    samples = await scrape(base)

    account = "/v1/api/accounts/{account}"
    requests = "ordergate_http_requests_total"
    assert value(samples, requests, route=account, dialect="crosstrade", status="200") == 2
    assert value(samples, requests, route=account, dialect="crosstrade", status="401") == 1
    assert value(samples, requests, route="/sign/in", dialect="scaletrade", status="403") == 1
    assert value(samples, requests, route="/admin/market", dialect="admin", status="403") == 1
    assert value(samples, requests, route="unmatched", dialect="other", status="404") == 1
    # No raw path is ever a label: the account names stay out of the metrics.
    assert not any("Sim101" in str(key) for key in samples)
    latency = "ordergate_http_request_duration_seconds_count"
    assert value(samples, latency, route=account, dialect="crosstrade", status="200") == 2
    inf = value(
        samples,
        "ordergate_http_request_duration_seconds_bucket",
        route=account,
        dialect="crosstrade",
        status="200",
        le="+Inf",
    )
    assert inf == 2


async def test_orders_by_status_fills_and_journal_commits_are_shown(ct: Server, base: str):
    async with httpx.AsyncClient(base_url=base, headers=ct.auth()) as client:
        path = "/v1/api/accounts/Sim101/orders/place"
        resting = await client.post(path, json=place_body(price="5990"))
        assert resting.status_code == 200, resting.text
        market = await client.post(path, json=place_body(orderType="MARKET", limitPrice=None))
        assert market.status_code == 200, market.text
    await ct.container.engine.settle()

    samples = await scrape(base)

    assert value(samples, "ordergate_orders", status="working") == 1
    assert value(samples, "ordergate_orders", status="pending_cancel") == 0
    assert value(samples, "ordergate_fills_total") == 1
    commits = value(samples, "ordergate_journal_batch_commands_count")
    assert commits is not None
    assert commits >= 2
    assert value(samples, "ordergate_journal_batch_commands_sum") >= commits
    assert value(samples, "ordergate_journal_commit_seconds_count") == commits
    assert value(samples, "ordergate_engine_commands_total") >= 2


async def _until(base: str, name: str, want: float, **labels: str) -> None:
    """Scrape until ``name`` reads ``want`` (a connection's end reaches the server a moment
    after the client's close returns)."""
    for _ in range(200):
        if value(await scrape(base), name, **labels) == want:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{name}{labels} never read {want}")


async def test_open_websocket_connections_are_counted_by_dialect(ct: Server, base: str):
    gauge = "ordergate_websocket_connections"
    async with session(base, ct.token):
        await _until(base, gauge, 1, dialect="crosstrade")
        async with connect(base.replace("http://", "ws://") + "/", proxy=None):
            await _until(base, gauge, 1, dialect="scaletrade")
        await _until(base, gauge, 0, dialect="scaletrade")
    await _until(base, gauge, 0, dialect="crosstrade")


async def test_webhook_alerts_are_counted_by_outcome(ct: Server, base: str):
    webhook = await Webhooks(ct.container.users).webhook_id("demo")
    place = (
        f"key={ct.token}; command=PLACE; account=Sim101; instrument=ES 12-26; action=BUY; "
        "qty=1; order_type=LIMIT; limit_price=5990; tif=DAY;"
    )
    async with httpx.AsyncClient(base_url=base) as client:
        for body in (place, place, f"key={ct.token}; command=CANCEL; account=Sim101;"):
            await client.post(
                f"/v1/send/{webhook}", content=body, headers={"content-type": "text/plain"}
            )

    samples = await scrape(base)

    alerts = "ordergate_webhook_alerts_total"
    assert value(samples, alerts, outcome="Success") == 2
    assert value(samples, alerts, outcome="Failed") == 1


async def test_monitor_firings_are_counted_by_rule(ct: Server, base: str):
    ct.container.metrics.monitor_fired("daily_loss")
    ct.container.metrics.monitor_fired("daily_loss")
    ct.container.metrics.monitor_fired("max_position")

    samples = await scrape(base)

    firings = "ordergate_monitor_firings_total"
    assert value(samples, firings, rule="daily_loss") == 2
    assert value(samples, firings, rule="max_position") == 1


def test_each_server_has_its_own_registry():
    first, second = Metrics(), Metrics()
    first.monitor_fired("daily_loss")
    assert b'ordergate_monitor_firings_total{rule="daily_loss"} 1.0' in first.exposition()
    assert b"daily_loss" not in second.exposition()
