"""The order engine: state in memory, one writer, the database as its journal."""

from ordergate.engine.engine import OrderEngine
from ordergate.engine.journal import Batch, Journal, Snapshot
from ordergate.engine.ports import Clock, EventSink, NullSink, Records, SystemClock

__all__ = [
    "Batch",
    "Clock",
    "EventSink",
    "Journal",
    "NullSink",
    "OrderEngine",
    "Records",
    "Snapshot",
    "SystemClock",
]
