"""Whatever a job raises, or its stored message holds, the attempt ends with an outcome of
its own, promptly: never a job left leased until a rescue, never a worker brought down."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

from helpers import envelope, eventually
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue, Worker
from gello_queue.events import Events, JobProcessed
from gello_queue.ports import FailedJob

registry = JobRegistry()
runs: list[str] = []
hooked: list[str] = []
gate = asyncio.Event()


class Item(BaseModel):
    key: str


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text")


class Abort(BaseException):
    """A job's own BaseException, outside ``Exception``."""


class Raises(Job[Item], register=False):
    """Raises what its key names, each attempt."""

    tries = 2
    backoff = 0

    async def handle(self, payload: Item) -> None:
        runs.append(payload.key)
        match payload.key:
            case "unprintable":
                raise Unprintable()
            case "abort":
                raise Abort("stop everything")
            case "exit":
                raise SystemExit(3)
            case "own-timeout":
                raise TimeoutError("CRM did not answer")
            case _:
                return

    async def failed(self, payload: Item, error: BaseException) -> None:
        hooked.append(payload.key)


class Stubborn(Job[Item], register=False):
    """Swallows the cancellation at its timeout and goes on until the test lets it end."""

    tries = 1
    timeout = 0.3

    async def handle(self, payload: Item) -> None:
        runs.append(payload.key)
        ends = time.monotonic() + 30
        while not gate.is_set() and time.monotonic() < ends:
            with contextlib.suppress(asyncio.CancelledError):
                await gate.wait()


class Quick(Job[Item], register=False):
    async def handle(self, payload: Item) -> None:
        runs.append(f"{payload.key}:{'after' if gate.is_set() else 'beside'}")


for cls in (Raises, Stubborn, Quick):
    registry.register(cls)


def fresh_queue() -> Queue:
    runs.clear()
    hooked.clear()
    gate.clear()
    return Queue(f"memory://faults-{uuid.uuid4().hex}", registry=registry)


async def drain(queue: Queue, seen: list[Any] | None = None) -> Worker:
    events = Events([seen.append]) if seen is not None else None
    worker = Worker(
        connection=queue, concurrency=2, stop_when_empty=True, sleep_s=0.02, events=events
    )
    # Well under a lease (30 s): a job left leased would keep the worker waiting past it.
    await asyncio.wait_for(worker.start(), 15)
    return worker


async def failed_of(queue: Queue, job_id: str) -> FailedJob:
    found = await (await queue.driver()).failed_find(job_id)
    assert found is not None, f"{job_id} is not in the failed store"
    return found


async def test_an_exception_whose_str_raises_still_fails_the_job() -> None:
    queue = fresh_queue()
    job_id = await Raises.dispatch(key="unprintable", connection=queue)
    await Raises.dispatch(key="fine", connection=queue)
    worker = await drain(queue)
    failed = await failed_of(queue, job_id)
    assert (failed.exception, failed.attempts) == ("Unprintable", 2)
    assert failed.message == "(Unprintable.__str__ raised RuntimeError)"
    assert "raise Unprintable()" in failed.traceback
    assert hooked == ["unprintable"]
    assert (worker.status().processed, worker.status().failed) == (1, 1)


async def test_a_jobs_own_base_exception_fails_it_and_the_worker_goes_on() -> None:
    queue = fresh_queue()
    abort = await Raises.dispatch(key="abort", connection=queue)
    bail = await Raises.dispatch(key="exit", connection=queue)
    await Raises.dispatch(key="fine", connection=queue)
    worker = await drain(queue)
    failed = await failed_of(queue, abort)
    assert (failed.exception, failed.message, failed.attempts) == ("Abort", "stop everything", 2)
    failed = await failed_of(queue, bail)
    assert (failed.exception, failed.message, failed.attempts) == ("SystemExit", "3", 2)
    assert sorted(runs) == ["abort", "abort", "exit", "exit", "fine"]  # retried, tries permitting
    assert sorted(hooked) == ["abort", "exit"]
    assert worker.status().processed == 1


async def test_a_timeout_error_of_the_jobs_own_keeps_its_message_and_traceback() -> None:
    queue = fresh_queue()
    job_id = await Raises.dispatch(key="own-timeout", connection=queue)
    await drain(queue)
    failed = await failed_of(queue, job_id)
    assert (failed.exception, failed.message) == ("TimeoutError", "CRM did not answer")
    assert 'raise TimeoutError("CRM did not answer")' in failed.traceback


async def test_malformed_stored_retry_and_chain_fields_fail_the_job_with_what_is_wrong() -> None:
    queue = fresh_queue()
    driver = await queue.driver()
    stored = {
        "empty-backoff": envelope(name="Raises", payload={"key": "abort"}, backoff=[]),
        "unknown-backoff": envelope(name="Raises", payload={"key": "abort"}, backoff={"kind": "x"}),
        "garbage-chain": envelope(name="Raises", payload={"key": "fine"}, chain=[{"v": 1}, 7]),
    }
    await driver.push(list(stored.values()))
    await Raises.dispatch(key="fine", connection=queue)
    await drain(queue)
    messages = {key: (await failed_of(queue, env.id)).message for key, env in stored.items()}
    assert messages == {
        "empty-backoff": "not a gello envelope: malformed field 'backoff': backoff list must"
        " hold one or more numbers of seconds",
        "unknown-backoff": "not a gello envelope: malformed field 'backoff': unknown backoff"
        " {'kind': 'x'}: use seconds, a list, or Exponential(...)",
        "garbage-chain": "not a gello envelope: chain link 1: missing field 'payload'",
    }
    assert runs == ["fine"]  # a message that cannot be stored again is not run


async def test_a_handler_that_swallows_its_cancellation_is_timed_out_and_keeps_its_slot() -> None:
    queue = fresh_queue()
    seen: list[Any] = []
    worker = Worker(connection=queue, concurrency=1, sleep_s=0.02, events=Events([seen.append]))
    stubborn = await Stubborn.dispatch(key="stubborn", connection=queue)
    await Quick.dispatch(key="quick", connection=queue)
    running = asyncio.create_task(worker.start())
    try:
        driver = await queue.driver()
        started = time.monotonic()
        failed = await eventually(lambda: driver.failed_find(stubborn), timeout_s=10)
        assert time.monotonic() - started < 5  # timeout 0.3 s, plus the grace, not 30 s
        assert failed.exception == "TimeoutError"
        assert failed.message.startswith("timed out after 0.3 s")
        gate.set()  # the abandoned task ends: only now is its slot free
        await eventually(lambda: asyncio.sleep(0, runs), lambda r: "quick:after" in r)
    finally:
        gate.set()
        worker.stop()
        await asyncio.wait_for(running, 15)
    assert runs == ["stubborn", "quick:after"]
    assert [e.name for e in seen if isinstance(e, JobProcessed)] == ["Quick"]
