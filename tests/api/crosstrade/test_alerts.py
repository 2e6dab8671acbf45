"""The Alert History through CrossTrade: GET /v1/api/alerts and rpc GetAlerts (the caller's own
alerts, newest first, filtered), the ``alertUpdate`` push to the user's WebSockets, and the
feed behind it, which never waits for a reader."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from ordergate.api.crosstrade.alert_feed import AlertFeed, SubscriptionClosed
from ordergate.api.crosstrade.alerts import alert_out, pump_alerts, received_at
from ordergate.domain.ids import UserId
from ordergate.store.alerts import AlertRecord, AlertStatus, new_alert_id
from tests.api.crosstrade.conftest import Server
from tests.api.crosstrade.wsclient import TIMEOUT, loads, session

ALERTS = "/v1/api/alerts"
T0 = datetime(2026, 2, 3, 15, 4, 5, 123456, tzinfo=UTC)


def alert(user: int, minutes: float = 0, **kw: Any) -> AlertRecord:
    values: dict[str, Any] = {
        "alert_id": new_alert_id(),
        "user_id": UserId(user),
        "received_at": T0 + timedelta(minutes=minutes),
        "sender": "203.0.113.7",
        "status": AlertStatus.SUCCESS,
        "raw": "key=og_secret; command=place; account=Sim101; instrument=ES 12-26",
        "command": "PLACE",
        "accounts": ("Sim101",),
        "fields": {"instrument": "ES 12-26", "qty": "1"},
        "latency_ms": 12,
    }
    values.update(kw)
    return AlertRecord(**values)


async def user_of(ct: Server, token: str) -> int:
    principal = await ct.container.users.authenticate_token(token)
    assert principal.user_id is not None
    return principal.user_id


async def received(ct: Server, *records: AlertRecord) -> None:
    """As the webhook edge does: keep each record, then publish it."""
    for record in records:
        await ct.container.alert_history.append(record)
        ct.container.alerts.publish(record)


async def listed(ct: Server, token: str | None = None, **params: Any) -> Any:
    response = await ct.client.get(ALERTS, headers=ct.auth(token), params=params)
    assert response.status_code == 200, response.text
    body = loads(response.content)
    assert body["success"] is True
    return body


def ids(body: Any) -> list[str]:
    return [a["alertId"] for a in body["alerts"]]


# -- the list --------------------------------------------------------------------------------


async def test_the_callers_alerts_are_listed_newest_first_as_the_spec_shows_them(ct):
    demo = await user_of(ct, ct.token)
    older = alert(demo, -5, status=AlertStatus.PENDING, latency_ms=None, multi_account_id="ma_7")
    failed = alert(
        demo,
        status=AlertStatus.FAILED,
        error="require_market_position",
        detail="position is long, flat required",
        warnings=("unknown field foo ignored",),
    )
    filled = alert(demo, 3, order_ids=("a" * 32,))
    await received(ct, older, failed, filled)

    body = await listed(ct)

    assert list(body) == ["alerts", "success"]
    assert ids(body) == [filled.alert_id, failed.alert_id, older.alert_id]
    assert body["alerts"][1] == {
        "alertId": failed.alert_id,
        "receivedAt": "2026-02-03T15:04:05.123Z",
        "latencyMs": 12,
        "status": "Failed",
        "multiAccountId": None,
        "accounts": ["Sim101"],
        "command": "PLACE",
        "raw": "key=***; command=place; account=Sim101; instrument=ES 12-26",
        "fields": {"instrument": "ES 12-26", "qty": "1"},
        "error": "require_market_position",
        "detail": "position is long, flat required",
        "warnings": ["unknown field foo ignored"],
        "orderIds": [],
    }
    assert body["alerts"][0]["orderIds"] == ["a" * 32]
    pending = body["alerts"][2]
    assert (pending["status"], pending["latencyMs"], pending["multiAccountId"]) == (
        "Pending",
        None,
        "ma_7",
    )


async def test_the_list_is_empty_without_alerts(ct):
    assert await listed(ct) == {"alerts": [], "success": True}


@pytest.mark.parametrize(
    "since",
    [
        (T0 + timedelta(minutes=2)).isoformat(),
        received_at(T0 + timedelta(minutes=2)),
        (T0 + timedelta(minutes=2)).astimezone(timezone(timedelta(hours=5))).isoformat(),
        (T0 + timedelta(minutes=2)).astimezone(timezone(timedelta(hours=-7))).isoformat(),
    ],
)
async def test_since_keeps_the_alerts_received_at_or_after_it_in_any_zone(ct, since):
    demo = await user_of(ct, ct.token)
    records = [alert(demo, minute) for minute in range(5)]
    await received(ct, *records)
    # received_at shows milliseconds: the record of minute 2 is 0.456 ms later than it says
    assert ids(await listed(ct, since=since)) == [r.alert_id for r in reversed(records[2:])]


async def test_since_with_an_unescaped_plus_in_the_query_is_read_as_the_offset(ct):
    demo = await user_of(ct, ct.token)
    records = [alert(demo, minute) for minute in range(3)]
    await received(ct, *records)
    at = (T0 + timedelta(minutes=1)).astimezone(timezone(timedelta(hours=1)))
    # '+' in a query string is a space once decoded
    response = await ct.client.get(f"{ALERTS}?since={at.isoformat()}", headers=ct.auth())
    assert response.status_code == 200, response.text
    assert ids(response.json()) == [records[2].alert_id, records[1].alert_id]


@pytest.mark.parametrize("outcome", ["Failed", "failed", "FAILED", " Failed "])
async def test_outcome_keeps_the_alerts_of_that_status_in_any_case(ct, outcome):
    demo = await user_of(ct, ct.token)
    statuses = list(AlertStatus)
    records = [alert(demo, m, status=statuses[m % len(statuses)]) for m in range(8)]
    await received(ct, *records)
    failed = [r.alert_id for r in reversed(records) if r.status is AlertStatus.FAILED]
    assert len(failed) == 2
    assert ids(await listed(ct, outcome=outcome)) == failed


async def test_every_status_is_an_outcome(ct):
    demo = await user_of(ct, ct.token)
    records = [alert(demo, m, status=s) for m, s in enumerate(AlertStatus)]
    await received(ct, *records)
    for record in records:
        assert ids(await listed(ct, outcome=record.status.value.lower())) == [record.alert_id]


async def test_limit_keeps_the_newest_and_filters_combine(ct):
    demo = await user_of(ct, ct.token)
    records = [
        alert(demo, m, status=AlertStatus.BLOCKED if m % 2 else AlertStatus.SUCCESS)
        for m in range(110)
    ]
    await received(ct, *records)
    newest_first = [r.alert_id for r in reversed(records)]

    assert ids(await listed(ct)) == newest_first[:100]  # the default
    assert ids(await listed(ct, limit=3)) == newest_first[:3]
    assert ids(await listed(ct, limit=1000)) == newest_first
    since = received_at(T0 + timedelta(minutes=100))
    assert ids(await listed(ct, since=since, outcome="blocked", limit=2)) == [
        records[109].alert_id,
        records[107].alert_id,
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-02-03T15:04:05"}, "since"),  # no zone
        ({"since": "2026-02-03"}, "since"),
        ({"since": "2026-02-30T00:00:00Z"}, "since"),
        ({"since": "x" * 65}, "since"),
        ({"outcome": "Done"}, "outcome"),
        ({"outcome": ""}, "outcome"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-1"}, "limit"),
    ],
)
async def test_a_bad_filter_is_refused_and_changes_nothing(ct, params, field):
    demo = await user_of(ct, ct.token)
    await received(ct, alert(demo), alert(demo, 1, status=AlertStatus.FAILED))
    before = await ct.container.alert_history.list(demo)

    response = await ct.client.get(ALERTS, headers=ct.auth(), params=params)

    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["success"], body["error"]) == (False, "Invalid request")
    assert f"query.{field}" in body["detail"]
    assert await ct.container.alert_history.list(demo) == before


async def test_another_users_alerts_are_never_shown(ct):
    demo, other = await user_of(ct, ct.token), await user_of(ct, ct.other_token)
    root = await user_of(ct, ct.admin_token)
    mine, theirs = alert(demo), alert(other, 1, raw="command=flatten; account=Other")
    await received(ct, mine, theirs)

    assert ids(await listed(ct)) == [mine.alert_id]
    assert ids(await listed(ct, ct.other_token)) == [theirs.alert_id]
    # an admin (a manager alike) reads its own alerts, not its users'
    assert ids(await listed(ct, ct.admin_token)) == []
    admins = alert(root, 2)
    await received(ct, admins)
    assert ids(await listed(ct, ct.admin_token, limit=1000)) == [admins.alert_id]


async def test_the_list_needs_a_token(ct):
    response = await ct.client.get(ALERTS)
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


# -- the rpc ---------------------------------------------------------------------------------


async def test_the_rpc_answers_the_same_body_as_rest(ct, live):
    demo = await user_of(ct, ct.token)
    await received(ct, *(alert(demo, m, status=list(AlertStatus)[m % 4]) for m in range(6)))
    filters: dict[str, Any] = {
        "since": received_at(T0 + timedelta(minutes=1)),
        "outcome": "success",
        "limit": 5,
    }
    async with session(live, ct.token) as client:
        everything = await client.call("GetAlerts")
        filtered = await client.call("GetAlerts", filters)
        refused = await client.call("GetAlerts", {"limit": 0}, rid="bad")
    assert everything["data"] == await listed(ct)
    assert filtered["data"] == await listed(ct, **filters)
    assert len(filtered["data"]["alerts"]) == 1
    assert (refused["id"], refused["status"], refused["error"]) == ("bad", 400, "Invalid request")
    assert "args.limit" in refused["detail"]


@pytest.mark.parametrize("since", [1770131045, True, ["2026-02-03T15:04:05Z"]])
async def test_the_rpc_refuses_a_since_that_is_not_text(ct, live, since):
    async with session(live, ct.token) as client:
        refused = await client.call("GetAlerts", {"since": since}, rid="s")
    assert (refused["status"], refused["error"]) == (400, "Invalid request")
    assert "args.since" in refused["detail"]


# -- the push --------------------------------------------------------------------------------


async def test_an_alert_is_pushed_to_its_users_websockets_only(ct, live):
    demo, other = await user_of(ct, ct.token), await user_of(ct, ct.other_token)
    async with (
        session(live, ct.token) as first,
        session(live, ct.token) as second,
        session(live, ct.other_token) as others,
    ):
        for client in (first, second, others):
            await client.ping()  # connected and subscribed
        demos = alert(demo, raw="key=og_secret; command=place")
        theirs = alert(other, 1, command="FLATTEN")
        await received(ct, demos, theirs)
        expected: dict[str, Any] = {"type": "alertUpdate", "alert": alert_out(demos)}
        assert await first.of_type("alertUpdate") == expected
        assert await second.of_type("alertUpdate") == expected
        assert expected["alert"]["raw"] == "key=***; command=place"
        # demo's alert was published first: had it reached others, it would be first here
        assert (await others.of_type("alertUpdate"))["alert"]["alertId"] == theirs.alert_id
        await others.ping()
        assert not [f for f in others.unread if f.get("type") == "alertUpdate"]


async def test_a_finished_alert_is_pushed_again_as_it_stands(ct, live):
    demo = await user_of(ct, ct.token)
    pending = alert(demo, status=AlertStatus.PENDING, latency_ms=None)
    async with session(live, ct.token) as client:
        await client.ping()
        await received(ct, pending)
        first = await client.of_type("alertUpdate")
        done = await ct.container.alert_history.update(
            pending.alert_id, status=AlertStatus.SUCCESS, order_ids=["b" * 32], latency_ms=2790
        )
        assert done is not None
        ct.container.alerts.publish(done)
        second = await client.of_type("alertUpdate")
    assert first["alert"]["status"] == "Pending"
    assert second["alert"]["alertId"] == pending.alert_id
    assert (second["alert"]["status"], second["alert"]["orderIds"]) == ("Success", ["b" * 32])
    assert second["alert"] == (await listed(ct))["alerts"][0]


async def test_the_websocket_closes_with_1001_when_the_feed_ends(ct, live):
    async with session(live, ct.token) as client:
        await client.ping()
        ct.container.alerts.close()
        async with asyncio.timeout(TIMEOUT):
            await client.ws.wait_closed()
    assert client.ws.close_code == 1001


# -- the feed --------------------------------------------------------------------------------


async def test_a_subscriber_that_stops_reading_loses_its_oldest_and_never_blocks_publish():
    feed = AlertFeed(maxsize=3)
    stalled, reading = feed.subscribe(7), feed.subscribe(7, maxsize=100)
    records = [alert(7, m) for m in range(10)]
    for record in records:
        feed.publish(record)  # returns at once, whoever does not read
    assert stalled.pending == 3
    assert stalled.take_missed() == 7
    assert stalled.take_missed() == 0
    assert [stalled.get_nowait() for _ in range(3)] == records[7:]
    assert stalled.get_nowait() is None
    assert [await reading.get() for _ in range(10)] == records


async def test_the_feed_delivers_to_the_records_user_only_and_close_ends_every_reader():
    feed = AlertFeed()
    mine, theirs = feed.subscribe(1), feed.subscribe(2)
    waiting = asyncio.create_task(anext(aiter(theirs), None))
    feed.publish(alert(1))
    assert (await mine.get()).user_id == 1
    assert theirs.pending == 0
    feed.close()
    assert await waiting is None  # the iteration ended
    with pytest.raises(SubscriptionClosed):
        await mine.get()
    late = feed.subscribe(1)
    assert late.closed
    feed.publish(alert(1))  # nobody left: nothing happens
    assert feed.subscribers == 0


async def test_a_closed_subscription_leaves_the_feed():
    feed = AlertFeed()
    async with feed.subscribe(1) as sub:
        assert feed.subscribers == 1
    assert sub.closed
    assert feed.subscribers == 0
    with pytest.raises(ValueError, match="maxsize"):
        feed.subscribe(1, maxsize=0)


async def test_the_push_announces_what_a_slow_connection_lost_before_the_rest():
    feed = AlertFeed(maxsize=2)
    sub = feed.subscribe(7)
    records = [alert(7, m) for m in range(5)]
    for record in records:
        feed.publish(record)
    frames: list[dict[str, Any]] = []

    async def send(frame: dict[str, Any]) -> None:
        frames.append(frame)
        if len(frames) == 3:
            sub.close()

    await pump_alerts(sub, send)

    assert frames[0]["type"] == "lagged"
    assert (frames[0]["stream"], frames[0]["missed"]) == ("alerts", 3)
    assert "GetAlerts" in frames[0]["message"]
    assert frames[1:] == [{"type": "alertUpdate", "alert": alert_out(r)} for r in records[3:]]
