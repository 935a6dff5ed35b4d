"""Test fakes for an application's own test suite, as Laravel's ``Queue::fake()``.

Record dispatches instead of queueing them, then assert on what was pushed::

    from gello_queue import testing

    def test_signup_sends_the_welcome_email() -> None:
        with testing.fake() as queue:          # or testing.fake(SendWelcomeEmail)
            signup("ada@example.com")
        queue.assert_pushed(SendWelcomeEmail, lambda p: p.email == "ada@example.com")
        queue.assert_pushed_on("emails", SendWelcomeEmail)
        queue.assert_not_pushed(ChargeCard)

Run one job's ``handle`` (with its ``before``, middleware and ``after``) and assert what
it did with itself::

    run = await testing.run_job(SyncInvoice, invoice_id=7)   # run_job_blocking in sync tests
    run.assert_released(delay=30)

Batches and chains: gello's batch and chain API is not in this package yet, so there are
no ``assert_batched`` / ``assert_chained`` here; they belong with that feature.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

from pydantic import BaseModel

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import FailJob, ReleaseJob
from gello_queue.core.job import Delay, Job, JobDefaults, PendingDispatch, seconds
from gello_queue.core.middleware import chain
from gello_queue.core.registry import JobRegistry
from gello_queue.core.states import JobState
from gello_queue.events import Events, JobFailed, JobProcessed, JobReleased, JobRetrying
from gello_queue.queue import Queue, set_default_queue
from gello_queue.settings import Settings

__all__ = [
    "FakeQueue",
    "JobRun",
    "PushedJob",
    "QueueHarness",
    "fake",
    "run_job",
    "run_job_blocking",
]

JobRef = type[Job[Any]] | str
"""A job class, or its registered name."""
Where = Callable[..., bool] | int | None
"""A predicate on the payload (or on payload and ``PushedJob``), or an exact count."""

_SHOWN = 10
"""How many pushed jobs an assertion message lists."""


@dataclass(frozen=True, slots=True)
class PushedJob:
    """One dispatch recorded by a ``FakeQueue``."""

    job: type[Job[Any]]
    payload: BaseModel
    """The validated payload model, as ``handle`` would receive it."""
    envelope: Envelope
    """The message that would have been stored (queue, priority, delay, tries...)."""

    @property
    def id(self) -> str:
        return self.envelope.id

    @property
    def name(self) -> str:
        return self.envelope.name

    @property
    def queue(self) -> str:
        return self.envelope.queue

    @property
    def delay_s(self) -> float:
        """Seconds between dispatch and when the job may run."""
        return max(self.envelope.available_at - self.envelope.created_at, 0.0)

    def describe(self) -> str:
        delay = f" after {self.delay_s:g}s" if self.delay_s >= 0.001 else ""
        return f"{self.name} on {self.queue!r}{delay} {self.payload.model_dump(mode='json')}"


def _name(job: JobRef) -> str:
    return job if isinstance(job, str) else job.name


def _predicate(where: Callable[..., bool]) -> Callable[[PushedJob], bool]:
    try:
        two = len(inspect.signature(where).parameters) >= 2
    except (TypeError, ValueError):
        two = False
    if two:
        return lambda p: bool(where(p.payload, p))
    return lambda p: bool(where(p.payload))


class FakeQueue(Queue):
    """A ``Queue`` that records dispatches of the faked jobs instead of storing them.

    Jobs not faked (when ``jobs`` names some) go to ``passthrough``: the default queue that
    was installed before the fake, or one built from the settings.
    """

    def __init__(
        self,
        jobs: Iterable[JobRef] | None = None,
        *,
        passthrough: Queue | None = None,
        settings: Settings | None = None,
        registry: JobRegistry | None = None,
    ) -> None:
        base = settings or (passthrough.settings if passthrough is not None else None)
        super().__init__(
            f"memory://gello-fake-{uuid.uuid4().hex}", settings=base, registry=registry
        )
        self.only: frozenset[str] | None = (
            None if jobs is None else frozenset(_name(j) for j in jobs)
        )
        self.pushed_jobs: list[PushedJob] = []
        self._passthrough = passthrough
        self._previous: Queue | None = None
        self._installed = False
        self._records = threading.Lock()

    def __repr__(self) -> str:
        faked = "all jobs" if self.only is None else ", ".join(sorted(self.only))
        return f"FakeQueue({faked}; {len(self.pushed_jobs)} pushed)"

    # -- installing ------------------------------------------------------------------
    def install(self) -> FakeQueue:
        """Make this the default queue (what ``Job.dispatch`` uses); ``restore`` undoes it."""
        from gello_queue import queue as queue_module

        # Read the slot directly: calling default_queue() would build a real queue.
        self._previous = queue_module._default
        if self._passthrough is None:
            self._passthrough = self._previous
        set_default_queue(self)
        self._installed = True
        return self

    def restore(self) -> None:
        """Put back the default queue that was installed before."""
        if self._installed:
            set_default_queue(self._previous)
            self._installed = False

    def __enter__(self) -> FakeQueue:
        return self if self._installed else self.install()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.restore()

    # -- recording -------------------------------------------------------------------
    def fakes(self, job: type[Job[Any]]) -> bool:
        """Whether dispatches of ``job`` are recorded (else they are really queued)."""
        return self.only is None or job.name in self.only

    def _real(self) -> Queue:
        if self._passthrough is None:
            self._passthrough = Queue(settings=self.settings, registry=self.registry)
        return self._passthrough

    def _record(self, pending: PendingDispatch) -> str:
        env = pending.to_envelope(self.defaults, time.time())
        payload = pending.job.payload_model.model_validate(pending.payload)
        with self._records:
            self.pushed_jobs.append(PushedJob(pending.job, payload, env))
        return env.id

    async def dispatch(self, pending: PendingDispatch) -> str:
        if self.fakes(pending.job):
            return self._record(pending)
        return await self._real().dispatch(pending)

    async def bulk(self, pendings: Sequence[PendingDispatch]) -> list[str]:
        real = [p for p in pendings if not self.fakes(p.job)]
        real_ids = iter(await self._real().bulk(real) if real else [])
        return [self._record(p) if self.fakes(p.job) else next(real_ids) for p in pendings]

    def dispatch_blocking(self, pending: PendingDispatch) -> str:
        if self.fakes(pending.job):
            return self._record(pending)
        return self._real().dispatch_blocking(pending)

    def bulk_blocking(self, pendings: Sequence[PendingDispatch]) -> list[str]:
        real = [p for p in pendings if not self.fakes(p.job)]
        real_ids = iter(self._real().bulk_blocking(real) if real else [])
        return [self._record(p) if self.fakes(p.job) else next(real_ids) for p in pendings]

    def push_blocking(self, job: type[Job[Any]], payload: Any = None, /, **fields: Any) -> str:
        return self.dispatch_blocking(job.make(payload, **fields))

    def push_on_blocking(
        self, queue: str, job: type[Job[Any]], payload: Any = None, /, **fields: Any
    ) -> str:
        return self.dispatch_blocking(job.make(payload, **fields).on_queue(queue))

    def later_blocking(
        self, delay: Delay, job: type[Job[Any]], payload: Any = None, /, **fields: Any
    ) -> str:
        return self.dispatch_blocking(job.make(payload, **fields).delay(seconds(delay)))

    async def size(self, queue: str | None = None) -> int:
        name = queue or self.defaults.queue
        return sum(1 for p in self.pushed_jobs if p.queue == name)

    def size_blocking(self, queue: str | None = None) -> int:
        name = queue or self.defaults.queue
        return sum(1 for p in self.pushed_jobs if p.queue == name)

    async def clear(self, queue: str | None = None) -> int:
        return self.clear_blocking(queue)

    def clear_blocking(self, queue: str | None = None) -> int:
        name = queue or self.defaults.queue
        with self._records:
            kept = [p for p in self.pushed_jobs if p.queue != name]
            cleared = len(self.pushed_jobs) - len(kept)
            self.pushed_jobs = kept
        return cleared

    # -- reading ---------------------------------------------------------------------
    def pushed(
        self, job: JobRef | None = None, where: Callable[..., bool] | None = None
    ) -> list[PushedJob]:
        """Recorded dispatches (of ``job``, matching ``where``), in dispatch order."""
        found = [p for p in self.pushed_jobs if job is None or p.name == _name(job)]
        if where is not None:
            check = _predicate(where)
            found = [p for p in found if check(p)]
        return found

    def _instead(self) -> str:
        if not self.pushed_jobs:
            return "Nothing was pushed."
        lines = [f"  - {p.describe()}" for p in self.pushed_jobs[:_SHOWN]]
        more = len(self.pushed_jobs) - _SHOWN
        if more > 0:
            lines.append(f"  ... and {more} more")
        return f"Pushed instead ({len(self.pushed_jobs)}):\n" + "\n".join(lines)

    # -- asserting -------------------------------------------------------------------
    def assert_pushed(self, job: JobRef, where: Where = None) -> None:
        """``job`` was pushed: at least once, ``where`` times (an int), or matching
        ``where`` (a predicate on the payload, or on payload and ``PushedJob``)."""
        if isinstance(where, int):
            self.assert_pushed_times(job, where)
            return
        if not self.pushed(job, where):
            condition = " matching the given condition" if where is not None else ""
            raise AssertionError(f"{_name(job)} was not pushed{condition}. {self._instead()}")

    def assert_pushed_on(
        self, queue: str, job: JobRef, where: Callable[..., bool] | None = None
    ) -> None:
        """``job`` was pushed on ``queue`` (matching ``where`` when given)."""
        if not [p for p in self.pushed(job, where) if p.queue == queue]:
            raise AssertionError(f"{_name(job)} was not pushed on {queue!r}. {self._instead()}")

    def assert_pushed_times(self, job: JobRef, times: int) -> None:
        """``job`` was pushed exactly ``times`` times."""
        count = len(self.pushed(job))
        if count != times:
            raise AssertionError(
                f"{_name(job)} was pushed {count} time(s), expected {times}. {self._instead()}"
            )

    def assert_not_pushed(self, job: JobRef, where: Callable[..., bool] | None = None) -> None:
        """``job`` was never pushed (or never with a payload matching ``where``)."""
        found = self.pushed(job, where)
        if found:
            shown = "; ".join(p.describe() for p in found[:_SHOWN])
            raise AssertionError(
                f"{_name(job)} was pushed {len(found)} time(s), expected none: {shown}"
            )

    def assert_nothing_pushed(self) -> None:
        """No job was pushed."""
        if self.pushed_jobs:
            raise AssertionError(f"Expected no jobs to be pushed. {self._instead()}")

    def assert_count(self, count: int) -> None:
        """Exactly ``count`` jobs were pushed in total."""
        if len(self.pushed_jobs) != count:
            raise AssertionError(
                f"{len(self.pushed_jobs)} job(s) were pushed, expected {count}. {self._instead()}"
            )


def fake(*jobs: JobRef, passthrough: Queue | None = None) -> FakeQueue:
    """Install a ``FakeQueue`` as the default queue and return it.

    With no ``jobs`` every dispatch is recorded; with some, only theirs are and others
    are queued for real. Use it as a context manager, or call ``restore()`` when done.
    """
    return FakeQueue(jobs or None, passthrough=passthrough).install()


# -- running one job -----------------------------------------------------------------
Outcome = Literal["completed", "released", "failed", "raised"]


@dataclass(slots=True)
class JobRun:
    """What one direct run of a job did; returned by ``run_job``."""

    job: Job[Any]
    outcome: Outcome
    release_delay_s: float | None = None
    release_reason: str | None = None
    fail_reason: str | None = None
    error: BaseException | None = None

    def _what(self) -> str:
        match self.outcome:
            case "completed":
                return "it completed"
            case "released":
                reason = f" ({self.release_reason})" if self.release_reason else ""
                return f"it released itself with a delay of {self.release_delay_s:g}s{reason}"
            case "failed":
                return f"it failed itself: {self.fail_reason!r}"
            case _:
                return f"it raised {self.error!r}"

    def _expect(self, what: str) -> AssertionError:
        return AssertionError(f"expected {type(self.job).__name__} to {what}, but {self._what()}")

    def assert_completed(self) -> None:
        """``handle`` returned normally (the worker would delete the job)."""
        if self.outcome != "completed":
            raise self._expect("complete")

    def assert_released(self, delay: Delay | None = None, reason: str | None = None) -> None:
        """The job called ``release`` (with this ``delay`` and ``reason`` when given)."""
        if self.outcome != "released":
            raise self._expect("release itself")
        if delay is not None and abs((self.release_delay_s or 0.0) - seconds(delay)) > 1e-6:
            raise self._expect(f"release itself with a delay of {seconds(delay):g}s")
        if reason is not None and self.release_reason != reason:
            raise self._expect(f"release itself with reason {reason!r}")

    def assert_not_released(self) -> None:
        if self.outcome == "released":
            raise self._expect("not release itself")

    def assert_failed(self, reason: str | None = None) -> None:
        """The job called ``fail`` (with a reason containing ``reason`` when given)."""
        if self.outcome != "failed":
            raise self._expect("fail itself")
        if reason is not None and reason not in (self.fail_reason or ""):
            raise self._expect(f"fail itself with a reason containing {reason!r}")

    def assert_not_failed(self) -> None:
        if self.outcome in ("failed", "raised"):
            raise self._expect("not fail")

    def assert_raised(
        self, error: type[BaseException] = Exception, match: str | None = None
    ) -> None:
        """``handle`` raised ``error`` (the worker would retry the job or fail it)."""
        if self.outcome != "raised" or not isinstance(self.error, error):
            raise self._expect(f"raise {error.__name__}")
        if match is not None and match not in str(self.error):
            raise self._expect(f"raise {error.__name__} containing {match!r}")


async def run_job(
    job: type[Job[Any]],
    payload: Any = None,
    /,
    *,
    attempt: int = 1,
    queue: str | None = None,
    **fields: Any,
) -> JobRun:
    """Run ``job``'s ``before``, middleware, ``handle`` and ``after`` once, in-process.

    ``release``, ``fail`` and exceptions are caught and reported in the returned
    ``JobRun``; nothing is stored. Jobs it dispatches go to the default queue (a fake
    one inside ``fake()``).
    """
    pending = job.make(payload, **fields)
    if queue is not None:
        pending = pending.on_queue(queue)
    env = pending.to_envelope(JobDefaults(), time.time()).with_changes(attempts=attempt)
    model = job.payload_model.model_validate(pending.payload)
    instance = job()
    instance.job_id, instance.attempt, instance.envelope = env.id, attempt, env

    async def call_handle() -> None:
        if type(instance)._sync_handle:
            # As a worker would (thread mode): a plain def must not block the loop.
            blocking: Callable[[Any], object] = instance.handle
            await asyncio.to_thread(blocking, model)
        else:
            await instance.handle(model)

    try:
        await instance.before(model)
        layers = instance.middleware()
        await (chain(layers, instance, model, call_handle) if layers else call_handle)()
        await instance.after(model)
    except ReleaseJob as rel:
        return JobRun(instance, "released", release_delay_s=rel.delay_s, release_reason=rel.reason)
    except FailJob as exc:
        return JobRun(instance, "failed", fail_reason=str(exc))
    except Exception as exc:
        return JobRun(instance, "raised", error=exc)
    return JobRun(instance, "completed")


def run_job_blocking(
    job: type[Job[Any]], payload: Any = None, /, *, attempt: int = 1, **fields: Any
) -> JobRun:
    """Blocking twin of ``run_job`` for tests without an event loop."""
    return asyncio.run(run_job(job, payload, attempt=attempt, **fields))


# -- a real in-memory queue and worker -------------------------------------------------
@dataclass(slots=True)
class QueueHarness:
    """A real ``memory://`` queue (installed as the default) and ``drain()`` that runs a
    worker until every dispatched job has completed or failed."""

    queue: Queue
    processed: list[JobProcessed] = field(default_factory=list)
    failed: list[JobFailed] = field(default_factory=list)
    retried: list[JobRetrying] = field(default_factory=list)
    released: list[JobReleased] = field(default_factory=list)

    @classmethod
    def create(cls, settings: Settings | None = None) -> QueueHarness:
        return cls(Queue(f"memory://gello-test-{uuid.uuid4().hex}", settings=settings))

    def _listen(self, event: Any) -> None:
        match event:
            case JobProcessed():
                self.processed.append(event)
            case JobFailed():
                self.failed.append(event)
            case JobRetrying():
                self.retried.append(event)
            case JobReleased():
                self.released.append(event)
            case _:
                pass

    async def drain(
        self, *, timeout_s: float = 10.0, run_delayed: bool = True, concurrency: int = 1
    ) -> None:
        """Run jobs (and the jobs they dispatch) until no queue holds any.

        ``run_delayed`` makes delayed jobs and retry backoffs due at once, so a test never
        waits for them. Raises ``AssertionError`` when jobs remain after ``timeout_s``.
        """
        from gello_queue.worker.runtime import Worker

        driver = await self.queue.driver()
        deadline = time.monotonic() + timeout_s
        while True:
            counts = await driver.counts()
            busy = sorted(q for q, c in counts.items() if c.total)
            if not busy:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"drain timed out after {timeout_s:g}s; left: {counts}")
            worker = Worker(
                busy,
                connection=self.queue,
                concurrency=concurrency,
                sleep_s=0.01,
                stop_when_empty=True,
                events=Events([self._listen]),
                grace_s=0,
            )
            promoter = asyncio.create_task(self._promote(busy)) if run_delayed else None
            try:
                await asyncio.wait_for(worker.start(), left)
            except TimeoutError:
                worker.stop_now()
            finally:
                if promoter is not None:
                    promoter.cancel()
                    await asyncio.gather(promoter, return_exceptions=True)

    async def _promote(self, queues: list[str]) -> None:
        driver = await self.queue.driver()
        while True:
            for queue in queues:
                for record in await driver.jobs(queue, JobState.SCHEDULED, limit=500):
                    await driver.promote(record.id)
            await asyncio.sleep(0.005)

    def drain_blocking(self, *, timeout_s: float = 10.0, run_delayed: bool = True) -> None:
        """Blocking twin of ``drain``; runs on the loop the queue's blocking calls use."""
        self.queue._run(lambda: self.drain(timeout_s=timeout_s, run_delayed=run_delayed))

    def processed_names(self) -> list[str]:
        """Names of the jobs that completed, in order."""
        return [e.name for e in self.processed]

    def assert_processed(self, job: JobRef, times: int | None = None) -> None:
        """``job`` completed (``times`` times when given)."""
        count = sum(1 for e in self.processed if e.name == _name(job))
        if (times is None and count == 0) or (times is not None and count != times):
            expected = "at least once" if times is None else f"{times} time(s)"
            raise AssertionError(
                f"{_name(job)} completed {count} time(s), expected {expected}; "
                f"completed: {self.processed_names()}, failed: {[e.name for e in self.failed]}"
            )

    def close(self) -> None:
        """Close the queue's private loops and forget its in-memory store."""
        from gello_queue.drivers import memory

        self.queue.close_blocking()
        memory._STORES.pop(self.queue.url.split("://", 1)[1], None)
