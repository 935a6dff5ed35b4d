"""Conformance of the completed-job history on every connection that keeps one: what a
worker ran shows up with its name, queue, attempts, worker, wait and run time; a lost
ack keeps nothing; each queue keeps its newest ``keep``; old records go by age."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest
from helpers import envelope, eventually
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue, Settings, Worker
from gello_queue.ports import CompletedJob, JobHistory, QueueDriver, Reservation
from gello_queue.retention import Limits, enforce

registry = JobRegistry()


class Item(BaseModel):
    key: str


class Quick(Job[Item], register=False):
    async def handle(self, payload: Item) -> None:
        await asyncio.sleep(0.05)


class FailsOnce(Job[Item], register=False):
    tries = 2

    async def handle(self, payload: Item) -> None:
        if self.attempt == 1:
            raise RuntimeError("first attempt fails")


class Tagged(Job[Item], register=False):
    tags = ["billing"]

    async def handle(self, payload: Item) -> None:
        pass


registry.register(Quick)
registry.register(FailsOnce)
registry.register(Tagged)


def history_of(driver: QueueDriver) -> JobHistory:
    if not isinstance(driver, JobHistory):
        pytest.skip(f"the {driver.name} driver keeps no completed jobs")
    return driver


def queue_on(driver: QueueDriver, **settings: object) -> Queue:
    return Queue(
        f"memory://unused-{id(driver)}",
        settings=Settings(**settings),  # type: ignore[arg-type]
        registry=registry,
        factory=lambda: driver,
    )


def record(job_id: str, finished_at: float, **fields: object) -> CompletedJob:
    values: dict[str, object] = {
        "id": job_id,
        "queue": "default",
        "name": "Quick",
        "attempts": 1,
        "worker": "w1",
        "wait_s": 0.5,
        "runtime_s": 0.25,
        "finished_at": finished_at,
    }
    values.update(fields)
    return CompletedJob(**values)  # type: ignore[arg-type]


async def run_worker_until(
    queue: Queue, history: JobHistory, count: int, *, name: str = "history-worker"
) -> list[CompletedJob]:
    worker = Worker(connection=queue, registry=registry, sleep_s=0.02, backoff=0, name=name)
    running = asyncio.create_task(worker.start())
    try:
        return await eventually(
            lambda: history.recent(limit=50), lambda r: len(r) >= count, timeout_s=30
        )
    finally:
        worker.stop()
        await asyncio.wait_for(running, 30)


@pytest.mark.timeout(90)
async def test_jobs_a_worker_ran_show_up_with_their_facts(driver: QueueDriver) -> None:
    history = history_of(driver)
    queue = queue_on(driver, QUEUE_KEEP_COMPLETED=100)
    first = await Quick.dispatch(key="a", connection=queue)
    retried = await FailsOnce.dispatch(key="b", connection=queue)
    kept = await run_worker_until(queue, history, 2)
    by_id = {c.id: c for c in kept}
    assert set(by_id) == {first, retried}
    assert (by_id[first].name, by_id[first].queue, by_id[first].attempts) == ("Quick", "default", 1)
    assert (by_id[retried].name, by_id[retried].attempts) == ("FailsOnce", 2)
    assert {c.worker for c in kept} == {"history-worker"}
    assert by_id[first].runtime_s >= 0.04  # it slept 0.05 s
    assert all(c.wait_s >= 0 for c in kept)
    assert all(c.payload is None for c in kept)  # payloads are kept only when asked
    assert kept == sorted(kept, key=lambda c: c.finished_at, reverse=True)
    assert await history.history_counts() == {"default": 2}


@pytest.mark.timeout(90)
async def test_a_completed_job_keeps_its_tags(driver: QueueDriver) -> None:
    history = history_of(driver)
    queue = queue_on(driver, QUEUE_KEEP_COMPLETED=100)
    tagged = await Tagged.dispatch(key="a", connection=queue)
    plain = await Quick.dispatch(key="b", connection=queue)
    kept = {c.id: c for c in await run_worker_until(queue, history, 2)}
    assert kept[tagged].tag_list == ["billing"]
    assert kept[plain].tags is None  # no tags: nothing stored
    assert [c.id for c in await history.recent(tag="billing")] == [tagged]


@pytest.mark.timeout(90)
async def test_payloads_are_kept_when_asked(driver: QueueDriver) -> None:
    history = history_of(driver)
    queue = queue_on(driver, QUEUE_KEEP_COMPLETED=100, QUEUE_KEEP_COMPLETED_PAYLOADS=True)
    await Quick.dispatch(key="é", connection=queue)
    (kept,) = await run_worker_until(queue, history, 1)
    assert kept.payload is not None
    assert json.loads(kept.payload) == {"key": "é"}


@pytest.mark.timeout(90)
async def test_history_off_keeps_nothing(driver: QueueDriver) -> None:
    history = history_of(driver)
    queue = queue_on(driver, QUEUE_KEEP_COMPLETED=0)
    job_id = await Quick.dispatch(key="a", connection=queue)
    worker = Worker(connection=queue, registry=registry, sleep_s=0.02, stop_when_empty=True)
    await asyncio.wait_for(worker.start(), 60)
    assert worker.status().processed == 1
    assert job_id not in {c.id for c in await history.recent()}


async def test_an_ack_refused_for_a_lost_lease_keeps_no_record(driver: QueueDriver) -> None:
    history = history_of(driver)
    held, stale = envelope(), envelope()
    await driver.push([held, stale])
    reserved = await eventually(
        lambda: driver.reserve(["default"], 2, lease_s=30, worker_id="w"),
        lambda r: len(r) == 2,
    )
    now = await driver.now()
    by_id = {r.id: r for r in reserved}
    wrong = replace(by_id[stale.id], token=by_id[stale.id].token + "-stale")
    lost = await history.ack_recording(
        [by_id[held.id], wrong], [record(held.id, now), record(stale.id, now)], 10
    )
    assert lost == [stale.id]
    assert [c.id for c in await history.recent()] == [held.id]


async def test_one_ack_keeps_each_record_as_given(driver: QueueDriver) -> None:
    # One flush mixing what a flush can hold: a job acked without a record (it was
    # skipped), records of two workers, a payload kept for one record only, and the
    # record of a job acked elsewhere; tags and the monitored mark on one record only.
    history = history_of(driver)
    skipped, plain, other, with_payload = envelope(), envelope(), envelope(), envelope()
    await driver.push([skipped, plain, other, with_payload])
    reserved: list[Reservation] = []

    async def reserve_more() -> list[Reservation]:  # a broker may deliver them in parts
        reserved.extend(
            await driver.reserve(["default"], 4 - len(reserved), lease_s=30, worker_id="w")
        )
        return reserved

    await eventually(reserve_more, lambda r: len(r) == 4)
    now = await driver.now()
    kept = [
        record(plain.id, now - 3, attempts=2, wait_s=1.5, runtime_s=0.125),
        record(
            other.id,
            now - 2,
            worker="w2",
            name="Invoice",
            queue="mail",
            tags='["customer:7"]',
            monitored=True,
        ),
        record(with_payload.id, now - 1, payload='{"key": "é"}'),
        record("acked-elsewhere", now),
    ]
    assert await history.ack_recording(reserved, kept, 10) == []
    assert await history.recent() == kept[::-1]
    assert await driver.find(skipped.id) is None  # acked, and kept no record


@pytest.mark.inline_too
async def test_records_read_back_filtered_newest_first(driver: QueueDriver) -> None:
    history = history_of(driver)
    now = await driver.now()
    kept = [
        record("a", now - 30, queue="mail"),
        record("b", now - 20, name="Invoice", payload='{"n": 1}'),
        record("c", now - 10),
    ]
    for one in kept:  # one call each, as separate flushes would
        assert await history.ack_recording([], [one], 100) == []
    assert await history.recent() == kept[::-1]
    assert [c.id for c in await history.recent(queue="default")] == ["c", "b"]
    assert [c.id for c in await history.recent(name="Invoice")] == ["b"]
    assert [c.id for c in await history.recent(since=now - 25)] == ["c", "b"]
    assert [c.id for c in await history.recent(limit=1)] == ["c"]
    assert await history.recent(limit=0) == []
    assert await history.history_counts() == {"default": 2, "mail": 1}


@pytest.mark.inline_too
async def test_records_are_filtered_by_tag_exactly(driver: QueueDriver) -> None:
    history = history_of(driver)
    now = await driver.now()
    kept = [
        record("a", now - 30, tags='["customer:42","billing"]'),
        record("b", now - 20, tags='["customer:420"]', queue="mail"),
        record("c", now - 10),
    ]
    assert await history.ack_recording([], kept, 100) == []
    assert [c.id for c in await history.recent(tag="customer:42")] == ["a"]
    assert [c.id for c in await history.recent(tag="customer:420")] == ["b"]
    assert [c.id for c in await history.recent(tag="billing", queue="mail")] == []
    assert await history.recent(tag="customer") == []
    assert (await history.recent(tag="billing"))[0].tag_list == ["customer:42", "billing"]


@pytest.mark.inline_too
async def test_each_queue_keeps_its_newest(driver: QueueDriver) -> None:
    history = history_of(driver)
    now = await driver.now()
    for i in range(6):
        await history.ack_recording([], [record(f"d{i}", now - 60 + i)], 3)
    await history.ack_recording([], [record("m0", now, queue="mail")], 3)
    await history.history_trim(3)  # exact at once; the acks alone may trim now and then
    assert [c.id for c in await history.recent(queue="default")] == ["d5", "d4", "d3"]
    assert await history.history_counts() == {"default": 3, "mail": 1}


@pytest.mark.inline_too
async def test_one_flush_is_trimmed_and_pruned_record_by_record(driver: QueueDriver) -> None:
    history = history_of(driver)
    now = await driver.now()
    flush = [record(f"r{i}", now - 5000 + i * 1000) for i in range(5)]
    assert await history.ack_recording([], flush, 100) == []
    await history.history_trim(4)
    assert [c.id for c in await history.recent()] == ["r4", "r3", "r2", "r1"]
    limits = Limits(failed_hours=0, failed_max=0, batch_hours=0, completed_hours=1)
    assert (await enforce(driver, limits)).completed == 1  # r1, 4,000 s old
    assert await history.recent() == flush[:1:-1]
    assert await history.history_counts() == {"default": 3}


@pytest.mark.inline_too
async def test_records_older_than_the_window_are_pruned(driver: QueueDriver) -> None:
    history = history_of(driver)
    now = await driver.now()  # the window is judged by the driver's clock
    await history.ack_recording(
        [], [record("old", now - 7200), record("fresh", now - 60, queue="mail")], 100
    )
    limits = Limits(failed_hours=0, failed_max=0, batch_hours=0, completed_hours=1)
    pruned = await enforce(driver, limits)
    assert pruned.completed == 1
    assert [c.id for c in await history.recent()] == ["fresh"]


async def test_monitored_tags_are_kept_in_the_backend(
    driver: QueueDriver, peer: QueueDriver
) -> None:
    history = history_of(driver)
    assert await history.tags_monitored() == []
    assert await history.tag_monitor("customer:42", True) is True
    assert await history.tag_monitor("customer:42", True) is False  # already
    assert await history.tag_monitor("billing", True) is True
    assert await history_of(peer).tags_monitored() == ["billing", "customer:42"]
    assert await history.tag_monitor("billing", False) is True
    assert await history.tag_monitor("billing", False) is False
    assert await history_of(peer).tags_monitored() == ["customer:42"]


@pytest.mark.inline_too
async def test_a_monitored_job_outlives_the_count_trim(driver: QueueDriver) -> None:
    history = history_of(driver)
    now = await driver.now()
    tags = '["customer:42"]'
    watched = record("watched", now - 100, tags=tags, monitored=True)
    plain = record("plain", now - 90, tags=tags)
    newer = [record(f"n{i}", now - 10 + i) for i in range(3)]
    for one in (watched, plain, *newer):
        await history.ack_recording([], [one], 3)
    await history.history_trim(3)
    kept = await history.recent(tag="customer:42")
    assert [c.id for c in kept] == ["watched"]  # "plain" went with the count
    assert kept[0].monitored
    assert await history.history_counts() == {"default": 4}


@pytest.mark.inline_too
async def test_monitored_jobs_go_by_their_own_age(driver: QueueDriver) -> None:
    history = history_of(driver)
    now = await driver.now()
    await history.ack_recording(
        [],
        [
            record("old", now - 7200),
            record("watched", now - 7200, monitored=True),
            record("ancient", now - 20 * 3600, monitored=True),
        ],
        100,
    )
    limits = Limits(
        failed_hours=0, failed_max=0, batch_hours=0, completed_hours=1, monitored_hours=10
    )
    pruned = await enforce(driver, limits)
    assert pruned.completed == 2
    assert [c.id for c in await history.recent()] == ["watched"]


@pytest.mark.timeout(90)
async def test_a_worker_marks_the_jobs_of_a_monitored_tag(driver: QueueDriver) -> None:
    history = history_of(driver)
    await history.tag_monitor("billing", True)
    queue = queue_on(driver, QUEUE_KEEP_COMPLETED=100)
    tagged = await Tagged.dispatch(key="a", connection=queue)
    plain = await Quick.dispatch(key="b", connection=queue)
    kept = {c.id: c for c in await run_worker_until(queue, history, 2)}
    assert kept[tagged].monitored
    assert not kept[plain].monitored
