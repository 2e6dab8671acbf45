"""Pending exits: what a webhook alert left to do after its entry order, kept so that a
restart does not forget it (spec crosstrade-webhooks.md 5.5: "pending brackets survive
restarts"; 5.7 ``cancel_after``). A record of the edge, not of the domain: the engine never
reads it. Each write is one short transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, insert, select

from ordergate.domain.ids import UserId
from ordergate.store.tables import pending_exits
from ordergate.store.uow import SqlStore

__all__ = ["PendingExit", "PendingKind", "SqlPendingExits"]


class PendingKind(StrEnum):
    #: exit legs placed when the entry ends with a fill
    BRACKET = "bracket"
    #: the entry cancelled if still working at ``due_at``
    CANCEL_AFTER = "cancel_after"


@dataclass(frozen=True, slots=True)
class PendingExit:
    """One thing left to do for entry order ``order_id`` of account ``login``, on behalf of
    user ``user_id``. ``spec`` is the kind's own JSON-safe description."""

    kind: PendingKind
    user_id: UserId
    login: int
    order_id: str
    spec: dict[str, Any]
    created_at: datetime
    due_at: datetime | None = None
    id: int = 0


class SqlPendingExits:
    """The pending exits table."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def add(self, pending: PendingExit) -> PendingExit:
        """Keep ``pending``; it as stored (with its id)."""
        values = {
            "kind": pending.kind.value,
            "user_id": pending.user_id,
            "login": pending.login,
            "order_id": pending.order_id,
            "spec": json.dumps(pending.spec, sort_keys=True),
            "due_at": pending.due_at,
            "created_at": pending.created_at,
        }
        async with self._store.transaction() as tx:
            row = (
                (
                    await tx.connection.execute(
                        insert(pending_exits).returning(pending_exits.c.id), values
                    )
                )
                .mappings()
                .one()
            )
            await tx.commit()
        return PendingExit(**{**_fields(pending), "id": int(row["id"])})

    async def remove(self, pending_id: int) -> None:
        async with self._store.transaction() as tx:
            await tx.connection.execute(
                delete(pending_exits).where(pending_exits.c.id == pending_id)
            )
            await tx.commit()

    async def all(self) -> list[PendingExit]:
        """Every pending exit, oldest first."""
        stmt = select(pending_exits).order_by(pending_exits.c.id)
        async with self._store.transaction(readonly=True) as tx:
            rows = (await tx.connection.execute(stmt)).mappings().all()
        return [
            PendingExit(
                kind=PendingKind(r["kind"]),
                user_id=UserId(int(r["user_id"])),
                login=int(r["login"]),
                order_id=r["order_id"],
                spec=json.loads(r["spec"]),
                created_at=r["created_at"],
                due_at=r["due_at"],
                id=int(r["id"]),
            )
            for r in rows
        ]


def _fields(pending: PendingExit) -> dict[str, Any]:
    return {name: getattr(pending, name) for name in PendingExit.__slots__}
