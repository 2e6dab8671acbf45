"""Webhook ids and the Alert History as stored, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import event, update

from ordergate.auth import Role, UserService
from ordergate.auth.access import AccessWatch, set_user_enabled
from ordergate.auth.webhooks import Webhooks, looks_like_webhook_id, new_webhook_id
from ordergate.domain.errors import UserNotFound
from ordergate.domain.ids import UserId
from ordergate.store import SqlStore, create_engine
from ordergate.store.alerts import (
    MAX_RAW_BYTES,
    AlertRecord,
    AlertStatus,
    SqlAlertHistory,
    new_alert_id,
    redact_key,
)
from ordergate.store.tables import users
from tests.builders import NOW


async def _with_users(store: SqlStore, *names: str) -> UserService:
    service = UserService(store)
    for name in names:
        await service.add_user(name, Role.TRADER, groups=["desk"])
    return service


async def test_a_users_webhook_id_is_made_on_first_use_and_then_stays(store: SqlStore) -> None:
    service = await _with_users(store, "alice", "bob")
    hooks = Webhooks(service)

    first = await hooks.webhook_id("alice")

    assert looks_like_webhook_id(first)
    assert await hooks.webhook_id("alice") == first
    assert await Webhooks(UserService(store)).webhook_id("alice") == first
    assert await hooks.webhook_id("bob") not in (first, None)
    principal = await hooks.user_for_webhook(first)
    assert principal is not None
    assert (principal.name, principal.role, principal.groups) == (
        "alice",
        Role.TRADER,
        frozenset({"desk"}),
    )


async def test_requests_for_a_first_webhook_id_together_get_one(store: SqlStore) -> None:
    hooks = Webhooks(await _with_users(store, "alice"))
    found = await asyncio.gather(*(hooks.webhook_id("alice") for _ in range(8)))
    assert len(set(found)) == 1
    assert (await hooks.user_for_webhook(found[0])) is not None


async def test_a_rotated_id_differs_and_the_old_one_names_no_one_at_once(store: SqlStore) -> None:
    service = await _with_users(store, "alice")
    hooks = Webhooks(service, cache_seconds=60)
    old = await hooks.webhook_id("alice")
    assert await hooks.user_for_webhook(old) is not None  # kept now

    # Rotated through another Webhooks of this process (another request's): seen at once.
    new = await Webhooks(service).rotate_webhook("alice")

    assert new != old
    assert looks_like_webhook_id(new)
    assert await hooks.user_for_webhook(old) is None
    principal = await hooks.user_for_webhook(new)
    assert principal is not None
    assert principal.name == "alice"
    assert await hooks.webhook_id("alice") == new


async def test_a_user_without_a_webhook_id_may_rotate_to_its_first(store: SqlStore) -> None:
    hooks = Webhooks(await _with_users(store, "alice"))
    new = await hooks.rotate_webhook("alice")
    assert await hooks.webhook_id("alice") == new


async def test_a_rotation_elsewhere_shows_within_the_cache_time(
    store: SqlStore, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ordergate.auth.kept as kept_module

    now = [1000.0]
    # The kept lookups' own clock only: the event loop keeps the real one.
    monkeypatch.setattr(kept_module, "time", SimpleNamespace(monotonic=lambda: now[0]))
    hooks = Webhooks(await _with_users(store, "alice"), cache_seconds=1.0)
    old = await hooks.webhook_id("alice")
    assert await hooks.user_for_webhook(old) is not None

    other = SqlStore(create_engine(db_url))  # another process's
    try:
        new = await Webhooks(UserService(other)).rotate_webhook("alice")
    finally:
        await other.engine.dispose()

    assert await hooks.user_for_webhook(old) is not None  # kept, for 1 s at most
    assert await hooks.user_for_webhook(new) is not None  # an id not kept is read
    now[0] += 1.01
    assert await hooks.user_for_webhook(old) is None


async def test_a_disabled_users_webhook_names_no_one(store: SqlStore) -> None:
    await _with_users(store, "alice")
    service = UserService(store, cache_seconds=60)
    hooks = Webhooks(service, cache_seconds=60)
    hook = await hooks.webhook_id("alice")
    assert await hooks.user_for_webhook(hook) is not None

    await set_user_enabled(service, "alice", False)
    assert await hooks.user_for_webhook(hook) is None
    await set_user_enabled(service, "alice", True)
    assert await hooks.user_for_webhook(hook) is not None

    # Disabled by another process: the server's access watch notices within its interval.
    watch = AccessWatch(service, lambda _: None, interval=1.0)
    await watch.check()
    assert await hooks.user_for_webhook(hook) is not None
    async with store.engine.begin() as conn:
        await conn.execute(update(users).where(users.c.name == "alice").values(enabled=False))
    assert await hooks.user_for_webhook(hook) is not None  # kept until the watch looks
    assert await watch.check()
    assert await hooks.user_for_webhook(hook) is None


async def test_unknown_users_and_ids(store: SqlStore) -> None:
    hooks = Webhooks(await _with_users(store, "alice"))
    with pytest.raises(UserNotFound, match="no user named nobody"):
        await hooks.webhook_id("nobody")
    with pytest.raises(UserNotFound, match="no user named nobody"):
        await hooks.rotate_webhook("nobody")
    reads: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        reads.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", count)
    try:
        for made_up in ("", "wh_", "wh_short", "wh_" + "\x00" * 32, "og_" + "a" * 32):
            assert await hooks.user_for_webhook(made_up) is None
        assert reads == []  # no id of that shape exists: nothing to read
        assert await hooks.user_for_webhook(new_webhook_id()) is None
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", count)


def _alert(user_id: int, minutes: int = 0, **kw: object) -> AlertRecord:
    values: dict[str, object] = {
        "alert_id": new_alert_id(),
        "user_id": UserId(user_id),
        "received_at": NOW + timedelta(minutes=minutes),
        "sender": "52.89.214.238",
        "status": AlertStatus.SUCCESS,
        "raw": "key=***; command=place; account=Sim101; instrument=ES1!; action=buy; qty=1;",
        "command": "PLACE",
        "accounts": ("Sim101",),
        "fields": {"instrument": "ES1!", "qty": "1"},
    }
    values.update(kw)
    return AlertRecord(**values)  # type: ignore[arg-type]


async def _alice_and_bob(store: SqlStore) -> tuple[int, int]:
    service = await _with_users(store, "alice", "bob")
    return (await service.get_user("alice")).id, (await service.get_user("bob")).id


async def test_alerts_read_back_newest_first_as_appended(store: SqlStore) -> None:
    alice, bob = await _alice_and_bob(store)
    history = SqlAlertHistory(store)
    full = _alert(
        alice,
        latency_ms=84,
        status=AlertStatus.FAILED,
        accounts=("Sim101", "Sim102"),
        error="require_market_position",
        detail="position is long, flat required",
        warnings=("unknown field foo ignored",),
        order_ids=("a" * 32,),
        multi_account_id="ma_77",
        fields={"instrument": "MNQ 03-27", "qty": "2", "note": "é ✓"},
    )
    older = _alert(alice, -5, command=None, accounts=())
    for record in (older, full, _alert(bob, 1)):
        await history.append(record)

    assert await history.list(alice) == [full, older]
    assert await history.get(full.alert_id) == full
    assert await history.get("al_none") is None


async def test_alert_lists_filter_by_time_and_status_and_stop_at_the_limit(
    store: SqlStore,
) -> None:
    alice, _ = await _alice_and_bob(store)
    history = SqlAlertHistory(store)
    statuses = [AlertStatus.SUCCESS, AlertStatus.BLOCKED, AlertStatus.FAILED, AlertStatus.PENDING]
    records = [_alert(alice, minute, status=statuses[minute % 4]) for minute in range(8)]
    same_moment = _alert(alice, 7, status=AlertStatus.SUCCESS)  # after records[7], same time
    for record in [*records, same_moment]:
        await history.append(record)
    newest_first = [same_moment, *reversed(records)]

    assert await history.list(alice, limit=3) == newest_first[:3]
    assert await history.list(alice, limit=0) == []
    since = NOW + timedelta(minutes=5)
    assert await history.list(alice, since=since) == newest_first[:4]
    assert await history.list(alice, status="Blocked") == [records[5], records[1]]
    assert await history.list(alice, since=since, status=AlertStatus.SUCCESS, limit=1) == [
        same_moment
    ]
    with pytest.raises(ValueError, match="Done"):
        await history.list(alice, status="Done")


async def test_a_pending_alert_is_finished_later(store: SqlStore) -> None:
    alice, _ = await _alice_and_bob(store)
    history = SqlAlertHistory(store)
    pending = _alert(alice, status=AlertStatus.PENDING, warnings=("delay=2.75",))
    await history.append(pending)

    done = await history.update(
        pending.alert_id, status=AlertStatus.SUCCESS, order_ids=["b" * 32], latency_ms=2790
    )

    assert done == dataclasses.replace(
        pending, status=AlertStatus.SUCCESS, order_ids=("b" * 32,), latency_ms=2790
    )
    assert await history.list(alice) == [done]
    failed = await history.update(
        pending.alert_id, status="Failed", error="MARKET_CLOSED", detail="ES 12-26 is closed"
    )
    assert failed is not None
    assert (failed.status, failed.error, failed.detail, failed.order_ids) == (
        AlertStatus.FAILED,
        "MARKET_CLOSED",
        "ES 12-26 is closed",
        ("b" * 32,),
    )
    assert await history.update("al_none", status=AlertStatus.SUCCESS) is None


async def test_the_stored_payload_never_holds_the_key_and_is_capped(store: SqlStore) -> None:
    alice, _ = await _alice_and_bob(store)
    history = SqlAlertHistory(store)
    token = "og_" + "s" * 43
    raw = f"KEY = {token};\ncommand=place;  key={token}; monkey=1; note=a\x00b;"
    await history.append(_alert(alice, raw=raw, sender="x" * 300, command="C" * 100))
    await history.append(_alert(alice, 1, raw="note=" + "€" * 5000 + "; key=" + token))

    long, short = await history.list(alice)
    assert short.raw == "KEY =***;\ncommand=place;  key=***; monkey=1; note=a\ufffdb;"
    assert (len(short.sender), len(short.command or "")) == (255, 64)
    assert token not in long.raw
    assert len(long.raw.encode()) <= MAX_RAW_BYTES
    assert long.raw.endswith("€…")
    assert redact_key("key=abc;") == "key=***;"


async def test_alerts_and_webhook_ids_survive_a_restart(store: SqlStore, db_url: str) -> None:
    alice, _ = await _alice_and_bob(store)
    record = _alert(alice, status=AlertStatus.PENDING)
    await SqlAlertHistory(store).append(record)
    hook = await Webhooks(UserService(store)).webhook_id("alice")
    await store.engine.dispose()

    again = SqlStore(create_engine(db_url))
    try:
        assert await SqlAlertHistory(again).list(alice) == [record]
        hooks = Webhooks(UserService(again))
        assert await hooks.webhook_id("alice") == hook
        principal = await hooks.user_for_webhook(hook)
        assert principal is not None
        assert principal.name == "alice"
    finally:
        await again.engine.dispose()
