"""Blocking twins share one loop, one driver and one pool per process, whatever the
number of calling threads; they run on the loop that holds the queue when another thread
runs one (an ASGI server); a forked child opens connections of its own."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import asyncpg
import psutil
import pytest
from backends.postgres import POSTGRES_URL
from backends.redis import REDIS_URL, delete_prefix
from helpers import eventually
from pydantic import BaseModel

from gello_queue import Job, Queue
from gello_queue import portal as portal_module
from gello_queue.core.envelope import Envelope
from gello_queue.core.registry import JobRegistry
from gello_queue.drivers import DriverFactory
from gello_queue.drivers.memory import MemoryDriver, named_store
from gello_queue.drivers.postgres import PostgresDriver
from gello_queue.drivers.redis import RedisDriver
from gello_queue.drivers.redis.connection import POOL_MAX
from gello_queue.portal import portal


class Numbered(BaseModel):
    n: int


class Hello(Job[Numbered], register=False):
    async def handle(self, payload: Numbered) -> None:
        return None


def server_connections(port: int) -> int:
    """TCP connections this process holds to a loopback server's ``port``."""
    return sum(
        1
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
    )


@dataclass
class Backend:
    port: int
    factory: DriverFactory
    most: int
    """The connections one driver may hold."""


@pytest.fixture(params=["postgres", "redis"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """A driver factory isolated for this test (its own schema or key prefix)."""
    if request.param == "postgres":
        schema = f"gtest_{uuid.uuid4().hex}"
        # QUEUE_POOL_MAX (10) with the kept push and reserve connections; a dispatching
        # process does not LISTEN.
        make = lambda: PostgresDriver(POSTGRES_URL, schema=schema, auto_migrate=True)  # noqa: E731
        yield Backend(5432, make, 10)
        asyncio.run(_drop(schema))
    else:
        prefix = f"gtest:{uuid.uuid4().hex}:"
        yield Backend(6379, lambda: RedisDriver(REDIS_URL, prefix=prefix), POOL_MAX)
        asyncio.run(_delete(prefix))


async def _drop(schema: str) -> None:
    con = await asyncpg.connect(POSTGRES_URL)
    try:
        await con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await con.close()


async def _delete(prefix: str) -> None:
    driver = RedisDriver(REDIS_URL, prefix=prefix)
    await driver.open()
    try:
        await delete_prefix(driver, prefix)
    finally:
        await driver.close()


def make_queue(backend: Backend) -> Queue:
    registry = JobRegistry()
    registry.register(Hello)
    return Queue("memory://unused", registry=registry, factory=backend.factory)


def test_sixty_threads_share_one_driver_and_pool(backend: Backend) -> None:
    queue = make_queue(backend)
    port = backend.port
    before = server_connections(port)
    try:
        with ThreadPoolExecutor(60) as threads:
            ids = list(threads.map(lambda n: queue.push_blocking(Hello, {"n": n}), range(400)))
        assert len(set(ids)) == 400
        assert queue.size_blocking() == 400
        held = server_connections(port) - before
        assert 1 <= held <= backend.most, held
        threads_seen = {t.name for t in threading.enumerate()}
        assert "gello-portal" in threads_seen
    finally:
        queue.clear_blocking()
        queue.close_blocking()
    assert server_connections(port) == before


def _child_dispatch(out: multiprocessing.queues.Queue[object]) -> None:
    try:
        out.put(str(_SHARED.push_blocking(Hello, {"n": os.getpid()})))
    except BaseException as exc:  # reported to the parent, which fails the test
        out.put(exc)


_SHARED: Queue


@pytest.mark.parametrize("how", ["os.fork", "multiprocessing"])
def test_a_forked_child_opens_its_own_connections_and_the_parent_keeps_its_own(
    backend: Backend, how: str
) -> None:
    global _SHARED
    queue = _SHARED = make_queue(backend)
    try:
        queue.push_blocking(Hello, {"n": 0})  # the parent's driver is open before the fork
        if how == "os.fork":
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: dispatch on the inherited queue, report, leave
                code = 1
                try:
                    job_id = queue.push_blocking(Hello, {"n": 1})
                    os.write(write, job_id.encode())
                    code = 0
                finally:
                    os._exit(code)
            os.close(write)
            _, status = os.waitpid(pid, 0)
            child_id = os.read(read, 100).decode()
            os.close(read)
            assert os.waitstatus_to_exitcode(status) == 0
        else:
            context = multiprocessing.get_context("fork")
            out: multiprocessing.queues.Queue[object] = context.Queue()
            child = context.Process(target=_child_dispatch, args=(out,))
            child.start()
            got = out.get(timeout=60)
            child.join(60)
            assert not isinstance(got, BaseException), got
            assert child.exitcode == 0
            child_id = str(got)
        assert child_id
        # The parent's connections still work after the child used and left its own.
        for n in range(20):
            queue.push_blocking(Hello, {"n": 100 + n})
        assert queue.size_blocking() == 22
    finally:
        queue.clear_blocking()
        queue.close_blocking()


async def test_a_blocking_twin_inside_a_running_loop_says_to_await() -> None:
    queue = Queue("memory://blocking-inside-loop")
    with pytest.raises(Exception, match="await the async method instead"):
        queue.size_blocking()


def test_the_portal_runs_on_one_daemon_thread() -> None:
    loop = portal.loop()
    assert portal.loop() is loop
    assert portal.run(lambda: asyncio.sleep(0, "ok")) == "ok"


class CountingDriver(MemoryDriver):
    """A memory driver that counts the pushes it stored."""

    pushes = 0

    async def push(self, envelopes: Sequence[Envelope]) -> list[str]:
        self.pushes += len(envelopes)
        return await super().push(envelopes)


def counted_queue() -> tuple[Queue, list[CountingDriver]]:
    """A queue on a store of its own, and the drivers it opened (in order)."""
    store = named_store(f"blocking-{uuid.uuid4().hex}")
    opened: list[CountingDriver] = []

    def factory() -> CountingDriver:
        opened.append(CountingDriver(store))
        return opened[-1]

    registry = JobRegistry()
    registry.register(Hello)
    return Queue("memory://unused", registry=registry, factory=factory), opened


async def test_blocking_calls_run_on_the_loop_that_holds_the_queue() -> None:
    # An ASGI server's plain views (threads) and async views (its loop) share one driver.
    queue, opened = counted_queue()
    await queue.push(Hello, {"n": 0})
    with ThreadPoolExecutor(8) as threads:
        pushes = [
            asyncio.wrap_future(threads.submit(queue.push_blocking, Hello, {"n": n}))
            for n in range(1, 41)
        ]
        ids = await asyncio.gather(*pushes)
    assert len(set(ids)) == 40
    assert len(opened) == 1
    assert opened[0].pushes == 41
    await queue.close()


async def test_a_blocked_loop_hands_blocking_calls_to_the_portal_until_it_runs_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(portal_module, "START_WITHIN_S", 0.5)
    queue, opened = counted_queue()
    await queue.push(Hello, {"n": 0})
    done: list[str] = []

    def dispatch_five() -> None:
        done.extend(queue.push_blocking(Hello, {"n": n}) for n in range(1, 6))

    caller = threading.Thread(target=dispatch_five)
    started = time.monotonic()
    caller.start()
    caller.join(30)  # blocks this loop on purpose: it cannot take the calls up
    took = time.monotonic() - started
    assert len(done) == 5
    # Only the first call waited for this loop; the others went straight to the portal.
    assert took < 2.0, took
    loop_driver, portal_driver = opened
    assert (loop_driver.pushes, portal_driver.pushes) == (1, 5)
    # The call handed to this loop, once it runs again, finds it claimed: no second push.
    me = asyncio.current_task()
    await eventually(lambda: asyncio.sleep(0, asyncio.all_tasks() - {me}), lambda t: not t)
    assert await queue.size() == 6
    # Running again, this loop takes blocking calls up once more.
    await asyncio.to_thread(queue.push_blocking, Hello, {"n": 6})
    assert loop_driver.pushes == 2
    await queue.close()
    queue.close_blocking()
