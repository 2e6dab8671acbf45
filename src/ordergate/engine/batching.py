"""Group commit: requests that arrive while one batch is being written go in the next.

Under load a placement's cost is the transaction around it, not its checks: each write
transaction waits its turn and ends in a durable commit. ``GroupCommit`` queues the requests
and hands everything queued to one ``run`` at a time, so N placements that arrive together
share one transaction. A lone request waits for nobody: its batch starts at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["GroupCommit"]

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


#: What a batch's ``run`` returns: each item's result or the exception that refused it, in
#: order, and what to do once their callers have them (tell the venue), or None.
Outcomes = tuple[Sequence[R | BaseException], Callable[[], Awaitable[None]] | None]


class GroupCommit(Generic[T, R]):
    """``run(items)`` answers each item (``Outcomes``); ``submit(item)`` returns its result
    or raises its exception. The callers are answered before the batch's follow-up runs, so
    that they see what they asked for before the venue answers it."""

    def __init__(
        self,
        run: Callable[[Sequence[T]], Awaitable[Outcomes[R]]],
        *,
        max_batch: int,
    ) -> None:
        self._run = run
        self._max = max_batch
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.append((item, future))
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain(), name="group-commit")
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._max], self._queue[self._max :]
            try:
                await self._write(batch)
            except Exception as exc:
                if len(batch) == 1:
                    self._answer(batch, [exc])
                    continue
                # The batch failed as a whole (a database error): each request goes alone,
                # so that one request's failure does not become the others'.
                log.warning("a batch of %d failed (%r); each goes alone", len(batch), exc)
                for one in batch:
                    try:
                        await self._write([one])
                    except Exception as alone:  # that request's own answer
                        self._answer([one], [alone])

    async def _write(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        outcomes, then = await self._run([item for item, _ in batch])
        if len(outcomes) != len(batch):
            raise RuntimeError(f"{len(outcomes)} outcomes for {len(batch)} requests")
        self._answer(batch, outcomes)
        if then is not None:
            try:
                await then()
            except Exception:
                # Written and answered: writing them again would duplicate them. What the
                # follow-up did not tell the venue, a restart's recovery tells it.
                log.exception("the follow-up of a batch of %d failed", len(batch))

    @staticmethod
    def _answer(
        batch: list[tuple[T, asyncio.Future[R]]], outcomes: Sequence[R | BaseException]
    ) -> None:
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # its caller went away (a client that hung up)
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
