"""``FakeQueue``: a ``Queue`` that records dispatches instead of storing them, and
``fake()`` that installs one as the default queue."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any

from cryptography.fernet import Fernet

from gello_queue.core.encryption import Keyring
from gello_queue.core.envelope import Envelope
from gello_queue.core.job import Delay, Job, PendingDispatch, seconds
from gello_queue.core.progress import DetachedListener, listen_detached
from gello_queue.core.registry import JobRegistry
from gello_queue.orchestration.batch import Batch
from gello_queue.orchestration.chain import Chain
from gello_queue.queue import JobOrMade, Queue, made_job, set_default_queue
from gello_queue.settings import Settings
from gello_queue.testing.records import (
    SHOWN,
    ChainItem,
    JobRef,
    PushedChain,
    PushedJob,
    Step,
    Where,
    describe_batch,
    describe_expected,
    job_name,
    jobs_in,
    predicate_on,
    pushed_instead,
    step_matches,
)


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
        if self.defaults.keyring is None:
            # An encrypted job is recorded as it would be sealed, under a key of the
            # fake's own: tests of encrypted jobs need no QUEUE_ENCRYPTION_KEY.
            self.defaults = dataclasses.replace(
                self.defaults, keyring=Keyring(Fernet.generate_key().decode())
            )
        self.only: frozenset[str] | None = (
            None if jobs is None else frozenset(job_name(j) for j in jobs)
        )
        self.pushed_jobs: list[PushedJob] = []
        self.batches: list[Batch] = []
        """Batches dispatched, in order (as given to ``Batch``: never run)."""
        self.chains: list[PushedChain] = []
        self.progress_calls: list[tuple[str, float, str | None]] = []
        """``(job name, fraction, message)`` of every ``progress`` call made by a job that
        no worker runs (``handle`` called directly) while this fake is installed."""
        self._previous_listener: DetachedListener | None = None
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
        self._previous_listener = listen_detached(self._record_progress)
        self._installed = True
        return self

    def restore(self) -> None:
        """Put back the default queue that was installed before."""
        if self._installed:
            set_default_queue(self._previous)
            listen_detached(self._previous_listener)
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
        return only is None or any(job.name in only for job in jobs_in([item]))

    def _record(
        self, pending: PendingDispatch, env: Envelope | None = None, chain: tuple[Step, ...] = ()
    ) -> str:
        env = env or pending.to_envelope(self.defaults, time.time())
        payload = pending.job.payload_model.model_validate(pending.payload)
        with self._records:
            self.pushed_jobs.append(PushedJob(pending.job, payload, env, chain))
        return env.id

    def _record_progress(self, job: str, fraction: float, message: str | None) -> None:
        with self._records:
            self.progress_calls.append((job, fraction, message))

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
        found = [p for p in self.pushed_jobs if job is None or p.name == job_name(job)]
        if where is not None:
            check = predicate_on(where)
            found = [p for p in found if check(p)]
        return found

    def progress_of(self, job: JobRef) -> list[tuple[float, str | None]]:
        """``(fraction, message)`` of every ``progress`` call ``job`` made, in order."""
        name = job_name(job)
        return [(f, m) for n, f, m in self.progress_calls if n == name]

    def assert_progressed(self, job: JobRef, fraction: float | None = None) -> None:
        """``job`` reported progress (its last value ``fraction``, when given)."""
        reported = self.progress_of(job)
        if reported and (fraction is None or reported[-1][0] == fraction):
            return
        wanted = "" if fraction is None else f" ending at {fraction}"
        raise AssertionError(
            f"{job_name(job)} did not report progress{wanted}. Reported: {reported or 'nothing'}"
        )

    def batched(self, where: Callable[[Batch], bool] | None = None) -> list[Batch]:
        """Recorded batches (matching ``where``), in dispatch order."""
        return [b for b in self.batches if where is None or where(b)]

    def _instead(self, job: JobRef | None = None) -> str:
        listing = pushed_instead("pushed", [p.describe() for p in self.pushed_jobs])
        return listing + ("" if job is None else self._elsewhere(job_name(job)))

    def _elsewhere(self, name: str) -> str:
        """Where a job that was not pushed was batched or chained instead."""
        found = [
            f"batched in {describe_batch(b)}"
            for b in self.batches
            if any(j.name == name for j in jobs_in([b]))
        ]
        for c in self.chains:
            # A chain's first job is recorded as pushed; look at the steps after it.
            steps = c.steps[1:] if isinstance(c.steps[0], PendingDispatch) else c.steps
            if any(j.name == name for j in jobs_in(steps)):
                found.append(f"chained in {c.describe()}")
        return "".join(f"\n{name} was {where}" for where in found[:SHOWN])

    def _not_pushed(self, job: JobRef, where: Callable[..., bool] | None) -> AssertionError:
        condition = " matching the given condition" if where is not None else ""
        return AssertionError(f"{job_name(job)} was not pushed{condition}. {self._instead(job)}")

    def _batched_instead(self) -> str:
        return pushed_instead("batched", [describe_batch(b) for b in self.batches])

    def _chained_instead(self) -> str:
        return pushed_instead("chained", [c.describe() for c in self.chains])

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
            raise AssertionError(
                f"{job_name(job)} was not pushed on {queue!r}. {self._instead(job)}"
            )

    def assert_pushed_times(self, job: JobRef, times: int) -> None:
        """``job`` was pushed exactly ``times`` times."""
        count = len(self.pushed(job))
        if count != times:
            raise AssertionError(
                f"{job_name(job)} was pushed {count} time(s), expected {times}. "
                f"{self._instead(job)}"
            )

    def assert_not_pushed(self, job: JobRef, where: Callable[..., bool] | None = None) -> None:
        """``job`` was never pushed (or never with a payload matching ``where``)."""
        found = self.pushed(job, where)
        if found:
            shown = "; ".join(p.describe() for p in found[:SHOWN])
            raise AssertionError(
                f"{job_name(job)} was pushed {len(found)} time(s), expected none: {shown}"
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
            shown = "\n".join(f"  - {p.describe()}" for p in found[:SHOWN])
            raise AssertionError(f"{job_name(job)} was pushed only with a chain:\n{shown}")

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
            if len(c.steps) == len(steps) and all(map(step_matches, steps, c.steps)):
                return
        wanted = " -> ".join(describe_expected(s) for s in steps)
        raise AssertionError(f"No chain {wanted} was dispatched. {self._chained_instead()}")


def fake(*jobs: JobRef, passthrough: Queue | None = None) -> FakeQueue:
    """Install a ``FakeQueue`` as the default queue and return it.

    With no ``jobs`` every dispatch is recorded; with some, only theirs are and others
    are queued for real. Use it as a context manager, or call ``restore()`` when done.
    """
    return FakeQueue(jobs or None, passthrough=passthrough).install()
