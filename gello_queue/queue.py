"""The dispatch facade: a connection to one backend, usable from async and sync code.

Drivers hold loop-bound clients (asyncpg pools, redis connections), so a ``Queue``
opens one driver per event loop that uses it. Blocking twins (``<name>_blocking``) run
on the process's one background loop (``portal``), whatever the number of calling
threads, so a threaded web server holds one driver and one pool, not one per thread. A
forked child forgets the drivers it inherited and opens its own.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeVar, cast

from gello_queue.awaiting import wait_for_result
from gello_queue.core.dispatcher import provide_default
from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import (
    ConfigurationError,
    GelloError,
)
from gello_queue.core.job import Delay, Job, JobDefaults, PendingDispatch, seconds
from gello_queue.core.registry import JobRegistry, default_registry
from gello_queue.core.unique import DispatchResult
from gello_queue.dispatch_hooks import DispatchHooks, HookedDriver, PushNext
from gello_queue.drivers import DriverFactory, Pool, factory_from_url
from gello_queue.job_status import JobStatus, job_status
from gello_queue.observability import redact_url
from gello_queue.orchestration.batch import Batch, Prepared, store_batch
from gello_queue.orchestration.chain import Chain
from gello_queue.portal import keep_unused, portal, run_on, use_portal
from gello_queue.ports import BatchRecord, Capability, QueueDriver, require
from gello_queue.settings import Settings, load_settings

T = TypeVar("T")
JobOrMade = type[Job[Any]] | PendingDispatch
"""What ``push``, ``push_on`` and ``later`` take: a job class (with its payload), or a
job already made with ``Job.make(...)``, as Laravel code passes ``new SendWelcomeEmail(...)``."""


"""The backoff of ``Queue.result``'s polls: the first pause, and the longest."""


class Queue:
    """A connection to a queue backend: dispatch jobs, and give workers a driver.

    Args:
        url: ``memory://``, ``sync://``, ``sqlite:///gello.db``, ``postgresql://…``,
            ``redis://…``; defaults to what the settings describe.
        settings: defaults for queue, tries, payload cap (read from the environment
            when omitted).
        registry: where job names are resolved (for workers and the sync driver).

    ``events`` receives a ``JobDispatched`` for every job stored through the queue: the
    ones it dispatches (batch members and chain links included) and, for listeners
    subscribed before a worker starts, the ones that worker pushes (next links, batch
    callbacks).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        settings: Settings | None = None,
        registry: JobRegistry | None = None,
        factory: DriverFactory | None = None,
    ) -> None:
        try:
            self.settings = s = settings or load_settings()
            self.url = url or s.connection_url()
            self.registry = registry or default_registry
            pool = Pool(s.queue_pool_min, s.queue_pool_max, s.queue_pool_timeout)
            self._factory = factory or _factory_for(self.url, s, self.registry, pool)
        except ConfigurationError as exc:
            # A script's wrong setting or URL reads as its own line and one error line,
            # not gello's frames down to the settings loader.
            raise exc.with_traceback(None) from None
        self.defaults = JobDefaults(
            queue=s.queue_default,
            tries=s.queue_max_tries,
            max_payload_bytes=s.queue_max_payload_bytes,
            keyring=s.keyring(),
            encrypt_all=s.queue_encrypt_all,
        )
        self._drivers: dict[asyncio.AbstractEventLoop, QueueDriver] = {}
        self._views: dict[asyncio.AbstractEventLoop, QueueDriver] = {}
        self._opening: dict[asyncio.AbstractEventLoop, asyncio.Task[QueueDriver]] = {}
        self.hooks = DispatchHooks()
        self.events = self.hooks.events
        # The two lists a push checks, held directly: the plain dispatch stays as cheap.
        self._push_hooked = (self.hooks.layers, self.events.listeners)
        self._lock = threading.Lock()
        use_portal(self)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Queue:
        """A ``Queue`` on ``url``; see the class docstring."""
        return cls(url, **kwargs)

    def __repr__(self) -> str:
        return f"Queue({redact_url(self.url)!r})"

    # -- the driver ------------------------------------------------------------------
    async def driver(self) -> QueueDriver:
        """The open driver for the running event loop (opened on first use); once the
        queue has hooks, a view whose pushes and reservations run them.

        Raises:
            DriverUnavailableError: the backend cannot be reached.
        """
        driver = await self._open()
        if not self.hooks:
            return driver
        loop = asyncio.get_running_loop()
        view = self._views.get(loop)
        if view is None:
            view = self._views[loop] = cast(QueueDriver, HookedDriver.of(driver, self.hooks))
        return view

    async def _open(self) -> QueueDriver:
        loop = asyncio.get_running_loop()
        driver = self._drivers.get(loop)
        if driver is not None:
            return driver
        # Single flight: the first caller of a loop opens its driver and every concurrent
        # caller awaits that one open. A web app's first burst of dispatches would
        # otherwise open one driver, and one connection pool, each.
        opening = self._opening.get(loop)
        if opening is None:
            opening = self._opening[loop] = loop.create_task(self._open_new(loop))
        # Shielded: a caller that gives up does not cancel the open the others await.
        return await asyncio.shield(opening)

    async def _open_new(self, loop: asyncio.AbstractEventLoop) -> QueueDriver:
        try:
            driver = self._factory()
            await driver.open()
            with self._lock:
                self._drivers[loop] = driver
            return driver
        finally:
            self._opening.pop(loop, None)

    async def close(self) -> None:
        """Close the driver of the running loop."""
        loop = asyncio.get_running_loop()
        self._views.pop(loop, None)
        driver = self._drivers.pop(loop, None)
        if driver is not None:
            await driver.close()

    # -- dispatching -----------------------------------------------------------------
    async def dispatch(self, pending: PendingDispatch) -> str:
        """Enqueue one validated job; return its id, or the id of the job holding its
        unique key: a ``DispatchResult``, whose ``.duplicate_of`` says which."""
        env = pending.to_envelope(self.defaults, time.time())
        driver = await self._open()
        if env.unique_key is not None and (env.unique_mode or env.unique_for):
            _check_unique_modes(driver)
        # push_envelopes, inlined: this is the hot path.
        layers, listeners = self._push_hooked
        if layers or listeners:
            ids = await self.hooks.push([env], driver.push)
        else:
            ids = await driver.push([env])
        return DispatchResult(ids[0], env.id)

    async def bulk(self, pendings: Sequence[PendingDispatch]) -> list[str]:
        """Enqueue many jobs in one round trip; return their ids in order."""
        now = time.time()
        return await self.push_envelopes([p.to_envelope(self.defaults, now) for p in pendings])

    async def dispatch_batch(self, batch: Batch) -> str:
        """Store ``batch`` (what ``Batch.dispatch`` does); return its id."""
        return await self._dispatch_prepared(batch.prepare(self.defaults, time.time()))

    async def dispatch_chain(self, chain: Chain) -> str:
        """Store ``chain``'s first link or batch (what ``Chain.dispatch`` does); return
        its id."""
        return await self._dispatch_prepared(chain.prepare(self.defaults, time.time()))

    async def _dispatch_prepared(self, prepared: Prepared) -> str:
        await self.push_envelopes(prepared.envelopes, batch=prepared.batch)
        return prepared.id

    async def push_envelopes(
        self, envelopes: Sequence[Envelope], *, batch: BatchRecord | None = None
    ) -> list[str]:
        """Store ready-made envelopes (with ``batch``'s record, in one round trip where
        the driver can), running the queue's hooks; return the ids."""
        if not envelopes and batch is None:
            return []
        driver = await self._open()
        store: PushNext = driver.push if batch is None else partial(store_batch, driver, batch)
        if self.hooks.on_push():
            return await self.hooks.push(envelopes, store)
        return await store(envelopes)

    async def push(self, job: JobOrMade, payload: Any = None, /, **fields: Any) -> str:
        """Enqueue ``job`` with ``payload`` (or a made job, ``Job.make(...)``) on its own
        queue; return the id."""
        return await self.dispatch(made_job(job, payload, fields))

    async def push_on(
        self, queue: str, job: JobOrMade, payload: Any = None, /, **fields: Any
    ) -> str:
        """Enqueue ``job`` (a class with its payload, or a made job) on ``queue``; return
        the id."""
        return await self.dispatch(made_job(job, payload, fields).on_queue(queue))

    async def later(
        self, delay: Delay, job: JobOrMade, payload: Any = None, /, **fields: Any
    ) -> str:
        """Enqueue ``job`` (a class with its payload, or a made job) to run after
        ``delay``; return the id."""
        return await self.dispatch(made_job(job, payload, fields).delay(seconds(delay)))

    async def size(self, queue: str | None = None) -> int:
        """Jobs waiting or running on ``queue`` (default queue when omitted)."""
        counts = await (await self.driver()).counts()
        found = counts.get(queue or self.defaults.queue)
        return 0 if found is None else found.total

    async def clear(self, queue: str | None = None) -> int:
        """Delete the pending and scheduled jobs of ``queue``; return how many."""
        return await (await self.driver()).clear(queue or self.defaults.queue)

    async def result(self, job_id: str, timeout: float = 30.0) -> Any:  # noqa: ASYNC109 (a deadline the caller names, as in Celery)
        """Wait up to ``timeout`` seconds for the result of job ``job_id`` (one whose class
        keeps results); return it as JSON values. ``Job.result`` reads it into the job's
        return type instead. How it waits, and what it raises: ``wait_for_result``.
        """
        return json.loads(await self.result_json(job_id, timeout))

    async def result_json(self, job_id: str, timeout: float = 30.0) -> str:  # noqa: ASYNC109
        """``result`` as the stored JSON text."""
        return await wait_for_result(await self.driver(), job_id, timeout)

    async def status(self, job_id: str) -> JobStatus:
        """Where job ``job_id`` is now and how far it got: its state, attempts, the
        progress it reported, its times, the worker running it, and its result or why it
        failed (see ``JobStatus``). Never waits; an id no store knows reads as "unknown".
        """
        return await job_status(await self.driver(), job_id)

    # -- blocking twins --------------------------------------------------------------
    def _run(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise GelloError(
                "a *_blocking method was called inside a running event loop: await the async "
                "method instead"
            )
        home = self._home_loop()
        if home is not None:
            ran, result = run_on(home, call)
            if ran:
                return result
        return portal.run(call)

    def _home_loop(self) -> asyncio.AbstractEventLoop | None:
        """A loop other than the portal's on which this queue holds a driver and which
        runs (in another thread: this one runs none), to run blocking calls on."""
        with self._lock:
            loops = list(self._drivers)
        for loop in loops:
            if loop.is_running() and not portal.is_portal_loop(loop):
                return loop
        return None

    def dispatch_blocking(self, pending: PendingDispatch) -> str:
        """Blocking twin of ``dispatch``."""
        return self._run(lambda: self.dispatch(pending))

    def bulk_blocking(self, pendings: Sequence[PendingDispatch]) -> list[str]:
        """Blocking twin of ``bulk``."""
        return self._run(lambda: self.bulk(pendings))

    def dispatch_batch_blocking(self, batch: Batch) -> str:
        """Blocking twin of ``dispatch_batch``."""
        return self._run(lambda: self.dispatch_batch(batch))

    def dispatch_chain_blocking(self, chain: Chain) -> str:
        """Blocking twin of ``dispatch_chain``."""
        return self._run(lambda: self.dispatch_chain(chain))

    def push_blocking(self, job: JobOrMade, payload: Any = None, /, **fields: Any) -> str:
        """Blocking twin of ``push``."""
        return self._run(lambda: self.push(job, payload, **fields))

    def push_on_blocking(
        self, queue: str, job: JobOrMade, payload: Any = None, /, **fields: Any
    ) -> str:
        """Blocking twin of ``push_on``."""
        return self._run(lambda: self.push_on(queue, job, payload, **fields))

    def later_blocking(
        self, delay: Delay, job: JobOrMade, payload: Any = None, /, **fields: Any
    ) -> str:
        """Blocking twin of ``later``."""
        return self._run(lambda: self.later(delay, job, payload, **fields))

    def size_blocking(self, queue: str | None = None) -> int:
        """Blocking twin of ``size``."""
        return self._run(lambda: self.size(queue))

    def clear_blocking(self, queue: str | None = None) -> int:
        """Blocking twin of ``clear``."""
        return self._run(lambda: self.clear(queue))

    def result_blocking(self, job_id: str, timeout: float = 30.0) -> Any:
        """Blocking twin of ``result``."""
        return self._run(lambda: self.result(job_id, timeout))

    def result_json_blocking(self, job_id: str, timeout: float = 30.0) -> str:
        """Blocking twin of ``result_json``."""
        return self._run(lambda: self.result_json(job_id, timeout))

    def status_blocking(self, job_id: str) -> JobStatus:
        """Blocking twin of ``status``."""
        return self._run(lambda: self.status(job_id))

    def close_blocking(self) -> None:
        """Blocking twin of ``close``: closes the driver the blocking twins share."""
        if any(portal.is_portal_loop(loop) for loop in list(self._drivers)):
            # Bounded: this also runs at exit, which a server that stopped answering
            # must not hold up.
            portal.submit(self.close).result(timeout=_CLOSE_WAIT_S)

    def forget_after_fork(self) -> None:
        """In a forked child: drop the parent's drivers unclosed (see ``portal``)."""
        keep_unused(self._drivers, self._views, self._opening)
        self._drivers, self._views, self._opening = {}, {}, {}
        self._lock = threading.Lock()


def made_job(job: object, payload: Any, fields: dict[str, Any]) -> PendingDispatch:
    """The job to send, from a made job or a job class with its payload.

    Raises:
        TypeError: ``job`` is neither, or a made job was given a payload again.
    """
    if isinstance(job, PendingDispatch):
        if payload is not None or fields:
            raise TypeError(
                f"{job.job.name} is already made with its payload: pass the made job alone,"
                f" or the class {job.job.name} with the payload"
            )
        return job
    if isinstance(job, type) and issubclass(job, Job):
        return job.make(payload, **fields)
    raise TypeError(f"expected a Job class, or a job made with its make(...), got {job!r}")


def _check_unique_modes(driver: QueueDriver) -> None:
    require(
        driver,
        Capability.UNIQUE_MODES,
        "honour unique_for, unique_until='processing' or debounce: use plain unique jobs,"
        " or a database or Redis connection",
    )


_CLOSE_WAIT_S = 10.0
"""How long ``close_blocking`` waits for the driver to close."""

_default: Queue | None = None
_default_lock = threading.Lock()


def default_queue() -> Queue:
    """The process-wide ``Queue`` that settings describe (built on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Queue()
        return _default


provide_default(default_queue)


def _factory_for(url: str, settings: Settings, registry: JobRegistry, pool: Pool) -> DriverFactory:
    """The drivers of ``url``. The sync connection runs jobs through the worker's executor,
    with the queue's registry (and its settings of results), so it is found here, above
    both, rather than among the drivers."""
    if url.split(":", 1)[0].lower() == "sync":
        from gello_queue.worker.inline import SyncDriver

        keep_s, cap = settings.queue_keep_results, settings.queue_max_result_bytes
        keep, payloads = settings.queue_keep_completed, settings.queue_keep_completed_payloads
        return lambda: SyncDriver(
            registry,
            keep_results_s=keep_s,
            max_result_bytes=cap,
            keep_completed=keep,
            keep_completed_payloads=payloads,
            keyring=settings.keyring(),
        )
    return factory_from_url(url, prefix=settings.queue_prefix, pool=pool)


def set_default_queue(queue: Queue | None) -> None:
    """Make ``queue`` the one ``Job.dispatch`` uses when given no ``connection``."""
    global _default
    with _default_lock:
        _default = queue
