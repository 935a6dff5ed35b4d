"""What a worker grows from its settings: metrics, health probes, tracing, retention.

The implementations live above the worker (they read settings, serve HTTP, import
prometheus_client and OpenTelemetry); the worker knows only this protocol and the
function that makes its defaults, which ``gello_queue.extensions`` provides when the
package loads. So a worker started from Python gets exactly what ``gello queue:work``
gets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Protocol

from gello_queue.core.states import WorkerState
from gello_queue.events import WorkerEvent

if TYPE_CHECKING:
    from gello_queue.worker.runtime import Worker


class WorkerExtension(Protocol):
    """One concern added to a worker: it attaches before the worker starts (listening to
    its lifecycle events: work once ``WorkerEvent.started``, cancel when the state is
    ``WorkerState.STOPPED``)."""

    def attach(self, worker: Worker) -> Callable[[], None] | None:
        """Hook into ``worker``; return what to call once it has stopped (a server to
        close), if anything."""


Defaults = Callable[["Worker"], list[WorkerExtension]]

_defaults: Defaults | None = None


def provide_defaults(factory: Defaults) -> None:
    """Name the function that lists a worker's extensions from its settings."""
    global _defaults
    _defaults = factory


def defaults_for(worker: Worker) -> list[WorkerExtension]:
    """The extensions the settings ask for (none until a provider is named)."""
    return [] if _defaults is None else _defaults(worker)


def attach_all(worker: Worker, extensions: Sequence[WorkerExtension]) -> list[Callable[[], None]]:
    """Attach ``extensions`` to ``worker`` in order; return what to call once it stopped.
    If one fails to attach, those already attached are stopped, last first."""
    stops: list[Callable[[], None]] = []
    try:
        for extension in extensions:
            stop = extension.attach(worker)
            if stop is not None:
                stops.append(stop)
    except BaseException:
        for stop in reversed(stops):
            stop()
        raise
    return stops


def while_running(worker: Worker, run: Callable[[], Coroutine[object, object, None]]) -> None:
    """Run ``run()`` as a task from the moment ``worker`` has started, and cancel it once
    it has stopped (retention and alerts, which work in the background of a worker)."""
    task: asyncio.Task[None] | None = None

    def lifecycle(event: object) -> None:
        nonlocal task
        if not isinstance(event, WorkerEvent):
            return
        if event.started and task is None:
            task = asyncio.get_running_loop().create_task(run())
        elif event.state is WorkerState.STOPPED and task is not None:
            task.cancel()
            task = None

    worker.events.subscribe(lifecycle)
