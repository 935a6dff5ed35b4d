"""Conformance of the operational events on every connection: events are read back
newest first by another process, within their bounds (the newest ``EVENTS_KEPT``, none
older than ``EVENTS_KEPT_S``); and a worker's rescue of a dead worker's jobs is recorded
as one event naming that worker as the Workers screen does."""

from __future__ import annotations

import asyncio
import time

import pytest
from helpers import envelope, eventually

from gello_queue import JobRegistry, Queue, Settings, Worker
from gello_queue.drivers.common import EVENTS_KEPT, EVENTS_KEPT_S
from gello_queue.inspection import Inspector, event_line
from gello_queue.ports import EventKind, EventLog, OpsEvent, QueueDriver
from gello_queue.worker.maintenance import keep_worker_name


def events_of(driver: QueueDriver) -> EventLog:
    if not isinstance(driver, EventLog):
        pytest.skip(f"the {driver.name} driver keeps no events")
    return driver


def rescue(at: float, worker: str, *jobs: str, failed: tuple[str, ...] = ()) -> OpsEvent:
    return OpsEvent(EventKind.RESCUE, at, worker, jobs, failed, by="vm:1/rescuer")


async def test_events_are_read_back_newest_first_by_another_process(
    driver: QueueDriver, peer: QueueDriver
) -> None:
    now = await driver.now()
    older = rescue(now - 60, "vm:14517/a", "j1", "j2", failed=("j2",))
    newer = rescue(now - 1, "vm:14518/b", "j3")
    await events_of(driver).events_add([older])
    await events_of(driver).events_add([newer])
    assert await events_of(peer).events_recent() == [newer, older]
    assert await events_of(peer).events_recent(limit=1) == [newer]
    assert await events_of(peer).events_recent(since=now - 30) == [newer]
    await events_of(driver).events_add([])  # nothing to keep is no error


@pytest.mark.inline_too
async def test_only_the_newest_events_are_kept(driver: QueueDriver) -> None:
    log = events_of(driver)
    now = await driver.now()
    await log.events_add([rescue(now - 1000 + i, f"vm:{i}/w", f"j{i}") for i in range(EVENTS_KEPT)])
    await log.events_add([rescue(now - 10 + i, f"vm:new{i}/w", f"n{i}") for i in range(5)])
    kept = await log.events_recent(limit=10 * EVENTS_KEPT)
    assert len(kept) == EVENTS_KEPT
    assert [e.worker for e in kept[:5]] == [f"vm:new{i}/w" for i in reversed(range(5))]
    assert kept[-1].worker == "vm:5/w"  # the five oldest made room


@pytest.mark.inline_too
async def test_events_past_their_age_are_forgotten(driver: QueueDriver) -> None:
    log = events_of(driver)
    now = await driver.now()
    await log.events_add([rescue(now - EVENTS_KEPT_S - 60, "vm:1/old", "j1")])
    await log.events_add([rescue(now, "vm:2/new", "j2")])
    assert [e.worker for e in await log.events_recent()] == ["vm:2/new"]


def queue_on(driver: QueueDriver) -> Queue:
    return Queue(
        f"memory://unused-{id(driver)}",
        settings=Settings(),  # type: ignore[call-arg]
        registry=JobRegistry(),
        factory=lambda: driver,
    )


DEAD_ID = "0190f1c2-dead-7000-8000-000000014517"


@pytest.mark.timeout(60)
async def test_a_rescue_is_recorded_naming_the_dead_worker(
    driver: QueueDriver, peer: QueueDriver
) -> None:
    events_of(driver)
    # A worker that started (keeping its name, as every worker does), leased three jobs
    # and died: its heartbeat is gone by the time another worker rescues them.
    await keep_worker_name(driver, DEAD_ID, "vm:14517/emails-1")
    last_try = envelope(max_attempts=1)
    jobs = [envelope(max_attempts=3), envelope(max_attempts=3), last_try]
    await driver.push(jobs)
    taken = await eventually(
        lambda: driver.reserve(["default"], 3, lease_s=1.0, worker_id=DEAD_ID),
        lambda r: len(r) == 3,
    )
    assert len(taken) == 3
    # A worker started later, on another queue: its rescue pass takes the jobs back.
    rescuer = Worker(
        connection=queue_on(driver),
        registry=JobRegistry(),
        queues=["elsewhere"],
        lease_s=2.0,
        sleep_s=0.05,
        name="rescuer",
        extensions=[],
    )
    running = asyncio.create_task(rescuer.start())
    try:
        events = await eventually(lambda: Inspector(queue_on(peer)).events(), bool, timeout_s=30)
    finally:
        rescuer.stop()
        await asyncio.wait_for(running, 30)
    [event] = events
    assert event.kind == EventKind.RESCUE
    assert event.worker == "vm:14517/emails-1"
    assert sorted(event.jobs) == sorted(e.id for e in jobs)
    assert event.failed == (last_try.id,)
    assert event.by == rescuer.record().label
    assert abs(event.at - time.time()) < 30
    line = event_line(event)
    assert line.startswith("3 jobs of vm:14517/emails-1 rescued at ")
    assert "(1 on their last attempt, to the failed store)" in line
