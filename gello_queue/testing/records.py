"""What a ``FakeQueue`` records (``PushedJob``, ``PushedChain``), and how its assertion
messages describe what was pushed, batched or chained instead."""

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


def describe_batch(batch: Batch) -> str:
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


def step_matches(expected: ChainItem, step: Step) -> bool:
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


def describe_expected(item: ChainItem) -> str:
    if isinstance(item, PendingDispatch):
        return _step(item)
    if isinstance(item, str):
        return item
    if isinstance(item, type) and issubclass(item, Batch):
        return "a batch"
    if isinstance(item, type) and issubclass(item, Job):
        return item.name
    return "a step matching the condition"


def pushed_instead(verb: str, lines: Sequence[str]) -> str:
    if not lines:
        return f"Nothing was {verb}."
    shown = [f"  - {line}" for line in lines[:SHOWN]]
    if len(lines) > SHOWN:
        shown.append(f"  ... and {len(lines) - SHOWN} more")
    return f"{verb.capitalize()} instead ({len(lines)}):\n" + "\n".join(shown)


def job_name(job: JobRef) -> str:
    return job if isinstance(job, str) else job.name


def predicate_on(where: Callable[..., bool]) -> Callable[[PushedJob], bool]:
    try:
        two = len(inspect.signature(where).parameters) >= 2
    except (TypeError, ValueError):
        two = False
    if two:
        return lambda p: bool(where(p.payload, p))
    return lambda p: bool(where(p.payload))
