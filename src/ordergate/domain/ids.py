"""Identifiers: order ids (32 lower-case hex), tickets and logins (integers)."""

from __future__ import annotations

import os
import re
import threading
import time
from typing import NewType

from ordergate.domain.errors import InvalidInput

__all__ = [
    "ORDER_ID_PATTERN",
    "Login",
    "OrderId",
    "Ticket",
    "UserId",
    "new_hex_id",
    "new_order_id",
    "parse_order_id",
]

OrderId = NewType("OrderId", str)
Ticket = NewType("Ticket", int)
Login = NewType("Login", int)
UserId = NewType("UserId", int)

#: What an order id looks like, as a JSON Schema (ECMA-262) and Python pattern alike.
ORDER_ID_PATTERN = "^[0-9a-f]{32}$"
_ORDER_ID = re.compile(ORDER_ID_PATTERN)


class _RandomHex:
    """128 random bits as 32 hex characters, from the system's random source read 4 KiB at
    a time: under load every placement takes two ids, and a system call each (uuid4) was
    about 5% of the server's time. A forked child starts a pool of its own."""

    _SIZE = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._pool = b""
        self._at = 0

    def __call__(self) -> str:
        with self._lock:
            at = self._at
            if at >= len(self._pool):
                self._pool, at = os.urandom(self._SIZE), 0
            self._at = at + 16
            return self._pool[at : at + 16].hex()


#: A fresh random id: 32 lower-case hex characters (orders' ids, requests' ids).
new_hex_id = _RandomHex()


def new_order_id() -> OrderId:
    """A fresh order id: 32 lower-case hex characters (CrossTrade ``orderId``). The first
    12 are the milliseconds since the epoch and the other 20 random (80 bits), as in a
    UUIDv7: ids sort by time, so each new order's entry in the index of ids goes at its
    end, not at a random page of a table of a million orders that the cache does not hold."""
    return OrderId(f"{time.time_ns() // 1_000_000:012x}{new_hex_id()[12:]}")


def parse_order_id(raw: str) -> OrderId:
    if not isinstance(raw, str) or not _ORDER_ID.fullmatch(raw):
        raise InvalidInput("order id must be 32 lower-case hex characters")
    return OrderId(raw)
