"""Bounded storage: retention keeps the failed store under its limits on every driver;
failed jobs move between environments through validated JSON lines."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from backends import BACKENDS
from helpers import envelope, eventually
from obs_harness import clean_env, gello
from pydantic import BaseModel

from gello_queue import Batch, Job, Queue, Settings, Worker
from gello_queue.drivers.sqlite import SqliteDriver
from gello_queue.events import Events
from gello_queue.ports import BatchRecord, Failure, QueueDriver
from gello_queue.retention import Limits, Retention, enforce


async def fail_jobs(driver: QueueDriver, count: int, queue: str = "mail") -> list[str]:
    envs = [envelope(queue, name="Mailer") for _ in range(count)]
    await driver.push(envs)
    ids = []
    while len(ids) < count:
        for res in await driver.reserve([queue], 50, lease_s=30, worker_id="w"):
            body = next(e for e in envs if e.id == res.id).encode().decode()
            assert await driver.fail(res, body, Failure("RuntimeError", "smtp down"))
            ids.append(res.id)
    return ids


@pytest.fixture(params=["memory", "sqlite", "postgres", "redis"])
async def driver(request: pytest.FixtureRequest) -> Any:
    async with BACKENDS[request.param](request) as opened:
        yield opened


async def test_the_newest_failed_jobs_are_kept_up_to_the_cap(driver: QueueDriver) -> None:
    ids = await fail_jobs(driver, 30)
    pruned = await enforce(driver, Limits(failed_hours=0, failed_max=10))
    assert pruned.by_count == 20
    assert await driver.failed_count() == 10
    kept = {f.id for f in await driver.failed_list(limit=100)}
    assert kept == set(ids[-10:])
    assert (await enforce(driver, Limits(failed_hours=0, failed_max=10))).by_count == 0


async def test_failed_jobs_older_than_the_retention_are_pruned(driver: QueueDriver) -> None:
    await fail_jobs(driver, 5)
    limits = Limits(failed_hours=0.3 / 3600, failed_max=0)

    async def left() -> int:
        await enforce(driver, limits)
        return await driver.failed_count()

    assert await eventually(left, lambda n: n == 0, timeout_s=10) == 0


class R(BaseModel):
    n: int


class RetentionAlwaysFails(Job[R]):
    tries = 1

    async def handle(self, payload: R) -> None:
        await asyncio.sleep(0.01)  # about 400 failures a second at concurrency 4
        raise RuntimeError(f"broken {payload.n}")


async def test_a_worker_running_many_failing_jobs_keeps_the_store_bounded(tmp_path: Path) -> None:
    settings = Settings(**{"QUEUE_FAILED_MAX": 15, "QUEUE_RETENTION_INTERVAL": 0.05})
    queue = Queue(f"sqlite:///{tmp_path / 'q.db'}", settings=settings)
    total = 400
    for start in range(0, total, 100):
        await queue.bulk([RetentionAlwaysFails.make(n=i) for i in range(start, start + 100)])
    # No retention attached by hand: a worker started from Python prunes as
    # `gello queue:work` does, from its settings.
    worker = Worker(connection=queue, concurrency=4, sleep_s=0.01, events=Events())
    driver = await queue.driver()
    peak = 0
    running = asyncio.create_task(worker.start())
    try:

        async def sample() -> int:
            nonlocal peak
            peak = max(peak, await driver.failed_count())
            return worker.counters.failed

        await eventually(sample, lambda n: n == total, timeout_s=60)
        await eventually(driver.failed_count, lambda n: n <= 15, timeout_s=10)
    finally:
        worker.stop()
        await running
    # Between two passes (every 0.05 s) a few dozen failures may land; never hundreds.
    assert peak < 150, f"the failed store reached {peak} of {total}"
    await queue.close()


async def test_finished_batches_older_than_the_retention_are_pruned(driver: QueueDriver) -> None:
    for batch_id in ("done", "cancelled", "running"):
        await driver.batch_push(BatchRecord(batch_id, "nightly", 2), [])
    for job_id in ("j1", "j2"):
        await driver.batch_mark("done", job_id, False)
    await driver.batch_mark("running", "j1", False)
    assert await driver.batch_cancel("cancelled")
    limits = Limits(failed_hours=0, failed_max=0, batch_hours=0.3 / 3600)

    async def left() -> set[str]:
        await enforce(driver, limits)
        return {b.id for b in await driver.batch_list()}

    assert await eventually(left, lambda ids: ids == {"running"}, timeout_s=10) == {"running"}
    kept = Limits(failed_hours=0, failed_max=0, batch_hours=1)
    assert (await enforce(driver, kept)).batches == 0


class RetentionBatchPart(Job[R]):
    async def handle(self, payload: R) -> None:
        return None


async def test_a_worker_running_many_batches_keeps_their_records_bounded(tmp_path: Path) -> None:
    # The backend's clock jumps half an hour per round, so a day's worth of batches runs
    # in seconds: with a one-hour retention at most three rounds of records are held.
    ahead = [0.0]
    path = tmp_path / "batches.db"
    settings = Settings(**{"QUEUE_BATCH_RETENTION_HOURS": 1, "QUEUE_RETENTION_INTERVAL": 0.02})
    queue = Queue(
        f"sqlite:///{path}",
        settings=settings,
        factory=lambda: SqliteDriver(path, clock=lambda: time.time() + ahead[0]),
    )
    worker = Worker(connection=queue, concurrency=4, sleep_s=0.01, events=Events(), extensions=[])
    retention = Retention(worker, Limits.from_settings(settings)).attach()
    driver = await queue.driver()
    rounds, per_round, peak = 48, 10, 0
    running = asyncio.create_task(worker.start())
    try:
        for r in range(rounds):
            for i in range(per_round):
                parts = [RetentionBatchPart.make(n=r * per_round + i) for _ in range(2)]
                await Batch(parts, name="nightly").dispatch(queue)
            held = await eventually(
                lambda: driver.batch_list(limit=1000),
                lambda rows: all(b.finished for b in rows),
                timeout_s=20,
            )
            peak = max(peak, len(held))
            ahead[0] += 1800
            await eventually(
                lambda: driver.batch_list(limit=1000),
                lambda rows: len(rows) <= 2 * per_round,
                timeout_s=10,
            )
    finally:
        worker.stop()
        await running
    assert retention.pruned_batches >= (rounds - 2) * per_round
    assert peak <= 3 * per_round, f"{peak} batch records held of {rounds * per_round}"
    await queue.close()


def test_export_then_import_into_another_environment(tmp_path: Path) -> None:
    prod = f"sqlite:///{tmp_path / 'prod.db'}"
    staging = f"sqlite:///{tmp_path / 'staging.db'}"

    async def seed() -> list[str]:
        queue = Queue(prod)
        ids = await fail_jobs(await queue.driver(), 3, queue="billing")
        await queue.close()
        return ids

    ids = asyncio.run(seed())
    export = tmp_path / "failed.jsonl"
    out = gello(clean_env(QUEUE_URL=prod), "queue:failed", "--export", str(export))
    assert out.returncode == 0, out.stderr
    assert "Exported 3 failed job(s)" in out.stdout
    lines = [orjson.loads(line) for line in export.read_bytes().splitlines()]
    assert {line["id"] for line in lines} == set(ids)
    assert gello(clean_env(QUEUE_URL=prod), "queue:failed").returncode == 0  # listing still works

    env = clean_env(QUEUE_URL=staging)
    dry = gello(env, "queue:failed:import", str(export), "--dry-run")
    assert "Would import 3 failed job(s)" in dry.stdout, dry.stderr
    assert "into the failed store" in dry.stdout
    out = gello(env, "queue:failed:import", str(export), "--json")
    assert out.returncode == 0, out.stderr
    result = orjson.loads(out.stdout)
    assert (result["imported"], result["into"], result["already"]) == (3, "failed", 0)
    assert result["ids"] == {i: i for i in ids}
    listed = orjson.loads(gello(env, "queue:failed", "--json").stdout)
    assert {f["id"] for f in listed} == set(ids)
    assert {(f["queue"], f["name"], f["exception"]) for f in listed} == {
        ("billing", "Mailer", "RuntimeError")
    }
    again = gello(env, "queue:failed:import", str(export))
    assert "Imported 0 failed job(s)" in again.stdout, again.stderr
    assert "3 were already in the failed store" in again.stdout
    status = orjson.loads(gello(env, "queue:status", "--json").stdout)
    assert (status["queues"]["billing"]["failed"], status["queues"]["billing"]["pending"]) == (3, 0)
    assert status["storage"]["limits"]["failed_max"] == 10000
    assert status["storage"]["limits"]["failed_retention_hours"] == 168
    assert status["storage"]["limits"]["batch_retention_hours"] == 24
    assert status["storage"]["batches"] == 0
    why = orjson.loads(gello(env, "queue:why", ids[0], "--json").stdout)
    assert why["state"] == "failed"
    assert "Retried 3 job(s)." in gello(env, "queue:retry-all").stdout
    status = orjson.loads(gello(env, "queue:status", "--json").stdout)
    assert status["queues"]["billing"]["pending"] == 3

    # --requeue: straight back on their queues as new pending jobs.
    third = clean_env(QUEUE_URL=f"sqlite:///{tmp_path / 'third.db'}")
    out = gello(third, "queue:failed:import", str(export), "--requeue", "--json")
    assert out.returncode == 0, out.stderr
    requeued = orjson.loads(out.stdout)
    assert (requeued["imported"], requeued["into"]) == (3, "pending")
    assert set(requeued["ids"]) == set(ids)
    assert not set(requeued["ids"].values()) & set(ids)
    why = orjson.loads(gello(third, "queue:why", requeued["ids"][ids[0]], "--json").stdout)
    assert why["state"] == "pending"

    # Records older than the failed-job retention are restored, with a warning.
    old = tmp_path / "old.jsonl"
    stale = {**lines[0], "id": str(uuid.uuid4()), "failed_at": time.time() - 30 * 86400}
    old.write_bytes(orjson.dumps(stale))
    out = gello(third, "queue:failed:import", str(old), "--queue", "replay")
    assert "Imported 1 failed job(s)" in out.stdout, out.stderr
    assert "workers prune them at their next pass" in out.stdout
    (moved,) = orjson.loads(gello(third, "queue:failed", "--queue", "replay", "--json").stdout)
    assert (moved["id"], moved["queue"]) == (stale["id"], "replay")

    bad = tmp_path / "bad.jsonl"
    good_line = export.read_bytes().splitlines()[0]
    broken = {**lines[1], "attempts": "three", "body": "not json"}
    bad.write_bytes(
        b"\n".join(
            [good_line, orjson.dumps(broken), b"[1, 2]", b"{oops", orjson.dumps({"format": "x"})]
        )
    )
    out = gello(env, "queue:failed:import", str(bad))
    assert out.returncode == 1
    assert "line 2: attempts must be an integer" in out.stderr
    assert "line 3: expected a JSON object" in out.stderr
    assert "line 4: not JSON" in out.stderr
    assert "line 5: format must be 'gello.failed.v1'" in out.stderr
    assert "Nothing imported." in out.stderr
    status = orjson.loads(gello(env, "queue:status", "--json").stdout)
    assert status["queues"]["billing"]["pending"] == 3

    poison = tmp_path / "poison.jsonl"
    poison.write_bytes(orjson.dumps({**lines[0], "body": "garbage"}))
    out = gello(env, "queue:failed:import", str(poison))
    assert "line 1: body is not a gello envelope" in out.stderr

    text = gello(env, "queue:status")
    assert "Storage (retention enforced by workers)" in text.stdout
    storage = gello(env, "queue:storage").stdout
    assert "max 10000, kept 168 h" in storage
    assert "finished kept 24 h" in storage
    unknown = gello(env, "queue:failed:import", str(export), "--app", "json", "--dry-run")
    assert "job 'Mailer' is not registered here" in unknown.stderr


def test_the_retention_summary_names_how_long_monitored_tags_keep_their_jobs() -> None:
    limits = Limits(completed_max=1000, completed_hours=24, monitored_hours=168)
    assert "completed jobs: the newest 1000 per queue, kept 24 h" in limits.describe()
    assert "(monitored tags' jobs: 168 h)" in limits.describe()
    assert "monitored" not in Limits(completed_max=10, monitored_hours=0).describe()
