"""``FakeQueue``: a ``Queue`` that records dispatches instead of storing them, and
``fake()`` that installs one as the default queue."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any

from gello_queue.core.envelope import Envelope
from gello_queue.core.job import Delay, Job, PendingDispatch, seconds
from gello_queue.core.registry import JobRegistry
from gello_queue.orchestration.batch import Batch
from gello_queue.orchestration.chain import Chain
from gello_queue.queue import JobOrMade, Queue, made_job, set_default_queue
from gello_queue.settings import Settings
from gello_queue.testing.assertions import (
    JobRef,
    PushedAssertions,
    PushedChain,
    PushedJob,
    Step,
    job_name,
    jobs_in,
)


class FakeQueue(PushedAssertions, Queue):
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
            None if jobs is None else frozenset(job_name(j) for j in jobs)
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
        return only is None or any(job.name in only for job in jobs_in([item]))

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


def fake(*jobs: JobRef, passthrough: Queue | None = None) -> FakeQueue:
    """Install a ``FakeQueue`` as the default queue and return it.

    With no ``jobs`` every dispatch is recorded; with some, only theirs are and others
    are queued for real. Use it as a context manager, or call ``restore()`` when done.
    """
    return FakeQueue(jobs or None, passthrough=passthrough).install()
