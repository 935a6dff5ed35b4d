"""Run one reserved job to its outcome: processed, released, retrying or failed.

Everything that can go wrong with one job ends here as a state change on that job; a bad
message (not an envelope, unknown name, invalid payload) goes to the failed store with a
reason that says what was wrong, and the worker goes on.
"""

from __future__ import annotations

import asyncio
import random
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import EnvelopeError, FailJob, ReleaseJob, UnknownJobError
from gello_queue.core.job import Job, describe
from gello_queue.core.registry import JobRegistry
from gello_queue.core.retry import GiveUp, decide
from gello_queue.observability import get_logger
from gello_queue.ports import Failure, QueueDriver, Reservation


class Outcome(StrEnum):
    """How one attempt ended, as counted in a worker's status."""

    PROCESSED = "processed"
    RELEASED = "released"
    RETRYING = "retrying"
    FAILED = "failed"
    LOST = "lost"
    """The lease was lost before the outcome could be stored (the job was rescued)."""


@dataclass(frozen=True, slots=True)
class ExecutorOptions:
    """Worker-wide defaults for jobs that declare none."""

    timeout_s: float = 60.0
    backoff: Any = 60.0
    tries: int | None = None
    """``--tries``: overrides the stored attempts limit of jobs whose class sets none."""


class Executor:
    """Runs reservations of one driver against one registry."""

    def __init__(
        self,
        driver: QueueDriver,
        registry: JobRegistry,
        options: ExecutorOptions,
        *,
        ack: Callable[[Reservation], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.driver = driver
        self.registry = registry
        self.options = options
        self.clock = clock
        self._ack = ack or self._ack_now
        self.log = get_logger()

    async def _ack_now(self, res: Reservation) -> None:
        await self.driver.ack([res])

    async def run(self, res: Reservation) -> Outcome:
        """Run one attempt and store its outcome; never raises for the job's faults."""
        try:
            env = Envelope.decode(res.body).with_changes(attempts=res.attempts)
        except EnvelopeError as exc:
            return await self._poison(res, "EnvelopeError", f"not a gello envelope: {exc}")
        try:
            job_cls = self.registry.get(env.name)
        except UnknownJobError as exc:
            return await self._give_up(res, env, None, Failure("UnknownJobError", str(exc)))
        try:
            payload = job_cls.payload_model.model_validate(env.payload)
        except ValidationError as exc:
            failure = Failure("PayloadValidationError", f"payload is invalid: {describe(exc)}")
            return await self._give_up(res, env, None, failure)
        job = job_cls()
        job.job_id, job.attempt, job.envelope = env.id, res.attempts, env
        timeout = env.timeout or job_cls.timeout or self.options.timeout_s
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                await job.before(payload)
                if job_cls._sync_handle:
                    # A plain ``def handle`` runs in a thread so it cannot block the loop.
                    blocking: Callable[[Any], object] = job.handle
                    await asyncio.to_thread(blocking, payload)
                else:
                    await job.handle(payload)
                await job.after(payload)
        except ReleaseJob as rel:
            return await self._release(res, env, rel)
        except FailJob as exc:
            failure = Failure("FailJob", str(exc), traceback.format_exc())
            return await self._give_up(res, env, (job, payload, exc), failure)
        except TimeoutError as exc:
            failure = Failure("TimeoutError", f"timed out after {timeout:g} s")
            return await self._retry_or_fail(res, env, job_cls, (job, payload, exc), failure)
        except Exception as exc:
            failure = Failure(type(exc).__name__, str(exc), traceback.format_exc())
            return await self._retry_or_fail(res, env, job_cls, (job, payload, exc), failure)
        await self._ack(res)
        self.log.info(
            "processed",
            job=env.name,
            id=env.id,
            queue=env.queue,
            attempt=res.attempts,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return Outcome.PROCESSED

    async def _release(self, res: Reservation, env: Envelope, rel: ReleaseJob) -> Outcome:
        # A release is not a failure: give the attempt back.
        back = env.with_changes(attempts=max(res.attempts - 1, 0), reason=rel.reason)
        if not await self.driver.release(res, back, rel.delay_s):
            return self._lost(env)
        self.log.info(
            "released", job=env.name, id=env.id, delay_s=rel.delay_s, reason=rel.reason or ""
        )
        return Outcome.RELEASED

    async def _retry_or_fail(
        self,
        res: Reservation,
        env: Envelope,
        job_cls: type[Job[Any]],
        context: tuple[Job[Any], Any, BaseException],
        failure: Failure,
    ) -> Outcome:
        max_attempts = env.max_attempts
        if job_cls.tries is None and self.options.tries is not None:
            max_attempts = self.options.tries
        decision = decide(
            attempt=res.attempts,
            max_attempts=max_attempts,
            backoff=env.backoff if env.backoff is not None else self.options.backoff,
            retry_until=env.retry_until,
            now=self.clock(),
            jitter=random.random(),
        )
        if isinstance(decision, GiveUp):
            return await self._give_up(res, env, context, failure, decision.reason)
        reason = f"{failure.exception}: {failure.message}"
        back = env.with_changes(reason=reason[:500])
        if not await self.driver.release(res, back, decision.delay_s):
            return self._lost(env)
        self.log.warning(
            "retrying",
            job=env.name,
            id=env.id,
            attempt=res.attempts,
            of=max_attempts,
            delay_s=round(decision.delay_s, 3),
            error=reason,
        )
        return Outcome.RETRYING

    async def _give_up(
        self,
        res: Reservation,
        env: Envelope,
        context: tuple[Job[Any], Any, BaseException] | None,
        failure: Failure,
        why: str = "failed permanently",
    ) -> Outcome:
        if not await self.driver.fail(res, env.encode().decode(), failure):
            return self._lost(env)
        self.log.error(
            "failed",
            job=env.name,
            id=env.id,
            queue=env.queue,
            attempt=res.attempts,
            reason=why,
            error=f"{failure.exception}: {failure.message}",
        )
        if context is not None:
            job, payload, error = context
            try:
                await job.failed(payload, error)
            except Exception as hook_error:
                self.log.error("failed_hook_error", job=env.name, id=env.id, error=repr(hook_error))
        return Outcome.FAILED

    async def _poison(self, res: Reservation, kind: str, message: str) -> Outcome:
        raw = (
            res.body if isinstance(res.body, str) else res.body.decode("utf-8", "backslashreplace")
        )
        if not await self.driver.fail(res, raw, Failure(kind, message)):
            return Outcome.LOST
        self.log.error("failed", id=res.id, queue=res.queue, reason=message)
        return Outcome.FAILED

    def _lost(self, env: Envelope) -> Outcome:
        self.log.warning("lease_lost", job=env.name, id=env.id)
        return Outcome.LOST
