"""A worker process outlives what its jobs raise and what its store holds, and a second
SIGINT releases the running jobs at once."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path
from typing import Any

from cli_harness import Cli
from helpers import envelope, wait_for

from gello_queue import Queue
from gello_queue.ports import FailedJob


def test_keyboard_interrupt_or_system_exit_in_handle_fails_the_job_not_the_worker(
    cli: Cli,
) -> None:
    cli.env["GELLO_APP"] = "app_faults"
    interrupt = cli.run("queue:dispatch", "Bail", "--payload", '{"key": "interrupt"}').stdout
    bail = cli.run("queue:dispatch", "Bail", "--payload", '{"key": "exit"}').stdout
    cli.run("queue:dispatch", "Ledger", "--payload", '{"key": "after"}')
    out = cli.run("queue:work", "--stop-when-empty", "--sleep", "0.05", check=False)
    assert out.returncode == 0, out.stderr
    assert cli.runs() == ["after"]
    assert sorted(cli.runs("start")) == ["after", "exit", "exit", "interrupt", "interrupt"]
    failed = {f["id"]: f for f in json.loads(cli.run("queue:failed", "--json").stdout)}
    assert (failed[interrupt.strip()]["exception"], failed[interrupt.strip()]["attempts"]) == (
        "KeyboardInterrupt",
        2,
    )
    assert (failed[bail.strip()]["exception"], failed[bail.strip()]["message"]) == (
        "SystemExit",
        "3",
    )


def test_a_second_sigint_releases_running_jobs_at_once(cli: Cli, tmp_path: Path) -> None:
    for key in ("a", "b"):
        cli.run("queue:dispatch", "Ledger", "--payload", json.dumps({"key": key, "seconds": 60}))
    log = tmp_path / "worker.log"
    worker = cli.spawn("queue:work", "-c", "2", "--grace", "12", "--sleep", "0.05", log=log)
    try:
        wait_for(lambda: sorted(cli.runs("start")) == ["a", "b"])
        worker.send_signal(signal.SIGINT)
        wait_for(lambda: "worker_draining" in log.read_text())
        asked = time.monotonic()
        worker.send_signal(signal.SIGINT)
        assert worker.wait(timeout=30) == 0
        assert time.monotonic() - asked < 5  # not the 12 s of grace the first one gave
    finally:
        if worker.poll() is None:
            worker.kill()
    counts = json.loads(cli.run("queue:status", "--json").stdout)["queues"]["default"]
    assert (counts["pending"], counts["reserved"], counts["failed"]) == (2, 0, 0)
    assert cli.runs() == []


def test_a_stopping_worker_does_not_wait_for_a_handler_that_ignores_cancellation(
    cli: Cli,
) -> None:
    cli.env["GELLO_APP"] = "app_faults"
    cli.run("queue:dispatch", "Deaf", "--payload", '{"key": "deaf", "seconds": 60}')
    worker = cli.spawn("queue:work", "--grace", "1", "--sleep", "0.05")
    try:
        wait_for(lambda: cli.runs("start") == ["deaf"])
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0  # grace, then a second to answer the cancel
    finally:
        if worker.poll() is None:
            worker.kill()
    counts = json.loads(cli.run("queue:status", "--json").stdout)["queues"]["default"]
    assert (counts["pending"], counts["reserved"]) == (1, 0)  # released, attempt given back


def test_failed_jobs_nested_too_deep_are_listed_and_retried(cli: Cli) -> None:
    deep: Any = 1
    for _ in range(300):
        deep = [deep]
    body = json.dumps({**envelope(name="Ledger").to_dict(), "payload": {"key": deep}})
    other = envelope(name="Ledger", payload={"key": "other"})

    async def store() -> None:
        queue = Queue(cli.env["DATABASE_URL"])
        driver = await queue.driver()
        records = [
            FailedJob("deep", "default", "Ledger", body, "WorkerLost", "", "", 1.0, 1),
            FailedJob(other.id, "default", "Ledger", other.encode().decode(), "X", "", "", 2.0, 1),
        ]
        assert await driver.failed_import(records) == 2
        await queue.close()

    asyncio.run(store())
    listed = json.loads(cli.run("queue:failed", "--json").stdout)
    assert [(f["id"], f["payload"]) for f in listed] == [
        (other.id, {"key": "other"}),
        ("deep", None),
    ]
    assert cli.run("queue:retry", "deep").stdout.strip() == "Retried 1 job(s)."
    cli.run("queue:work", "--stop-when-empty", "--sleep", "0.05")
    assert cli.run("queue:retry-all").stdout.strip() == "Retried 2 job(s)."
    cli.run("queue:work", "--stop-when-empty", "--sleep", "0.05")
    assert cli.runs() == ["other"]
    [failed] = json.loads(cli.run("queue:failed", "--json").stdout)
    assert (failed["id"], failed["message"]) == (
        "deep",
        "not a gello envelope: nested deeper than 254 levels",
    )
