"""Use cases over the domain: the order engine and its ports."""

from ordergate.engine.ports import Clock, EventSink, NullSink, Store, SystemClock, Transaction
from ordergate.engine.service import OrderEngine

__all__ = ["Clock", "EventSink", "NullSink", "OrderEngine", "Store", "SystemClock", "Transaction"]
