"""queue:why explains every state on every driver, through port calls only."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from backends import BACKENDS
from helpers import envelope
from obs_harness import clean_env, gello

from gello_queue import Queue
from gello_queue.diagnosis import WorkerHint, diagnose
from gello_queue.ports import Failure, Progress, ProgressStore, QueueDriver, WorkerRecord

DRIVERS = ["memory", "sqlite", "postgres", "redis"]
HINT = WorkerHint(app="shop.jobs", connection="redis")
"""A worker command names the app and the connection: without the app a worker fails
every job as unknown."""


def worker(queues: list[str], **fields: Any) -> WorkerRecord:
    base: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "name": "web-1:4242",
        "host": "web-1",
        "pid": 4242,
        "queues": queues,
        "concurrency": 4,
        "state": "running",
        "processed": 0,
        "failed": 0,
        "current_jobs": [],
        "started_at": time.time(),
        "memory_bytes": 0,
    }
    base.update(fields)
    return WorkerRecord(**base)


@pytest.fixture(params=DRIVERS)
async def driver(request: pytest.FixtureRequest) -> Any:
    async with BACKENDS[request.param](request) as opened:
        yield opened


async def test_pending_with_no_worker_then_paused_then_served(driver: QueueDriver) -> None:
    env = envelope("mail", name="SendMail")
    await driver.push([env])
    found = await diagnose(driver, env.id, HINT)
    assert found.state == "pending"
    assert found.name == "SendMail"
    assert "nothing will run it" in found.summary
    assert "no live worker serves queue 'mail'" in found.reasons
    assert found.commands == ["gello queue:work redis --app shop.jobs --queue mail"]

    await driver.pause("mail")
    await driver.worker_beat(worker(["high", "mail"]), ttl_s=30)
    found = await diagnose(driver, env.id)
    assert found.facts["paused"] is True
    assert "gello queue:resume mail" in found.commands
    assert any("only when these queues are empty: high" in r for r in found.reasons)

    await driver.resume("mail")
    await driver.worker_beat(worker(["mail"]), ttl_s=30)
    found = await diagnose(driver, env.id)
    assert "waiting for a free worker" in found.summary
    assert found.commands == []
    assert found.facts["queue_pending"] == 1


async def test_scheduled_delayed_and_backing_off(driver: QueueDriver) -> None:
    later = envelope("mail", available_at=time.time() + 600)
    await driver.push([later])
    found = await diagnose(driver, later.id)
    assert found.state == "scheduled"
    assert found.facts["kind"] == "delayed"
    assert "delayed at dispatch" in found.summary
    assert 590 < found.facts["due_in_s"] <= 600

    now_env = envelope("retry", max_attempts=4)
    await driver.push([now_env])
    (res,) = await driver.reserve(["retry"], 1, lease_s=30, worker_id="w")
    back = now_env.with_changes(attempts=res.attempts, reason="RuntimeError: smtp down")
    assert await driver.release(res, back, 120)
    found = await diagnose(driver, now_env.id)
    assert found.state == "scheduled"
    assert found.facts["kind"] == "backoff"
    assert "backing off after attempt 1 of 4: RuntimeError: smtp down" in found.summary
    assert found.facts["reason"] == "RuntimeError: smtp down"


async def test_reserved_by_a_live_worker_and_by_a_gone_one(driver: QueueDriver) -> None:
    live = worker(["mail"])
    await driver.worker_beat(live, ttl_s=30)
    env = envelope("mail")
    await driver.push([env])
    await driver.reserve(["mail"], 1, lease_s=30, worker_id=live.id)
    found = await diagnose(driver, env.id)
    assert found.state == "reserved"
    assert found.summary.startswith("reserved by worker web-1:4242 (pid 4242 on web-1)")
    assert found.facts["heartbeat_age_s"] < 5
    assert found.facts["rescued_at"] == pytest.approx(time.time() + 30, abs=5)
    assert any("if the worker stays silent the job is rescued at" in r for r in found.reasons)

    await driver.worker_gone(live.id)
    found = await diagnose(driver, env.id, HINT)
    assert "no live heartbeat" in found.summary
    assert "no worker is running to rescue it" in found.reasons
    assert found.commands == ["gello queue:work redis --app shop.jobs --queue mail"]


async def test_failed_completed_and_unknown(driver: QueueDriver) -> None:
    bad, good = envelope("mail", payload_version=3), envelope("mail")
    await driver.push([bad, good])
    reserved = {r.id: r for r in await driver.reserve(["mail"], 2, lease_s=30, worker_id="w")}
    assert await driver.fail(
        reserved[bad.id], bad.encode().decode(), Failure("RuntimeError", "smtp down")
    )
    assert await driver.ack([reserved[good.id]]) == []
    found = await diagnose(driver, bad.id)
    assert found.state == "failed"
    assert "in the failed store since" in found.summary
    assert found.summary.endswith("RuntimeError: smtp down")
    assert found.commands == [f"gello queue:retry {bad.id}", f"gello queue:forget {bad.id}"]
    assert found.payload_version == 3
    for gone in (good.id, str(uuid.uuid4())):
        found = await diagnose(driver, gone)
        assert (found.state, found.summary) == ("unknown", "not found: completed, or never existed")


async def test_progress_is_shown_while_running_and_after_completion(driver: QueueDriver) -> None:
    assert isinstance(driver, ProgressStore)
    live = worker(["mail"])
    await driver.worker_beat(live, ttl_s=30)
    env = envelope("mail")
    await driver.push([env])
    [res] = await driver.reserve(["mail"], 1, lease_s=30, worker_id=live.id)
    await driver.progress_put(env.id, Progress(0.4, "resizing 4/10", time.time() - 3), 60)
    found = await diagnose(driver, env.id)
    assert found.state == "reserved"
    assert found.reasons[0] == "progress 40% (resizing 4/10), reported 3 s ago"
    assert found.facts["progress"]["fraction"] == 0.4
    assert found.facts["progress"]["message"] == "resizing 4/10"
    assert await driver.ack([res]) == []
    found = await diagnose(driver, env.id)
    assert (found.state, found.summary) == ("completed", "completed")
    assert found.reasons[0].startswith("progress 40% (resizing 4/10), reported")


def test_the_command_prints_words_and_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    queue = Queue(url)
    env = envelope("reports", payload_version=2)

    async def push() -> None:
        driver = await queue.driver()
        await driver.push([env])
        assert isinstance(driver, ProgressStore)
        await driver.progress_put(env.id, Progress(0.25, "page 1 of 4", time.time()), 60)
        await queue.close()

    import asyncio

    asyncio.run(push())
    environ = clean_env(QUEUE_DRIVER="database", DATABASE_URL=url, GELLO_APP="shop.jobs")
    out = gello(environ, "queue:why", env.id)
    assert out.returncode == 0, out.stderr
    assert f"{env.id}: pending on 'reports'" in out.stdout
    assert "\n  Echo payload version 2\n" in out.stdout
    assert "\n  - progress 25% (page 1 of 4), reported " in out.stdout
    # The suggested worker names the app and the connection, so it can run the job.
    command = "gello queue:work database --app shop.jobs --queue reports"
    assert f"$ {command}" in out.stdout
    data = orjson.loads(gello(environ, "queue:why", env.id, "--json").stdout)
    assert data["state"] == "pending"
    assert data["queue"] == "reports"
    assert data["payload_version"] == 2
    assert data["commands"] == [command]
    assert data["facts"]["progress"]["message"] == "page 1 of 4"


class _Opened:
    """A queue whose driver is already open, for the inspector."""

    def __init__(self, driver: QueueDriver) -> None:
        self._driver = driver

    async def driver(self) -> QueueDriver:
        return self._driver


async def test_ids_are_found_by_a_unique_prefix(driver: QueueDriver) -> None:
    from gello_queue.inspection import AmbiguousIdError, Inspector, JobIdsByPrefix, short_ids

    base = uuid.uuid4().hex[:8]  # isolates this test's ids on a shared server
    ids = [f"{base}-8b3c-7aaa-{n}000-000000000000" for n in (8, 9)]
    waiting = f"{base}-9fff-7bbb-8000-000000000003"
    envs = [envelope("mail", id=i) for i in ids]
    await driver.push([*envs, envelope("mail", id=waiting, available_at=time.time() + 3600)])
    for r in await driver.reserve(["mail"], 2, lease_s=30, worker_id="w"):
        assert await driver.fail(r, r.body, Failure("RuntimeError", "down"))
    inspector = Inspector(_Opened(driver))  # type: ignore[arg-type]
    assert await inspector.resolve_failed_ids([ids[1][:20]]) == [ids[1]]
    with pytest.raises(AmbiguousIdError, match=f"{ids[0]}, {ids[1]}"):
        await inspector.resolve_failed_ids([base])
    assert await inspector.resolve_job_id(ids[0][:20]) == ids[0]
    assert isinstance(driver, JobIdsByPrefix)  # waiting jobs too, on every driver here
    assert await inspector.resolve_job_id(f"{base}-9") == waiting
    assert await inspector.resolve_failed_ids(["nothing-like-it"]) == ["nothing-like-it"]
    short = short_ids(ids)
    assert [await inspector.resolve_failed_ids([short[i]]) for i in ids] == [[i] for i in ids]
