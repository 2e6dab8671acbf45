"""GroupCommit: batches, answers in order, falls back to one by one, never writes twice."""

import asyncio

import pytest

from ordergate.engine.batching import GroupCommit


async def test_requests_that_arrive_together_are_one_batch_answered_in_order():
    batches: list[list[int]] = []

    async def run(items):
        batches.append(list(items))
        return [n * 10 if n % 3 else ValueError(n) for n in items], None

    group = GroupCommit(run, max_batch=4)
    answers = await asyncio.gather(*(group.submit(n) for n in range(1, 8)), return_exceptions=True)
    assert batches == [[1, 2, 3, 4], [5, 6, 7]]  # all queued before the first batch began
    assert [a if isinstance(a, int) else repr(a) for a in answers] == [
        10, 20, "ValueError(3)", 40, 50, "ValueError(6)", 70,
    ]  # fmt: skip


async def test_a_batch_that_fails_as_a_whole_is_run_one_request_at_a_time():
    runs: list[list[int]] = []

    async def run(items):
        runs.append(list(items))
        if len(items) > 1 or items[0] == 4:
            raise ConnectionError(f"failed: {items}")
        return [items[0]], None

    group = GroupCommit(run, max_batch=10)
    await group.submit(0)
    answers = await asyncio.gather(*(group.submit(n) for n in range(1, 6)), return_exceptions=True)
    assert runs[1:] == [[1, 2, 3, 4, 5], [1], [2], [3], [4], [5]]
    assert answers[:3] == [1, 2, 3]
    assert answers[4] == 5
    assert isinstance(answers[3], ConnectionError)


async def test_a_failing_follow_up_is_logged_and_nothing_is_written_twice(caplog):
    runs: list[list[int]] = []

    async def run(items):
        runs.append(list(items))

        async def then():
            raise RuntimeError("the venue is gone")

        return list(items), then

    group = GroupCommit(run, max_batch=10)
    assert await group.submit(1) == 1
    assert runs == [[1]]
    assert "follow-up of a batch of 1 failed" in caplog.text


async def test_a_caller_that_went_away_does_not_stop_the_others():
    release = asyncio.Event()

    async def run(items):
        await release.wait()
        return list(items), None

    group = GroupCommit(run, max_batch=10)
    first = asyncio.ensure_future(group.submit(1))
    await asyncio.sleep(0)
    gone = asyncio.ensure_future(group.submit(2))
    kept = asyncio.ensure_future(group.submit(3))
    await asyncio.sleep(0)
    gone.cancel()
    release.set()
    assert await first == 1
    assert await kept == 3
    with pytest.raises(asyncio.CancelledError):
        await gone
