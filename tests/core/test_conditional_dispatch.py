"""``dispatch_if`` / ``dispatch_unless``: a dispatch made only when a condition holds."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, PayloadValidationError, Queue

registry = JobRegistry()


class N(BaseModel):
    n: int


class Record(Job[N], register=False):
    queue = "records"

    async def handle(self, payload: N) -> None:
        pass


registry.register(Record)


@pytest.fixture
async def queue(tmp_path: Path) -> Queue:
    return Queue(f"sqlite:///{tmp_path / 'q.db'}", registry=registry)


async def test_dispatch_if_dispatches_only_when_the_condition_holds(queue: Queue) -> None:
    job_id = await Record.dispatch_if(True, n=1, connection=queue)
    assert job_id is not None
    assert await Record.dispatch_if(False, n=2, connection=queue) is None
    assert await Record.dispatch_if(0, n=3, connection=queue) is None
    assert await queue.size("records") == 1
    status = await queue.status(job_id)
    assert (status.state, status.name) == ("pending", "Record")


async def test_dispatch_unless_is_the_opposite(queue: Queue) -> None:
    assert await Record.dispatch_unless(True, n=1, connection=queue) is None
    job_id = await Record.dispatch_unless(False, {"n": 2}, queue="other", connection=queue)
    assert job_id is not None
    assert await queue.size("records") == 0
    assert await queue.size("other") == 1


async def test_a_callable_condition_is_asked_once(queue: Queue) -> None:
    asked: list[int] = []

    def condition() -> bool:
        asked.append(1)
        return True

    assert await Record.dispatch_if(condition, n=1, connection=queue) is not None
    assert await Record.dispatch_unless(condition, n=2, connection=queue) is None
    assert len(asked) == 2
    assert await queue.size("records") == 1


async def test_an_invalid_payload_is_refused_only_when_dispatched(queue: Queue) -> None:
    assert await Record.dispatch_if(False, n="not a number", connection=queue) is None
    with pytest.raises(PayloadValidationError):
        await Record.dispatch_if(True, n="not a number", connection=queue)


def test_the_blocking_twins(tmp_path: Path) -> None:
    queue = Queue(f"sqlite:///{tmp_path / 'q.db'}", registry=registry)
    results: list[object] = []

    def run() -> None:  # a blocking twin refuses to run inside the test's event loop
        results.append(Record.dispatch_if_blocking(True, n=1, connection=queue))
        results.append(Record.dispatch_if_blocking(False, n=2, connection=queue))
        results.append(Record.dispatch_unless_blocking(True, n=3, connection=queue))
        results.append(Record.dispatch_unless_blocking(lambda: False, n=4, connection=queue))
        results.append(queue.size_blocking("records"))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    first, skipped, skipped_too, last, size = results
    assert isinstance(first, str)
    assert isinstance(last, str)
    assert (skipped, skipped_too, size) == (None, None, 2)
    queue.close_blocking()
