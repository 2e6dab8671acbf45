"""The server's log lines: text or JSON (``ORDERGATE_LOG_FORMAT``), the request id, and a line
per order event.

``configure_logging`` gives the whole process one handler on stderr: uvicorn's lines, the
app's and the engine's all go through it, in one form, with secrets blanked. In JSON each line
is one object: ``time`` (UTC, RFC 3339), ``level``, ``logger``, ``message``, the
``request_id`` of the HTTP request the line belongs to (the edge sets ``REQUEST_ID`` and
answers it as ``X-Request-Id``), ``exception`` with a traceback, and the fields a line adds
(``extra={"fields": {...}}``), such as an order event's.

``log_order_events`` follows the engine's event bus and logs each order transition and fill
at INFO on ``ordergate.orders``. It runs only when that logger is enabled: with no subscriber
the engine builds no events at all.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from ordergate.domain.events import OrderFilled, OrderTransitioned
from ordergate.engine.bus import EventBus, Subscription
from ordergate.engine.schema import Lagged
from ordergate.settings import LogFormat

__all__ = [
    "ORDER_LOG",
    "REQUEST_ID",
    "JsonFormatter",
    "TextFormatter",
    "configure_logging",
    "log_order_events",
    "order_log_wanted",
]

#: The id of the HTTP request being answered (None outside one).
REQUEST_ID: ContextVar[str | None] = ContextVar("ordergate_request_id", default=None)

#: The logger of the order events.
ORDER_LOG = logging.getLogger("ordergate.orders")

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_CORE = frozenset({"time", "level", "logger", "message", "request_id", "exception"})


class _StampRequest(logging.Filter):
    """Stamp each record with the request id of the moment it is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class TextFormatter(logging.Formatter):
    """One readable line; `` request_id=…`` at its end inside a request."""

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return line if request_id is None else f"{line} request_id={request_id}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line (a traceback is a string inside it, never lines of its own)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            entry["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update((k, v) for k, v in fields.items() if k not in _CORE)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str, form: LogFormat, stream: TextIO | None = None) -> None:
    """Send every logger's lines to ``stream`` (stderr) in ``form`` from ``level`` up,
    secrets blanked. uvicorn must then run with ``log_config=None``, so that its lines come
    here too."""
    # Imported here: the redaction lives with the edge's other defences (api/limits.py).
    from ordergate.api.limits import RedactTokens

    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if form == "json" else TextFormatter())
    handler.addFilter(_StampRequest())
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn = logging.getLogger(name)
        uvicorn.handlers.clear()
        uvicorn.propagate = True


def order_log_wanted() -> bool:
    """Whether order events are logged (``ordergate.orders`` enabled for INFO)."""
    return ORDER_LOG.isEnabledFor(logging.INFO)


def _log_transition(event: OrderTransitioned) -> None:
    fields = {
        "event": "order",
        "order_id": event.order_id,
        "ticket": event.ticket,
        "account": event.login,
        "symbol": event.symbol,
        "status": event.to_status.value,
        "from_status": None if event.from_status is None else event.from_status.value,
        "reason": event.reason,
    }
    ORDER_LOG.info(
        "order %s of %s: %s -> %s (%s)",
        event.order_id,
        event.login,
        fields["from_status"] or "new",
        fields["status"],
        event.reason,
        extra={"fields": fields},
    )


def _log_fill(event: OrderFilled) -> None:
    fields = {
        "event": "fill",
        "order_id": event.order_id,
        "ticket": event.ticket,
        "account": event.login,
        "symbol": event.symbol,
        "side": event.side.value,
        "quantity": str(event.quantity),
        "price": str(event.price),
    }
    ORDER_LOG.info(
        "fill of order %s of %s: %s %s %s at %s",
        event.order_id,
        event.login,
        fields["side"],
        fields["quantity"],
        event.symbol,
        fields["price"],
        extra={"fields": fields},
    )


async def _follow(subscription: Subscription) -> None:
    async with subscription:
        async for envelope in subscription:
            event = envelope.data
            if isinstance(event, OrderTransitioned):
                _log_transition(event)
            elif isinstance(event, OrderFilled):
                _log_fill(event)
            elif isinstance(event, Lagged):
                ORDER_LOG.warning("the order log missed %d events", event.missed)


def log_order_events(bus: EventBus) -> asyncio.Task[None]:
    """Log every order transition and fill ``bus`` publishes, until the bus closes."""
    subscription = bus.subscribe(kinds=("order", "fill"))
    return asyncio.get_running_loop().create_task(_follow(subscription), name="order-log")
