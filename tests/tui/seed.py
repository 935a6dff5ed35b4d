"""Deterministic data for dashboard tests: real jobs pushed, reserved and failed through
the driver port, worker heartbeats, throughput buckets and timings."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from gello_queue.core.envelope import Envelope
from gello_queue.core.timing import Series, TimingCount, bucket_of
from gello_queue.drivers.memory import MemoryDriver
from gello_queue.ports import BatchRecord, Failure, QueueDriver, TimingStats, WorkerRecord

T = TypeVar("T")

T0 = 1_767_225_600.0
"""2026-01-01 00:00:00 UTC: the fixed clock of snapshot tests."""


def env(
    job_id: str, queue: str, name: str, at: float, created: float | None = None, **fields: object
) -> Envelope:
    base: dict[str, object] = {
        "id": job_id,
        "name": name,
        "queue": queue,
        "payload": {"user_id": 7, "email": "ada@example.com", "api_key": "sk-live-123"},
        "max_attempts": 3,
        "available_at": at,
        "created_at": at if created is None else created,
    }
    base.update(fields)
    return Envelope(**base)  # type: ignore[arg-type]


async def fail_jobs(driver: QueueDriver, envs: list[Envelope], exc: str, message: str) -> None:
    """Push, reserve and fail ``envs`` (one queue), as a worker would."""
    await driver.push(envs)
    queue = envs[0].queue
    reserved = await driver.reserve([queue], len(envs), lease_s=30, worker_id="seed")
    assert len(reserved) == len(envs), "seeded jobs must all be reservable"
    by_id = {e.id: e for e in envs}
    for res in reserved:
        body = by_id[res.id].encode().decode()
        failure = Failure(
            exc,
            message,
            f'Traceback (most recent call last):\n  File "jobs.py", line 12, in handle\n{exc}: {message}',
        )
        assert await driver.fail(res, body, failure)


async def seed(driver: QueueDriver, now: float = T0, *, workers: bool = True) -> None:
    """Three queues, pending/scheduled/running/failed jobs, two workers, an hour of rates."""
    await driver.push(
        [env(f"job-pending-{i:02d}", "emails", "SendInvoice", now - 90 + i) for i in range(12)]
        + [env(f"job-report-{i:02d}", "reports", "BuildReport", now - 30) for i in range(3)]
        + [
            env(f"job-later-{i:02d}", "emails", "SendReminder", now + 600 + 60 * i, now)
            for i in range(4)
        ]
    )
    await fail_jobs(
        driver,
        [env(f"job-failed-{i:02d}", "emails", "SendInvoice", now - 400) for i in range(5)],
        "TimeoutError",
        "smtp.example.com did not answer in 10s",
    )
    await fail_jobs(
        driver,
        [env(f"job-broken-{i:02d}", "webhooks", "PostWebhook", now - 400) for i in range(2)],
        "HTTPError",
        "500 from https://hooks.example.com",
    )
    # One job running on a live worker.
    await driver.push([env("job-running-00", "reports", "BuildReport", now - 5, priority=1)])
    await driver.reserve(["reports"], 1, lease_s=30, worker_id="w-1")
    if workers:
        for n, (name, queues, busy, stale) in enumerate(
            [("worker-a", ["emails", "reports"], 1, 0.0), ("worker-b", ["reports"], 0, 40.0)]
        ):
            record = WorkerRecord(
                id=f"w-{n + 1}",
                name=name,
                host="host-1",
                pid=4100 + n,
                queues=queues,
                concurrency=4,
                state="running",
                processed=1200 * (n + 1),
                failed=3 * n,
                current_jobs=["job-running-00"] if busy else [],
                running_since={"job-running-00": now - 5} if busy else {},
                started_at=now - 7200,
                memory_bytes=(80 + n) * 1024 * 1024,
            )
            await beat(driver, record, now - stale)
    minute = int(now // 60) * 60
    for m in range(60):
        await driver.record_throughput(
            {"emails": (10 + (m * 7) % 13, int(m % 5 == 0)), "reports": (3, 0)}, minute - 60 * m
        )
    if isinstance(driver, TimingStats):
        await driver.record_timings(timings(minute))


TIMINGS = {
    # (queue, job): (processed, failed, waits in seconds, run times in seconds)
    ("emails", "SendInvoice"): (40, 2, [0.4] * 30 + [2.5] * 12, [0.12] * 36 + [0.9] * 6),
    ("reports", "BuildReport"): (12, 0, [1.5] * 10 + [20.0] * 2, [6.0] * 11 + [45.0]),
}
"""What workers counted in the last minute: known percentiles per queue and class."""


def timings(minute: int) -> list[TimingCount]:
    rows: list[TimingCount] = []
    for (queue, job), (processed, failed, waits, runs) in TIMINGS.items():
        rows += [
            TimingCount(minute, queue, job, Series.PROCESSED, 0, processed),
            TimingCount(minute, queue, job, Series.FAILED, 0, failed),
        ]
        for series, values in ((Series.WAIT, waits), (Series.RUN, runs)):
            rows += [TimingCount(minute, queue, job, series, bucket_of(v), 1) for v in values]
    return rows


async def beat(driver: QueueDriver, record: WorkerRecord, at: float) -> None:
    """A heartbeat stamped ``at`` (only the memory store's clock can be set back)."""
    if isinstance(driver, MemoryDriver):
        clock = driver.store.clock
        driver.store.clock = lambda: at
        try:
            await driver.worker_beat(record, 600)
        finally:
            driver.store.clock = clock
    else:
        await driver.worker_beat(record, 600)


BATCHES = {
    # id: (name, jobs, processed, failed, cancelled, created this long before now); the
    # batch with failures allows them (else its first failure would have cancelled it)
    "batch-import": ("import-users", 10, 6, 2, False, 300.0),
    "batch-nightly": ("nightly-report", 3, 3, 0, False, 3600.0),
    "batch-resize": ("resize-images", 4, 1, 0, True, 1200.0),
}
"""Seeded batches: one running with failures, one finished, one cancelled."""


async def seed_batches(driver: QueueDriver, now: float = T0) -> None:
    """The ``BATCHES``, their jobs on queue ``imports``: run and failed through the
    driver as a worker would, each ending marked in its batch."""
    for batch_id, (name, size, done, failed, cancelled, age) in BATCHES.items():
        envs = [
            env(f"{batch_id}-{i:02d}", "imports", "ImportRows", now - age + i, batch_id=batch_id)
            for i in range(size)
        ]
        options = '{"allow_failures": true}' if failed else "{}"
        record = BatchRecord(batch_id, name, size, options=options)
        await at_time(driver, now - age, driver.batch_push(record, envs))
        reserved = await driver.reserve(["imports"], done + failed, lease_s=30, worker_id="seed")
        assert [r.id for r in reserved] == [e.id for e in envs[: done + failed]]
        for n, res in enumerate(reserved):
            # Each ends a little later than the one before, half-way to now at the last.
            at = now - age + (n + 1) * age / 2 / (done + failed)
            if n < done:
                assert not await at_time(driver, at, driver.ack([res]))
            else:
                body = envs[n].encode().decode()
                failure = Failure("ValueError", f"row {n} has no email", "Traceback: ...")
                assert await at_time(driver, at, driver.fail(res, body, failure))
            await at_time(driver, at, driver.batch_mark(batch_id, res.id, n >= done))
        if cancelled:
            await driver.batch_cancel(batch_id)


async def at_time(driver: QueueDriver, at: float, action: Awaitable[T]) -> T:
    """Run ``action`` with the memory store's clock at ``at`` (other stores keep theirs)."""
    if not isinstance(driver, MemoryDriver):
        return await action
    clock = driver.store.clock
    driver.store.clock = lambda: at
    try:
        return await action
    finally:
        driver.store.clock = clock


async def seed_tags(driver: QueueDriver, now: float = T0) -> None:
    """The tag ``customer:42`` monitored, on a waiting, a failed and a completed job."""
    from gello_queue.ports import CompletedJob, JobHistory

    assert isinstance(driver, JobHistory)
    await driver.tag_monitor("customer:42", True)
    tags = ["customer:42", "billing"]
    await driver.push([env("job-tagged-wait", "emails", "ChargeCustomer", now - 20, tags=tags)])
    await fail_jobs(
        driver,
        [env("job-tagged-fail", "emails", "ChargeCustomer", now - 300, tags=tags)],
        "ValueError",
        "card declined",
    )
    done = CompletedJob(
        "job-tagged-done", "emails", "ChargeCustomer", 1, "worker-a", 0.2, 0.05, now - 60,
        tags='["customer:42","billing"]', monitored=True,
    )  # fmt: skip
    await driver.ack_recording([], [done], 100)
