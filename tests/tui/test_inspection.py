"""The inspection API on every driver: listings, filters, detail, actions and their errors."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from seed import T0, seed

from gello_queue import JobNotFoundError, JobState, NotSupportedError, Queue, Settings
from gello_queue.drivers.memory import MemoryDriver
from gello_queue.inspection import (
    FailedFilter,
    Inspector,
    QueueStats,
    Snapshot,
    fingerprint,
    heartbeat_age,
    is_stale,
    redact,
    rescue_in,
)
from gello_queue.ports import FailedJob, QueueCounts, ThroughputBucket, WorkerRecord

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["memory", "sqlite", "redis", "postgres"])
async def inspector(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Inspector]:
    kind = request.param
    schema = f"gtest_{uuid.uuid4().hex}"
    prefix = f"gtest:insp:{uuid.uuid4().hex}:"
    url = {
        "memory": f"memory://{uuid.uuid4().hex}",
        "sqlite": f"sqlite:///{tmp_path / 'i.db'}",
        "redis": "redis://127.0.0.1:6379/0",
        "postgres": f"{POSTGRES_URL}?schema={schema}",
    }[kind]
    queue = Queue(url, settings=Settings(queue_prefix=prefix))
    if kind == "postgres":
        await queue._factory().migrate()  # type: ignore[attr-defined]
    driver = await queue.driver()
    await seed(driver, time.time())
    try:
        yield Inspector(queue)
    finally:
        if kind == "redis":
            from backends.redis import delete_prefix

            await delete_prefix(driver, prefix)  # type: ignore[arg-type]
        await queue.close()
        if kind == "postgres":
            import asyncpg

            con = await asyncpg.connect(POSTGRES_URL)
            await con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            await con.close()


async def test_snapshot_is_the_overview(inspector: Inspector) -> None:
    snap = await inspector.snapshot(recent_failures=3)
    assert sorted(snap.queues) == ["emails", "reports", "webhooks"]
    assert snap.pending() == 15
    assert snap.max_wait()[0] == "emails"
    assert snap.busy() == (1, 8)
    assert len(snap.recent_failures) == 3
    assert snap.failed_last_hour() == 12
    emails = snap.stats("emails")
    assert (emails.pending, emails.scheduled, emails.failed, emails.workers) == (12, 4, 5, 1)
    assert emails.processed_per_min > 0


async def test_failed_listing_filters_and_pages(inspector: Inspector) -> None:
    assert len(await inspector.failed()) == 7
    assert len(await inspector.failed(queue="webhooks")) == 2
    timeouts = await inspector.failed(match=FailedFilter.parse("exc:timeout"))
    assert {f.queue for f in timeouts} == {"emails"}
    assert len(timeouts) == 5
    page = await inspector.failed(match=FailedFilter(text="smtp"), limit=2, offset=1)
    assert len(page) == 2
    assert await inspector.count_failed(FailedFilter(name="webhook")) == 2
    assert await inspector.count_failed(FailedFilter(queue="emails")) == 5
    assert await inspector.count_failed() == 7


async def test_jobs_by_state(inspector: Inspector) -> None:
    pending = await inspector.jobs(None, JobState.PENDING, limit=100)
    assert len(pending) == 15
    scheduled = await inspector.jobs("emails", JobState.SCHEDULED)
    assert [j.id for j in scheduled] == [f"job-later-{i:02d}" for i in range(4)]
    assert [j.id for j in await inspector.jobs(None, JobState.RESERVED)] == ["job-running-00"]
    assert len(await inspector.jobs("emails", JobState.PENDING, limit=5, offset=10)) == 2
    with pytest.raises(NotSupportedError):
        await inspector.jobs(None, JobState.FAILED)


async def test_job_detail_for_queued_and_failed_jobs(inspector: Inspector) -> None:
    queued = await inspector.job("job-later-00")
    assert queued.state is JobState.SCHEDULED
    assert queued.name == "SendReminder"
    assert queued.payload["api_key"] == "sk-live-123"
    failed = await inspector.job("job-failed-00")
    assert failed.state is JobState.FAILED
    assert failed.exception == "TimeoutError"
    assert "Traceback" in (failed.traceback or "")
    assert (await inspector.failed_job("job-failed-00")).id == "job-failed-00"
    with pytest.raises(JobNotFoundError):
        await inspector.job("nope")
    with pytest.raises(JobNotFoundError):
        await inspector.failed_job("nope")


async def test_retry_matching_a_name_filter(inspector: Inspector) -> None:
    assert await inspector.retry_matching(FailedFilter(name="postweb")) == 2
    assert await inspector.count_failed() == 5
    record = await inspector.job("job-broken-00")
    assert record.state is JobState.PENDING
    assert record.attempts == 0
    assert await inspector.retry_matching(FailedFilter(queue="emails")) == 5
    assert await inspector.count_failed() == 0


async def test_purge_forget_and_their_errors(inspector: Inspector) -> None:
    assert await inspector.purge_matching(FailedFilter(exception="http")) == 2
    assert await inspector.forget_jobs(["job-failed-00", "missing"]) == 1
    with pytest.raises(JobNotFoundError):
        await inspector.forget_jobs(["job-failed-00"])
    with pytest.raises(JobNotFoundError):
        await inspector.retry_jobs(["job-failed-00"])
    assert await inspector.retry_jobs(["job-failed-01"]) == 1
    assert await inspector.purge_matching(FailedFilter(queue="emails")) == 3
    assert await inspector.count_failed() == 0


async def test_queue_and_job_actions(inspector: Inspector) -> None:
    assert await inspector.run_now("job-later-00") == 1
    with pytest.raises(JobNotFoundError, match="scheduled"):
        await inspector.run_now("job-later-00")
    assert await inspector.cancel("job-pending-00") == 1
    with pytest.raises(JobNotFoundError, match="pending or scheduled"):
        await inspector.cancel("job-running-00")
    await inspector.pause("emails")
    assert "emails" in (await inspector.snapshot()).paused
    await inspector.resume("emails")
    assert await inspector.clear("emails") == 11 + 1 + 3
    assert (await inspector.snapshot()).queues["emails"].pending == 0


async def test_missing_capabilities_are_one_clear_error() -> None:
    class Bare(MemoryDriver):
        capabilities = frozenset({"priority"})

    queue = Queue("memory://bare", factory=Bare)
    inspector = Inspector(queue)
    with pytest.raises(NotSupportedError, match=r"cannot list .* lacks the 'list_jobs' capability"):
        await inspector.jobs(None, JobState.PENDING)
    with pytest.raises(NotSupportedError, match="lacks the 'cancel' capability"):
        await inspector.cancel("x")
    with pytest.raises(NotSupportedError, match="lacks the 'clear' capability"):
        await inspector.clear("x")


def test_filter_language() -> None:
    f = FailedFilter.parse('queue:emails name:Invoice exc:Timeout "did not" answer')
    assert f == FailedFilter("emails", "Invoice", "Timeout", "did not answer")
    assert f.describe() == "queue:emails name:Invoice exc:Timeout 'did not answer'"
    assert FailedFilter.parse("").only_queue
    assert FailedFilter.parse('unbalanced "quote').text == 'unbalanced "quote'
    job = FailedJob(
        "id-1", "emails", "SendInvoice", "{}", "TimeoutError", "did not answer", "", 0, 1
    )
    assert f.matches(job)
    assert not FailedFilter(queue="other").matches(job)
    assert not FailedFilter(name="x").matches(job)
    assert not FailedFilter(exception="Value").matches(job)
    assert FailedFilter(text="ID-1").matches(job)


def worker(**kw: object) -> WorkerRecord:
    base: dict[str, object] = {
        "id": "w",
        "name": "w",
        "host": "h",
        "pid": 1,
        "queues": ["a"],
        "concurrency": 2,
        "state": "running",
        "processed": 0,
        "failed": 0,
        "current_jobs": ["j1", "j2", "j3"],
        "started_at": T0 - 10,
        "memory_bytes": 1,
        "last_seen": T0 - 25,
    }
    base.update(kw)
    return WorkerRecord(**base)  # type: ignore[arg-type]


def test_snapshot_arithmetic() -> None:
    minute = int(T0 // 60) * 60
    snap = Snapshot(
        taken_at=T0 + 30,
        queues={"a": QueueCounts(pending=3, oldest_pending_at=T0 - 60), "b": QueueCounts()},
        workers=[worker(), worker(id="x", queues=["b"], current_jobs=[])],
        paused={"b"},
        throughput=[
            ThroughputBucket(minute, "a", 60, 6),
            ThroughputBucket(minute - 60, "a", 30, 0),
            ThroughputBucket(minute - 3600, "a", 999, 999),  # outside the hour
        ],
    )
    assert snap.series("a", minutes=2) == [(30, 0), (60, 6)]
    assert snap.per_minute("a") == (60.0, 4.0)  # 90 jobs over 1.5 minutes
    assert snap.failed_last_hour() == 6
    assert snap.max_wait() == ("a", 90.0)
    assert snap.busy() == (2, 4)  # busy slots are capped by concurrency
    assert snap.stats("b") == QueueStats("b", 0, 0, 0, 0, 0.0, 0.0, 0.0, 1, True)
    only = snap.only(["b", "c"])
    assert sorted(only.queues) == ["b", "c"]
    assert [w.id for w in only.workers] == ["x"]
    assert only.throughput == []
    assert [s.name for s in only.all_stats()] == ["b", "c"]


def test_worker_health() -> None:
    w = worker()
    assert heartbeat_age(w, T0) == 25
    assert is_stale(w, T0, lease_s=30)
    assert not is_stale(w, T0, lease_s=60)
    assert rescue_in(w, T0, lease_s=30) == 5
    assert heartbeat_age(worker(last_seen=time.time() + 5)) == 0


def test_redact_hides_secret_values_at_any_depth() -> None:
    data = {
        "user": {"password": "p", "name": "ada", "tokens": ["a"]},
        "items": [{"api_key": "k", "Authorization": "Bearer x"}],
        "passport": "keep",
        "client_secret": "s",
    }
    assert redact(data) == {
        "user": {"password": "***", "name": "ada", "tokens": "***"},
        "items": [{"api_key": "***", "Authorization": "***"}],
        "passport": "keep",
        "client_secret": "***",
    }


async def test_failure_groups_by_fingerprint(inspector: Inspector) -> None:
    groups = await inspector.failure_groups()
    assert [(g.name, g.exception, g.count, g.queues) for g in groups] == [
        ("SendInvoice", "TimeoutError", 5, ["emails"]),
        ("PostWebhook", "HTTPError", 2, ["webhooks"]),
    ]
    only = FailedFilter(fingerprint=groups[1].fingerprint)
    assert await inspector.count_failed(only) == 2
    assert await inspector.retry_matching(only) == 2
    assert await inspector.failure_groups(FailedFilter(queue="webhooks")) == []


def test_fingerprint_ignores_ids_and_numbers() -> None:
    def job(message: str) -> FailedJob:
        return FailedJob("x", "q", "Job", "{}", "KeyError", message, "", 0, 1)

    a = fingerprint(job("user 42 not found in 'eu-1' after 3.5s (req 0x7f3a)"))
    b = fingerprint(job("user 7 not found in 'us-2' after 10s (req 0xdead)"))
    assert a == b
    assert a != fingerprint(job("user 7 is locked"))


async def test_drained_queues_stay_known(inspector: Inspector) -> None:
    driver = await inspector.queue.driver()
    await inspector.clear("emails")
    await inspector.purge_matching(FailedFilter(queue="emails"))
    now = await driver.now()
    await driver.record_throughput({"media": (4, 0)}, int(now // 60) * 60)
    record = WorkerRecord(
        id="w-9", name="worker-z", host="host-2", pid=9, queues=["archive"], concurrency=1,
        state="running", processed=0, failed=0, current_jobs=[], started_at=now, memory_bytes=0,
    )  # fmt: skip
    await driver.worker_beat(record, 600)
    snap = await inspector.snapshot()
    # emails: a worker listens and it ran jobs; media: it ran jobs; archive: a worker listens
    assert sorted(snap.queues) == ["archive", "emails", "media", "reports", "webhooks"]
    assert snap.queues["emails"] == QueueCounts()
    assert snap.stats("media").processed_per_min > 0


async def test_jobs_matching_counts_every_match(inspector: Inspector) -> None:
    found = await inspector.jobs_matching(JobState.PENDING, FailedFilter.parse("name:invoice"))
    assert (len(found.jobs), found.count, found.complete) == (12, 12, True)
    first = await inspector.jobs_matching(JobState.PENDING, FailedFilter(text="job-"), limit=2)
    assert (len(first.jobs), first.count) == (2, 15)
    some = await inspector.jobs_matching(
        JobState.PENDING, FailedFilter(), queues=["reports"], scan_limit=5
    )
    assert some.count == 3 or not some.complete
    assert (await inspector.jobs_matching(JobState.PENDING, FailedFilter(exception="x"))).count == 0


async def test_jobs_matching_pages_through_several_watched_queues(inspector: Inspector) -> None:
    watched = ["emails", "reports", "webhooks"]
    each = {
        q: await inspector.jobs_matching(JobState.PENDING, FailedFilter(queue=q), limit=1_000)
        for q in watched
    }
    expected = sorted(j.id for m in each.values() for j in m.jobs)
    assert len(expected) > 4  # several pages
    seen: list[str] = []
    cursor = None
    while True:
        page = await inspector.jobs_matching(
            JobState.PENDING, FailedFilter(), queues=watched, limit=4, cursor=cursor
        )
        assert (page.count, page.complete) == (len(expected), True)
        seen += [j.id for j in page.jobs]
        if page.cursor is None:
            break
        cursor = page.cursor
    assert sorted(seen) == expected
    assert len(seen) == len(set(seen))


async def test_failed_matching_counts_every_match(inspector: Inspector) -> None:
    found = await inspector.failed_matching(FailedFilter.parse("smtp"), limit=2)
    assert (len(found.jobs), found.count) == (2, 5)
    webhooks = await inspector.failed_matching(FailedFilter(queue="webhooks"), limit=1)
    assert (len(webhooks.jobs), webhooks.count) == (1, 2)
    assert (await inspector.failed_matching(FailedFilter(name="nothing"))).count == 0
