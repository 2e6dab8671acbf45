"""The one writer: commands applied one at a time to the state in memory, journaled in
batches, answered after the commit.

Commands wait in a queue. The writer takes everything queued (up to ``MAX_BATCH``), applies
each in turn through its handler (a plain function of a ``Step``, the command and who asks),
appends the batch to the journal in one transaction, and only then answers each caller its
result or its refusal, publishes the events and tells the venue. Under load many commands
share one commit; alone, a command is a commit of its own.

A handler checks everything before it changes anything, so a refused command changes
nothing. If the journal cannot commit, memory is ahead of the database: the writer stops,
answers every waiting caller ``EngineStopped``, and the server must restart (it recovers
from the journal).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, TypeVar

from ordergate.domain.clock import Clock
from ordergate.domain.errors import DomainError
from ordergate.domain.events import Event
from ordergate.domain.ids import new_hex_id
from ordergate.domain.principal import Principal
from ordergate.engine.journal import Batch, Journal
from ordergate.engine.state import State
from ordergate.venue.base import Venue, VenueOrder

__all__ = ["MAX_BATCH", "CommitObserver", "EngineStopped", "Step", "Writer"]

log = logging.getLogger(__name__)

#: At most this many commands share one commit.
MAX_BATCH: Final = 1_000

C = TypeVar("C")
P = TypeVar("P", Principal, None)
R = TypeVar("R")


class EngineStopped(RuntimeError):
    """The journal failed: the engine takes no more commands until the server restarts."""


#: What runs once a batch is committed: the venue told, a watcher updated.
AfterCommit = Callable[[], Awaitable[None] | None]
#: Told of every commit: how many commands the batch held, and the seconds its append took.
CommitObserver = Callable[[int, float], None]


@dataclass(slots=True)
class Step:
    """What a handler applies its command with: the state, the batch being written, the
    moment of the batch, the venue (quotes, refusals) and what to do once committed."""

    state: State
    batch: Batch
    now: datetime
    venue: Venue
    publishing: bool
    events: list[Event] = field(default_factory=list)
    after: list[AfterCommit] = field(default_factory=list)
    _sending: list[VenueOrder] | None = None

    def publish(self, event: Event) -> None:
        if self.publishing:
            self.events.append(event)

    def submit(self, order: VenueOrder) -> None:
        """Send ``order`` to the venue once committed (with the batch's other new orders
        that follow one another, in one call)."""
        if self._sending is None:
            sending: list[VenueOrder] = []
            venue = self.venue
            self._sending = sending
            self.after.append(lambda: venue.submit(sending))
        self._sending.append(order)

    def tell(self, action: AfterCommit) -> None:
        """Do ``action`` once committed, after what was asked before it."""
        self._sending = None
        self.after.append(action)

    @staticmethod
    def request_id() -> str:
        return new_hex_id()


@dataclass(slots=True)
class _Queued:
    principal: Principal | None
    command: object
    apply: Callable[..., object]
    future: asyncio.Future[Any]


class Writer:
    """Applies commands to ``state`` one at a time and journals them in batches."""

    def __init__(
        self,
        state: State,
        journal: Journal,
        venue: Venue,
        clock: Clock,
        publish: Callable[[Sequence[Event]], None],
        publishing: Callable[[], bool],
    ) -> None:
        self.state = state
        self.journal = journal
        self._venue = venue
        self._clock = clock
        self._publish = publish
        self._publishing = publishing
        self._queue: list[_Queued] = []
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._commits: list[asyncio.Future[None]] = []
        self.stopped: BaseException | None = None
        #: batches committed, commands applied and fills journaled (health, benches and
        #: the metrics read them)
        self.batches = 0
        self.commands = 0
        self.fills = 0
        #: called after each commit (the metrics' journal histograms); None: nobody asks
        self.on_commit: CommitObserver | None = None

    async def submit(self, principal: P, command: C, apply: Callable[[Step, P, C], R]) -> R:
        """Apply ``command`` as ``principal`` with ``apply``; its result once journaled, or
        the ``DomainError`` that refused it."""
        if self.stopped is not None:
            raise EngineStopped("the engine stopped: its journal failed") from self.stopped
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.append(_Queued(principal, command, apply, future))
        self._idle.clear()
        if self._task is None or self._task.done():
            # A context of its own: the writer serves every caller, so what it logs belongs
            # to no one request (a task would copy the request id of the one that started it).
            self._task = loop.create_task(
                self._run(), name="engine-writer", context=contextvars.Context()
            )
        return await future

    async def idle(self) -> None:
        """Wait until no command is queued or being written."""
        await self._idle.wait()

    @property
    def idle_now(self) -> bool:
        return self._idle.is_set()

    def next_commit(self) -> asyncio.Future[None]:
        """A future done once the next batch has been written and answered."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._commits.append(future)
        return future

    async def _run(self) -> None:
        try:
            while self._queue and self.stopped is None:
                taken, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._write(taken)
        finally:
            if not self._queue or self.stopped is not None:
                self._idle.set()

    async def _write(self, taken: list[_Queued]) -> None:
        step = Step(self.state, Batch(), self._clock.now(), self._venue, self._publishing())
        results = [self._apply(step, item) for item in taken]
        if not step.batch.empty:
            started = time.perf_counter()
            try:
                await self.journal.append(step.batch)
            except BaseException as exc:
                self._stop(exc, taken)
                return
            if self.on_commit is not None:
                self.on_commit(len(taken), time.perf_counter() - started)
            self.fills += len(step.batch.fills)
        self.batches += 1
        self.commands += len(taken)
        for item, result in zip(taken, results, strict=True):
            if item.future.done():  # its caller went away
                continue
            if isinstance(result, BaseException):
                item.future.set_exception(result)
            else:
                item.future.set_result(result)
        if step.events:
            self._publish(step.events)
        waiting, self._commits = self._commits, []
        for future in waiting:
            if not future.done():
                future.set_result(None)
        await self._after(step.after)

    @staticmethod
    def _apply(step: Step, item: _Queued) -> object:
        """The command's result, or what refused it."""
        try:
            return item.apply(step, item.principal, item.command)
        except DomainError as exc:
            return exc
        except Exception as exc:
            # A bug: whatever the handler changed before it is journaled with the rest,
            # so that memory and the database still agree.
            log.exception("command %r failed", item.command)
            return exc

    @staticmethod
    async def _after(actions: list[AfterCommit]) -> None:
        for action in actions:
            try:
                done = action()
                if done is not None:
                    await done
            except Exception:
                # Journaled and answered: what the venue was not told, recovery tells it.
                log.exception("an action after a commit failed")

    def _stop(self, exc: BaseException, taken: list[_Queued]) -> None:
        if not isinstance(exc, asyncio.CancelledError):  # shutting down is no failure
            log.critical("the journal failed; the engine stops: %r", exc)
        self.stopped = exc
        waiting, self._queue = [*taken, *self._queue], []
        for item in waiting:
            if not item.future.done():
                error = EngineStopped("the engine stopped: its journal failed")
                error.__cause__ = exc
                item.future.set_exception(error)
