"""Batches: many jobs dispatched as one unit, with progress and callbacks.

    batch = Batch(
        [ImportRows.make(part=i) for i in range(10)],
        name="import",
        then=Notify.make(text="import done"),
        catch=Notify.make(text="a part failed"),
        finally_=Cleanup.make(),
    )
    batch_id = await batch.dispatch()

The batch record and its jobs go to the backend in one round trip (``batch_push``);
each job that ends is marked once in the record, and the mark that completes the batch
fires its callbacks under a once-only claim (see ``flow``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from gello_queue.core.dispatcher import default_connection
from gello_queue.core.envelope import Envelope, JsonDict, new_id
from gello_queue.core.errors import ConfigurationError
from gello_queue.core.job import (
    Job,
    JobDefaults,
    PendingDispatch,
    check_stored_size,
    refuse_over_cap,
)
from gello_queue.orchestration.steps import Steps, link
from gello_queue.ports import BatchRecord, Capability, QueueDriver

if TYPE_CHECKING:
    from gello_queue.orchestration.chain import Chain
    from gello_queue.queue import Queue

Callback = PendingDispatch | Sequence[PendingDispatch] | None


class Batch:
    """Jobs (or chains of jobs) that run in parallel and are tracked together.

    Args:
        jobs: ``Job.make(...)`` dispatches, or ``Chain``s of them (each chain's links
            count in the batch).
        name: shown by ``queue:batches``.
        then: job(s) to dispatch when every job succeeded (or, with ``allow_failures``,
            ran to an end).
        catch: job(s) to dispatch on the first failure.
        finally_: job(s) to dispatch when every job ran to an end, whatever happened.
        allow_failures: without it, the first failure cancels the batch (jobs not yet
            started are skipped).
    """

    def __init__(
        self,
        jobs: Sequence[PendingDispatch | Chain],
        *,
        name: str = "",
        then: Callback = None,
        catch: Callback = None,
        finally_: Callback = None,
        allow_failures: bool = False,
    ) -> None:
        if not jobs:
            # Nothing would ever mark it finished: its callbacks (and a chain after it)
            # would wait forever.
            raise ConfigurationError("a batch needs at least one job")
        self.jobs = list(jobs)
        self.name = name
        self.then = then
        self.catch = catch
        self.finally_ = finally_
        self.allow_failures = allow_failures
        self.id = new_id()

    def spec(self, defaults: JobDefaults, now: float, *, parent: str | None = None) -> JsonDict:
        """The batch as data: its jobs (each a list of chain links) and options;
        ``parent`` is the batch it counts in as one step (it sits in a chain there)."""
        items: list[list[JsonDict]] = []
        for item in self.jobs:
            if isinstance(item, Steps):
                links = item.job_links(defaults, now, batch_id=self.id)
                if links:
                    items.append(links)
            elif isinstance(item, PendingDispatch):
                items.append([link(item, defaults, now, once=False, batch_id=self.id)])
            else:
                raise ConfigurationError(
                    f"a batch holds Job.make(...) dispatches and Chains, not {type(item).__name__}"
                )
        options: JsonDict = {"allow_failures": self.allow_failures}
        if parent is not None:
            options["parent"] = parent
        for what, group in self.callbacks().items():
            if group:
                options[what] = [link(p, defaults, now, once=True, of_batch=self.id) for p in group]
        return {"id": self.id, "name": self.name, "items": items, "options": options}

    def callbacks(self) -> dict[str, list[PendingDispatch]]:
        """The callbacks by when they fire: "then", "catch" and "finally" (each a list,
        empty when none was given)."""
        given = {"then": self.then, "catch": self.catch, "finally": self.finally_}
        return {
            what: [] if c is None else [c] if isinstance(c, PendingDispatch) else list(c)
            for what, c in given.items()
        }

    def prepare(self, defaults: JobDefaults, now: float) -> Prepared:
        """The batch record and the envelopes to store for it."""
        record, envelopes = batch_parts(self.spec(defaults, now))
        return checked(Prepared(self.id, envelopes, record), defaults)

    async def dispatch(self, connection: Queue | None = None) -> str:
        """Store the batch and its jobs in one round trip; return the batch id."""
        return await (
            connection if connection is not None else default_connection()
        ).dispatch_batch(self)

    def dispatch_blocking(self, connection: Queue | None = None) -> str:
        """Blocking twin of ``dispatch``."""
        return (
            connection if connection is not None else default_connection()
        ).dispatch_batch_blocking(self)


class Prepared(NamedTuple):
    """What a batch or chain dispatch stores: its id, envelopes and batch record."""

    id: str
    envelopes: list[Envelope]
    batch: BatchRecord | None


def checked(prepared: Prepared, defaults: JobDefaults) -> Prepared:
    """``prepared``, once each body it stores is within the cap: its envelopes (each
    link was checked alone when built, but the first carries the chain's later steps and
    its ``catch``) and the batch record, which stores callbacks and the following steps.

    Raises:
        PayloadTooLargeError: as for a single job over the cap.
    """
    cap = defaults.max_payload_bytes
    for env in prepared.envelopes:
        check_stored_size(env, cap)
    record = prepared.batch
    if record is not None and (size := len(record.options.encode())) > cap:
        refuse_over_cap(f"batch {record.name or record.id}'s callbacks and chain", size, cap)
    return prepared


async def push_spec(
    driver: QueueDriver,
    spec: JsonDict,
    *,
    chain: list[Any] | None = None,
    chain_catch: JsonDict | None = None,
) -> list[str]:
    """Store a batch (as ``Batch.spec`` describes it) with the first link of each item;
    ``chain`` is what to run after it succeeds, ``chain_catch`` what to run if not."""
    record, envelopes = batch_parts(spec, chain=chain, chain_catch=chain_catch)
    return await store_batch(driver, record, envelopes)


def batch_parts(
    spec: JsonDict,
    *,
    chain: list[Any] | None = None,
    chain_catch: JsonDict | None = None,
) -> tuple[BatchRecord, list[Envelope]]:
    """The record and first-link envelopes of a batch spec (see ``push_spec``)."""
    options = dict(spec["options"])
    if chain:
        options["chain"] = chain
    if chain_catch:
        options["chain_catch"] = chain_catch
    now = time.time()
    envs: list[Envelope] = []
    total = 0
    for links in spec["items"]:
        first = Envelope.from_dict(links[0])
        delay = max(first.available_at - first.created_at, 0.0)
        envs.append(first.with_changes(available_at=now + delay, created_at=now, chain=links[1:]))
        total += len(links)
    record = BatchRecord(
        id=spec["id"], name=spec["name"], total=total, options=orjson.dumps(options).decode()
    )
    return record, envs


async def store_batch(
    driver: QueueDriver, record: BatchRecord, envelopes: Sequence[Envelope]
) -> list[str]:
    """Store ``record`` and ``envelopes``: in one round trip where the driver can."""
    if Capability.BATCH_PUSH in driver.capabilities:
        return await driver.batch_push(record, envelopes)
    # A broker keeps batch records in its database store: the record, then the jobs.
    await driver.batch_push(record, [])
    return await driver.push(envelopes)


class BatchHandle:
    """A batch seen from a running job (``self.batch()``) or from tools."""

    def __init__(self, driver: QueueDriver, batch_id: str, queue: str = "default") -> None:
        self.driver = driver
        self.id = batch_id
        self.queue = queue

    async def find(self) -> BatchRecord | None:
        """The batch's record: counts, progress, callbacks."""
        return await self.driver.batch_find(self.id, with_failed=False)

    async def cancelled(self) -> bool:
        """Whether the batch was cancelled (a long job may check and stop early)."""
        rec = await self.find()
        return rec is not None and rec.cancelled

    async def cancel(self) -> bool:
        """Cancel the batch: its jobs that have not started are skipped."""
        return await self.driver.batch_cancel(self.id)

    async def add(
        self, jobs: Sequence[PendingDispatch | Chain], defaults: JobDefaults | None = None
    ) -> list[str]:
        """Add jobs to the batch (from inside one of its running jobs, so the batch
        cannot finish in between); return their ids."""
        defaults = defaults or _defaults_for(self.queue)
        now = time.time()
        items: list[list[JsonDict]] = []
        for item in jobs:
            if isinstance(item, Steps):
                items.append(item.job_links(defaults, now, batch_id=self.id))
            else:
                items.append([link(item, defaults, now, once=False, batch_id=self.id)])
        spec = {"id": self.id, "name": "", "items": [i for i in items if i], "options": {}}
        return await push_spec(self.driver, spec)


def _defaults_for(queue: str) -> JobDefaults:
    """Defaults for jobs added from inside a running job, with the default connection's
    encryption keys (an encrypted job added there is sealed as any other dispatch)."""
    try:
        base = getattr(default_connection(), "defaults", None)
    except ConfigurationError:
        base = None
    if not isinstance(base, JobDefaults):
        return JobDefaults(queue=queue)
    return JobDefaults(queue=queue, keyring=base.keyring, encrypt_all=base.encrypt_all)


def _batch_of(job: Job[Any]) -> BatchHandle | None:
    env = job.envelope
    batch_id = env.batch_id or env.middleware.get("of_batch")
    if not batch_id:
        return None
    return BatchHandle(job.driver, str(batch_id), env.queue)


Job.batch_view = _batch_of
