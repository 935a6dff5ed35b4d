"""Jobs through real workers on the brokers (RabbitMQ, SQS standard and FIFO): releases
that use no attempt, unique modes, debounce, and messages whose gello headers are not
readable."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from backends import BACKENDS
from backends import sqs as sqs_backend
from helpers import eventually
from pamqp import commands as spec
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue, Settings, Worker
from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import ReleaseJob
from gello_queue.core.states import JobState
from gello_queue.drivers.rabbitmq import RabbitMQDriver
from gello_queue.drivers.sqlite import SqliteDriver
from gello_queue.drivers.sqs import SqsDriver
from gello_queue.middleware import CallNext, Middleware
from gello_queue.ports import QueueDriver

BROKERS = [("rabbitmq", "default"), ("sqs", "default"), ("sqs", "work.fifo")]

registry = JobRegistry()
ran: list[tuple[str, int, int]] = []
"""(job name, payload n, attempt) of every run."""
calls: dict[str, int] = {}
"""Middleware passes per job id."""


class P(BaseModel):
    n: int = 0
    user: int = 0
    releases: int = 0


class HoldBack:
    """Releases the job ``payload.releases`` times (alternating no delay and a short
    one, so delayed releases hop too), then lets it run."""

    async def handle(self, job: Job[Any], payload: Any, call_next: CallNext) -> None:
        seen = calls[job.job_id] = calls.get(job.job_id, 0) + 1
        if seen <= payload.releases:
            raise ReleaseJob(0.3 if seen % 2 == 0 else 0.0, reason=f"held back {seen}")
        await call_next()


class Released(Job[P], register=False):
    tries = 1

    def middleware(self) -> list[Middleware]:
        return [HoldBack()]

    async def handle(self, payload: P) -> None:
        ran.append((self.name, payload.n, self.attempt))


class Ranked(Job[P], register=False):
    async def handle(self, payload: P) -> None:
        ran.append((self.name, payload.n, self.attempt))


class Sync(Job[P], register=False):
    unique = True

    def unique_id(self, payload: P) -> str:
        return str(payload.user)

    async def handle(self, payload: P) -> None:
        ran.append((self.name, payload.n, self.attempt))


class PerUser(Job[P], register=False):
    unique = True
    unique_until = "processing"

    def unique_id(self, payload: P) -> str:
        return str(payload.user)

    async def handle(self, payload: P) -> None:
        ran.append((self.name, payload.n, self.attempt))
        if payload.n == 1:
            await running_held["gate"].wait()  # still running when the next dispatch comes


class Search(Job[P], register=False):
    debounce = 0.3

    def unique_id(self, payload: P) -> str:
        return str(payload.user)

    async def handle(self, payload: P) -> None:
        ran.append((self.name, payload.n, self.attempt))


gate = asyncio.Event()
"""Holds ``Slow`` jobs until set."""
running_held: dict[str, asyncio.Event] = {}
"""Holds the first ``PerUser`` job running until the test has dispatched the others."""


class Slow(Search, register=False):
    async def handle(self, payload: P) -> None:
        ran.append((self.name, payload.n, self.attempt))
        await gate.wait()


for cls in (Released, Ranked, Sync, PerUser, Search, Slow):
    registry.register(cls)


@pytest.fixture(params=BROKERS, ids=[f"{b}-{q}" for b, q in BROKERS])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Queue, str]]:
    """A ``Queue`` over an isolated broker driver, and the queue its jobs go to."""
    backend, queue = request.param
    async with BACKENDS[backend](request) as driver:
        yield _queue_on(driver), queue


def _queue_on(driver: QueueDriver) -> Queue:
    return Queue(
        f"memory://unused-{id(driver)}",
        settings=Settings(),  # type: ignore[call-arg]
        registry=registry,
        factory=lambda: driver,
    )


@asynccontextmanager
async def working(queue: Queue, queues: list[str], concurrency: int = 4) -> AsyncIterator[Worker]:
    """One worker serving ``queues`` in this loop, stopped gracefully on exit."""
    worker = Worker(
        queues,
        connection=queue,
        registry=registry,
        concurrency=concurrency,
        sleep_s=0.05,
        lease_s=5.0,
        grace_s=5.0,
    )
    task = asyncio.create_task(worker.start())
    try:
        yield worker
    finally:
        worker.stop()
        await asyncio.wait_for(task, 20)


async def test_a_job_released_by_middleware_uses_no_attempt(broker: tuple[Queue, str]) -> None:
    queue, name = broker
    ran.clear()
    job_id = await Released.dispatch(n=1, releases=3, connection=queue, queue=name)
    driver = await queue.driver()
    async with working(queue, [name]):
        await eventually(lambda: _value(ran), timeout_s=20)
    assert ran == [("Released", 1, 1)]
    assert calls[job_id] == 4
    assert await driver.failed_count() == 0


async def test_a_unique_key_is_free_again_once_its_job_ran(broker: tuple[Queue, str]) -> None:
    queue, name = broker
    ran.clear()
    first = await Sync.dispatch(n=1, user=7, connection=queue, queue=name)
    assert (await Sync.dispatch(n=2, user=7, connection=queue, queue=name)).duplicate_of == first
    async with working(queue, [name]):
        await eventually(lambda: _value(ran))
        again = await eventually(
            lambda: Sync.dispatch(n=3, user=7, connection=queue, queue=name),
            lambda result: not result.duplicate,
        )
        await eventually(lambda: _value(len(ran) == 2))
    assert [n for _, n, _ in ran] == [1, 3]
    assert again != first


async def test_until_processing_lets_a_new_job_in_once_one_started(
    broker: tuple[Queue, str],
) -> None:
    queue, name = broker
    ran.clear()
    running_held["gate"] = asyncio.Event()  # one per test: an event belongs to one loop
    first = await PerUser.dispatch(n=1, user=1, connection=queue, queue=name)
    assert (await PerUser.dispatch(n=2, user=1, connection=queue, queue=name)).duplicate_of == first
    async with working(queue, [name]):
        await eventually(lambda: _value(ran))
        second = await PerUser.dispatch(n=3, user=1, delay=0.3, connection=queue, queue=name)
        assert not second.duplicate
        assert (
            await PerUser.dispatch(n=4, user=1, connection=queue, queue=name)
        ).duplicate_of == second
        running_held["gate"].set()
        await eventually(lambda: _value(len(ran) == 2), timeout_s=15)
    assert [n for _, n, _ in ran] == [1, 3]
    assert [attempt for _, _, attempt in ran] == [1, 1]


async def test_debounce_runs_the_last_payload_once(broker: tuple[Queue, str]) -> None:
    queue, name = broker
    ran.clear()
    ids = [await Search.dispatch(n=i, user=1, connection=queue, queue=name) for i in range(5)]
    driver = await queue.driver()
    assert [await driver.find(i) is not None for i in ids] == [False] * 4 + [True]
    record = await driver.find(ids[-1])
    assert record is not None
    assert (record.state, record.queue) == (JobState.SCHEDULED, name)
    assert (await driver.counts())[name].total == 1  # the superseded are left out
    async with working(queue, [name]):
        await eventually(lambda: _value(ran))
        await eventually(lambda: _settled(driver, name), timeout_s=15)
    assert [n for _, n, _ in ran] == [4]


async def test_debounce_of_a_started_job_lets_both_run(broker: tuple[Queue, str]) -> None:
    queue, name = broker
    ran.clear()
    gate.clear()
    await Slow.dispatch(n=1, user=2, connection=queue, queue=name)
    async with working(queue, [name]):
        await eventually(lambda: _value(ran))
        await Slow.dispatch(n=2, user=2, connection=queue, queue=name)
        gate.set()
        await eventually(lambda: _value(len(ran) == 2), timeout_s=15)
    assert [n for _, n, _ in ran] == [1, 2]


async def test_a_cancelled_unique_job_never_runs(broker: tuple[Queue, str]) -> None:
    queue, name = broker
    ran.clear()
    doomed = await Sync.dispatch(n=1, user=3, delay=0.2, connection=queue, queue=name)
    kept = await Sync.dispatch(n=2, user=4, delay=0.2, connection=queue, queue=name)
    driver = await queue.driver()
    assert await driver.cancel(doomed) is True
    assert await driver.find(doomed) is None
    async with working(queue, [name]):
        await eventually(lambda: _value(ran))
        await eventually(lambda: _settled(driver, name), timeout_s=15)
    assert [n for _, n, _ in ran] == [2]
    assert kept not in {doomed}


POISON_HEADERS = [
    {"gello-attempts": "abc"},
    {"gello-at": "soon"},
    {"gello-max": "x"},
    {"gello-created": "yesterday"},
]


async def test_a_message_with_an_unreadable_header_is_failed_and_the_others_run(
    broker: tuple[Queue, str],
) -> None:
    queue, name = broker
    ran.clear()
    driver = await queue.driver()
    poisoned: dict[str, str] = {}
    for n, headers in enumerate(POISON_HEADERS):
        await Ranked.dispatch(n=n, connection=queue, queue=name)
        pending = Ranked.make({"n": 100 + n}).options(queue=name)
        env = pending.to_envelope(queue.defaults, time.time())
        await _send_raw(driver, env, headers)
        [poisoned[env.id]] = headers
    await Ranked.dispatch(n=len(POISON_HEADERS), connection=queue, queue=name)
    async with working(queue, [name]):
        await eventually(lambda: _value(len(ran) == len(POISON_HEADERS) + 1), timeout_s=20)
        await eventually(lambda: _settled(driver, name), timeout_s=15)
        failed = {i: await eventually(lambda i=i: driver.failed_find(i)) for i in poisoned}
    assert sorted(n for _, n, _ in ran) == list(range(len(POISON_HEADERS) + 1))
    for job_id, header in poisoned.items():
        assert failed[job_id].exception == "EnvelopeError"
        assert header in failed[job_id].message
        assert "not an integer" in failed[job_id].message


async def test_a_buffered_message_with_an_unreadable_header_is_handed_back_intact(
    broker: tuple[Queue, str],
) -> None:
    queue, name = broker
    driver = await queue.driver()
    assert isinstance(driver, RabbitMQDriver | SqsDriver)
    env = Ranked.make({"n": 1}).options(queue=name).to_envelope(queue.defaults, time.time())
    await _send_raw(driver, env, {"gello-attempts": "abc"})
    await driver.wait([name], 10)  # received into the buffer, not reserved
    assert any(driver.buffers.values())
    await driver.close()  # hands back what it buffered, unreadable header and all
    await driver.open()

    async def failed_once_taken() -> object:
        assert await driver.reserve([name], 1, lease_s=5, worker_id="w") == []
        return await driver.failed_find(env.id)

    assert await eventually(failed_once_taken, timeout_s=15)


async def _send_raw(driver: QueueDriver, env: Envelope, headers: dict[str, object]) -> None:
    """Send ``env`` with ``headers`` as a foreign producer would, past gello's push."""
    if isinstance(driver, RabbitMQDriver):
        routing_key = await driver._route(env.queue, 0)
        props = spec.Basic.Properties(delivery_mode=2, headers=headers, message_id=env.id)
        await driver._pub.basic_publish(
            env.encode(), exchange="", routing_key=routing_key, properties=props
        )
        return
    assert isinstance(driver, SqsDriver)
    attrs = {"gello-id": env.id, **headers}
    entry = driver._entry(env.queue, env.encode().decode(), attrs, 0, None, first=True)
    await driver._send({(env.queue, 0): [entry]})


async def _settled(driver: QueueDriver, name: str) -> bool:
    counts = await driver.counts()
    return name not in counts or counts[name].total == 0


async def _value(value: Any) -> Any:
    return value


async def test_sqs_priority_levels_run_higher_priorities_first(tmp_path: Path) -> None:
    options = dataclasses.replace(sqs_backend.options(), priorities=(5, 3))
    driver = SqsDriver(options, SqliteDriver(tmp_path / "s.db"), prefix=sqs_backend.unique_prefix())
    await driver.open()
    try:
        queue = _queue_on(driver)
        ran.clear()
        priorities = [0, 3, 5, 1, 5, 4, 0]
        for n, priority in enumerate(priorities):
            await Ranked.dispatch(n=n, priority=priority, connection=queue)
        async with working(queue, ["default"], concurrency=1):
            await eventually(lambda: _value(len(ran) == len(priorities)), timeout_s=20)
        levels = [driver.naming.level_of(priorities[n]) for _, n, _ in ran]
        assert levels == [5, 5, 3, 3, 0, 0, 0]
    finally:
        await driver.delete_queues()
        await driver.close()
