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

Batches and chains dispatched against the fake are recorded, not run::

    queue.assert_batched(lambda batch: batch.name == "import" and len(batch.jobs) == 10)
    queue.assert_chained([Fetch, Resize.make(width=200), Publish])
    queue.assert_pushed_without_chain(Fetch)
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, cast

from pydantic import BaseModel

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import FailJob, ReleaseJob
from gello_queue.core.job import Delay, Job, JobDefaults, PendingDispatch, seconds
from gello_queue.core.middleware import chain
from gello_queue.core.registry import JobRegistry
from gello_queue.core.states import JobState
from gello_queue.events import Events, JobFailed, JobProcessed, JobReleased, JobRetrying
from gello_queue.orchestration.batch import Batch
from gello_queue.orchestration.chain import Chain
from gello_queue.queue import JobOrMade, Queue, made_job, set_default_queue
from gello_queue.settings import Settings

__all__ = [
    "FakeQueue",
    "JobRun",
    "PushedChain",
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

Step = PendingDispatch | Batch
"""One step of a chain: a job or a batch."""
ChainItem = type[Job[Any]] | str | PendingDispatch | type[Batch] | Callable[[Step], bool]
"""What ``assert_chained`` expects at one step: a job class or name (any payload), a
``Job.make(...)`` (that class and payload), ``Batch`` (any batch), or a predicate."""

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
    chain: tuple[Step, ...] = ()
    """The steps chained after this job, when it heads a chain."""

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
        chain = f", then {_steps(self.chain, payloads=False)}" if self.chain else ""
        return f"{self.name} on {self.queue!r}{delay} {self.payload.model_dump(mode='json')}{chain}"


@dataclass(frozen=True, slots=True)
class PushedChain:
    """One chain dispatch recorded by a ``FakeQueue`` (its first job, if it starts with
    one, is recorded as pushed too, with the rest as its ``chain``)."""

    id: str
    steps: tuple[Step, ...]
    """Its jobs and batches in the order they would run (nested chains inlined)."""
    catch: PendingDispatch | None = None

    def describe(self) -> str:
        return _steps(self.steps)


def _step(step: Step, *, payloads: bool = True) -> str:
    if isinstance(step, Batch):
        return f"batch {step.name!r} ({len(step.jobs)} job(s))"
    return f"{step.job.name} {step.payload}" if payloads else step.job.name


def _steps(steps: Iterable[Step], *, payloads: bool = True) -> str:
    return " -> ".join(_step(s, payloads=payloads) for s in steps)


def _describe_batch(batch: Batch) -> str:
    names = Counter(
        f"({_steps(item.flat(), payloads=False)})" if isinstance(item, Chain) else item.job.name
        for item in batch.jobs
    )
    jobs = ", ".join(name if n == 1 else f"{name} x{n}" for name, n in names.items())
    parts = [f"batch {batch.name!r} of {len(batch.jobs)} job(s): {jobs or 'none'}"]
    for what, group in batch.callbacks().items():
        if group:
            parts.append(f"{what} {', '.join(p.job.name for p in group)}")
    if batch.allow_failures:
        parts.append("allow_failures")
    return "; ".join(parts)


def _jobs_in(items: Iterable[Step | Chain | None]) -> Iterator[type[Job[Any]]]:
    """Every job class in batches, chains and their callbacks."""
    for item in items:
        if isinstance(item, PendingDispatch):
            yield item.job
        elif isinstance(item, Chain):
            yield from _jobs_in([*item.jobs, item.catch])
        elif isinstance(item, Batch):
            callbacks = [p for group in item.callbacks().values() for p in group]
            yield from _jobs_in([*item.jobs, *callbacks])


def _step_matches(expected: ChainItem, step: Step) -> bool:
    if isinstance(expected, PendingDispatch):
        return (
            isinstance(step, PendingDispatch)
            and step.job.name == expected.job.name
            and step.payload == expected.payload
        )
    if isinstance(expected, str):
        return isinstance(step, PendingDispatch) and step.job.name == expected
    if isinstance(expected, type) and issubclass(expected, Batch):
        return isinstance(step, Batch)
    if isinstance(expected, type) and issubclass(expected, Job):
        return isinstance(step, PendingDispatch) and step.job.name == expected.name
    return bool(cast(Callable[[Step], bool], expected)(step))


def _expected(item: ChainItem) -> str:
    if isinstance(item, PendingDispatch):
        return _step(item)
    if isinstance(item, str):
        return item
    if isinstance(item, type) and issubclass(item, Batch):
        return "a batch"
    if isinstance(item, type) and issubclass(item, Job):
        return item.name
    return "a step matching the condition"


def _instead(verb: str, lines: Sequence[str]) -> str:
    if not lines:
        return f"Nothing was {verb}."
    shown = [f"  - {line}" for line in lines[:_SHOWN]]
    if len(lines) > _SHOWN:
        shown.append(f"  ... and {len(lines) - _SHOWN} more")
    return f"{verb.capitalize()} instead ({len(lines)}):\n" + "\n".join(shown)


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
        self.batches: list[Batch] = []
        """Batches dispatched, in order (as given to ``Batch``: never run)."""
        self.chains: list[PushedChain] = []
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

    def fakes_any(self, item: Batch | Chain) -> bool:
        """Whether a batch or chain is recorded: when this fake fakes any of its jobs or
        callbacks (else it is dispatched for real)."""
        only = self.only
        return only is None or any(job.name in only for job in _jobs_in([item]))

    def _record(
        self, pending: PendingDispatch, env: Envelope | None = None, chain: tuple[Step, ...] = ()
    ) -> str:
        env = env or pending.to_envelope(self.defaults, time.time())
        payload = pending.job.payload_model.model_validate(pending.payload)
        with self._records:
            self.pushed_jobs.append(PushedJob(pending.job, payload, env, chain))
        return env.id

    def _record_batch(self, batch: Batch) -> str:
        batch.prepare(self.defaults, time.time())  # fails where a real dispatch would
        with self._records:
            self.batches.append(batch)
        return batch.id

    def _record_chain(self, chain: Chain) -> str:
        prepared = chain.prepare(self.defaults, time.time())
        steps = tuple(chain.flat())
        with self._records:
            self.chains.append(PushedChain(prepared.id, steps, chain.catch))
        head = steps[0]
        if isinstance(head, PendingDispatch):
            self._record(head, prepared.envelopes[0], steps[1:])
        return prepared.id

    async def dispatch_batch(self, batch: Batch) -> str:
        if self.fakes_any(batch):
            return self._record_batch(batch)
        return await self._real().dispatch_batch(batch)

    def dispatch_batch_blocking(self, batch: Batch) -> str:
        if self.fakes_any(batch):
            return self._record_batch(batch)
        return self._real().dispatch_batch_blocking(batch)

    async def dispatch_chain(self, chain: Chain) -> str:
        if self.fakes_any(chain):
            return self._record_chain(chain)
        return await self._real().dispatch_chain(chain)

    def dispatch_chain_blocking(self, chain: Chain) -> str:
        if self.fakes_any(chain):
            return self._record_chain(chain)
        return self._real().dispatch_chain_blocking(chain)

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

    def push_blocking(self, job: JobOrMade, payload: Any = None, /, **fields: Any) -> str:
        return self.dispatch_blocking(made_job(job, payload, fields))

    def push_on_blocking(
        self, queue: str, job: JobOrMade, payload: Any = None, /, **fields: Any
    ) -> str:
        return self.dispatch_blocking(made_job(job, payload, fields).on_queue(queue))

    def later_blocking(
        self, delay: Delay, job: JobOrMade, payload: Any = None, /, **fields: Any
    ) -> str:
        return self.dispatch_blocking(made_job(job, payload, fields).delay(seconds(delay)))

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

    def batched(self, where: Callable[[Batch], bool] | None = None) -> list[Batch]:
        """Recorded batches (matching ``where``), in dispatch order."""
        return [b for b in self.batches if where is None or where(b)]

    def _instead(self, job: JobRef | None = None) -> str:
        listing = _instead("pushed", [p.describe() for p in self.pushed_jobs])
        return listing + ("" if job is None else self._elsewhere(_name(job)))

    def _elsewhere(self, name: str) -> str:
        """Where a job that was not pushed was batched or chained instead."""
        found = [
            f"batched in {_describe_batch(b)}"
            for b in self.batches
            if any(j.name == name for j in _jobs_in([b]))
        ]
        for c in self.chains:
            # A chain's first job is recorded as pushed; look at the steps after it.
            steps = c.steps[1:] if isinstance(c.steps[0], PendingDispatch) else c.steps
            if any(j.name == name for j in _jobs_in(steps)):
                found.append(f"chained in {c.describe()}")
        return "".join(f"\n{name} was {where}" for where in found[:_SHOWN])

    def _not_pushed(self, job: JobRef, where: Callable[..., bool] | None) -> AssertionError:
        condition = " matching the given condition" if where is not None else ""
        return AssertionError(f"{_name(job)} was not pushed{condition}. {self._instead(job)}")

    def _batched_instead(self) -> str:
        return _instead("batched", [_describe_batch(b) for b in self.batches])

    def _chained_instead(self) -> str:
        return _instead("chained", [c.describe() for c in self.chains])

    # -- asserting -------------------------------------------------------------------
    def assert_pushed(self, job: JobRef, where: Where = None) -> None:
        """``job`` was pushed: at least once, ``where`` times (an int), or matching
        ``where`` (a predicate on the payload, or on payload and ``PushedJob``)."""
        if isinstance(where, int):
            self.assert_pushed_times(job, where)
            return
        if not self.pushed(job, where):
            raise self._not_pushed(job, where)

    def assert_pushed_on(
        self, queue: str, job: JobRef, where: Callable[..., bool] | None = None
    ) -> None:
        """``job`` was pushed on ``queue`` (matching ``where`` when given)."""
        if not [p for p in self.pushed(job, where) if p.queue == queue]:
            raise AssertionError(f"{_name(job)} was not pushed on {queue!r}. {self._instead(job)}")

    def assert_pushed_times(self, job: JobRef, times: int) -> None:
        """``job`` was pushed exactly ``times`` times."""
        count = len(self.pushed(job))
        if count != times:
            raise AssertionError(
                f"{_name(job)} was pushed {count} time(s), expected {times}. {self._instead(job)}"
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

    def assert_pushed_without_chain(
        self, job: JobRef, where: Callable[..., bool] | None = None
    ) -> None:
        """``job`` was pushed (matching ``where``) on its own, not heading a chain."""
        found = self.pushed(job, where)
        if not found:
            raise self._not_pushed(job, where)
        if all(p.chain for p in found):
            shown = "\n".join(f"  - {p.describe()}" for p in found[:_SHOWN])
            raise AssertionError(f"{_name(job)} was pushed only with a chain:\n{shown}")

    def assert_batched(self, where: Callable[[Batch], bool] | None = None) -> None:
        """A batch was dispatched (one matching ``where``, a predicate on the ``Batch``:
        its ``name``, ``jobs``, ``callbacks()``, ``allow_failures``...)."""
        if not self.batched(where):
            condition = " matching the given condition" if where is not None else ""
            raise AssertionError(f"No batch{condition} was dispatched. {self._batched_instead()}")

    def assert_batch_count(self, count: int) -> None:
        """Exactly ``count`` batches were dispatched."""
        if len(self.batches) != count:
            raise AssertionError(
                f"{len(self.batches)} batch(es) were dispatched, expected {count}. "
                f"{self._batched_instead()}"
            )

    def assert_nothing_batched(self) -> None:
        """No batch was dispatched."""
        if self.batches:
            raise AssertionError(f"Expected no batches to be dispatched. {self._batched_instead()}")

    def assert_chained(self, steps: Sequence[ChainItem]) -> None:
        """A chain of exactly these steps, in this order, was dispatched. A step is a job
        class or name, a ``Job.make(...)`` (compared by class and payload), ``Batch`` or
        a predicate on the step (a ``PendingDispatch`` or a ``Batch``)."""
        for c in self.chains:
            if len(c.steps) == len(steps) and all(map(_step_matches, steps, c.steps)):
                return
        wanted = " -> ".join(_expected(s) for s in steps)
        raise AssertionError(f"No chain {wanted} was dispatched. {self._chained_instead()}")


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
        """Close the queue's shared blocking driver and forget its in-memory store."""
        from gello_queue.drivers import memory

        self.queue.close_blocking()
        memory._STORES.pop(self.queue.url.split("://", 1)[1], None)
