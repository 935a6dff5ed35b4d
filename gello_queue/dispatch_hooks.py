"""Hooks around a ``Queue``'s driver: emit ``JobDispatched``, let tracing stamp envelopes
on push and read them on reserve.

A hooked queue's drivers are wrapped in a thin proxy whose ``push`` runs the layers
(outermost first) around the real one and whose ``reserve`` hands the reservations to
observers; every other call goes straight to the driver. Nothing is wrapped unless
metrics or tracing ask for it.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from gello_queue.core.envelope import Envelope
from gello_queue.events import Events, JobDispatched
from gello_queue.ports import QueueDriver, Reservation
from gello_queue.queue import Queue

PushNext = Callable[[Sequence[Envelope]], Awaitable[list[str]]]
PushLayer = Callable[[Sequence[Envelope], PushNext], Awaitable[list[str]]]
ReserveHook = Callable[[list[Reservation]], None]


class HookedDriver:
    """A driver whose ``push`` runs through ``layers``; everything else is delegated."""

    def __init__(
        self,
        inner: QueueDriver,
        layers: list[PushLayer],
        reserve_hooks: list[ReserveHook] | None = None,
    ) -> None:
        self.inner = inner
        # Shared with the queue's hook lists: hooks added later apply too.
        self.layers = layers
        self.reserve_hooks = reserve_hooks if reserve_hooks is not None else []
        # Bind the delegated methods once: the worker's hot calls then cost what they
        # cost unwrapped (``__getattr__`` stays as the fallback for everything else).
        own = {n for klass in type(self).__mro__[:-1] for n in vars(klass)}
        for name, value in vars(type(inner)).items():
            # Plain methods only: properties may not be readable before ``open``.
            if not name.startswith("_") and name not in own and inspect.isfunction(value):
                setattr(self, name, getattr(inner, name))

        if getattr(inner, "reserve_wait", None) is None:
            self.reserve_wait = None  # type: ignore[assignment]  # the worker then waits, then reserves

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def reserve_wait(
        self,
        queues: Sequence[str],
        limit: int,
        *,
        lease_s: float,
        worker_id: str,
        timeout_s: float,
    ) -> list[Reservation]:
        """The inner driver's idle wait-and-lease, with the reserve observers run too."""
        inner: Any = self.inner
        found: list[Reservation] = await inner.reserve_wait(
            queues, limit, lease_s=lease_s, worker_id=worker_id, timeout_s=timeout_s
        )
        if found:
            for hook in self.reserve_hooks:
                hook(found)
        return found

    async def push(self, envelopes: Sequence[Envelope]) -> list[str]:
        call: PushNext = self.inner.push
        for layer in reversed(self.layers):
            call = _bind(layer, call)
        return await call(envelopes)

    async def reserve(
        self, queues: Sequence[str], limit: int, *, lease_s: float, worker_id: str
    ) -> list[Reservation]:
        found = await self.inner.reserve(queues, limit, lease_s=lease_s, worker_id=worker_id)
        if found:
            for hook in self.reserve_hooks:
                hook(found)
        return found


def _bind(layer: PushLayer, call_next: PushNext) -> PushNext:
    async def run(envelopes: Sequence[Envelope]) -> list[str]:
        return await layer(envelopes, call_next)

    return run


def _hooks(queue: Queue) -> tuple[list[PushLayer], list[ReserveHook]]:
    found: tuple[list[PushLayer], list[ReserveHook]] | None = getattr(queue, "_gello_hooks", None)
    if found is None:
        layers: list[PushLayer] = []
        reserve: list[ReserveHook] = []
        found = (layers, reserve)
        queue._gello_hooks = found  # type: ignore[attr-defined]
        # Queue builds one driver per event loop through its factory: wrap both.
        factory = queue._factory
        queue._factory = lambda: cast(QueueDriver, HookedDriver(factory(), layers, reserve))
        for loop, driver in list(queue._drivers.items()):
            queue._drivers[loop] = cast(QueueDriver, HookedDriver(driver, layers, reserve))
    return found


def add_push_layer(queue: Queue, layer: PushLayer) -> None:
    """Run ``layer`` around every push of ``queue`` (drivers opened before and after)."""
    layers = _hooks(queue)[0]
    if layer not in layers:
        layers.append(layer)


def add_reserve_hook(queue: Queue, hook: ReserveHook) -> None:
    """Call ``hook`` with every non-empty batch of reservations ``queue`` hands out."""
    hooks = _hooks(queue)[1]
    if hook not in hooks:
        hooks.append(hook)


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
