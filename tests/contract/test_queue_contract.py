"""Conformance: every driver stores, leases and hands back jobs the same way."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from helpers import envelope, eventually

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import NotSupportedError
from gello_queue.core.states import JobState
from gello_queue.drivers.common import THROUGHPUT_KEPT_S
from gello_queue.ports import Capability, Failure, QueueDriver, Reservation

W = "worker-1"

REFUSED: dict[Capability, Callable[[QueueDriver], Awaitable[object]]] = {
    Capability.LIST_JOBS: lambda d: d.jobs("default", JobState.PENDING),
    Capability.CLEAR: lambda d: d.clear("default"),
    Capability.CANCEL: lambda d: d.cancel("no-such-job"),
}
"""The operation a driver that lacks each capability must refuse."""

BULK_JOBS = 5000
"""Over Redis's 2,000-job script calls and PostgreSQL's 250-row COPY chunks."""
BULK_JOBS_OF = {"sqs": 300}
"""The emulated SQS (moto) takes minutes over thousands; 300 is 30 ten-message sends."""


async def lacks(driver: QueueDriver, *capabilities: Capability) -> bool:
    """Whether ``driver`` lacks one of ``capabilities``; for each it lacks, its operation
    must be refused with one ``NotSupportedError`` naming the driver and the capability."""
    missing = [c for c in capabilities if c not in driver.capabilities]
    for capability in missing:
        with pytest.raises(NotSupportedError) as refused:
            await REFUSED[capability](driver)
        said = str(refused.value)
        assert f"the {driver.name} driver cannot" in said
        assert f"lacks the {capability.value!r} capability" in said
    return bool(missing)


async def test_push_then_reserve_counts_the_attempt(driver: QueueDriver) -> None:
    env = envelope(payload={"to": "ada@example.com"})
    assert await driver.push([env]) == [env.id]
    [res] = await driver.reserve(["default"], 10, lease_s=30, worker_id=W)
    assert res.id == env.id
    assert res.queue == "default"
    assert res.attempts == 1
    assert res.token
    decoded = Envelope.decode(res.body)
    assert decoded.payload == {"to": "ada@example.com"}
    assert await driver.reserve(["default"], 10, lease_s=30, worker_id=W) == []


async def test_a_push_sent_again_stores_each_job_once(driver: QueueDriver) -> None:
    # A producer whose answer was lost sends the same jobs again.
    envs = [envelope(payload={"n": i}) for i in range(3)]
    assert await driver.push(envs) == [e.id for e in envs]
    assert await driver.push(envs) == [e.id for e in envs]
    # Without the capability (a broker) each job comes back twice: at least once.
    stored = envs if Capability.PUSH_ONCE in driver.capabilities else envs * 2
    got: list[Reservation] = []

    async def reserve_more() -> int:
        got.extend(await driver.reserve(["default"], 10, lease_s=30, worker_id=W))
        return len(got)

    await eventually(reserve_more, lambda n: n >= len(stored))
    assert sorted(r.id for r in got) == sorted(e.id for e in stored)
    assert await driver.reserve(["default"], 10, lease_s=30, worker_id=W) == []


async def test_bulk_push_returns_every_id(driver: QueueDriver) -> None:
    envs = [envelope(payload={"n": i}) for i in range(250)]
    assert await driver.push(envs) == [e.id for e in envs]
    assert (await driver.counts())["default"].pending == 250


async def test_a_bulk_push_of_thousands_keeps_ids_order_and_unique_holders(
    driver: QueueDriver,
) -> None:
    # The batch spans the driver's chunking of a push (script calls, COPY chunks,
    # publish batches): the answer is one id per job, in order, with the holder's id
    # where a unique key is held.
    size = BULK_JOBS_OF.get(driver.name, BULK_JOBS)
    holder = envelope(unique_key="report:1")
    await driver.push([holder])
    envs = [envelope(payload={"n": i}) for i in range(size - 1)]
    dup = size * 9 // 10
    envs.insert(dup, envelope(unique_key="report:1"))
    ids = await driver.push(envs)
    assert ids[dup] == holder.id
    assert ids[:dup] == [e.id for e in envs[:dup]]
    assert ids[dup + 1 :] == [e.id for e in envs[dup + 1 :]]
    assert (await driver.counts())["default"].pending == size


async def test_reserve_serves_queues_in_strict_order(driver: QueueDriver) -> None:
    low = envelope("low")
    high = [envelope("high") for _ in range(2)]
    await driver.push([low, *high])
    got = await driver.reserve(["high", "low"], 2, lease_s=30, worker_id=W)
    assert [r.id for r in got] == [e.id for e in high]
    got = await driver.reserve(["high", "low"], 2, lease_s=30, worker_id=W)
    assert [r.id for r in got] == [low.id]


async def test_reserve_takes_higher_priority_first_then_fifo(driver: QueueDriver) -> None:
    first, second = envelope(priority=1), envelope(priority=1)
    urgent = envelope(priority=5)
    await driver.push([first, second, urgent])
    if Capability.PRIORITY not in driver.capabilities:
        # Priority is ignored, never a reason to lose or hold back a job. (A broker's
        # prefetch holds back what is beyond the leases asked for, so ask for all three.)
        got: list[Reservation] = []

        async def more() -> list[Reservation]:
            got.extend(await driver.reserve(["default"], 3 - len(got), lease_s=30, worker_id=W))
            return got

        await eventually(more, lambda held: len(held) == 3)
        assert sorted(r.id for r in got) == sorted([urgent.id, first.id, second.id])
        return
    got = []
    for _ in range(3):
        got += await driver.reserve(["default"], 1, lease_s=30, worker_id=W)
    assert [r.id for r in got] == [urgent.id, first.id, second.id]


async def test_jobs_coming_due_take_their_place_by_priority(driver: QueueDriver) -> None:
    now = await driver.now()
    low = [envelope(priority=0) for _ in range(2)]
    mid, high = envelope(priority=3), envelope(priority=5)
    urgent_later = envelope(priority=5, available_at=now + 0.5)
    await driver.push([*low, mid, urgent_later, high])
    if Capability.PRIORITY not in driver.capabilities:
        # Priority is ignored, never a reason to lose or hold back a job.
        got: list[Reservation] = []

        async def more() -> list[Reservation]:
            got.extend(await driver.reserve(["default"], 5 - len(got), lease_s=30, worker_id=W))
            return got

        await eventually(more, lambda held: len(held) == 5)
        assert sorted(r.id for r in got) == sorted(e.id for e in [*low, mid, urgent_later, high])
        return
    got = await driver.reserve(["default"], 1, lease_s=30, worker_id=W)
    assert [r.id for r in got] == [high.id]
    await eventually(driver.now, lambda at: at >= urgent_later.available_at)
    got = await driver.reserve(["default"], 2, lease_s=30, worker_id=W)
    assert [r.id for r in got] == [urgent_later.id, mid.id]
    got = await driver.reserve(["default"], 5, lease_s=30, worker_id=W)
    assert [r.id for r in got] == [e.id for e in low]


async def test_delayed_job_waits_until_due(driver: QueueDriver) -> None:
    now = await driver.now()
    env = envelope(available_at=now + 1.0)  # long enough for a slow broker's calls below
    await driver.push([env])
    assert await driver.reserve(["default"], 1, lease_s=30, worker_id=W) == []
    counts = await driver.counts()
    assert (counts["default"].pending, counts["default"].scheduled) == (0, 1)
    got = await eventually(lambda: driver.reserve(["default"], 1, lease_s=30, worker_id=W))
    assert got[0].id == env.id
    assert await driver.now() >= now + 1.0


async def test_ack_completes_and_a_stale_token_cannot(driver: QueueDriver) -> None:
    await driver.push([envelope(), envelope()])
    a, b = await driver.reserve(["default"], 2, lease_s=30, worker_id=W)
    forged = type(b)(b.id, b.queue, "not-the-token", b.attempts, b.body, b.lease_expires_at)
    assert await driver.ack([a, forged]) == [b.id]
    assert await driver.find(a.id) is None
    assert (await driver.find(b.id)) is not None
    assert await driver.ack([b]) == []
    assert (await driver.counts()).get("default") is None


async def test_release_puts_job_back_with_its_attempts_and_delay(driver: QueueDriver) -> None:
    if await lacks(driver, Capability.LIST_JOBS):
        return
    env = envelope()
    await driver.push([env])
    [res] = await driver.reserve(["default"], 1, lease_s=30, worker_id=W)
    back = Envelope.decode(res.body).with_changes(attempts=0, reason="rate limited")
    assert await driver.release(res, back, 60) is True
    record = await driver.find(env.id)
    assert record is not None
    assert record.state is JobState.SCHEDULED
    assert record.attempts == 0
    assert Envelope.decode(record.body).reason == "rate limited"
    assert await driver.release(res, back, 0) is False
    assert await driver.promote(env.id) is True
    [again] = await driver.reserve(["default"], 1, lease_s=30, worker_id=W)
    assert again.attempts == 1


async def test_fail_moves_job_to_the_failed_store(driver: QueueDriver) -> None:
    env = envelope(queue="emails", name="SendInvoice")
    await driver.push([env])
    [res] = await driver.reserve(["emails"], 1, lease_s=30, worker_id=W)
    failure = Failure("ValueError", "bad address", "Traceback ...")
    assert await driver.fail(res, env.encode().decode(), failure) is True
    assert await driver.fail(res, env.encode().decode(), failure) is False
    [failed] = await driver.failed_list()
    assert (failed.id, failed.queue, failed.name) == (env.id, "emails", "SendInvoice")
    assert (failed.exception, failed.message, failed.traceback) == (
        "ValueError",
        "bad address",
        "Traceback ...",
    )
    assert failed.attempts == 1
    assert failed.payload() == {"n": 1}
    assert await driver.failed_count() == 1
    assert await driver.failed_count("emails") == 1
    assert await driver.failed_count("other") == 0
    assert (await driver.failed_find(env.id)) == failed
    assert (await driver.counts())["emails"].failed == 1


async def _fail_one(driver: QueueDriver, queue: str = "default") -> str:
    env = envelope(queue=queue)
    await driver.push([env])
    [res] = await driver.reserve([queue], 1, lease_s=30, worker_id=W)
    await driver.fail(res, env.encode().decode(), Failure("RuntimeError", "boom"))
    return env.id


async def test_retry_brings_failed_jobs_back_as_fresh_attempts(driver: QueueDriver) -> None:
    one = await _fail_one(driver)
    await _fail_one(driver, "emails")
    await _fail_one(driver, "emails")
    assert await driver.failed_retry([one, "missing"]) == 1
    [res] = await driver.reserve(["default"], 1, lease_s=30, worker_id=W)
    assert (res.id, res.attempts) == (one, 1)
    assert await driver.failed_retry_all("emails") == 2
    assert await driver.failed_count() == 0
    assert (await driver.counts())["emails"].pending == 2


async def test_forget_flush_and_prune_delete_failed_jobs(driver: QueueDriver) -> None:
    first = await _fail_one(driver)
    await _fail_one(driver, "emails")
    await _fail_one(driver, "emails")
    assert await driver.failed_forget(first) is True
    assert await driver.failed_forget(first) is False
    assert await driver.failed_flush("emails") == 2
    await _fail_one(driver)
    assert await driver.failed_prune((await driver.now()) - 3600) == 0
    assert await driver.failed_prune((await driver.now()) + 1) == 1
    assert await driver.failed_count() == 0


async def test_failed_list_pages_newest_first(driver: QueueDriver) -> None:
    ids = [await _fail_one(driver) for _ in range(5)]
    page1 = await driver.failed_list(limit=2)
    page2 = await driver.failed_list(limit=2, offset=2)
    listed = [f.id for f in page1 + page2]
    assert len(set(listed)) == 4
    assert set(listed) <= set(ids)
    assert ids[-1] in [f.id for f in page1] or page1[0].failed_at >= page2[0].failed_at


async def test_extend_reports_lost_leases(driver: QueueDriver) -> None:
    await driver.push([envelope(), envelope()])
    a, b = await driver.reserve(["default"], 2, lease_s=30, worker_id=W)
    await driver.ack([b])
    assert await driver.extend([a, b], 30) == [b.id]


async def test_rescue_requeues_expired_leases_and_stale_holders_lose(driver: QueueDriver) -> None:
    env = envelope(max_attempts=3)
    await driver.push([env])
    [res] = await driver.reserve(["default"], 1, lease_s=0.2, worker_id=W)
    assert (await driver.rescue()).requeued == []
    rescued = await eventually(driver.rescue, lambda r: bool(r.requeued))
    assert rescued.requeued == [env.id]
    [again] = await driver.reserve(["default"], 1, lease_s=30, worker_id="worker-2")
    assert (again.id, again.attempts) == (env.id, 2)
    assert again.token != res.token or again.lease_expires_at != res.lease_expires_at
    # The first holder woke up late: it can no longer change the job.
    assert await driver.ack([res]) == [res.id]
    assert await driver.fail(res, "{}", Failure("X", "late")) is False
    assert await driver.release(res, env, 0) is False
    assert await driver.extend([res], 30) == [res.id]
    assert await driver.ack([again]) == []


async def test_rescue_fails_a_job_whose_worker_died_on_its_last_attempt(
    driver: QueueDriver,
) -> None:
    env = envelope(max_attempts=1)
    await driver.push([env])
    await driver.reserve(["default"], 1, lease_s=0.2, worker_id=W)
    rescued = await eventually(driver.rescue, lambda r: bool(r.failed))
    assert rescued.failed == [env.id]
    failed = await driver.failed_find(env.id)
    assert failed is not None
    assert failed.exception == "WorkerLost"
    assert "stopped answering" in failed.message


async def test_counts_queues_and_clear(driver: QueueDriver) -> None:
    now = await driver.now()
    await driver.push([envelope("a"), envelope("a"), envelope("b", available_at=now + 600)])
    await driver.reserve(["a"], 1, lease_s=30, worker_id=W)
    await _fail_one(driver, "c")
    counts = await driver.counts()
    assert (counts["a"].pending, counts["a"].reserved, counts["a"].scheduled) == (1, 1, 0)
    assert counts["b"].scheduled == 1
    assert counts["c"].failed == 1
    assert await driver.queues() == ["a", "b", "c"]
    if await lacks(driver, Capability.CLEAR):
        return
    assert await driver.clear("a") == 1
    assert await driver.clear("b") == 1
    assert (await driver.counts())["a"].reserved == 1


async def test_counts_know_when_the_oldest_pending_job_became_available(
    driver: QueueDriver,
) -> None:
    await driver.push([envelope("a"), envelope("a")])
    oldest = (await driver.counts())["a"].oldest_pending_at
    if Capability.LIST_JOBS not in driver.capabilities:
        # Seeing the oldest job means looking inside the queue: a broker says it cannot.
        assert oldest is None
        return
    assert oldest is not None
    assert oldest <= await driver.now()


async def test_find_list_cancel_and_promote_jobs(driver: QueueDriver) -> None:
    if await lacks(driver, Capability.LIST_JOBS, Capability.CANCEL):
        return
    now = await driver.now()
    due, later = envelope(), envelope(available_at=now + 600)
    await driver.push([due, later])
    assert [j.id for j in await driver.jobs("default", JobState.PENDING)] == [due.id]
    assert [j.id for j in await driver.jobs(None, JobState.SCHEDULED)] == [later.id]
    assert await driver.promote(due.id) is False
    assert await driver.promote(later.id) is True
    assert len(await driver.jobs("default", JobState.PENDING)) == 2
    [res] = await driver.reserve(["default"], 1, lease_s=30, worker_id=W)
    [held] = await driver.jobs("default", JobState.RESERVED)
    assert (held.id, held.reserved_by) == (res.id, W)
    assert held.lease_expires_at is not None
    assert await driver.cancel(res.id) is False
    other = later.id if res.id == due.id else due.id
    assert await driver.cancel(other) is True
    assert await driver.find(other) is None
    assert await driver.find("nope") is None


async def test_unique_key_returns_the_holder(driver: QueueDriver) -> None:
    first = envelope(unique_key="invoice:7")
    second = envelope(unique_key="invoice:7")
    plain = envelope()
    assert await driver.push([first]) == [first.id]
    assert await driver.push([second, plain]) == [first.id, plain.id]
    [res, _] = await driver.reserve(["default"], 2, lease_s=30, worker_id=W)
    await driver.ack([res])
    third = envelope(unique_key="invoice:7")
    done_first = res.id == first.id
    expected = third.id if done_first else first.id
    assert await driver.push([third]) == [expected]


async def test_workers_pause_restart_and_throughput(driver: QueueDriver) -> None:
    from gello_queue.ports import WorkerRecord

    rec = WorkerRecord("w1", "web-1", "host", 42, ["default"], 4, "running", 3, 1, [], 1.0, 10)
    await driver.worker_beat(rec, ttl_s=30)
    [seen] = await driver.workers()
    assert (seen.id, seen.processed, seen.queues) == ("w1", 3, ["default"])
    assert seen.last_seen > 0
    await driver.worker_gone("w1")
    assert await driver.workers() == []
    await driver.worker_beat(rec, ttl_s=0.1)
    await eventually(driver.workers, lambda ws: ws == [])

    await driver.pause("emails")
    assert await driver.paused() == {"emails"}
    await driver.resume("emails")
    assert await driver.paused() == set()

    assert await driver.restart_signal() is None
    at = await driver.signal_restart()
    assert await driver.restart_signal() == at

    minute = int(await driver.now()) // 60 * 60
    await driver.record_throughput({"default": (5, 1)}, minute)
    await driver.record_throughput({"default": (2, 0), "emails": (1, 1)}, minute)
    buckets = {(b.queue, b.minute): (b.processed, b.failed) for b in await driver.throughput(0)}
    assert buckets == {("default", minute): (7, 1), ("emails", minute): (1, 1)}


async def test_throughput_older_than_a_day_is_dropped(driver: QueueDriver) -> None:
    minute = int(await driver.now()) // 60 * 60
    old = minute - THROUGHPUT_KEPT_S - 120
    await driver.record_throughput({"default": (3, 0)}, old)
    await driver.record_throughput({"default": (1, 0)}, minute)
    minutes = {b.minute for b in await driver.throughput(0)}
    assert minutes == {minute}


async def test_wait_returns_soon_after_a_push(driver: QueueDriver) -> None:
    async def push_later() -> None:
        await asyncio.sleep(0.05)
        await driver.push([envelope()])

    task = asyncio.create_task(push_later())
    loop = asyncio.get_running_loop()
    start = loop.time()
    await driver.wait(["default"], 5.0)
    assert loop.time() - start < 2.0
    await task
    assert await driver.reserve(["default"], 1, lease_s=30, worker_id=W)
