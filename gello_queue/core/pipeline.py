"""The job middleware pipeline: the ``Middleware`` protocol and ``chain``, which wraps
``handle`` in a job's middleware, as Laravel's job middleware does.

The middleware that ships with gello is in ``gello_queue.middleware``, which also
re-exports ``Middleware`` and ``CallNext`` for users writing their own. A middleware
gets the job, its payload and ``call_next``; it may run code around the call,
skip it, or raise ``ReleaseJob`` to put the job back without using an attempt.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from gello_queue.core.job import Job

CallNext = Callable[[], Awaitable[None]]


@runtime_checkable
class Middleware(Protocol):
    """Wraps one attempt of a job."""

    async def handle(self, job: Job[Any], payload: Any, call_next: CallNext) -> None:
        """Run ``await call_next()`` to continue, or return/raise to stop here."""


def chain(
    middleware: Sequence[Middleware], job: Job[Any], payload: Any, last: CallNext
) -> CallNext:
    """Compose ``middleware`` around ``last``: the first in the list runs outermost."""
    call = last
    for layer in reversed(middleware):
        call = _bind(layer, job, payload, call)
    return call


def _bind(layer: Middleware, job: Job[Any], payload: Any, call_next: CallNext) -> CallNext:
    async def run() -> None:
        await layer.handle(job, payload, call_next)

    return run
