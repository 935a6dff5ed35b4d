"""Poison messages, poison pills and graceful stops behave the same on every backend."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import sys

import asyncpg
import pytest
import redis as redis_sync
from backends import rabbitmq, sqs
from backends.postgres import POSTGRES_URL
from backends.redis import REDIS_URL
from chaos_harness import HERE, Backend
from helpers import envelope, wait_for

from gello_queue import Queue, Settings

sys.path.insert(0, str(HERE.parent / "cli"))

POISON = {
    "raw": "\x80\x04\x95garbage",
    "pickle": "\x80\x04\x95\x1a\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94\x8c\x06system\x94\x93\x94.",
    "json": "{not json",
    "unknown": json.dumps(
        {"v": 1, "id": "unknown", "name": "Nope", "queue": "default", "payload": {}}
    ),
    "invalid": json.dumps(
        {"v": 1, "id": "invalid", "name": "Ledger", "queue": "default", "payload": {"key": 1}}
    ),
}


def queue_for(backend: Backend) -> Queue:
    settings = Settings(QUEUE_PREFIX=backend.env.get("QUEUE_PREFIX", "gello:"))  # type: ignore[call-arg]
    return Queue(backend.url, settings=settings)


def overwrite_body(backend: Backend, job_id: str, body: str) -> None:
    """Write straight into the backend's storage, as a foreign producer or a bug would."""
    if backend.name == "sqlite":
        db = sqlite3.connect(backend.url.removeprefix("sqlite:///"))
        db.execute("UPDATE gello_jobs SET body = ? WHERE id = ?", (body, job_id))
        db.commit()
        db.close()
    elif backend.name == "postgres":
        schema = backend.url.split("schema=")[1]
        body = body.replace("\x00", "")  # a text column cannot hold NUL: such bytes never get in

        async def write() -> None:
            con = await asyncpg.connect(POSTGRES_URL)
            try:
                await con.execute(
                    f'UPDATE "{schema}".gello_jobs SET body = $1 WHERE id = $2', body, job_id
                )
            finally:
                await con.close()

        asyncio.run(write())
    elif backend.name == "rabbitmq":
        rabbitmq.overwrite_body(backend.env["QUEUE_PREFIX"], "default", job_id, body)
    elif backend.name == "sqs":
        sqs.overwrite_body(backend.env["QUEUE_PREFIX"], "default", job_id, body)
    else:
        client = redis_sync.Redis.from_url(REDIS_URL)
        prefix = backend.env["QUEUE_PREFIX"]
        assert client.hset(f"{prefix}{{q:default}}:j:{job_id}", "body", body.encode("latin-1")) == 0
        client.close()


def test_poison_messages_land_in_the_failed_store(backend: Backend) -> None:
    queue = queue_for(backend)

    async def seed() -> list[str]:
        driver = await queue.driver()
        envs = [envelope(id=job_id) for job_id in POISON]
        await driver.push(envs)
        await queue.close()
        return [e.id for e in envs]

    ids = asyncio.run(seed())
    for job_id in ids:
        overwrite_body(backend, job_id, POISON[job_id])
    backend.run("queue:dispatch", "Ledger", "--payload", '{"key": "around"}')
    backend.run("queue:work", "--stop-when-empty", "--sleep", "0.05")
    assert [key for kind, key, _ in backend.entries() if kind == "done"] == ["around"]
    failed = {f["id"]: f for f in json.loads(backend.run("queue:failed", "--json").stdout)}
    assert set(failed) == set(POISON)
    assert failed["raw"]["message"].startswith("not a gello envelope: not valid JSON")
    assert failed["pickle"]["message"].startswith("not a gello envelope: not valid JSON")
    assert failed["json"]["message"].startswith("not a gello envelope: not valid JSON")
    assert "no job named 'Nope'" in failed["unknown"]["message"]
    assert failed["invalid"]["message"].startswith("payload is invalid: key")


EXTRA_JOBS = {"redis": [], "sqlite": ["odd-priority", "not-utf8"]}
"""Jobs pushed beside the 40 healthy ones, for the backend to corrupt in place."""


def corrupt_storage(backend: Backend, ids: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """Write what another tool might write where the backend keeps its jobs, beyond a bad
    body (``ids``: job key -> id). Returns the keys of jobs that must still run, and for
    each job that cannot, its id and a fragment of the reason it must fail with."""
    if backend.name == "redis":
        client = redis_sync.Redis.from_url(REDIS_URL)
        tag = f"{backend.env['QUEUE_PREFIX']}{{q:default}}"
        # Among the others' scores: reserved in the same batch as healthy jobs.
        score = client.zrange(f"{tag}:ready", 20, 20, withscores=True)[0][1]
        client.set(f"{tag}:j:bad1", "a plain string")
        body = envelope(name="Ledger", payload={"key": "bad2"}).encode()
        client.hset(f"{tag}:j:bad2", mapping={"body": body, "m": "0|0|5|0", "n": "many"})
        client.zadd(f"{tag}:ready", {"bad1": score, "bad2": score})
        client.close()
        return [], {
            "bad1": "the stored job is a Redis string, not a job hash",
            "bad2": "attempt count n is not a number ('many')",
        }
    assert backend.name == "sqlite"
    db = sqlite3.connect(backend.url.removeprefix("sqlite:///"))
    db.execute("UPDATE gello_jobs SET priority = 'high' WHERE id = ?", (ids["odd-priority"],))
    db.execute(
        "UPDATE gello_jobs SET body = CAST(x'7bff' AS TEXT) WHERE id = ?", (ids["not-utf8"],)
    )
    db.commit()
    db.close()
    return ["odd-priority"], {ids["not-utf8"]: "not a gello envelope: not valid JSON"}


@pytest.mark.parametrize("backend", sorted(EXTRA_JOBS), indirect=True)
def test_a_malformed_stored_job_fails_alone_and_its_batch_runs(backend: Backend) -> None:
    queue = queue_for(backend)
    from app_jobs import Ledger

    keys = [f"k{i}" for i in range(40)] + EXTRA_JOBS[backend.name]
    ids = queue.bulk_blocking([Ledger.make(key=key) for key in keys])
    queue.close_blocking()
    also_run, bad = corrupt_storage(backend, dict(zip(keys, ids, strict=True)))
    backend.run("queue:work", "-c", "50", "--stop-when-empty", "--sleep", "0.05", timeout=60)
    done = sorted(key for kind, key, _ in backend.entries() if kind == "done")
    assert done == sorted([f"k{i}" for i in range(40)] + also_run)
    failed = {f["id"]: f for f in json.loads(backend.run("queue:failed", "--json").stdout)}
    assert set(failed) == set(bad)
    for job_id, reason in bad.items():
        assert failed[job_id]["exception"] == "EnvelopeError"
        assert reason in failed[job_id]["message"]
    status = json.loads(backend.run("queue:status", "--json").stdout)["queues"]["default"]
    assert (status["pending"], status["reserved"], status["failed"]) == (0, 0, len(bad))


def test_a_job_that_kills_its_worker_ends_in_the_failed_store(backend: Backend) -> None:
    job_id = backend.run("queue:dispatch", "Suicide", "--payload", '{"key": "pill"}').stdout.strip()
    backend.run("queue:dispatch", "Ledger", "--payload", '{"key": "fine"}')
    # A supervisor keeps restarting the worker that the job kills; after its two tries
    # (each noticed when the lease expires) it is in the failed store, not looping.
    sup = backend.spawn("queue:work", "--processes", "1", "--sleep", "0.05")
    try:
        failed = wait_for(
            lambda: json.loads(backend.run("queue:failed", "--json").stdout), timeout_s=60
        )
        assert [f["id"] for f in failed] == [job_id]
        assert failed[0]["exception"] == "WorkerLost"
        assert "stopped answering" in failed[0]["message"]
        assert failed[0]["attempts"] == 2
        wait_for(lambda: ("done", "fine") in {(k, key) for k, key, _ in backend.entries()})
    finally:
        sup.send_signal(signal.SIGTERM)
        sup.wait(timeout=60)


def test_sigterm_with_32_jobs_in_flight_finishes_or_releases_them(backend: Backend) -> None:
    queue = queue_for(backend)
    from app_jobs import Ledger

    queue.bulk_blocking([Ledger.make(key=f"k{i}", seconds=0.5 if i % 2 else 30) for i in range(32)])
    queue.close_blocking()
    worker = backend.spawn("queue:work", "--concurrency", "32", "--grace", "2", "--sleep", "0.05")
    wait_for(lambda: len([e for e in backend.entries() if e[0] == "start"]) == 32)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    done = {key for kind, key, _ in backend.entries() if kind == "done"}
    assert done == {f"k{i}" for i in range(32) if i % 2}  # the short ones finished
    counts = json.loads(backend.run("queue:status", "--json").stdout)["queues"]["default"]
    assert (counts["pending"], counts["reserved"], counts["failed"]) == (16, 0, 0)

    async def attempts() -> set[int]:
        driver = await queue.driver()
        if "list_jobs" not in driver.capabilities:
            await queue.close()
            pytest.skip(f"the {driver.name} driver lacks capability 'list_jobs' to check attempts")
        from gello_queue import JobState

        rows = await driver.jobs("default", JobState.PENDING, limit=100)
        await queue.close()
        return {r.attempts for r in rows}

    assert asyncio.run(attempts()) == {0}  # released with the attempt given back
