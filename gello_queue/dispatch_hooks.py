"""Hooks around a ``Queue``'s pushes: emit ``JobDispatched`` and let tracing stamp envelopes.

A hooked queue's drivers are wrapped in a thin proxy whose ``push`` runs the layers
(outermost first) around the real one; every other call goes straight to the driver.
Nothing is wrapped unless metrics or tracing ask for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from gello_queue.core.envelope import Envelope
from gello_queue.events import Events, JobDispatched
from gello_queue.ports import QueueDriver
from gello_queue.queue import Queue

PushNext = Callable[[Sequence[Envelope]], Awaitable[list[str]]]
PushLayer = Callable[[Sequence[Envelope], PushNext], Awaitable[list[str]]]


class HookedDriver:
    """A driver whose ``push`` runs through ``layers``; everything else is delegated."""

    def __init__(self, inner: QueueDriver, layers: list[PushLayer]) -> None:
        self.inner = inner
        self.layers = layers  # shared with the queue's hook list: later layers apply too

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def push(self, envelopes: Sequence[Envelope]) -> list[str]:
        call: PushNext = self.inner.push
        for layer in reversed(self.layers):
            call = _bind(layer, call)
        return await call(envelopes)


def _bind(layer: PushLayer, call_next: PushNext) -> PushNext:
    async def run(envelopes: Sequence[Envelope]) -> list[str]:
        return await layer(envelopes, call_next)

    return run


def add_push_layer(queue: Queue, layer: PushLayer) -> None:
    """Run ``layer`` around every push of ``queue`` (drivers opened before and after)."""
    layers: list[PushLayer] | None = getattr(queue, "_gello_push_layers", None)
    if layers is None:
        layers = []
        queue._gello_push_layers = layers  # type: ignore[attr-defined]
        # Queue builds one driver per event loop through its factory: wrap both.
        factory = queue._factory
        queue._factory = lambda: cast(QueueDriver, HookedDriver(factory(), layers))
        for loop, driver in list(queue._drivers.items()):
            queue._drivers[loop] = cast(QueueDriver, HookedDriver(driver, layers))
    if layer not in layers:
        layers.append(layer)


def emit_dispatches(queue: Queue, events: Events) -> None:
    """Emit ``JobDispatched`` on ``events`` for every job ``queue`` stores (not for a
    push that a unique key folded into an existing job)."""

    async def layer(envelopes: Sequence[Envelope], call_next: PushNext) -> list[str]:
        ids = await call_next(envelopes)
        for env, stored in zip(envelopes, ids, strict=False):
            if stored == env.id:
                delay = max(env.available_at - env.created_at, 0.0)
                events.emit(JobDispatched(env.id, env.name, env.queue, env.attempts, delay))
        return ids

    add_push_layer(queue, layer)
