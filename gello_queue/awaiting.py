"""Waiting for a job's result: what ``Queue.result`` does between the dispatch that
returned an id and the value ``handle`` returned."""

from __future__ import annotations

import asyncio
import time

from gello_queue.core.errors import JobFailedError, JobNotFoundError
from gello_queue.ports import Capability, QueueDriver, ResultWait, result_store

_FIRST_POLL_S = 0.02
_LAST_POLL_S = 0.25
_WAKE_WAIT_S = 1.0
"""The longest one wake-up wait lasts: a job that fails stores no result to wake on, so
the failed store is looked at again this often."""


async def wait_for_result(driver: QueueDriver, job_id: str, timeout: float) -> str:  # noqa: ASYNC109 (a deadline the caller names, as in Celery)
    """The stored JSON result of ``job_id``: woken by the backend when it stores one
    (``ResultWait``: Redis, PostgreSQL), else polled with a backoff from 20 ms to 250 ms.

    A broker (RabbitMQ, SQS) cannot tell a waiting job from an unknown id: there an
    unknown id waits out the timeout.

    Raises:
        JobFailedError: the job ended in the failed store.
        TimeoutError: the job has not completed within ``timeout``.
        JobNotFoundError: no job has that id, or its result was not kept or expired.
        NotSupportedError: the driver cannot keep results.
    """
    store = result_store(driver)
    sees_jobs = Capability.LIST_JOBS in driver.capabilities
    deadline = time.monotonic() + timeout
    pause = _FIRST_POLL_S
    while True:
        # Looked up before the result: the result is stored before the job leaves its
        # queue, so a job gone then with no result after has none to wait for.
        waiting = await driver.find(job_id) if sees_jobs else None
        data = await store.result_get(job_id)
        if data is not None:
            return data
        failed = await driver.failed_find(job_id)
        if failed is not None:
            raise JobFailedError(job_id, failed.exception, failed.message)
        if sees_jobs and waiting is None:
            raise JobNotFoundError(
                f"no result for job {job_id}: no such job, or its result was not kept"
                " or has expired"
            )
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"job {job_id} has not completed within {timeout:g} s")
        if isinstance(driver, ResultWait):
            data = await driver.result_wait(job_id, min(left, _WAKE_WAIT_S))
            if data is not None:
                return data
        else:
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, _LAST_POLL_S)
