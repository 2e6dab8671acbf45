"""The Alert History: one record per CrossTrade webhook alert received, as the webhook edge
writes it (spec crosstrade-webhooks.md section 8). A record of the edge, not of the domain:
the engine never reads it.

Writes are single statements, each its own short transaction through ``SqlStore``: on SQLite
the journal is the busy writer, and a history row must not hold the write lock for longer.
Reads run in read-only transactions.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, String, insert, select, update

from ordergate.domain.ids import UserId
from ordergate.store.tables import alerts
from ordergate.store.uow import SqlStore

__all__ = [
    "MAX_RAW_BYTES",
    "AlertRecord",
    "AlertStatus",
    "SqlAlertHistory",
    "new_alert_id",
    "redact_key",
]

#: The most of an alert's payload kept, in UTF-8 bytes.
MAX_RAW_BYTES = 8192
_CUT = "…"

# ``key=<secret>`` wherever a field may start (the payload's start, after ``;`` or a line
# break), in any case, up to the field's end.
_KEY = re.compile(r"(?i)((?:^|[;\n])[ \t\r]*key[ \t]*=)[^;\n]*")


class AlertStatus(StrEnum):
    """What became of an alert."""

    SUCCESS = "Success"
    #: refused before routing: kill switch, trade window, rate limit, position rule …
    BLOCKED = "Blocked"
    FAILED = "Failed"
    #: waiting (``delay=``); updated when it finishes
    PENDING = "Pending"


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One received alert. ``raw`` is the payload as sent (its ``key`` is redacted on
    append whatever the caller did); ``fields`` the parsed ``name=value`` pairs."""

    alert_id: str
    user_id: UserId
    received_at: datetime
    sender: str
    status: AlertStatus
    raw: str
    command: str | None = None
    accounts: tuple[str, ...] = ()
    fields: Mapping[str, str] = field(default_factory=dict)
    latency_ms: int | None = None
    #: a stable code (``require_market_position``, ``INVALID_INPUT`` …)
    error: str | None = None
    detail: str | None = None
    warnings: tuple[str, ...] = ()
    order_ids: tuple[str, ...] = ()
    #: ties the records of one alert's clones on several accounts together
    multi_account_id: str | None = None


def new_alert_id() -> str:
    """A fresh alert id: ``al_`` and 24 random hex digits."""
    return "al_" + secrets.token_hex(12)


def redact_key(raw: str) -> str:
    """``raw`` with the value of every ``key=`` field replaced by ``***``."""
    return _KEY.sub(r"\1***", raw)


class SqlAlertHistory:
    """The Alert History on ``store``'s database.

    Appends share commits: the records that arrive while one batch is being written go
    into the next, one transaction each batch (under load many alerts, one commit). On
    SQLite this is a writer beside the engine's journal; batching keeps it from taking the
    database's one write lock once per alert."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self._waiting: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def append(self, record: AlertRecord) -> AlertRecord:
        """Keep ``record`` (its payload redacted and capped at ``MAX_RAW_BYTES``); the
        record as stored, once committed."""
        values = _row_values(record)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((values, done))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.ensure_future(self._write())
        await asyncio.shield(done)
        return _record(values)

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                async with self._store.transaction() as tx:
                    await tx.connection.execute(insert(alerts), [values for values, _ in batch])
                    await tx.commit()
            except Exception as exc:  # each waiter raises it
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    async def fail_pending(self, error: str, detail: str) -> int:
        """Mark every Pending alert Failed with ``error`` and ``detail``: at start-up, the
        delayed alerts whose wait ended with the last process (never run). Their number."""
        stmt = (
            update(alerts)
            .where(alerts.c.status == AlertStatus.PENDING.value)
            .values(
                status=AlertStatus.FAILED.value, error=_fit(error, alerts.c.error), detail=detail
            )
        )
        async with self._store.transaction() as tx:
            count = (await tx.connection.execute(stmt)).rowcount
            await tx.commit()
        return int(count or 0)

    async def update(
        self,
        alert_id: str,
        *,
        status: AlertStatus | str | None = None,
        order_ids: Sequence[str] | None = None,
        error: str | None = None,
        detail: str | None = None,
        latency_ms: int | None = None,
        warnings: Sequence[str] | None = None,
    ) -> AlertRecord | None:
        """Finish a delayed alert: set what is given (None leaves a field as it is); the
        record as it is now, or None if there is no alert ``alert_id``."""
        values: dict[str, Any] = {}
        if status is not None:
            values["status"] = AlertStatus(status).value
        if order_ids is not None:
            values["order_ids"] = _json_list(order_ids)
        if error is not None:
            values["error"] = _fit(error, alerts.c.error)
        if detail is not None:
            values["detail"] = _clean(detail)
        if latency_ms is not None:
            values["latency_ms"] = latency_ms
        if warnings is not None:
            values["warnings"] = _json_list(warnings)
        if not values:
            return await self.get(alert_id)
        stmt = update(alerts).where(alerts.c.alert_id == alert_id).values(values)
        async with self._store.transaction() as tx:
            row = (await tx.connection.execute(stmt.returning(alerts))).mappings().first()
            await tx.commit()
        return None if row is None else _record(row)

    async def get(self, alert_id: str) -> AlertRecord | None:
        """The alert ``alert_id``, or None."""
        stmt = select(alerts).where(alerts.c.alert_id == alert_id)
        async with self._store.transaction(readonly=True) as tx:
            row = (await tx.connection.execute(stmt)).mappings().first()
        return None if row is None else _record(row)

    async def list(
        self,
        user_id: int,
        since: datetime | None = None,
        status: AlertStatus | str | None = None,
        limit: int = 100,
    ) -> builtins.list[AlertRecord]:
        """The alerts of ``user_id``, newest first: received at or after ``since``, with
        ``status``, at most ``limit``."""
        if limit < 0:
            raise ValueError("limit must not be negative")
        stmt = (
            select(alerts)
            .where(alerts.c.user_id == user_id)
            .order_by(alerts.c.received_at.desc(), alerts.c.id.desc())
            .limit(limit)
        )
        if since is not None:
            stmt = stmt.where(alerts.c.received_at >= since)
        if status is not None:
            stmt = stmt.where(alerts.c.status == AlertStatus(status).value)
        async with self._store.transaction(readonly=True) as tx:
            rows = (await tx.connection.execute(stmt)).mappings().all()
        return [_record(row) for row in rows]


def _row_values(r: AlertRecord) -> dict[str, Any]:
    return {
        "alert_id": r.alert_id,
        "user_id": r.user_id,
        "received_at": r.received_at,
        "latency_ms": r.latency_ms,
        "sender": _fit(r.sender, alerts.c.sender),
        "status": AlertStatus(r.status).value,
        "command": None if r.command is None else _fit(r.command, alerts.c.command),
        "accounts": _json_list(r.accounts),
        "raw": _capped(_clean(redact_key(r.raw))),
        "fields": _clean(json.dumps(dict(r.fields), ensure_ascii=False)),
        "error": None if r.error is None else _fit(r.error, alerts.c.error),
        "detail": None if r.detail is None else _clean(r.detail),
        "warnings": _json_list(r.warnings),
        "order_ids": _json_list(r.order_ids),
        "multi_account_id": (
            None
            if r.multi_account_id is None
            else _fit(r.multi_account_id, alerts.c.multi_account_id)
        ),
    }


def _record(row: Mapping[Any, Any]) -> AlertRecord:
    return AlertRecord(
        alert_id=row["alert_id"],
        user_id=UserId(row["user_id"]),
        received_at=row["received_at"],
        sender=row["sender"],
        status=AlertStatus(row["status"]),
        raw=row["raw"],
        command=row["command"],
        accounts=tuple(json.loads(row["accounts"])),
        fields=json.loads(row["fields"]),
        latency_ms=row["latency_ms"],
        error=row["error"],
        detail=row["detail"],
        warnings=tuple(json.loads(row["warnings"])),
        order_ids=tuple(json.loads(row["order_ids"])),
        multi_account_id=row["multi_account_id"],
    )


def _json_list(items: Sequence[str]) -> str:
    if isinstance(items, str):
        # A bare string would be stored as one entry per character.
        raise TypeError("expected a sequence of strings, not a string")
    return _clean(json.dumps(list(items), ensure_ascii=False))


def _clean(text: str) -> str:
    """``text`` as both databases take it: PostgreSQL refuses NUL in text, and neither
    stores a lone surrogate. A history row is not worth losing over what a sender put in."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode()
    except UnicodeEncodeError:
        text = text.encode(errors="replace").decode()
    return text


def _fit(text: str, column: Column[Any]) -> str:
    """``text`` clean and cut to ``column``'s width (PostgreSQL refuses longer text)."""
    width = column.type.length if isinstance(column.type, String) else None
    text = _clean(text)
    return text if width is None else text[:width]


def _capped(raw: str) -> str:
    data = raw.encode()
    if len(data) <= MAX_RAW_BYTES:
        return raw
    keep = MAX_RAW_BYTES - len(_CUT.encode())
    return data[:keep].decode(errors="ignore") + _CUT
