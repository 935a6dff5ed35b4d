"""Through the real `gello` commands: batches (progress, retry, prune) and chains that
survive a worker dying between two links, on SQLite, PostgreSQL and Redis."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import wait_for
from orch_app import Limited, Link, Note, Step
from orch_processes import PERSISTENT, Stack, stack

from gello_queue import Batch, Chain


@pytest.fixture(params=PERSISTENT)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    with stack(request.param, tmp_path) as found:
        yield found


def batches(backend: Stack) -> list[dict[str, Any]]:
    return json.loads(backend.run("queue:batches", "--json"))  # type: ignore[no-any-return]


def test_batch_progress_retry_and_prune_through_the_cli(backend: Stack) -> None:
    queue: Any = backend.queue()
    batch = Batch(
        [Step.make(key=f"j{i}") for i in range(4)] + [Step.make(key="late", fail_until_flag=True)],
        name="nightly",
        then=Note.make(key="then"),
        catch=Note.make(key="catch"),
        allow_failures=True,
    )
    batch_id = batch.dispatch_blocking(queue)
    queue.close_blocking()
    [row] = batches(backend)
    assert (row["id"], row["name"], row["total"], row["pending"]) == (batch_id, "nightly", 5, 5)
    backend.run("queue:work", "--stop-when-empty", "--sleep", "0.05", "--concurrency", "4")
    [row] = batches(backend)
    assert (row["processed"], row["failed"], row["pending"], row["percent"]) == (4, 1, 0, 100.0)
    assert backend.lines("note").count("catch") == 1
    detail = json.loads(backend.run("queue:batch", batch_id, "--json"))
    assert len(detail["failed_ids"]) == 1
    # The fix is deployed: retry the batch's failed job.
    Path(backend.env["GELLO_TEST_FLAG"]).touch()
    assert "Retried 1 failed job" in backend.run("queue:retry-batch", batch_id)
    backend.run("queue:work", "--stop-when-empty", "--sleep", "0.05")
    [row] = batches(backend)
    assert (row["processed"], row["failed"]) == (5, 0)
    assert sorted(backend.lines("done")) == ["j0", "j1", "j2", "j3", "late"]
    # then ran once, when the batch first finished (failures allowed); not again.
    assert backend.lines("note").count("then") == 1
    assert "Pruned 0" in backend.run("queue:prune-batches", "--hours", "1")
    time.sleep(0.01)
    assert "Pruned 1" in backend.run("queue:prune-batches", "--hours", "0")
    assert batches(backend) == []


def test_a_worker_killed_between_two_links_loses_nothing(backend: Stack) -> None:
    queue: Any = backend.queue()
    Chain(
        [Link.make(key="a", die_once_after=True), Link.make(key="b"), Link.make(key="c")],
        catch=Note.make(key="caught"),
    ).dispatch_blocking(queue)
    queue.close_blocking()
    first = backend.spawn("queue:work", "--sleep", "0.05")
    wait_for(lambda: first.poll() is not None, timeout_s=30)  # died after link a
    assert first.returncode != 0
    assert backend.lines("done") == ["a"]
    backend.spawn("queue:work", "--sleep", "0.05")
    # Within about one lease the rescued link runs again and the chain goes on.
    wait_for(lambda: "c" in backend.lines("done"), timeout_s=60)
    done = backend.lines("done")
    assert done == ["a", "a", "b", "c"]  # a ran twice (at least once); b and c once
    assert "caught" not in backend.lines("note")


def test_a_link_whose_worker_dies_on_its_last_attempt_runs_the_catch(backend: Stack) -> None:
    queue: Any = backend.queue()
    Chain(
        [Step.make(key="only-try", die_once_after=True), Step.make(key="never")],
        catch=Note.make(key="caught"),
    ).dispatch_blocking(queue)
    queue.close_blocking()
    first = backend.spawn("queue:work", "--sleep", "0.05")
    wait_for(lambda: first.poll() is not None, timeout_s=30)
    backend.spawn("queue:work", "--sleep", "0.05")
    # Rescue fails the link (tries = 1): the chain stops and its catch runs.
    wait_for(lambda: "caught" in backend.lines("note"), timeout_s=60)
    assert "never" not in backend.lines("done")


def test_two_schedulers_through_the_cli_dispatch_each_occurrence_once(backend: Stack) -> None:
    listed = json.loads(backend.run("queue:schedule:list", "--json"))
    [every] = [s for s in listed if s["name"] == "every-second"]
    assert every["cron"] == "* * * * * *"
    assert 0 <= every["in_s"] <= 1.0
    # One standalone scheduler, one inside a worker, one plain worker.
    backend.spawn("queue:schedule")
    backend.spawn("queue:work", "--scheduler", "--sleep", "0.05")
    backend.spawn("queue:work", "--sleep", "0.05")
    wait_for(lambda: len(set(backend.lines("tick"))) >= 4, timeout_s=60)
    for proc in backend.procs:
        proc.terminate()
    for proc in backend.procs:
        proc.wait(timeout=30)
    ticks = backend.lines("tick")
    assert len(ticks) == len(set(ticks)), f"an occurrence ran twice: {sorted(ticks)}"


def test_a_rate_limit_holds_across_worker_processes(backend: Stack) -> None:
    for _ in range(2):
        backend.spawn("queue:work", "--sleep", "0.05", "--concurrency", "2")
    # Both idle and waiting before the jobs arrive, so both take some.
    wait_for(lambda: len(json.loads(backend.run("queue:status", "--json"))["workers"]) == 2)
    queue: Any = backend.queue()
    queue.bulk_blocking([Limited.make(key=f"r{i}") for i in range(9)])
    queue.close_blocking()
    wait_for(lambda: len(backend.lines("limited")) == 9, timeout_s=60)
    per_second: dict[int, int] = {}
    for entry in backend.lines("limited"):
        second = int(float(entry.split("@")[1]))
        per_second[second] = per_second.get(second, 0) + 1
    assert max(per_second.values()) <= 3
    pids = {line.split()[2] for line in backend.ledger.read_text().splitlines()}
    assert len(pids) == 2  # both processes took part
    status = json.loads(backend.run("queue:status", "--json"))
    assert all(q["failed"] == 0 for q in status["queues"].values())
