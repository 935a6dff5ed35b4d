"""What a ``Queue`` runs around the jobs it stores: ``JobDispatched`` events and push
layers (trace stamping), plus observers of what its workers reserve.

The queue runs its hooks itself on every push it makes (``dispatch``, ``bulk``, batches,
chains), against the bare driver. Code that is handed the queue's driver and pushes on
its own (a worker pushing a chain's next link or a batch's callbacks, a job adding to
its batch, the scheduler) gets a ``HookedDriver`` view once anything is hooked, so its
pushes run the same hooks. While nothing is hooked, nothing is wrapped and a dispatch
pays one truthiness test.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from gello_queue.core.envelope import Envelope
from gello_queue.events import Events, JobDispatched
from gello_queue.ports import (
    PORTS,
    BatchRecord,
    JobHistory,
    OpsEvent,
    Progress,
    QueueDriver,
    Reservation,
    ReserveWait,
    RestartWatch,
    TimingCount,
    event_log,
    port_methods,
    progress_store,
    result_store,
    timing_stats,
    wait_once_for_result,
)

if TYPE_CHECKING:
    from gello_queue.queue import Queue

PushNext = Callable[[Sequence[Envelope]], Awaitable[list[str]]]
PushLayer = Callable[[Sequence[Envelope], PushNext], Awaitable[list[str]]]
ReserveHook = Callable[[list[Reservation]], None]


class DispatchHooks:
    """A queue's hooks. The lists are shared with its driver views: hooks added later
    apply to drivers opened before."""

    def __init__(
        self,
        layers: list[PushLayer] | None = None,
        reserve: list[ReserveHook] | None = None,
        events: Events | None = None,
    ) -> None:
        self.layers = layers if layers is not None else []
        self.reserve = reserve if reserve is not None else []
        self.events = events if events is not None else Events()

    def on_push(self) -> bool:
        """Whether a push has anything to run besides the store itself."""
        return bool(self.layers or self.events.listeners)

    def __bool__(self) -> bool:
        return bool(self.layers or self.reserve or self.events.listeners)

    async def push(self, envelopes: Sequence[Envelope], store: PushNext) -> list[str]:
        """Run the layers (outermost first) around ``store``, then emit ``JobDispatched``
        for each job stored (not for one a unique key folded into an existing job)."""
        if not envelopes:
            return await store(envelopes)
        call = store
        for layer in reversed(self.layers):
            call = _bind(layer, call)
        ids = await call(envelopes)
        events = self.events
        if events.listeners:
            for env, stored in zip(envelopes, ids, strict=False):
                if stored == env.id:
                    delay = max(env.available_at - env.created_at, 0.0)
                    events.emit(JobDispatched(env.id, env.name, env.queue, env.attempts, delay))
        return ids


def _bind(layer: PushLayer, call_next: PushNext) -> PushNext:
    async def run(envelopes: Sequence[Envelope]) -> list[str]:
        return await layer(envelopes, call_next)

    return run


class HookedDriver:
    """A driver whose ``push`` and ``batch_push`` run through the hooks and whose
    reservations reach the reserve observers; every other operation of the ports is the
    inner driver's own."""

    def __init__(
        self,
        inner: QueueDriver,
        layers: list[PushLayer],
        reserve_hooks: list[ReserveHook] | None = None,
        *,
        events: Events | None = None,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.hooks = DispatchHooks(layers, reserve_hooks, events)
        # The ports' other operations, bound once: the worker's hot calls then cost what
        # they cost unwrapped. A subclass's own overrides stay its own.
        own = {n for klass in type(self).__mro__[:-1] for n in vars(klass)}
        for name in _FORWARDED:
            if name not in own:
                setattr(self, name, getattr(inner, name))
        # The optional JobHistory port passes through exactly when the inner driver has it
        # (a worker records history only on a driver that keeps it).
        if isinstance(inner, JobHistory):
            for name in _HISTORY:
                setattr(self, name, getattr(inner, name))

    @property
    def capabilities(self) -> frozenset[str]:
        return self.inner.capabilities

    @classmethod
    def of(cls, inner: QueueDriver, hooks: DispatchHooks) -> HookedDriver:
        """A view of ``inner`` that runs ``hooks`` (shared, not copied), offering the
        optional ``ReserveWait`` port exactly when ``inner`` does."""
        view = _HookedWaiting if isinstance(inner, ReserveWait) else cls
        return view(inner, hooks.layers, hooks.reserve, events=hooks.events)

    async def push(self, envelopes: Sequence[Envelope]) -> list[str]:
        return await self.hooks.push(envelopes, self.inner.push)

    async def batch_push(self, record: BatchRecord, envelopes: Sequence[Envelope]) -> list[str]:
        return await self.hooks.push(envelopes, partial(self.inner.batch_push, record))

    async def reserve(
        self, queues: Sequence[str], limit: int, *, lease_s: float, worker_id: str
    ) -> list[Reservation]:
        found = await self.inner.reserve(queues, limit, lease_s=lease_s, worker_id=worker_id)
        self._observe(found)
        return found

    def _observe(self, found: list[Reservation]) -> None:
        if found:
            for hook in self.hooks.reserve:
                hook(found)

    async def result_put(self, job_id: str, data: str, ttl_s: float) -> None:
        await result_store(self.inner).result_put(job_id, data, ttl_s)

    async def result_get(self, job_id: str) -> str | None:
        return await result_store(self.inner).result_get(job_id)

    async def result_wait(self, job_id: str, timeout_s: float) -> str | None:
        return await wait_once_for_result(self.inner, job_id, timeout_s)

    async def progress_put(self, job_id: str, progress: Progress, ttl_s: float) -> None:
        await progress_store(self.inner).progress_put(job_id, progress, ttl_s)

    async def progress_get(self, job_ids: Sequence[str]) -> dict[str, Progress]:
        return await progress_store(self.inner).progress_get(job_ids)

    async def record_timings(self, counts: Sequence[TimingCount]) -> None:
        await timing_stats(self.inner).record_timings(counts)

    async def timings(self, since: float) -> list[TimingCount]:
        return await timing_stats(self.inner).timings(since)

    async def events_add(self, events: Sequence[OpsEvent]) -> None:
        await event_log(self.inner).events_add(events)

    async def events_recent(self, *, limit: int = 50, since: float = 0.0) -> list[OpsEvent]:
        return await event_log(self.inner).events_recent(limit=limit, since=since)

    async def server_restarts(self) -> dict[str, Any] | None:
        inner = self.inner
        return await inner.server_restarts() if isinstance(inner, RestartWatch) else None


_FORWARDED = port_methods(*PORTS)
_HISTORY = port_methods(JobHistory)


class _HookedWaiting(HookedDriver):
    """The view of a driver that waits and leases in one call."""

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
        inner = self.inner
        assert isinstance(inner, ReserveWait)
        found = await inner.reserve_wait(
            queues, limit, lease_s=lease_s, worker_id=worker_id, timeout_s=timeout_s
        )
        self._observe(found)
        return found


def add_push_layer(queue: Queue, layer: PushLayer) -> None:
    """Run ``layer`` around every push of ``queue`` (drivers opened before and after)."""
    if layer not in queue.hooks.layers:
        queue.hooks.layers.append(layer)


def add_reserve_hook(queue: Queue, hook: ReserveHook) -> None:
    """Call ``hook`` with every non-empty batch of reservations ``queue``'s workers take
    (workers started after this call)."""
    if hook not in queue.hooks.reserve:
        queue.hooks.reserve.append(hook)


def emit_dispatches(queue: Queue, events: Events) -> None:
    """Forward ``queue``'s ``JobDispatched`` events to ``events`` (once per pair)."""
    if events is not queue.events and events.emit not in queue.events.listeners:
        queue.events.subscribe(events.emit)
