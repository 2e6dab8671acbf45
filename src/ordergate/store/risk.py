"""What risk keeps (engine/riskdesk.py): each account's monitor (settings, state and
watermarks, as JSON), the kill switches that are on, and the management log. Each write is
one short transaction of its own: none of it is on the order journal's path.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from ordergate.engine.ports import KeptMonitor, LogEntry
from ordergate.store.tables import kill_switches, management_log, monitors
from ordergate.store.uow import SqlStore

__all__ = ["SqlRisk"]


class SqlRisk:
    """The engine's ``RiskRecords`` on SQLite or PostgreSQL."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def monitors(self) -> list[KeptMonitor]:
        async with self._store.transaction(readonly=True) as tx:
            rows = (await tx.connection.execute(select(monitors))).mappings().all()
        return [
            KeptMonitor(
                login=int(r["login"]),
                settings=json.loads(r["settings"]),
                state=r["state"],
                stopped_rule=r["stopped_rule"],
                marks=None if r["marks"] is None else json.loads(r["marks"]),
            )
            for r in rows
        ]

    async def save_monitors(self, kept: Sequence[KeptMonitor], at: datetime) -> None:
        """Insert or replace each monitor, in one transaction."""
        if not kept:
            return
        async with self._store.transaction() as tx:
            conn = tx.connection
            logins = [k.login for k in kept]
            existing = set(
                (await conn.execute(select(monitors.c.login).where(monitors.c.login.in_(logins))))
                .scalars()
                .all()
            )
            for k in kept:
                values = _values(k, at)
                if k.login in existing:
                    await conn.execute(
                        update(monitors).where(monitors.c.login == k.login).values(values)
                    )
                else:
                    await conn.execute(insert(monitors).values(login=k.login, **values))
            await tx.commit()

    async def kill_switches(self) -> list[tuple[str, int]]:
        """The switches that are on: (scope, ref)."""
        async with self._store.transaction(readonly=True) as tx:
            rows = (await tx.connection.execute(select(kill_switches))).all()
        return [(str(r.scope), int(r.ref)) for r in rows]

    async def set_kill_switch(
        self, scope: str, ref: int, on: bool, actor: str, at: datetime
    ) -> None:
        where = (kill_switches.c.scope == scope) & (kill_switches.c.ref == ref)
        async with self._store.transaction() as tx:
            await tx.connection.execute(delete(kill_switches).where(where))
            if on:
                row = {"scope": scope, "ref": ref, "set_at": at, "actor": actor[:128]}
                await tx.connection.execute(insert(kill_switches).values(row))
            await tx.commit()

    async def append_log(self, entries: Sequence[LogEntry]) -> None:
        if not entries:
            return
        rows = [
            {
                "login": e.login,
                "at": e.at,
                "type": e.type,
                "message": e.message,
                "actor": e.actor[:128],
            }
            for e in entries
        ]
        async with self._store.transaction() as tx:
            await tx.connection.execute(insert(management_log), rows)
            await tx.commit()

    async def log(
        self, login: int, since: datetime | None = None, limit: int = 100
    ) -> list[LogEntry]:
        """The account's log, newest first."""
        stmt = select(management_log).where(management_log.c.login == login)
        if since is not None:
            stmt = stmt.where(management_log.c.at >= since)
        stmt = stmt.order_by(management_log.c.at.desc(), management_log.c.id.desc()).limit(limit)
        async with self._store.transaction(readonly=True) as tx:
            rows = (await tx.connection.execute(stmt)).mappings().all()
        return [
            LogEntry(int(r["login"]), r["at"], r["type"], r["message"], r["actor"]) for r in rows
        ]


def _values(kept: KeptMonitor, at: datetime) -> dict[str, Any]:
    return {
        "settings": json.dumps(kept.settings, sort_keys=True),
        "state": kept.state,
        "stopped_rule": kept.stopped_rule,
        "marks": None if kept.marks is None else json.dumps(kept.marks, sort_keys=True),
        "updated_at": at,
    }
