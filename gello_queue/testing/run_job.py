"""Run one attempt of a job through the worker's executor, outside a worker, and assert
what it did with itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from cryptography.fernet import Fernet

from gello_queue.core.encryption import Keyring
from gello_queue.core.errors import FailJob
from gello_queue.core.job import Delay, Job, JobDefaults, seconds
from gello_queue.core.progress import ProgressThrottle
from gello_queue.core.records import Failure
from gello_queue.core.registry import JobRegistry
from gello_queue.drivers.memory import MemoryDriver
from gello_queue.events import Events, JobReleased
from gello_queue.worker.executor import Executor, ExecutorOptions
from gello_queue.worker.executor import Outcome as ExecutorOutcome
from gello_queue.worker.progress import progress_throttle

Outcome = Literal["completed", "released", "failed", "raised"]
"""How a direct run ended."""


@dataclass(slots=True)
class JobRun:
    """What one direct run of a job did; returned by ``run_job``."""

    job: Job[Any]
    outcome: Outcome
    release_delay_s: float | None = None
    release_reason: str | None = None
    fail_reason: str | None = None
    error: BaseException | None = None
    result: Any = None
    """What ``handle`` returned, as it returned it (None unless it completed)."""
    progress: list[tuple[float, str | None]] = field(default_factory=list)
    """Every ``(fraction, message)`` the job reported with ``progress``, in order (all of
    them: the worker's throttle decides only what is written)."""

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
    """Run one attempt of ``job`` through the worker's own executor, in-process.

    It is the pipeline a worker runs (payload validation, ``before``, middleware,
    ``handle`` with its timeout, ``after``, the ``failed`` hook on a last attempt), on a
    private in-memory connection that nothing else sees. ``release``, ``fail`` and
    exceptions are reported in the returned ``JobRun``, what ``handle`` returned is its
    ``result`` and the values it reported with ``progress`` its ``progress``. Jobs it
    dispatches go to the default queue (a fake one inside ``fake()``).
    """
    pending = job.make(payload, **fields)
    if queue is not None:
        pending = pending.on_queue(queue)
    # A key of its own: an encrypted job is sealed and opened as a worker would.
    keyring = Keyring(Fernet.generate_key().decode())
    env = pending.to_envelope(JobDefaults(keyring=keyring), time.time())
    registry = JobRegistry()
    registry.register(job)
    released: list[JobReleased] = []
    driver = MemoryDriver()
    executor = _Observed(
        driver, registry, ExecutorOptions(keyring=keyring), events=Events([_keep(released)])
    )
    executor.reported = []
    # Stored one attempt short: the reserve counts this one, as a worker's would.
    await driver.push([env.with_changes(attempts=max(attempt - 1, 0))])
    [res] = await driver.reserve([env.queue], 1, lease_s=3600, worker_id="run_job")
    outcome = await executor.run(res)
    instance = executor.job
    assert instance is not None, "the payload was validated when the job was made"
    reported = executor.reported
    if outcome is ExecutorOutcome.RELEASED:
        rel = released[-1]
        return JobRun(
            instance,
            "released",
            release_delay_s=rel.delay_s,
            release_reason=rel.reason,
            progress=reported,
        )
    error = executor.error
    if isinstance(error, FailJob):
        return JobRun(instance, "failed", fail_reason=str(error), progress=reported)
    if error is not None:
        return JobRun(instance, "raised", error=error, progress=reported)
    return JobRun(instance, "completed", result=executor.result, progress=reported)


class _Observed(Executor):
    """The worker's executor, keeping what a test asserts on: the job it made and the
    exception the attempt ended with."""

    job: Job[Any] | None = None
    error: BaseException | None = None
    result: Any = None
    reported: list[tuple[float, str | None]]
    """Every progress value the job reported (set by ``run_job``)."""

    def _progress_sink(self, run: Any) -> ProgressThrottle:
        env = run.env
        return progress_throttle(
            self.driver, env.id, env.name, lambda f, m: self.reported.append((f, m))
        )

    async def _handle(self, run: Any, *, deadline_s: float) -> None:
        await super()._handle(run, deadline_s=deadline_s)
        self.result = run.result

    def _instance(self, run: Any, job_cls: type[Job[Any]]) -> Job[Any]:
        self.job = super()._instance(run, job_cls)
        return self.job

    async def _retry_or_fail(
        self, run: Any, job_cls: type[Job[Any]], failure: Failure, error: BaseException
    ) -> ExecutorOutcome:
        self.error = error
        return await super()._retry_or_fail(run, job_cls, failure, error)

    async def _give_up(
        self,
        run: Any,
        failure: Failure,
        error: BaseException | None = None,
        why: str = "failed permanently",
    ) -> ExecutorOutcome:
        if self.error is None:
            self.error = error
        return await super()._give_up(run, failure, error, why)


def _keep(released: list[JobReleased]) -> Callable[[object], None]:
    def listen(event: object) -> None:
        if isinstance(event, JobReleased):
            released.append(event)

    return listen


def run_job_blocking(
    job: type[Job[Any]], payload: Any = None, /, *, attempt: int = 1, **fields: Any
) -> JobRun:
    """Blocking twin of ``run_job`` for tests without an event loop."""
    return asyncio.run(run_job(job, payload, attempt=attempt, **fields))
