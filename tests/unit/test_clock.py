"""ManualClock moves only when told and runs what falls due on the way, in time order;
SystemClock runs its callbacks on the running loop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from functools import partial

import pytest

from ordergate.domain.clock import ManualClock, SystemClock

START = datetime(2026, 11, 20, 12, tzinfo=UTC)


def at(ms: int) -> datetime:
    return START + timedelta(milliseconds=ms)


def test_a_manual_clock_stands_still_until_advanced() -> None:
    clock = ManualClock(START)
    assert clock.now() == START

    clock.advance(timedelta(seconds=2))
    assert clock.now() == START + timedelta(seconds=2)

    clock.advance(timedelta(seconds=0.5))
    assert clock.now() == START + timedelta(seconds=2.5)


def test_a_manual_clock_reads_utc_whatever_zone_it_starts_in() -> None:
    clock = ManualClock(datetime(2026, 11, 20, 13, tzinfo=timezone(timedelta(hours=1))))
    assert clock.now() == START
    assert clock.now().tzinfo is UTC


def test_a_manual_clock_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="no timezone"):
        ManualClock(datetime(2026, 11, 20, 12))  # noqa: DTZ001 - the point of the test


def test_callbacks_run_in_time_order_when_the_clock_passes_them() -> None:
    clock = ManualClock(START)
    ran: list[str] = []
    clock.call_at(at(30), lambda: ran.append("30"))
    clock.call_at(at(10), lambda: ran.append("10"))
    clock.call_at(at(20), lambda: ran.append("20"))

    clock.advance(timedelta(seconds=0.015))
    assert ran == ["10"]

    clock.advance(timedelta(seconds=0.015))
    assert ran == ["10", "20", "30"]


def test_callbacks_due_at_one_time_run_in_the_order_they_were_registered() -> None:
    clock = ManualClock(START)
    ran: list[int] = []
    for i in range(5):
        clock.call_at(at(10), partial(ran.append, i))

    clock.advance(timedelta(seconds=0.01))

    assert ran == [0, 1, 2, 3, 4]


def test_a_callback_sees_its_own_due_time_and_the_clock_ends_where_it_was_sent() -> None:
    clock = ManualClock(START)
    seen: list[datetime] = []
    clock.call_at(at(10), lambda: seen.append(clock.now()))
    clock.call_at(at(40), lambda: seen.append(clock.now()))

    clock.advance(timedelta(milliseconds=100))

    assert seen == [at(10), at(40)]
    assert clock.now() == at(100)


def test_a_callback_registered_by_a_callback_runs_in_the_same_advance_if_due() -> None:
    clock = ManualClock(START)
    ran: list[datetime] = []

    def first() -> None:
        ran.append(clock.now())
        clock.call_at(at(20), lambda: ran.append(clock.now()))

    clock.call_at(at(10), first)
    clock.advance(timedelta(seconds=0.05))

    assert ran == [at(10), at(20)]


def test_a_cancelled_timer_never_runs() -> None:
    clock = ManualClock(START)
    ran: list[str] = []
    kept = clock.call_at(at(10), lambda: ran.append("kept"))
    dropped = clock.call_at(at(10), lambda: ran.append("dropped"))
    dropped.cancel()

    clock.advance(timedelta(seconds=1))
    kept.cancel()  # after it ran: nothing happens

    assert ran == ["kept"]


def test_set_moves_to_a_time_and_runs_what_falls_due() -> None:
    clock = ManualClock(START)
    ran: list[datetime] = []
    clock.call_at(at(10), lambda: ran.append(clock.now()))

    clock.set(at(10))
    clock.set(at(10))  # standing still is allowed

    assert ran == [at(10)]
    assert clock.now() == at(10)


def test_a_manual_clock_does_not_go_back() -> None:
    clock = ManualClock(START)
    clock.advance(timedelta(seconds=1))

    with pytest.raises(ValueError, match="does not go back"):
        clock.set(START)
    with pytest.raises(ValueError, match="does not go back"):
        clock.advance(timedelta(seconds=-0.001))
    assert clock.now() == START + timedelta(seconds=1)


async def test_a_callback_for_a_time_already_reached_runs_on_the_next_turn_of_the_loop() -> None:
    clock = ManualClock(START)
    ran: list[str] = []

    clock.call_at(START, lambda: ran.append("now"))
    clock.call_at(START - timedelta(seconds=1), lambda: ran.append("past"))
    assert ran == []  # not inside call_at

    await asyncio.sleep(0)
    assert ran == ["now", "past"]


async def test_a_callback_for_a_time_already_reached_can_be_cancelled() -> None:
    clock = ManualClock(START)
    ran: list[str] = []

    clock.call_at(START, lambda: ran.append("now")).cancel()
    await asyncio.sleep(0)

    assert ran == []


async def test_the_system_clock_runs_a_callback_at_its_time() -> None:
    clock = SystemClock()
    fired = asyncio.Event()
    cancelled: list[str] = []

    clock.call_at(clock.now() + timedelta(milliseconds=5), fired.set)
    clock.call_at(clock.now(), lambda: cancelled.append("ran")).cancel()
    await asyncio.wait_for(fired.wait(), timeout=10)

    assert cancelled == []


async def test_the_system_clock_runs_a_callback_for_a_past_time_at_once() -> None:
    clock = SystemClock()
    fired = asyncio.Event()

    clock.call_at(clock.now() - timedelta(hours=1), fired.set)
    await asyncio.wait_for(fired.wait(), timeout=10)


def test_the_system_clock_reads_utc() -> None:
    assert SystemClock().now().tzinfo is UTC
