"""What a ``FakeQueue`` recorded, and the assertions on it, with messages that list what
was pushed, batched or chained instead."""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from pydantic import BaseModel

from gello_queue.core.envelope import Envelope
from gello_queue.core.job import Job, PendingDispatch
from gello_queue.orchestration.batch import Batch
from gello_queue.orchestration.chain import Chain

JobRef = type[Job[Any]] | str
"""A job class, or its registered name."""
Where = Callable[..., bool] | int | None
"""A predicate on the payload (or on payload and ``PushedJob``), or an exact count."""

Step = PendingDispatch | Batch
"""One step of a chain: a job or a batch."""
ChainItem = type[Job[Any]] | str | PendingDispatch | type[Batch] | Callable[[Step], bool]
"""What ``assert_chained`` expects at one step: a job class or name (any payload), a
``Job.make(...)`` (that class and payload), ``Batch`` (any batch), or a predicate."""

SHOWN = 10
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


def jobs_in(items: Iterable[Step | Chain | None]) -> Iterator[type[Job[Any]]]:
    """Every job class in batches, chains and their callbacks."""
    for item in items:
        if isinstance(item, PendingDispatch):
            yield item.job
        elif isinstance(item, Chain):
            yield from jobs_in([*item.jobs, item.catch])
        elif isinstance(item, Batch):
            callbacks = [p for group in item.callbacks().values() for p in group]
            yield from jobs_in([*item.jobs, *callbacks])


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
    shown = [f"  - {line}" for line in lines[:SHOWN]]
    if len(lines) > SHOWN:
        shown.append(f"  ... and {len(lines) - SHOWN} more")
    return f"{verb.capitalize()} instead ({len(lines)}):\n" + "\n".join(shown)


def job_name(job: JobRef) -> str:
    return job if isinstance(job, str) else job.name


def _predicate(where: Callable[..., bool]) -> Callable[[PushedJob], bool]:
    try:
        two = len(inspect.signature(where).parameters) >= 2
    except (TypeError, ValueError):
        two = False
    if two:
        return lambda p: bool(where(p.payload, p))
    return lambda p: bool(where(p.payload))


class PushedAssertions:
    """Reading and asserting on the dispatches a ``FakeQueue`` recorded."""

    pushed_jobs: list[PushedJob]
    batches: list[Batch]
    chains: list[PushedChain]

    # -- reading ---------------------------------------------------------------------
    def pushed(
        self, job: JobRef | None = None, where: Callable[..., bool] | None = None
    ) -> list[PushedJob]:
        """Recorded dispatches (of ``job``, matching ``where``), in dispatch order."""
        found = [p for p in self.pushed_jobs if job is None or p.name == job_name(job)]
        if where is not None:
            check = _predicate(where)
            found = [p for p in found if check(p)]
        return found

    def batched(self, where: Callable[[Batch], bool] | None = None) -> list[Batch]:
        """Recorded batches (matching ``where``), in dispatch order."""
        return [b for b in self.batches if where is None or where(b)]

    def _instead(self, job: JobRef | None = None) -> str:
        listing = _instead("pushed", [p.describe() for p in self.pushed_jobs])
        return listing + ("" if job is None else self._elsewhere(job_name(job)))

    def _elsewhere(self, name: str) -> str:
        """Where a job that was not pushed was batched or chained instead."""
        found = [
            f"batched in {_describe_batch(b)}"
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
            if len(c.steps) == len(steps) and all(map(_step_matches, steps, c.steps)):
                return
        wanted = " -> ".join(_expected(s) for s in steps)
        raise AssertionError(f"No chain {wanted} was dispatched. {self._chained_instead()}")
