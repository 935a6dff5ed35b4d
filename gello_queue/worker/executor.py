"""Run one reserved job to its outcome: processed, released, retrying or failed.

Everything that can go wrong with one job ends here as a state change on that job; a bad
message (not an envelope, unknown name, invalid payload) goes to the failed store with a
reason that says what was wrong, and the worker goes on. Each outcome is announced as a
lifecycle event (logs, metrics and traces listen to those).
"""

from __future__ import annotations

import asyncio
import random
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence, Set
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from gello_queue.core.encryption import DecryptionError, Keyring, open_payload
from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import (
    EnvelopeError,
    FailJob,
    PayloadTooNewError,
    PayloadValidationError,
    ReleaseJob,
    UnknownJobError,
    UpcastError,
)
from gello_queue.core.job import Job
from gello_queue.core.payload_versions import NEWER_PAYLOAD_RETRY_S, read_payload
from gello_queue.core.pipeline import chain
from gello_queue.core.progress import ProgressThrottle
from gello_queue.core.registry import JobRegistry
from gello_queue.core.results import encode_result, keeps_result
from gello_queue.core.retry import GiveUp, decide
from gello_queue.events import (
    Events,
    JobFailed,
    JobLeaseLost,
    JobProcessed,
    JobReleased,
    JobReserved,
    JobRetrying,
    log_listener,
)
from gello_queue.observability import get_logger
from gello_queue.orchestration.flow import Flow, involved
from gello_queue.ports import CompletedJob, Failure, QueueDriver, Reservation, result_store
from gello_queue.worker.history import HistoryAcks
from gello_queue.worker.isolation import HardTimeout, ProcessPool, RemoteError
from gello_queue.worker.progress import progress_throttle


class Outcome(StrEnum):
    """How one attempt ended, as counted in a worker's status."""

    PROCESSED = "processed"
    """Ran to success; its ack is sent (a worker counts it once the backend accepts it)."""
    RELEASED = "released"
    RETRYING = "retrying"
    FAILED = "failed"
    LOST = "lost"
    """The lease was lost before the outcome could be stored (the job was rescued)."""


Ack = Callable[[Reservation, JobProcessed, CompletedJob | None], Awaitable[None]]
"""Acks a run (with its history record, when history is on) and then announces it."""


@dataclass(frozen=True, slots=True)
class _Written:
    """A result already written as JSON (by the child process that ran ``handle``)."""

    data: str | None


MAX_RESULT_BYTES = 1048576
"""The default of ``QUEUE_MAX_RESULT_BYTES`` (1 MiB)."""

ABANDON_AFTER_S = 1.0
"""How long a run may ignore its cancellation before its worker stops waiting for it."""


@dataclass(frozen=True, slots=True)
class ExecutorOptions:
    """Worker-wide defaults for jobs that declare none."""

    timeout_s: float = 60.0
    backoff: Any = 60.0
    tries: int | None = None
    """``--tries``: overrides the stored attempts limit of jobs whose class sets none."""
    keep_results_s: int = 0
    """``QUEUE_KEEP_RESULTS``: seconds results are kept for jobs whose class sets none."""
    max_result_bytes: int = MAX_RESULT_BYTES
    """``QUEUE_MAX_RESULT_BYTES``: the largest result kept, as JSON."""
    keep_completed: int = 0
    """``QUEUE_KEEP_COMPLETED``: completed jobs kept per queue (0: no history)."""
    keep_completed_payloads: bool = False
    """``QUEUE_KEEP_COMPLETED_PAYLOADS``: whether their payloads are kept too (never an
    encrypted one)."""
    newer_payload_delay_s: float = NEWER_PAYLOAD_RETRY_S
    """Seconds a message written by a newer version of its job is put back for."""
    keyring: Keyring | None = None
    """``QUEUE_ENCRYPTION_KEY``: decrypts encrypted payloads."""


@dataclass(slots=True)
class _Run:
    """One attempt in progress: what the outcome handlers need."""

    res: Reservation
    env: Envelope
    started: float
    wait_s: float = 0.0
    """Seconds from when the job became available to this attempt's start."""
    job: Job[Any] | None = None
    payload: Any = None
    plain: Any = None
    """The payload's JSON form, decrypted when the job is encrypted (``env`` keeps it
    encrypted, for whatever is stored back)."""
    deadline: asyncio.Timeout | None = None
    result: Any = None
    """What ``handle`` returned (``_Written`` when it ran in a child process)."""
    handled: bool = False
    """Whether ``handle`` ran to its end (a middleware may skip it)."""
    progress: ProgressThrottle | None = None

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


class Executor:
    """Runs reservations of one driver against one registry."""

    def __init__(
        self,
        driver: QueueDriver,
        registry: JobRegistry,
        options: ExecutorOptions,
        *,
        ack: Ack | None = None,
        events: Events | None = None,
        pool: ProcessPool | None = None,
        clock: Callable[[], float] = time.time,
        worker_name: str = "",
        monitored_tags: Set[str] = frozenset(),
    ) -> None:
        self.driver = driver
        self.worker_name = worker_name
        """Named in the completed-job history records of the jobs this runs."""
        self.monitored_tags = monitored_tags
        """The monitored tags as the worker last read them (its maintenance tick updates
        the set in place): a completed job carrying one is marked ``monitored``."""
        self.registry = registry
        self.options = options
        self.clock = clock
        self.events = events if events is not None else Events([log_listener])
        self._ack = ack or self._ack_now
        """Acks ``res`` and then announces ``done``: only through ``acked``, since the
        backend may refuse it (a worker batches acks, so that comes later)."""
        self.pool = pool
        self.flow = Flow(driver)
        """Chain and batch bookkeeping; only jobs that belong to one pay for it."""
        self._history = HistoryAcks()
        """Acks of runs not batched (``_ack_now``)."""

    async def _ack_now(
        self, res: Reservation, done: JobProcessed, completed: CompletedJob | None = None
    ) -> None:
        kept = [] if completed is None else [completed]
        keep = self.options.keep_completed
        self.acked([done], await self._history.ack(self.driver, [res], kept, keep))

    def acked(self, done: Sequence[JobProcessed], lost: Sequence[str]) -> Sequence[JobProcessed]:
        """Announce the completions the backend accepted; an ack refused because the lease
        was lost (``lost``, ids) is a lost lease, not a success. Return the accepted."""
        if lost:
            refused = set(lost)
            for e in done:
                if e.id in refused:
                    self.events.emit(JobLeaseLost(e.id, e.name, e.queue, e.attempt, "ack"))
            done = [e for e in done if e.id not in refused]
        for event in done:
            self.events.emit(event)
        return done

    async def run(self, res: Reservation) -> Outcome:
        """Run one attempt and store its outcome; never raises for the job's faults."""
        started = time.perf_counter()
        try:
            env = Envelope.decode(res.body)
            env.attempts = res.attempts  # a fresh copy: set in place, not replace()
        except EnvelopeError as exc:
            return await self._poison(res, f"not a gello envelope: {exc}")
        run = _Run(res, env, started, wait_s=self.clock() - env.available_at)
        self.events.emit(JobReserved(env.id, env.name, env.queue, res.attempts, run.wait_s))
        try:
            job_cls = self.registry.get(env.name)
        except UnknownJobError as exc:
            return await self._give_up(run, Failure("UnknownJobError", str(exc)))
        try:
            run.plain = open_payload(env.payload, env.encrypted, self.options.keyring)
        except DecryptionError as exc:
            return await self._give_up(run, Failure("DecryptionError", str(exc)))
        try:
            self._read_payload(run, job_cls)
        except PayloadTooNewError as exc:
            # A newer deploy's message: not this job's fault, and newer workers can run it.
            delay = self.options.newer_payload_delay_s
            return await self._release(run, ReleaseJob(delay, str(exc)))
        except (UpcastError, PayloadValidationError) as exc:
            return await self._give_up(run, Failure(type(exc).__name__, str(exc)))
        job = self._instance(run, job_cls)
        job.progress_sink = run.progress = self._progress_sink(run)
        flow = involved(env)
        timeout = self.timeout_of(env, job_cls)
        try:
            if flow and (skip := await self.flow.skip_reason(env)) is not None:
                get_logger().info("skipped", job=env.name, id=env.id, reason=skip)
                skipped = JobProcessed(env.id, env.name, env.queue, res.attempts, 0.0)
                await self._ack(res, skipped, None)  # it did not run: no history record
                return Outcome.PROCESSED
            async with asyncio.timeout(timeout) as run.deadline:
                await job.before(run.payload)
                layers = job.middleware()
                if layers:
                    await chain(
                        layers, job, run.payload, lambda: self._handle(run, deadline_s=timeout)
                    )()
                else:
                    await self._handle(run, deadline_s=timeout)
                await job.after(run.payload)
            if run.deadline.expired():
                raise TimeoutError  # the handler swallowed its cancellation and went on
            # Before the ack: a job seen completed shows the last progress it reported.
            await self._progress_done(run)
            if run.handled and (keep_s := keeps_result(job_cls, self.options.keep_results_s)):
                # Before the ack: once the job counts as completed, its result is there.
                # (A job a middleware skipped returned nothing: it keeps no result.)
                await self._keep_result(run, job_cls, keep_s)
            if flow:
                # Before the ack: if this worker dies here, the job runs again and repeats it.
                await self.flow.completed(env)
        except ReleaseJob as rel:
            await self._progress_done(run)
            return await self._release(run, rel)
        except FailJob as exc:
            await self._progress_done(run)
            return await self._give_up(
                run, Failure("FailJob", error_message(exc), _trace(exc)), exc
            )
        except BaseException as exc:
            # Whatever the job raised (SystemExit and KeyboardInterrupt included) is this
            # attempt's failure; only a cancellation of this run itself goes through.
            if _ends_the_run(exc):
                if run.progress is not None:
                    run.progress.discard()
                raise
            await self._progress_done(run)
            return await self._retry_or_fail(run, job_cls, self._failure(run, exc, timeout), exc)
        runtime = run.elapsed()
        done = JobProcessed(env.id, env.name, env.queue, res.attempts, runtime)
        await self._ack(res, done, self._completed(run, runtime))
        return Outcome.PROCESSED

    def _completed(self, run: _Run, runtime_s: float) -> CompletedJob | None:
        """The history record of a successful run, or None while history is off."""
        if not self.options.keep_completed:
            return None
        env = run.env
        payload = None
        if self.options.keep_completed_payloads and env.encrypted is None:
            payload = orjson.dumps(env.payload).decode()
        tags = orjson.dumps(env.tags).decode() if env.tags else None
        monitored = bool(self.monitored_tags) and not self.monitored_tags.isdisjoint(env.tags)
        # In field order, not by keyword: keywords cost a named tuple half as much again,
        # once per job, which is history's cost to throughput.
        return CompletedJob(
            env.id,
            env.queue,
            env.name,
            run.res.attempts,
            self.worker_name,
            max(run.wait_s, 0.0),  # wait_s
            runtime_s,
            self.clock(),  # finished_at
            payload,
            tags,
            monitored,
        )

    async def abandon(self, res: Reservation) -> Outcome:
        """Store, as timed out, the outcome of a run that ignored its cancellation (at its
        timeout, or when the worker cancelled it) for ``ABANDON_AFTER_S``: its task is left
        to end on its own, and whatever it stores later is refused (the lease is gone)."""
        env = Envelope.decode(res.body)  # it decoded when the run began
        env.attempts = res.attempts
        job_cls = self.registry.get(env.name)
        timeout = self.timeout_of(env, job_cls)
        run = _Run(res, env, time.perf_counter() - timeout)
        run.plain = open_payload(env.payload, env.encrypted, self.options.keyring)
        self._read_payload(run, job_cls)  # as it was read when the run began
        self._instance(run, job_cls)  # for its ``failed`` hook: the running one is stuck
        message = f"timed out after {timeout:g} s; it ignored its cancellation and was abandoned"
        failure = Failure("TimeoutError", message)
        return await self._retry_or_fail(run, job_cls, failure, TimeoutError(message))

    @staticmethod
    def _read_payload(run: _Run, job_cls: type[Job[Any]]) -> None:
        """Validate the run's payload, upcast first when an older version of the job
        wrote it; the run's envelope then carries it as this version, so a retry or a
        failure stores it upgraded (and a child process gets the upgraded payload).

        Raises:
            PayloadTooNewError, UpcastError, PayloadValidationError: see ``read_payload``.
        """
        env = run.env
        data, run.payload = read_payload(job_cls, env.payload_version, run.plain)
        run.plain = data
        if env.payload_version != job_cls.version and env.encrypted is None:
            # An encrypted payload is never written back in clear: each attempt upcasts
            # the stored one again.
            run.env = env.with_changes(payload=data, payload_version=job_cls.version)

    def timeout_of(self, env: Envelope, job_cls: type[Job[Any]]) -> float:
        """Seconds one attempt of this job may run."""
        return env.timeout or job_cls.timeout or self.options.timeout_s

    def _instance(self, run: _Run, job_cls: type[Job[Any]]) -> Job[Any]:
        env = run.env
        job = run.job = job_cls()
        job.job_id, job.attempt, job.envelope, job.driver = env.id, env.attempts, env, self.driver
        return job

    def _progress_sink(self, run: _Run) -> ProgressThrottle:
        """Where the job's ``progress`` calls go (``run_job`` also records them)."""
        return progress_throttle(self.driver, run.env.id, run.env.name)

    @staticmethod
    async def _progress_done(run: _Run) -> None:
        # What the throttle still holds is written before the attempt's outcome.
        if run.progress is not None:
            await run.progress.close()

    @staticmethod
    def _failure(run: _Run, error: BaseException, timeout: float) -> Failure:
        # Told apart by the deadline, not the type: a TimeoutError of the job's own (an
        # HTTP client's) keeps its message and traceback.
        expired = run.deadline is not None and run.deadline.expired()
        if expired or isinstance(error, HardTimeout):
            return Failure("TimeoutError", f"timed out after {timeout:g} s")
        if isinstance(error, RemoteError):
            return Failure(error.type_name, error.message, error.remote_traceback)
        return Failure(type(error).__name__, error_message(error), _trace(error))

    async def _handle(self, run: _Run, *, deadline_s: float) -> None:
        job, payload = run.job, run.payload
        assert job is not None
        cls = type(job)
        if not cls._sync_handle:
            handle: Callable[[Any], Awaitable[object]] = job.handle
            run.result = await handle(payload)
            run.handled = True
        elif cls.run_in == "process" and self.pool is not None:
            env, deadline = run.env, run.deadline
            loop = asyncio.get_running_loop()
            remaining = deadline_s
            if deadline is not None and (when := deadline.when()) is not None:
                remaining = when - loop.time()
                deadline.reschedule(None)  # waiting for a free or new child is not job time

            def started(_: float) -> None:
                if deadline is not None:
                    deadline.reschedule(loop.time() + remaining)

            keeps = keeps_result(cls, self.options.keep_results_s) > 0
            run.result = _Written(
                await self.pool.run(
                    env.name,
                    env.id,
                    env.attempts,
                    run.plain,
                    remaining,
                    started,
                    self.options.max_result_bytes if keeps else None,
                    run.progress.report if run.progress is not None else None,
                )
            )
            run.handled = True
        else:
            # A plain ``def handle`` must not block the loop: a thread, when not a process.
            blocking: Callable[[Any], object] = job.handle
            run.result = await asyncio.to_thread(blocking, payload)
            run.handled = True

    async def _keep_result(self, run: _Run, job_cls: type[Job[Any]], keep_s: int) -> None:
        written = run.result
        if isinstance(written, _Written):
            assert written.data is not None, "asked of the child when the job keeps results"
            data = written.data
        else:
            data = encode_result(job_cls, written, self.options.max_result_bytes)
        await result_store(self.driver).result_put(run.env.id, data, keep_s)

    async def _release(self, run: _Run, rel: ReleaseJob) -> Outcome:
        # A release is not a failure: give the attempt back.
        res, env = run.res, run.env
        back = env.with_changes(attempts=max(res.attempts - 1, 0), reason=rel.reason)
        if not await self.driver.release(res, back, rel.delay_s):
            return self._lost(res, env.name, "release")
        self.events.emit(
            JobReleased(env.id, env.name, env.queue, res.attempts, rel.delay_s, rel.reason or "")
        )
        return Outcome.RELEASED

    async def _retry_or_fail(
        self, run: _Run, job_cls: type[Job[Any]], failure: Failure, error: BaseException
    ) -> Outcome:
        res, env = run.res, run.env
        max_attempts = env.max_attempts
        if job_cls.tries is None and self.options.tries is not None:
            max_attempts = self.options.tries
        exceptions = env.exceptions + 1
        decision = decide(
            attempt=res.attempts,
            max_attempts=max_attempts,
            backoff=env.backoff if env.backoff is not None else self.options.backoff,
            retry_until=env.retry_until,
            now=self.clock(),
            jitter=random.random(),
            exceptions=exceptions,
            max_exceptions=job_cls.max_exceptions,
        )
        run.env = env = env.with_changes(exceptions=exceptions)
        if isinstance(decision, GiveUp):
            return await self._give_up(run, failure, error, decision.reason)
        reason = f"{failure.exception}: {failure.message}"[:500]
        if not await self.driver.release(res, env.with_changes(reason=reason), decision.delay_s):
            return self._lost(res, env.name, "release")
        self.events.emit(
            JobRetrying(
                env.id,
                env.name,
                env.queue,
                res.attempts,
                decision.delay_s,
                max_attempts,
                reason,
                run.elapsed(),
            )
        )
        return Outcome.RETRYING

    async def _give_up(
        self,
        run: _Run,
        failure: Failure,
        error: BaseException | None = None,
        why: str = "failed permanently",
    ) -> Outcome:
        res, env = run.res, run.env
        if involved(env):
            try:
                await self.flow.failed(env)
            except Exception as exc:  # the failure itself must still be stored
                get_logger().error("flow_error", job=env.name, id=env.id, error=repr(exc))
        # The stored body says why it was given up (not an older release's reason).
        body = env.with_changes(reason=why).encode().decode()
        if not await self.driver.fail(res, body, failure):
            return self._lost(res, env.name, "fail")
        self.events.emit(
            JobFailed(
                env.id,
                env.name,
                env.queue,
                res.attempts,
                why,
                f"{failure.exception}: {failure.message}",
                run.elapsed(),
            )
        )
        if run.job is not None and error is not None:
            try:
                await run.job.failed(run.payload, error)
            except BaseException as hook_error:
                if _ends_the_run(hook_error):
                    raise
                error_text = f"{type(hook_error).__name__}: {error_message(hook_error)}"
                get_logger().error("failed_hook_error", job=env.name, id=env.id, error=error_text)
        return Outcome.FAILED

    async def _poison(self, res: Reservation, message: str) -> Outcome:
        body = res.body
        raw = body if isinstance(body, str) else body.decode("utf-8", "backslashreplace")
        if not await self.driver.fail(res, raw, Failure("EnvelopeError", message)):
            return self._lost(res, "?", "fail")
        self.events.emit(JobFailed(res.id, "?", res.queue, res.attempts, message, message))
        return Outcome.FAILED

    def _lost(self, res: Reservation, name: str, refused: str) -> Outcome:
        self.events.emit(JobLeaseLost(res.id, name, res.queue, res.attempts, refused))
        return Outcome.LOST


def error_message(error: BaseException) -> str:
    """``str(error)``, or what kept it from being read (its ``__str__`` raised)."""
    try:
        return str(error)
    except BaseException as broken:  # a job's exception may do anything in ``__str__``
        return f"({type(error).__name__}.__str__ raised {type(broken).__name__})"


def _trace(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


def _ends_the_run(error: BaseException) -> bool:
    """Whether ``error`` stops this run rather than failing the job: this task being
    cancelled (a stop, a lost lease; not a ``CancelledError`` a job raised by itself), or
    its coroutine being closed."""
    if isinstance(error, GeneratorExit):
        return True
    if not isinstance(error, asyncio.CancelledError):
        return False
    task = asyncio.current_task()
    return task is None or task.cancelling() > 0
