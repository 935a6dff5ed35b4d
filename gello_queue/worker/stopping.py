"""A worker's stop: running jobs get the grace period, then go back to their queue.

A job still running when the grace period ends (or at once, after ``stop_now``) is
cancelled and released with its attempt given back, so stopping a worker never costs a
job one of its tries.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import EnvelopeError
from gello_queue.events import Events, JobReleased
from gello_queue.ports import QueueDriver, Reservation
from gello_queue.worker.abandon import Active
from gello_queue.worker.executor import ABANDON_AFTER_S


async def drain(
    active: Active,
    *,
    grace_s: float,
    hurry: asyncio.Event,
    driver: QueueDriver,
    events: Events,
    log: Any,
) -> None:
    """Let running jobs finish within ``grace_s`` (cut short when ``hurry`` is set), then
    cancel the rest and release them."""
    if not active:
        return
    tasks = [task for _, task in active.values()]
    log.info("worker_draining", jobs=len(tasks), grace_s=grace_s)
    if grace_s > 0 and not hurry.is_set():
        finished = asyncio.ensure_future(asyncio.wait(tasks))
        hurried = asyncio.ensure_future(hurry.wait())
        await asyncio.wait(
            (finished, hurried),
            timeout=None if math.isinf(grace_s) else grace_s,  # quiet: jobs' own timeouts
            return_when=asyncio.FIRST_COMPLETED,
        )
        finished.cancel()
        hurried.cancel()
    held = [(res, task) for res, task in active.values() if not task.done()]
    if not held:
        return
    for _, task in held:
        task.cancel()
    # A run that ignores its cancellation is not waited for: it is released anyway.
    await asyncio.wait([task for _, task in held], timeout=ABANDON_AFTER_S)
    for res, task in held:
        if not task.done() or task.cancelled():
            await release_unfinished(driver, events, res)


async def release_unfinished(driver: QueueDriver, events: Events, res: Reservation) -> None:
    """Give a job back to its queue with its attempt given back."""
    try:
        env = Envelope.decode(res.body)
    except EnvelopeError:
        return  # its lease will expire and the rescuer will fail it as poison
    back = env.with_changes(attempts=max(res.attempts - 1, 0), reason="worker stopped")
    await driver.release(res, back, 0)
    events.emit(JobReleased(env.id, env.name, env.queue, res.attempts, 0.0, "worker stopped"))
