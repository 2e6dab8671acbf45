"""The server's Prometheus metrics, served at ``GET /metrics``.

One registry per server (never prometheus-client's process-wide default), so several servers
in one process (the tests) keep theirs apart. The edge records requests, WebSocket
connections and webhook alerts into it; the engine's writer tells it of each commit through
its observer hook; the monitors count their firings with ``Metrics.monitor_fired``. What the
engine holds in memory (its open orders by status, the fills and commands it applied) is read
only when the metrics are scraped, so the order path pays nothing for it.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ordergate.domain.orders import NON_TERMINAL

if TYPE_CHECKING:
    from ordergate.engine.engine import OrderEngine

__all__ = ["LATENCY_BUCKETS", "Metrics"]

#: Seconds, from a fast in-memory read to a slow database commit.
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
#: Commands per journal commit, up to the writer's MAX_BATCH.
_BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)

_HTTP_LABELS = ("route", "dialect", "status")


class _EngineCollector(Collector):
    """What the engine holds, read when scraped: open orders by status, fills, commands."""

    def __init__(self, engine: OrderEngine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        held = Tally(order.status for order in self._engine.state.all_open())
        orders = GaugeMetricFamily(
            "ordergate_orders",
            "Orders that have not ended, by status (the engine's memory when scraped)",
            labels=["status"],
        )
        for status in sorted(NON_TERMINAL):
            orders.add_metric([status.value], held.get(status, 0))
        yield orders
        writer = self._engine.writer
        yield CounterMetricFamily(
            "ordergate_fills", "Fills journaled since the server started", value=writer.fills
        )
        yield CounterMetricFamily(
            "ordergate_engine_commands",
            "Commands the engine applied since the server started (refused ones included)",
            value=writer.commands,
        )

    def describe(self) -> Iterator[Metric]:
        return iter(())


class Metrics:
    """The metrics of one server and the calls that record them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "ordergate_http_requests",
            "HTTP requests answered, by route template, dialect and status",
            _HTTP_LABELS,
            registry=registry,
        )
        self.latency = Histogram(
            "ordergate_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template, dialect and status",
            _HTTP_LABELS,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.websockets = Gauge(
            "ordergate_websocket_connections",
            "WebSocket connections open now, by dialect",
            ["dialect"],
            registry=registry,
        )
        self.webhook_alerts = Counter(
            "ordergate_webhook_alerts",
            "TradingView alerts answered, by outcome (Success, Blocked, Failed, Pending)",
            ["outcome"],
            registry=registry,
        )
        self.monitor_firings = Counter(
            "ordergate_monitor_firings",
            "Times a monitor rule fired, by rule",
            ["rule"],
            registry=registry,
        )
        self.journal_batch = Histogram(
            "ordergate_journal_batch_commands",
            "Commands written by one journal commit (group commit)",
            buckets=_BATCH_BUCKETS,
            registry=registry,
        )
        self.journal_commit = Histogram(
            "ordergate_journal_commit_seconds",
            "Time one journal batch took to append and commit",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        # The children of each label set, found once: ``labels()`` takes a lock per call.
        self._http: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def watch(self, engine: OrderEngine) -> None:
        """Read ``engine``'s state when scraped, and observe its journal commits."""
        self.registry.register(_EngineCollector(engine))
        engine.writer.on_commit = self.journal_committed

    def request(self, route: str, dialect: str, status: int, seconds: float) -> None:
        """One HTTP request answered."""
        key = (route, dialect, status)
        children = self._http.get(key)
        if children is None:
            labels = (route, dialect, str(status))
            children = (self.requests.labels(*labels), self.latency.labels(*labels))
            self._http[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def journal_committed(self, commands: int, seconds: float) -> None:
        """The writer's observer: one batch of ``commands`` committed in ``seconds``."""
        self.journal_batch.observe(commands)
        self.journal_commit.observe(seconds)

    def websocket(self, dialect: str) -> AbstractContextManager[None]:
        """Count a WebSocket connection of ``dialect`` as open while the block runs."""
        manager: AbstractContextManager[None] = self.websockets.labels(dialect).track_inprogress()
        return manager

    def webhook_alert(self, outcome: str) -> None:
        """One TradingView alert answered with ``outcome``."""
        self.webhook_alerts.labels(outcome).inc()

    def monitor_fired(self, rule: str) -> None:
        """One firing of the monitor rule ``rule`` (the monitors call this)."""
        self.monitor_firings.labels(rule).inc()

    def exposition(self) -> bytes:
        """Every metric in Prometheus' text format."""
        return generate_latest(self.registry)
