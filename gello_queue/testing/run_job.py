"""Run one job's ``handle`` (with its ``before``, middleware and ``after``) outside a
worker, and assert what it did with itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from gello_queue.core.errors import FailJob, ReleaseJob
from gello_queue.core.job import Delay, Job, JobDefaults, seconds
from gello_queue.core.pipeline import chain

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
